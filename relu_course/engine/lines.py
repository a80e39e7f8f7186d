"""Lines of JSON over a Unix socket: the control channel between grader, worker and child.

One message per line. A reader keeps what arrived after the line it returned, collects
file descriptors passed along (SCM_RIGHTS), refuses a line over ``max_bytes``, and waits
no longer than an absolute deadline, however slowly the other side sends.
"""
from __future__ import annotations

import json
import socket
import time

LINE_BYTES = 1 << 20


def send_line(sock: socket.socket, message: dict, fds: tuple[int, ...] = ()) -> None:
    """Send one message; ``fds`` travel with it."""
    data = json.dumps(message).encode() + b"\n"
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.sendall(data)


class LineReader:
    """Reads messages, one line each, from ``sock``; received descriptors pile up in ``fds``."""

    def __init__(self, sock: socket.socket, max_bytes: int = LINE_BYTES, max_fds: int = 4):
        self.sock = sock
        self.max_bytes = max_bytes
        self.max_fds = max_fds
        self.buffer = b""
        self.fds: list[int] = []

    def read(self, deadline: float | None = None) -> dict:
        """The next message. ``deadline`` is a time.monotonic() value; None waits as long as it takes.

        Raises EOFError when the other side closed, TimeoutError past the deadline, ValueError
        for a line that is too long or not a JSON object.
        """
        while b"\n" not in self.buffer:
            if len(self.buffer) > self.max_bytes:
                raise ValueError(f"a control message over {self.max_bytes} bytes")
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no reply before the deadline")
                self.sock.settimeout(left)
            else:
                self.sock.settimeout(None)
            try:
                chunk, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, self.max_fds)
            except socket.timeout:
                raise TimeoutError("no reply before the deadline") from None
            self.fds += fds
            if not chunk:
                raise EOFError("the other side closed the channel")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        if len(line) > self.max_bytes:
            raise ValueError(f"a control message over {self.max_bytes} bytes")
        try:
            message = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"a malformed control message: {exc}") from None
        if not isinstance(message, dict):
            raise ValueError("a control message that is not a JSON object")
        return message
