"""Removing what a child left behind, whatever it left: never raises, never recurses.

A child may leave a directory chain thousands of levels deep, files it made read-only, or
names that are not UTF-8. :func:`remove_tree` walks the tree with one open directory
descriptor at a time (``shutil.rmtree`` recurses on the Python stack in this Python), and a
failure to clean is logged, not fatal.
"""
from __future__ import annotations

import logging
import os
import stat

log = logging.getLogger(__name__)


def remove_tree(path: str | os.PathLike) -> bool:
    """Remove ``path`` and everything under it, symlinks not followed. True if it is gone."""
    path = os.fsencode(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError as exc:
        log.warning("could not clean %r: %s", path, exc)
        return False
    try:
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(path)
            return True
        parent, name = os.path.split(path)
        top = os.open(parent or b".", os.O_RDONLY | os.O_DIRECTORY)
        try:
            _remove_dir(top, name)
        finally:
            os.close(top)
        return True
    except OSError as exc:
        log.warning("could not clean %r: %s", path, exc)
        return False


def _remove_dir(parent_fd: int, name: bytes) -> None:
    """Remove the directory ``name`` in ``parent_fd`` and its contents, depth first.

    One descriptor open at a time (a deep chain must not exhaust them): down by name, back
    up by "..", with the names of the way down on a list.
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    fd = os.open(name, flags, dir_fd=parent_fd)
    way_down: list[str] = []
    try:
        while True:
            below = None
            with os.scandir(fd) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        below = entry.name
                        break
                    os.unlink(entry.name, dir_fd=fd)
            if below is not None:
                try:
                    os.chmod(below, 0o700, dir_fd=fd, follow_symlinks=False)
                except OSError:
                    pass
                deeper = os.open(below, flags, dir_fd=fd)
                os.close(fd)
                fd = deeper
                way_down.append(below)
                continue
            if not way_down:
                break
            up = os.open("..", flags, dir_fd=fd)
            os.close(fd)
            fd = up
            os.rmdir(way_down.pop(), dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent_fd)
