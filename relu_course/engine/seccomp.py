"""A seccomp filter for the child: nothing that reaches another process, the kernel's
administration, the network or memory the address-space limit does not count.

Built as a classic BPF program for the running architecture (x86_64 or aarch64) and
installed with prctl. Denied calls fail with EPERM, so student code sees an ordinary
PermissionError; a call of the wrong ABI (x32 on x86_64, or a foreign architecture) kills
the process. Threads stay possible (clone with CLONE_THREAD); fork, exec and every way of
naming another process are not: the calls that take a pid may name only the caller.

The syscall numbers are the kernel's (x86_64: asm/unistd_64.h; aarch64: the generic
asm-generic/unistd.h); a test compares them with the headers where they are installed.
Written by hand rather than with libseccomp: the program is small, it needs no library
at run time, and a test decodes the installed program and checks every rule.
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
X32_SYSCALL_BIT = 0x40000000
PRIO_PROCESS = 0
#: fcntl commands that make the kernel signal some process on the descriptor's events
F_SETOWN, F_SETSIG, F_SETOWN_EX = 8, 10, 15
#: ioctl that pushes input into a terminal
TIOCSTI = 0x5412
# classic BPF opcodes
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
#: offsets in struct seccomp_data: nr, arch, then the low 32 bits of args[0..5]
NR, ARCH = 0, 4


def arg(index: int) -> int:
    """Offset of the low 32 bits of argument ``index`` (little-endian machines only)."""
    return 16 + 8 * index


#: calls denied outright, by kind
DENIED = {
    "network": ("socket", "socketpair", "connect", "bind", "listen", "accept", "accept4"),
    "other processes": ("ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp", "tkill",
                        "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
                        "ioprio_set", "migrate_pages", "move_pages", "setpgid", "setsid", "get_robust_list"),
    "new programs": ("fork", "vfork", "execve", "execveat"),
    "memory the limits miss": ("memfd_create", "memfd_secret", "shmget", "shmat", "shmctl", "shmdt", "semget",
                               "semop", "semctl", "semtimedop", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open",
                               "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
                               "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register"),
    "namespaces and mounts": ("unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount",
                              "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
                              "open_by_handle_at"),
    "the kernel": ("bpf", "perf_event_open", "keyctl", "add_key", "request_key", "acct", "swapon", "swapoff",
                   "reboot", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
                   "quotactl", "syslog", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
                   "setdomainname", "iopl", "ioperm", "modify_ldt", "lookup_dcookie", "vhangup", "uselib"),
}
#: calls that may name only the caller: first argument 0 or the caller's pid
SELF_ONLY = ("prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr")

ARCHES = {
    "x86_64": (0xC000003E, {
        "socket": 41, "socketpair": 53, "connect": 42, "bind": 49, "listen": 50, "accept": 43, "accept4": 288,
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "process_madvise": 440, "kill": 62,
        "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297, "pidfd_open": 434,
        "pidfd_send_signal": 424, "pidfd_getfd": 438, "kcmp": 312, "clone": 56, "clone3": 435, "fork": 57,
        "vfork": 58, "execve": 59, "execveat": 322, "bpf": 321, "perf_event_open": 298, "unshare": 272,
        "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "move_mount": 429,
        "open_tree": 428, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "keyctl": 250, "add_key": 248,
        "request_key": 249, "userfaultfd": 323, "memfd_create": 319, "memfd_secret": 447, "shmget": 29,
        "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66, "semtimedop": 220,
        "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "mq_open": 240, "mq_unlink": 241,
        "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245, "setpgid": 109,
        "setsid": 112, "ioprio_set": 251, "migrate_pages": 256, "move_pages": 279, "open_by_handle_at": 304,
        "acct": 163, "swapon": 167, "swapoff": 168, "reboot": 169, "kexec_load": 246, "kexec_file_load": 320,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "quotactl": 179, "syslog": 103,
        "settimeofday": 164, "clock_settime": 227, "clock_adjtime": 305, "adjtimex": 159, "sethostname": 170,
        "setdomainname": 171, "iopl": 172, "ioperm": 173, "modify_ldt": 154, "lookup_dcookie": 212,
        "vhangup": 153, "uselib": 134, "prlimit64": 302, "sched_setaffinity": 203, "sched_setscheduler": 144,
        "sched_setparam": 142, "sched_setattr": 314, "setpriority": 141, "fcntl": 72, "ioctl": 16,
        "get_robust_list": 274}),
    "aarch64": (0xC00000B7, {
        "socket": 198, "socketpair": 199, "connect": 203, "bind": 200, "listen": 201, "accept": 202,
        "accept4": 242, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "process_madvise": 440,
        "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240,
        "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438, "kcmp": 272, "clone": 220, "clone3": 435,
        "execve": 221, "execveat": 281, "bpf": 280, "perf_event_open": 241, "unshare": 97, "setns": 268,
        "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "move_mount": 429, "open_tree": 428,
        "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "keyctl": 219, "add_key": 217,
        "request_key": 218, "userfaultfd": 282, "memfd_create": 279, "memfd_secret": 447, "shmget": 194,
        "shmat": 196, "shmctl": 195, "shmdt": 197, "semget": 190, "semop": 193, "semctl": 191, "semtimedop": 192,
        "msgget": 186, "msgsnd": 189, "msgrcv": 188, "msgctl": 187, "mq_open": 180, "mq_unlink": 181,
        "mq_timedsend": 182, "mq_timedreceive": 183, "mq_notify": 184, "mq_getsetattr": 185, "setpgid": 154,
        "setsid": 157, "ioprio_set": 30, "migrate_pages": 238, "move_pages": 239, "open_by_handle_at": 265,
        "acct": 89, "swapon": 224, "swapoff": 225, "reboot": 142, "kexec_load": 104, "kexec_file_load": 294,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "quotactl": 60, "syslog": 116,
        "settimeofday": 170, "clock_settime": 112, "clock_adjtime": 266, "adjtimex": 171, "sethostname": 161,
        "setdomainname": 162, "lookup_dcookie": 18, "vhangup": 58, "prlimit64": 261, "sched_setaffinity": 122,
        "sched_setscheduler": 119, "sched_setparam": 118, "sched_setattr": 274, "setpriority": 140, "fcntl": 25,
        "ioctl": 29, "get_robust_list": 100}),
}


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
            if not (0 <= jt < 256 and 0 <= jf < 256):
                raise ValueError("a jump too far for classic BPF")
            out.append(struct.pack("<HBBI", op, jt, jf, k))
            index += 1
        return b"".join(out)


def denied_calls() -> list[str]:
    return [name for names in DENIED.values() for name in names]


def build_filter(machine: str, pid: int) -> bytes:
    """The filter for ``machine`` (platform.machine()), for the process ``pid``."""
    audit_arch, numbers = ARCHES[machine]
    p = _Program()
    p.emit(LD_W_ABS, ARCH)
    p.emit(JEQ_K, audit_arch, 1, 0)
    p.emit(RET_K, RET_KILL_PROCESS)
    p.emit(LD_W_ABS, NR)
    if machine == "x86_64":
        p.emit(JGE_K, X32_SYSCALL_BIT, "killed", 0)      # the x32 ABI: the same arch value, other numbers
    for name in denied_calls():
        if name in numbers:
            p.emit(JEQ_K, numbers[name], "deny", 0)
    p.emit(JEQ_K, numbers["clone3"], "nosys", 0)          # flags not inspectable: glibc falls back to clone
    for name in ("kill", "tgkill", *SELF_ONLY):
        p.emit(JEQ_K, numbers[name], "self_only", 0)
    p.emit(JEQ_K, numbers["clone"], "clone", 0)
    p.emit(JEQ_K, numbers["setpriority"], "setpriority", 0)
    p.emit(JEQ_K, numbers["fcntl"], "fcntl", 0)
    p.emit(JEQ_K, numbers["ioctl"], "ioctl", 0)
    p.emit(RET_K, RET_ALLOW)
    p.label("self_only")                                  # f(pid, ...): 0 or the caller (tgkill: its own threads)
    p.emit(LD_W_ABS, arg(0))
    p.emit(JEQ_K, pid, "allow", 0)
    p.emit(JEQ_K, 0, "self_zero", "deny")
    p.label("self_zero")                                  # pid 0 means the caller, except for kill (its group)
    p.emit(LD_W_ABS, NR)
    p.emit(JEQ_K, numbers["kill"], "deny", 0)
    p.emit(JEQ_K, numbers["tgkill"], "deny", "allow")
    p.label("clone")                                      # clone(flags, ...): threads only
    p.emit(LD_W_ABS, arg(0))
    p.emit(JSET_K, CLONE_THREAD, "allow", "deny")
    p.label("setpriority")                                # setpriority(PRIO_PROCESS, 0 or self, prio)
    p.emit(LD_W_ABS, arg(0))
    p.emit(JEQ_K, PRIO_PROCESS, 0, "deny")
    p.emit(LD_W_ABS, arg(1))
    p.emit(JEQ_K, 0, "allow", 0)
    p.emit(JEQ_K, pid, "allow", "deny")
    p.label("fcntl")                                      # no F_SETOWN/F_SETSIG: they aim signals at a pid
    p.emit(LD_W_ABS, arg(1))
    for command in (F_SETOWN, F_SETSIG, F_SETOWN_EX):
        p.emit(JEQ_K, command, "deny", 0)
    p.emit(RET_K, RET_ALLOW)
    p.label("ioctl")                                      # no typing into a terminal
    p.emit(LD_W_ABS, arg(1))
    p.emit(JEQ_K, TIOCSTI, "deny", "allow")
    p.label("nosys")
    p.emit(RET_K, RET_ERRNO | errno.ENOSYS)
    p.label("killed")
    p.emit(RET_K, RET_KILL_PROCESS)
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
