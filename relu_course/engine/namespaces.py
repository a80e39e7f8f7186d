"""Linux namespaces for one submission, and the mounts that make them private.

Where the grader is not root, the worker moves into a user namespace of its own
(:func:`enter_user_namespace`), which gives it the right to make the others. Before each
fork the worker makes a new pid namespace for the child (:class:`PidNamespaces`), which is
its pid 1; the child then makes its own mount, IPC and network namespaces (:func:`unshare`).
In the child, :func:`mount_private` mounts its own ``/proc`` (it sees no process but its own),
a size-limited tmpfs on ``/tmp`` that holds everything it may write, and ``/dev/shm``,
``/var/tmp`` and ``/run/lock`` inside that tmpfs; :func:`close_ipc` empties the System V
limits of its IPC namespace. :func:`hide` mounts empty read-only directories over paths the child must not see, and
:func:`reveal` makes the Python installation reachable where a directory above it is
closed to other users (``/root`` on these machines), without showing the rest of it.
Everything here is detected, never assumed: each step that fails is left out.
"""
from __future__ import annotations

import ctypes
import os
import stat
from pathlib import Path

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
CLONE_NEWPID, CLONE_NEWIPC = 0x20000000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH = 2
#: directories every user may write besides /tmp: in the child they live inside its bounded /tmp
SHARED_WRITABLE = ("/dev/shm", "/var/tmp", "/run/lock")
#: the namespaces a child gets, by the name the record gives them
NAMESPACES = ((CLONE_NEWNS, "mount namespace"), (CLONE_NEWPID, "pid namespace"),
              (CLONE_NEWIPC, "ipc namespace"), (CLONE_NEWNET, "network namespace"))

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


def _unshare(flag: int) -> bool:
    return _libc.unshare(flag) == 0


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2); raises OSError."""
    encode = (lambda s: s.encode() if s is not None else None)
    if _libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def enter_user_namespace() -> bool:
    """Move the calling process (the worker, where it is not root) into a user namespace of its
    own, its uid and gid mapped to themselves: there it may make the other namespaces. Must be
    called before the process starts a thread. True if it worked."""
    uid, gid = os.geteuid(), os.getegid()
    if not _unshare(CLONE_NEWUSER):
        return False
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError:
        return False  # a user namespace without a map has no rights: the others will fail alike
    return True


PR_SET_PDEATHSIG = 1


def become_init() -> None:
    """Go on as pid 1 of a new pid namespace, owned by the caller's user namespace.

    The calling process forks; the child, pid 1 there, returns (and dies with its parent);
    the parent only waits for it and exits as it did. Where no pid namespace can be made the
    caller simply goes on. Call before any thread starts.
    """
    if not _unshare(CLONE_NEWPID):
        return
    pid = os.fork()
    if pid == 0:
        _libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)  # the worker dies with the process the grader started
        return
    _pid, status = os.waitpid(pid, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


class PidNamespaces:
    """Gives each child forked next a pid namespace of its own (the worker's side).

    ``unshare(CLONE_NEWPID)`` puts the caller's next child in a new pid namespace, as its pid 1;
    :meth:`restore` points the caller's children back at its own namespace, so that the next
    ``unshare`` makes a fresh one.
    """

    def __init__(self) -> None:
        self.own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)

    def next_child_in_new(self) -> bool:
        return _unshare(CLONE_NEWPID)

    def restore(self) -> None:
        if _libc.setns(self.own, CLONE_NEWPID) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns: {os.strerror(err)}")


def unshare(wanted: set[str]) -> list[str]:
    """Make the namespaces named in ``wanted`` (names from NAMESPACES, the pid namespace aside)
    for the calling process. Returns the names of those made."""
    return [name for flag, name in NAMESPACES if flag != CLONE_NEWPID and name in wanted and _unshare(flag)]


def make_private() -> None:
    """No mount made from here on propagates back to the grader's namespace."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)


def mount_private(tmp_bytes: int, pid_namespace: bool, keep: list[str] = ()) -> list[str]:
    """Mount a private /proc (with a pid namespace), a bounded /tmp, and the other directories
    every user may write (SHARED_WRITABLE) as directories inside that /tmp. Directories of
    ``keep`` that lie under /tmp (a checkout of the course there, say) stay where they are.

    Returns the names of what was mounted. Call in the new mount namespace, before Landlock.
    """
    done = []
    if pid_namespace:
        try:
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            done.append("private /proc")
        except OSError:
            pass
    under_tmp = [p for p in outermost(keep) if p.startswith("/tmp/") and os.path.isdir(p)]
    cover("/tmp", f"size={tmp_bytes},mode=1777", under_tmp)
    done.append(f"bounded /tmp ({tmp_bytes >> 20} MiB)")
    shared = []
    for target in SHARED_WRITABLE:
        inside = f"/tmp/.{target.strip('/').replace('/', '-')}"
        os.mkdir(inside, 0o1777)
        os.chmod(inside, 0o1777)
        try:
            mount(inside, target, None, MS_BIND)
            shared.append(target)
        except OSError:
            continue
    if shared:
        done.append(f"private {', '.join(shared)}")
    return done


def hide(paths: list[str]) -> list[str]:
    """Mount an empty read-only tmpfs over each directory (an empty file over each file) in ``paths``.

    Returns the paths hidden; one that does not exist or cannot be covered is skipped.
    """
    hidden = []
    for path in paths:
        try:
            if os.path.isdir(path):
                mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k,mode=0555")
            elif os.path.exists(path):
                mount("/dev/null", path, None, MS_BIND)
            else:
                continue
        except OSError:
            continue
        hidden.append(path)
    return hidden


def closed_ancestor(path: str) -> str | None:
    """The highest directory above (or at) ``path`` that other users cannot search, if any."""
    current = Path("/")
    for part in Path(path).resolve().parts[1:]:
        current = current / part
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return None
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return str(current)
    return None


def reveal(paths: list[str]) -> list[str]:
    """Make each of ``paths`` reachable by any user, where a directory above it is closed.

    The closed directory is covered with a tmpfs holding only the way down to each path,
    and the path itself is bind-mounted there: what else the closed directory holds stays
    out of sight. Needs the right to mount (root, in a mount namespace of its own). Returns
    the closed directories covered.
    """
    by_closed: dict[str, list[str]] = {}
    for path in outermost(paths):
        closed = closed_ancestor(path)
        if closed is not None and os.path.isdir(path):
            by_closed.setdefault(closed, []).append(path)
    covered = []
    for closed, inside in by_closed.items():
        try:
            cover(closed, "size=64k,mode=0755", inside)
        except OSError:
            continue
        covered.append(closed)
    return covered


def outermost(paths: list[str]) -> list[str]:
    """The paths, resolved, without those that lie inside another of them."""
    resolved = sorted({str(Path(p).resolve()) for p in paths})
    return [p for p in resolved if not any(p != q and p.startswith(q + "/") for q in resolved)]


def cover(directory: str, options: str, keep: list[str]) -> None:
    """Mount a tmpfs (with ``options``) over ``directory``, and bind each of ``keep`` (directories
    under it) back in place, so that they alone of what it held stay in sight. Raises OSError."""
    fds = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in keep}  # before they are covered
    try:
        mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, options)
        try:
            for path, fd in fds.items():
                os.makedirs(path, mode=0o755, exist_ok=True)
                mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        except OSError:
            _libc.umount2(directory.encode(), MNT_DETACH)  # all of it, or none: never half covered
            raise
    finally:
        for fd in fds.values():
            os.close(fd)


#: the IPC namespace's limits that make System V shared memory, queues and semaphores unusable
IPC_CLOSED = {"shmmax": "0", "shmall": "0", "shmmni": "0", "msgmni": "0", "sem": "0 0 0 0"}


def close_ipc() -> bool:
    """In a new IPC namespace, set its System V limits to nothing: memory there is counted by
    no resource limit, and segments could carry data between submissions. True if all were set."""
    try:
        for name, value in IPC_CLOSED.items():
            _write(f"/proc/sys/kernel/{name}", value)
    except OSError:
        return False
    return True


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """Give up every capability (those a user namespace grants its first process included)."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    if _libc.capset(ctypes.byref(header), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset: {os.strerror(err)}")
