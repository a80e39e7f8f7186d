"""Uids for children, where the grader runs as root: two per worker, held for its lifetime.

Each worker takes a slot from a range no account on the machine uses, locked with
``flock`` on a file in a root-owned directory, so that two graders on one machine never
share one; the lock goes when the grader does. The worker's children take turns between
the slot's two uids (the child running and the spare waiting beside it never share one).
"""
from __future__ import annotations

import fcntl
import os
import tempfile
from typing import IO

#: the first uid of the range (far above the ranges that accounts and subuid maps use)
BASE = 1_900_000_000
SLOTS = 4096


class UidSlot:
    """A pair of uids, ``uid`` and ``uid + 1``, for one worker's children."""

    def __init__(self, uid: int, lock: IO):
        self.uid = uid
        self._lock = lock

    def release(self) -> None:
        self._lock.close()


def lock_dir() -> str:
    """A directory only root can write, for the slots' lock files."""
    path = os.path.join(tempfile.gettempdir(), "relu-course-uid-slots")
    os.makedirs(path, mode=0o755, exist_ok=True)
    info = os.lstat(path)
    if info.st_uid != 0 or info.st_mode & 0o022 or not os.path.isdir(path) or os.path.islink(path):
        raise OSError(f"{path} is not a directory of root's that only root can write")
    return path


def acquire() -> UidSlot | None:
    """A free slot, where this process is root; None otherwise (children keep the grader's uid,
    and a user namespace stands in)."""
    if os.geteuid() != 0:
        return None
    folder = lock_dir()
    for slot in range(SLOTS):
        lock = open(os.path.join(folder, f"slot-{slot}"), "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return UidSlot(BASE + 2 * slot, lock)
    return None
