"""A throwaway PostgreSQL server on loopback, for the gradebook tests and for .ci/run.

    python tests/postgres_server.py start DIR   # prints the URL of an empty database
    python tests/postgres_server.py stop DIR

The cluster lives in DIR (made with initdb, trust authentication, listening on 127.0.0.1 only,
on a free port). PostgreSQL refuses to run as root, so as root it runs as the ``postgres``
user that Debian's package creates.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
from pathlib import Path

USER = "relu"
DATABASE = "gradebook"


def bindir() -> Path | None:
    """Where PostgreSQL's server programs are (Debian keeps them out of PATH), or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(folder: Path, timeout: float = 120) -> str:
    """Start a new cluster in ``folder`` and return the URL of its empty database."""
    programs = bindir()
    if programs is None:
        raise FileNotFoundError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        server = pwd.getpwnam("postgres")
        for path in (folder, sockets):
            os.chown(path, server.pw_uid, server.pw_gid)
    run = lambda *cmd: subprocess.run(_as_server_user([str(c) for c in cmd]), check=True, capture_output=True,  # noqa: E731
                                      text=True, timeout=timeout, cwd=folder)
    run(programs / "initdb", "-D", data, "-A", "trust", "-U", USER, "--no-sync")
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off"
    run(programs / "pg_ctl", "-D", data, "-o", options, "-l", folder / "server.log", "-w", "-t", "60", "start")
    (folder / "port").write_text(str(port))
    run(programs / "createdb", "-h", "127.0.0.1", "-p", port, "-U", USER, DATABASE)
    return f"postgresql://{USER}@127.0.0.1:{port}/{DATABASE}"


def stop(folder: Path) -> None:
    """Stop the cluster in ``folder`` (fast: its data is thrown away)."""
    programs = bindir()
    data = Path(folder).resolve() / "data"
    if programs is None or not data.exists():
        return
    subprocess.run(_as_server_user([str(programs / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                   capture_output=True, timeout=60)


if __name__ == "__main__":
    verb, where = sys.argv[1], Path(sys.argv[2])
    if verb == "start":
        print(start(where))
    else:
        stop(where)
