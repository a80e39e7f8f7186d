"""Fences put around a forked child before it runs any student code.

Always: its own process group (set by the worker), a scratch working directory, a
clean environment, closed file descriptors, and resource limits. Where the kernel
allows, detected here and never assumed: user, network and mount namespaces, Landlock
(:mod:`.landlock`) and a seccomp filter (:mod:`.seccomp`). ``apply`` returns the names
of the fences that are active, for the result record; a fence that cannot be had is
left out and grading goes on with the others.
"""
from __future__ import annotations

import ctypes
import os
import resource
import sys
from pathlib import Path

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
#: fences that can be switched off (for tests of degraded kernels, or to debug)
OPTIONAL = ("namespaces", "landlock", "seccomp")
#: what of the system the child may read; of /etc only what libraries look up (no credentials)
SYSTEM_ROOTS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/proc", "/sys", "/dev",
                "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/fonts",
                "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/mime.types", "/etc/ssl/certs")

SAFE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}


def own_size() -> int:
    """Virtual memory size of this process in bytes (what RLIMIT_AS counts)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _set_limit(which: int, value: int) -> None:
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value if which != resource.RLIMIT_CPU else value + 2))


def close_fds(keep: tuple[int, ...], scratch: str) -> None:
    """stdin from /dev/null, stdout and stderr to a file in scratch, every other fd closed."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    log = os.open(os.path.join(scratch, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    keep_all = sorted({0, 1, 2, *keep})
    low = 3
    for fd in keep_all:
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 65536)


def readable_roots(protected: list[Path]) -> list[str]:
    """Directories the child may read: the system and this Python, none holding a protected path."""
    import site
    import sysconfig

    import relu_course

    # not sys.path: it may hold the current directory or /tmp, where other submissions live
    candidates = [*SYSTEM_ROOTS, sys.prefix, sys.base_prefix, sys.exec_prefix, *sysconfig.get_paths().values(),
                  *site.getsitepackages(), os.path.dirname(relu_course.__file__)]
    guarded = [Path(p).resolve() for p in protected]
    roots: list[str] = []
    for candidate in candidates:
        path = Path(candidate).resolve()
        if any(path == g or path in g.parents for g in guarded) or str(path) in roots:
            continue
        roots.append(str(path))
    return roots


def unshare_namespaces() -> list[str]:
    """New user, network and mount namespaces, each where the kernel allows. Returns those made."""
    libc = ctypes.CDLL(None, use_errno=True)
    made = []
    for flag, name in ((CLONE_NEWUSER, "user namespace"), (CLONE_NEWNET, "network namespace"),
                       (CLONE_NEWNS, "mount namespace")):
        if libc.unshare(flag) == 0:
            made.append(name)
    return made


def apply(scratch: str, limits: dict, keep_fds: tuple[int, ...]) -> list[str]:
    """Fence in the calling process (a freshly forked child). Returns the active fences.

    ``limits`` holds the resource limits, ``readable`` (paths the child may read) and
    ``disabled`` (names from OPTIONAL to leave off).
    """
    import signal

    from . import landlock, seccomp

    active = ["process group"]
    disabled = set(limits.get("disabled", ()))
    os.chdir(scratch)
    os.environ.clear()
    os.environ.update(SAFE_ENV, HOME=scratch, TMPDIR=scratch, MPLCONFIGDIR=scratch)
    active.append("scratch directory")
    close_fds(keep_fds, scratch)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversize write fails instead of killing
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _set_limit(resource.RLIMIT_AS, own_size() + limits["memory_bytes"])
    _set_limit(resource.RLIMIT_CPU, limits["cpu_seconds"])
    _set_limit(resource.RLIMIT_FSIZE, limits["file_bytes"])
    _set_limit(resource.RLIMIT_NOFILE, limits["open_files"])
    _set_limit(resource.RLIMIT_NPROC, limits["processes"])
    _set_limit(resource.RLIMIT_CORE, 0)
    active.append("resource limits")
    if "namespaces" not in disabled:
        active += unshare_namespaces()
    if "landlock" not in disabled:
        try:  # after any mount, before seccomp (which forbids the calls Landlock needs)
            active += landlock.restrict(limits.get("readable", []), [scratch, os.devnull])
        except OSError:
            pass
    if "seccomp" not in disabled:
        try:
            active.append(seccomp.install())
        except OSError:
            pass
    return active
