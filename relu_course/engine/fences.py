"""Fences put around a forked child before it runs any student code.

The worker prepares once (:func:`prepare_worker`), makes a pid namespace for each child just
before it forks it (:func:`before_fork`), and the child, pid 1 of that namespace, fences
itself in (:func:`apply`) before it runs anything of the student's. Always: its own session and process group, a
scratch working directory, a clean environment, closed file descriptors, resource limits.
Where the kernel allows, detected here and never assumed: mount, pid, IPC and network
namespaces (made with a user namespace where the grader is not root), a private /proc, a
bounded tmpfs for everything it writes, a uid of its own (where the grader is root),
Landlock (:mod:`.landlock`) and a seccomp filter (:mod:`.seccomp`). ``apply`` returns the
names of the fences that are active, for the result record; a fence that cannot be had is
left out and grading goes on with the others.
"""
from __future__ import annotations

import os
import resource
import signal
import sys
from pathlib import Path

from . import namespaces
from .threads import THREAD_VARIABLES

#: fences that can be switched off (for tests of degraded kernels, or to debug)
OPTIONAL = ("user namespace", "mount namespace", "pid namespace", "ipc namespace", "network namespace",
            "separate uid", "landlock", "seccomp")
#: what of the system the child may read; of /etc only what libraries look up (no credentials)
SYSTEM_ROOTS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/proc", "/sys", "/dev",
                "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/fonts",
                "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/mime.types", "/etc/ssl/certs")

#: a child's whole environment (and HOME, TMPDIR, MPLCONFIGDIR: its scratch); one thread per library
SAFE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg", **dict.fromkeys(THREAD_VARIABLES, "1")}


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


def close_fds(keep: tuple[int, ...], log_dir: str) -> None:
    """stdin from /dev/null, stdout and stderr to a file in ``log_dir``, every other fd closed."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    log = os.open(os.path.join(log_dir, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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


def hidden_paths(protected: list[Path], readable: list[str]) -> list[str]:
    """The protected paths to cover in the child's mount namespace: those that exist and hold
    no readable root (covering those would hide the Python the child runs on)."""
    hidden = []
    for path in (Path(p).resolve() for p in protected):
        if path.exists() and not any(Path(r) == path or path in Path(r).parents for r in readable):
            hidden.append(str(path))
    return sorted(set(hidden))


def python_is_public(readable: list[str]) -> bool:
    """Whether another uid can reach every readable root without the mount namespace's help."""
    return all(namespaces.closed_ancestor(r) is None for r in readable if os.path.exists(r))


_worker: dict = {"user namespace": False, "pid namespaces": None}


def prepare_worker(user_namespace: bool) -> None:
    """In the worker, once, before it starts a thread: where it is not root, a user namespace
    (so that it and its children may make the other namespaces); then what gives each child
    a pid namespace of its own."""
    if user_namespace and os.geteuid() != 0 and namespaces.enter_user_namespace():
        _worker["user namespace"] = True
        namespaces.become_init()  # so that it may point its children back at its own pid namespace
    try:
        _worker["pid namespaces"] = namespaces.PidNamespaces()
    except OSError:
        pass


def before_fork(limits: dict) -> list[str]:
    """In the worker, just before it forks a child: the namespaces made for that child."""
    made = ["user namespace"] if _worker["user namespace"] else []
    pids = _worker["pid namespaces"]
    if pids is not None and "pid namespace" not in limits.get("disabled", ()) and pids.next_child_in_new():
        made.append("pid namespace")
    return made


def after_fork(made: list[str]) -> None:
    """In the worker, just after the fork: its next child no longer goes to that namespace."""
    if "pid namespace" in made:
        _worker["pid namespaces"].restore()


def _switch_uid(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def apply(scratch: str, limits: dict, made: list[str], keep_fds: tuple[int, ...]) -> list[str]:
    """In the child, before anything of the student's runs: fence it in. Returns the active fences.

    ``limits`` holds the resource limits, ``readable`` (paths the child may read), ``hidden``
    (paths to cover), ``uid`` (where the grader is root: the uid to run as) and ``disabled``
    (names from OPTIONAL to leave off). ``made`` is what :func:`before_fork` returned.
    """
    from . import landlock, seccomp

    os.setsid()  # its own session and group, and no controlling terminal to type into
    disabled = set(limits.get("disabled", ()))
    made = [*made, *namespaces.unshare({n for n in OPTIONAL if n.endswith("namespace") and n not in disabled})]
    active = ["process group", *made]
    readable = limits.get("readable", [])
    uid = limits.get("uid") if "separate uid" not in disabled else None
    home, writable = scratch, [scratch, os.devnull]
    if "mount namespace" in made:
        try:
            namespaces.make_private()
            active += namespaces.mount_private(limits["scratch_bytes"], "pid namespace" in made, readable)
            home, writable = "/tmp", ["/tmp", *namespaces.SHARED_WRITABLE, os.devnull]
            if namespaces.hide(limits.get("hidden", [])):
                active.append("protected paths covered")
            if namespaces.reveal(readable):
                active.append("closed directories covered")
        except OSError:
            pass
    if "ipc namespace" in made and namespaces.close_ipc():
        active.append("System V IPC closed")
    if "mount namespace" not in made and uid is not None and not python_is_public(readable):
        uid = None  # another uid could not load the Python it runs on
    os.chdir(home)
    if uid is not None:
        _switch_uid(uid)
        active.append(f"separate uid ({uid})")
    if "user namespace" in made:
        namespaces.drop_capabilities()
    os.environ.clear()
    os.environ.update(SAFE_ENV, HOME=home, TMPDIR=home, MPLCONFIGDIR=home)
    active.append("scratch directory")
    close_fds(keep_fds, home)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversize write fails instead of killing
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _set_limit(resource.RLIMIT_AS, own_size() + limits["memory_bytes"])
    _set_limit(resource.RLIMIT_CPU, limits["cpu_seconds"])
    _set_limit(resource.RLIMIT_FSIZE, limits["file_bytes"])
    _set_limit(resource.RLIMIT_NOFILE, limits["open_files"])
    _set_limit(resource.RLIMIT_NPROC, limits["processes"])
    _set_limit(resource.RLIMIT_CORE, 0)
    _set_limit(resource.RLIMIT_MSGQUEUE, 0)
    active.append("resource limits")
    if "landlock" not in disabled:
        try:  # after any mount, before seccomp (which forbids the calls Landlock needs)
            active += landlock.restrict(readable, writable)
        except OSError:
            pass
    if "seccomp" not in disabled:
        try:
            active.append(seccomp.install())
        except OSError:
            pass
    return active
