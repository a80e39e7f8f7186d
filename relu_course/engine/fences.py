"""Fences put around a forked child before it runs any student code.

Always: its own process group (set by the worker), a scratch working directory, a
clean environment, closed file descriptors, and resource limits. ``apply`` returns the
names of the fences that are active, for the result record.
"""
from __future__ import annotations

import os
import resource

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


def apply(scratch: str, limits: dict, keep_fds: tuple[int, ...]) -> list[str]:
    """Fence in the calling process (a freshly forked child). Returns the active fences."""
    import signal

    active = ["process group"]
    os.chdir(scratch)
    os.environ.clear()
    os.environ.update(SAFE_ENV, HOME=scratch, TMPDIR=scratch)
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
    return active
