"""The seccomp filter, read back from a live child and decoded: every rule does what it says.

The filter is fetched from the kernel with PTRACE_SECCOMP_GET_FILTER (root only), so the
test checks what a child really runs under, not what the builder meant to build. A small
interpreter of classic BPF then asks it about each call.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import re
import struct
from pathlib import Path

import pytest

from relu_course.engine import seccomp
from relu_course.engine.client import Worker
from relu_course.engine.limits import SandboxLimits
from relu_course.engine.sandbox import Sandbox

PTRACE_ATTACH, PTRACE_DETACH, PTRACE_SECCOMP_GET_FILTER = 16, 17, 0x420C
WALL = 0x40000000
ALLOW, KILL, EPERM, ENOSYS = seccomp.RET_ALLOW, seccomp.RET_KILL_PROCESS, seccomp.RET_ERRNO | errno.EPERM, \
    seccomp.RET_ERRNO | errno.ENOSYS
MACHINE = platform.machine()
HEADERS = {"x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
           "aarch64": Path("/usr/include/asm-generic/unistd.h")}


def evaluate(program: bytes, nr: int, args: tuple = (), arch: int | None = None) -> int:
    """What the filter returns for a call: a tiny interpreter of the opcodes the builder uses."""
    arch = seccomp.ARCHES[MACHINE][0] if arch is None else arch
    args = tuple(a & 0xFFFFFFFFFFFFFFFF for a in args) + (0,) * (6 - len(args))
    data = struct.pack("<iIQ6Q", nr, arch, 0, *args)
    code = [struct.unpack("<HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    pc, accumulator = 0, 0
    while True:
        op, jt, jf, k = code[pc]
        if op == seccomp.LD_W_ABS:
            accumulator = struct.unpack_from("<I", data, k)[0]
            pc += 1
        elif op in (seccomp.JEQ_K, seccomp.JGE_K, seccomp.JSET_K):
            taken = {seccomp.JEQ_K: accumulator == k, seccomp.JGE_K: accumulator >= k,
                     seccomp.JSET_K: bool(accumulator & k)}[op]
            pc += 1 + (jt if taken else jf)
        elif op == seccomp.RET_K:
            return k
        else:
            raise AssertionError(f"an opcode the interpreter does not know: {op:#x}")


def installed_filter() -> tuple[bytes, int, list[str]]:
    """(the filter a fresh child runs under, as the kernel holds it; the pid it knows itself by; its fences)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    with Worker(SandboxLimits(), preload_torch=False) as worker:
        box = Sandbox(worker, [])
        box.ensure_started()
        pid = box.pid
        try:
            assert libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0, os.strerror(ctypes.get_errno())
            os.waitpid(pid, WALL)
            buffer = ctypes.create_string_buffer(8 * 4096)
            count = libc.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, ctypes.c_void_p(0), buffer)
            assert count > 0, os.strerror(ctypes.get_errno())
            libc.ptrace(PTRACE_DETACH, pid, None, None)
            fences = box.fences
        finally:
            box.close()
    own_pid = 1 if "pid namespace" in fences else pid
    return buffer.raw[:8 * count], own_pid, fences


@pytest.fixture(scope="module")
def live():
    if os.geteuid() != 0:
        pytest.skip("reading a process's seccomp filter needs root")
    if MACHINE not in seccomp.ARCHES:
        pytest.skip(f"no filter for {MACHINE}")
    program, own_pid, fences = installed_filter()
    if "seccomp" not in fences:
        pytest.skip("this kernel gives the child no seccomp filter")
    return program, own_pid


def nr(name: str) -> int:
    return seccomp.ARCHES[MACHINE][1][name]


def test_the_installed_filter_is_the_one_built(live):
    program, own_pid = live
    assert program == seccomp.build_filter(MACHINE, own_pid)


@pytest.mark.parametrize("name", seccomp.denied_calls())
def test_denied_calls_fail_with_eperm(live, name):
    program, _ = live
    if name not in seccomp.ARCHES[MACHINE][1]:
        pytest.skip(f"{MACHINE} has no {name}")
    assert evaluate(program, nr(name), (0, 0, 0)) == EPERM


@pytest.mark.parametrize("name", ["read", "write", "mmap", "futex", "openat", "getpid"])
def test_ordinary_calls_are_allowed(live, name):
    numbers = {"x86_64": {"read": 0, "write": 1, "mmap": 9, "futex": 202, "openat": 257, "getpid": 39},
               "aarch64": {"read": 63, "write": 64, "mmap": 222, "futex": 98, "openat": 56, "getpid": 172}}
    program, _ = live
    assert evaluate(program, numbers[MACHINE][name], (3, 0, 0)) == ALLOW


@pytest.mark.parametrize("name", ["prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam",
                                  "sched_setattr"])
def test_calls_that_take_a_pid_may_name_only_the_caller(live, name):
    program, own_pid = live
    assert evaluate(program, nr(name), (0,)) == ALLOW
    assert evaluate(program, nr(name), (own_pid,)) == ALLOW
    for other in (own_pid + 1, 4242, -1):
        assert evaluate(program, nr(name), (other,)) == EPERM


def test_signals_go_only_to_the_caller(live):
    program, own_pid = live
    assert evaluate(program, nr("kill"), (own_pid, 9)) == ALLOW
    for target in (0, -1, -own_pid, own_pid + 1):  # its group, everyone, another group, another process
        assert evaluate(program, nr("kill"), (target, 9)) == EPERM
    assert evaluate(program, nr("tgkill"), (own_pid, own_pid + 3, 10)) == ALLOW  # one of its own threads
    assert evaluate(program, nr("tgkill"), (own_pid + 1, own_pid + 1, 10)) == EPERM
    assert evaluate(program, nr("tgkill"), (0, 0, 10)) == EPERM


def test_threads_but_no_processes(live):
    program, _ = live
    assert evaluate(program, nr("clone"), (0x3D0F00,)) == ALLOW  # what pthread_create passes, CLONE_THREAD set
    assert evaluate(program, nr("clone"), (17,)) == EPERM          # SIGCHLD: a fork
    assert evaluate(program, nr("clone3"), (0,)) == ENOSYS         # glibc then falls back to clone


def test_priority_only_of_the_caller(live):
    program, own_pid = live
    assert evaluate(program, nr("setpriority"), (0, 0, 5)) == ALLOW
    assert evaluate(program, nr("setpriority"), (0, own_pid, 5)) == ALLOW
    assert evaluate(program, nr("setpriority"), (0, own_pid + 1, 5)) == EPERM
    assert evaluate(program, nr("setpriority"), (1, 0, 5)) == EPERM  # PRIO_PGRP
    assert evaluate(program, nr("setpriority"), (2, 0, 5)) == EPERM  # PRIO_USER


def test_no_signals_through_descriptors_and_no_typing_into_terminals(live):
    program, _ = live
    for command in (seccomp.F_SETOWN, seccomp.F_SETSIG, seccomp.F_SETOWN_EX):
        assert evaluate(program, nr("fcntl"), (3, command, 1)) == EPERM
    assert evaluate(program, nr("fcntl"), (3, 3)) == ALLOW            # F_GETFL
    assert evaluate(program, nr("ioctl"), (0, seccomp.TIOCSTI, 0)) == EPERM
    assert evaluate(program, nr("ioctl"), (3, 0x5401, 0)) == ALLOW    # TCGETS


def test_other_abis_kill_the_process(live):
    program, _ = live
    assert evaluate(program, 0, arch=0x40000003) == KILL              # i386
    if MACHINE == "x86_64":
        assert evaluate(program, seccomp.X32_SYSCALL_BIT | 62, (1, 9)) == KILL  # x32 kill


@pytest.mark.parametrize("machine", list(seccomp.ARCHES))
def test_syscall_numbers_match_the_kernel_headers(machine):
    header = HEADERS[machine]
    if not header.exists():
        pytest.skip(f"{header} is not installed")
    text = header.read_text()
    defined = {m.group(1): int(m.group(2)) for m in re.finditer(r"#define __NR(?:3264)?_(\w+)\s+(\d+)", text)}
    numbers = seccomp.ARCHES[machine][1]
    assert {name: defined.get(name) for name in numbers} == numbers
