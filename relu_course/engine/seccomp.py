"""A seccomp filter for the child: no sockets, no ptrace, no new processes, no signals out.

Built as a classic BPF program for the running architecture (x86_64 or aarch64) and
installed with prctl. Denied calls fail with EPERM, so student code sees an ordinary
PermissionError. Threads stay possible (clone with CLONE_THREAD); fork, exec and every
way of reaching another process's memory are not.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
RET_ALLOW, RET_KILL_PROCESS, RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
CLONE_THREAD = 0x00010000
LD_W_ABS, JEQ_K, JSET_K, RET_K = 0x20, 0x15, 0x45, 0x06

ARCHES = {
    "x86_64": (0xC000003E, {
        "socket": 41, "socketpair": 53, "connect": 42, "bind": 49, "ptrace": 101, "process_vm_readv": 310,
        "process_vm_writev": 311, "kill": 62, "tkill": 200, "tgkill": 234, "clone": 56, "clone3": 435,
        "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "bpf": 321, "perf_event_open": 298,
        "unshare": 272, "setns": 308, "mount": 165, "io_uring_setup": 425, "pidfd_open": 434,
        "pidfd_send_signal": 424, "pidfd_getfd": 438, "kcmp": 312, "keyctl": 250, "userfaultfd": 323}),
    "aarch64": (0xC00000B7, {
        "socket": 198, "socketpair": 199, "connect": 203, "bind": 200, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "kill": 129, "tkill": 130, "tgkill": 131, "clone": 220, "clone3": 435,
        "execve": 221, "execveat": 281, "bpf": 280, "perf_event_open": 241, "unshare": 97, "setns": 268,
        "mount": 40, "io_uring_setup": 425, "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438,
        "kcmp": 272, "keyctl": 219, "userfaultfd": 282}),
}
DENIED = ("socket", "socketpair", "connect", "bind", "ptrace", "process_vm_readv", "process_vm_writev", "tkill",
          "fork", "vfork", "execve", "execveat", "bpf", "perf_event_open", "unshare", "setns", "mount",
          "io_uring_setup", "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "kcmp", "keyctl", "userfaultfd")


class _Program:
    """A tiny assembler for classic BPF with forward labels."""

    def __init__(self) -> None:
        self.code: list[tuple] = []

    def emit(self, op: int, k: int = 0, jt: str | int = 0, jf: str | int = 0) -> None:
        self.code.append((op, jt, jf, k & 0xFFFFFFFF))

    def label(self, name: str) -> None:
        self.code.append(("label", name))

    def assemble(self) -> bytes:
        positions, index = {}, 0
        for item in self.code:
            if item[0] == "label":
                positions[item[1]] = index
            else:
                index += 1
        out, index = [], 0
        for item in self.code:
            if item[0] == "label":
                continue
            op, jt, jf, k = item
            jt = positions[jt] - index - 1 if isinstance(jt, str) else jt
            jf = positions[jf] - index - 1 if isinstance(jf, str) else jf
            out.append(struct.pack("<HBBI", op, jt, jf, k))
            index += 1
        return b"".join(out)


def build_filter(machine: str, pid: int) -> bytes:
    """The filter for ``machine`` (platform.machine()), for the process ``pid``."""
    audit_arch, numbers = ARCHES[machine]
    p = _Program()
    p.emit(LD_W_ABS, 4)                                  # seccomp_data.arch
    p.emit(JEQ_K, audit_arch, 1, 0)
    p.emit(RET_K, RET_KILL_PROCESS)
    p.emit(LD_W_ABS, 0)                                  # seccomp_data.nr
    for name in DENIED:
        if name in numbers:
            p.emit(JEQ_K, numbers[name], "deny", 0)
    p.emit(JEQ_K, numbers["clone3"], "nosys", 0)          # flags not inspectable: glibc falls back to clone
    p.emit(JEQ_K, numbers["kill"], "kill", 0)
    p.emit(JEQ_K, numbers["tgkill"], "tgkill", 0)
    p.emit(JEQ_K, numbers["clone"], "clone", 0)
    p.emit(RET_K, RET_ALLOW)
    p.label("kill")                                      # kill(pid, sig): only itself or its own group
    p.emit(LD_W_ABS, 16)
    for allowed in (0, pid, -pid):
        p.emit(JEQ_K, allowed, "allow", 0)
    p.emit(RET_K, RET_ERRNO | errno.EPERM)
    p.label("tgkill")                                    # tgkill(tgid, tid, sig): only its own threads
    p.emit(LD_W_ABS, 16)
    p.emit(JEQ_K, pid, "allow", 0)
    p.emit(RET_K, RET_ERRNO | errno.EPERM)
    p.label("clone")                                     # clone(flags, ...): threads only
    p.emit(LD_W_ABS, 16)
    p.emit(JSET_K, CLONE_THREAD, "allow", 0)
    p.emit(RET_K, RET_ERRNO | errno.EPERM)
    p.label("nosys")
    p.emit(RET_K, RET_ERRNO | errno.ENOSYS)
    p.label("deny")
    p.emit(RET_K, RET_ERRNO | errno.EPERM)
    p.label("allow")
    p.emit(RET_K, RET_ALLOW)
    return p.assemble()


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install() -> str:
    """Install the filter on the calling process. Raises OSError where that is impossible."""
    machine = platform.machine()
    if machine not in ARCHES:
        raise OSError(f"no seccomp filter for {machine}")
    program = build_filter(machine, os.getpid())
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")
    return "seccomp"
