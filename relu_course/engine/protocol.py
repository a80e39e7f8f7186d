"""The data-only wire format between the trusted grader and the sandboxed child.

A message is a tree of plain values: None, bool, int, float, complex, str, lists,
tuples, dicts with str keys, numpy arrays and scalars of numeric dtypes (torch tensors
are sent as arrays). Anything else is replaced by a :class:`Handle` naming an object
that stays on the sending side. Nothing is ever pickled.

Frame layout (all integers little-endian):
    u32 header length, u32 buffer count, u64 length of each buffer,
    header (UTF-8 JSON of tagged values), then the raw array buffers.
Every size is checked against :class:`Limits` before anything is allocated.
"""
from __future__ import annotations

import functools
import itertools
import json
import re
import socket
import struct
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

MiB = 1 << 20


class ProtocolError(Exception):
    """A frame broke the format or a size limit; the stream cannot be trusted after it."""


class TooLarge(ProtocolError):
    """A value is over a size limit."""


@dataclass(frozen=True)
class Limits:
    """Caps on one frame. The child is held to these before it sends anything."""

    header_bytes: int = 8 * MiB
    buffer_bytes: int = 256 * MiB
    buffers: int = 4096
    depth: int = 64


@dataclass(frozen=True)
class Handle:
    """An object that cannot cross the boundary, left where it lives.

    ``ident`` is the id the owning side keeps it under; ``type_name`` and ``summary``
    (a capped repr made by the owner) are for messages only.
    """

    ident: int
    type_name: str
    summary: str = ""


@dataclass(frozen=True)
class View:
    """An argument sent as ``base[index]`` so the receiver gets a non-contiguous view.

    ``index`` is a tuple of slices (step may be negative) or ``"T"`` for a transpose.
    """

    base: np.ndarray
    index: tuple | str

    def resolve(self) -> np.ndarray:
        """The view itself, as the receiver will see it."""
        return self.base.T if self.index == "T" else self.base[self.index]


_DTYPE = re.compile(r"^[<>|=]?[biufc][0-9]{1,2}$")
_HEAD = struct.Struct("<II")


def _dtype_of(descr: str) -> np.dtype:
    if not isinstance(descr, str):
        raise ProtocolError(f"refused dtype {descr!r}")
    return _checked_dtype(descr)


@functools.lru_cache(maxsize=64)
def _checked_dtype(descr: str) -> np.dtype:
    if not _DTYPE.match(descr) or np.dtype(descr).kind not in "biufc":
        raise ProtocolError(f"refused dtype {descr!r}")
    return np.dtype(descr)


def numeric_array(value: np.ndarray) -> bool:
    return value.dtype.kind in "biufc" and not value.dtype.fields and not value.dtype.subdtype


class Encoder:
    """Turns one value into a header tree plus array buffers.

    ``to_handle(obj)`` is called for anything that cannot cross; by default it refuses.
    ``limits`` are checked while encoding so an oversize value is refused before sending.
    """

    def __init__(self, limits: Limits, to_handle: Callable[[Any], Handle] | None = None):
        self.limits = limits
        self.to_handle = to_handle
        self.buffers: list[memoryview] = []
        self.total = 0

    def _buffer(self, arr: np.ndarray) -> int:
        if len(self.buffers) >= self.limits.buffers:
            raise TooLarge(f"more than {self.limits.buffers} arrays in one message")
        self.total += arr.nbytes
        if self.total > self.limits.buffer_bytes:
            raise TooLarge(
                f"an array of shape {arr.shape} and dtype {arr.dtype} "
                f"({arr.nbytes / MiB:.0f} MiB) is over the {self.limits.buffer_bytes // MiB} MiB limit"
            )
        self.buffers.append(memoryview(np.ascontiguousarray(arr).reshape(-1).view(np.uint8)))
        return len(self.buffers) - 1

    def _array(self, arr: np.ndarray, tag: str) -> list:
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        fortran = arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous
        data = arr.T if fortran else arr
        return [tag, self._buffer(data), arr.dtype.str, list(arr.shape), "F" if fortran else "C"]

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > self.limits.depth:
            raise TooLarge(f"nested deeper than {self.limits.depth} levels")
        if value is None:
            return ["n"]
        if isinstance(value, bool):
            return ["b", value]
        if isinstance(value, int) and type(value) is int:
            if value.bit_length() > 4096:
                raise TooLarge("an integer with more than 4096 bits")
            return ["i", value]
        if type(value) is float:
            return ["f", value]
        if type(value) is complex:
            return ["c", value.real, value.imag]
        if type(value) is str:
            return ["s", value]
        if type(value) in (list, tuple):
            tag = "l" if type(value) is list else "t"
            return [tag, [self.encode(v, depth + 1) for v in value]]
        if type(value) is dict and all(type(k) is str for k in value):
            return ["d", [[k, self.encode(v, depth + 1)] for k, v in value.items()]]
        if isinstance(value, Handle):
            return ["h", value.ident, value.type_name, value.summary]
        if isinstance(value, View):
            return ["v", self.encode(value.base, depth + 1), _encode_index(value.index)]
        if isinstance(value, np.generic) and type(value).__module__ == "numpy" and numeric_array(np.asarray(value)):
            return self._array(np.asarray(value), "g")
        if isinstance(value, np.ndarray) and numeric_array(value):
            return self._array(np.ndarray.view(value, np.ndarray), "a")
        tensor = _torch_tensor(value)
        if tensor is not None:
            return self._array(tensor, "a")
        if self.to_handle is None:
            raise ProtocolError(f"a {type(value).__name__} cannot be sent")
        return self.encode(self.to_handle(value), depth)


def _torch_tensor(value: Any) -> np.ndarray | None:
    """A torch tensor's data as a numpy array, or None for anything else."""
    cls = type(value)
    if cls.__module__.split(".")[0] != "torch" or cls.__name__ not in ("Tensor", "Parameter"):
        return None
    arr = value.detach().cpu().resolve_conj().resolve_neg().numpy()
    return arr if numeric_array(arr) else None


def _encode_index(index: tuple | str) -> Any:
    if index == "T":
        return "T"
    return [[s.start, s.stop, s.step] for s in index]


class Decoder:
    """Rebuilds values from a header tree and received buffers.

    Arrays come back writable and owning their memory. ``from_handle(h)`` maps a
    received handle to a local object (default: keep the :class:`Handle`).
    """

    def __init__(self, buffers: list[memoryview], limits: Limits,
                 from_handle: Callable[[Handle], Any] | None = None):
        self.buffers = buffers
        self.limits = limits
        self.from_handle = from_handle

    def _array(self, node: list) -> np.ndarray:
        if len(node) != 5:
            raise ProtocolError("malformed array")
        _, index, descr, shape, order = node
        dtype = _dtype_of(descr)
        if (not isinstance(index, int) or not 0 <= index < len(self.buffers)
                or not isinstance(shape, list) or len(shape) > 32
                or not all(isinstance(n, int) and n >= 0 for n in shape) or order not in ("C", "F")):
            raise ProtocolError("malformed array")
        buf = self.buffers[index]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if count * dtype.itemsize != len(buf):
            raise ProtocolError("array size does not match its buffer")
        flat = np.frombuffer(buf, dtype=dtype, count=count)
        if order == "F":
            return flat.reshape(shape[::-1]).T
        return flat.reshape(shape)

    def decode(self, node: Any, depth: int = 0) -> Any:
        if depth > self.limits.depth:
            raise TooLarge(f"nested deeper than {self.limits.depth} levels")
        if not isinstance(node, list) or not node or not isinstance(node[0], str):
            raise ProtocolError("malformed value")
        tag, args = node[0], node[1:]
        try:
            if tag == "n":
                return None
            if tag == "b":
                return bool(args[0]) if isinstance(args[0], bool) else _bad()
            if tag == "i":
                return args[0] if type(args[0]) is int else _bad()
            if tag == "f":
                return float(args[0]) if type(args[0]) in (int, float) else _bad()
            if tag == "c":
                return complex(float(args[0]), float(args[1]))
            if tag == "s":
                return args[0] if type(args[0]) is str else _bad()
            if tag in ("l", "t"):
                items = [self.decode(v, depth + 1) for v in args[0]]
                return items if tag == "l" else tuple(items)
            if tag == "d":
                return {_str(k): self.decode(v, depth + 1) for k, v in args[0]}
            if tag == "a":
                return self._array(node)
            if tag == "g":
                return self._array(node)[()]
            if tag == "h":
                handle = Handle(int(args[0]), _str(args[1]), _str(args[2]))
                return self.from_handle(handle) if self.from_handle else handle
            if tag == "v":
                base = self.decode(args[0], depth + 1)
                if not isinstance(base, np.ndarray):
                    _bad()
                if args[1] == "T":
                    return base.T
                return base[tuple(slice(*map(_opt_int, s)) for s in args[1])]
        except (IndexError, TypeError, ValueError) as exc:
            raise ProtocolError(f"malformed value: {exc}") from None
        raise ProtocolError(f"unknown tag {tag!r}")


def _bad():
    raise ValueError("wrong type")


def _str(value: Any) -> str:
    if type(value) is not str:
        raise ValueError("expected a string")
    return value


def _opt_int(value: Any) -> int | None:
    if value is not None and type(value) is not int:
        raise ValueError("expected an integer or null")
    return value


def pack(value: Any, limits: Limits, to_handle: Callable[[Any], Handle] | None = None) -> list[bytes | memoryview]:
    """Encode ``value`` into the parts of one frame, ready for :func:`send_parts`."""
    encoder = Encoder(limits, to_handle)
    header = json.dumps(encoder.encode(value), separators=(",", ":")).encode()
    if len(header) > limits.header_bytes:
        raise TooLarge(f"message header of {len(header)} bytes is over the limit")
    sizes = struct.pack(f"<{len(encoder.buffers)}Q", *(len(b) for b in encoder.buffers))
    return [_HEAD.pack(len(header), len(encoder.buffers)) + sizes + header, *encoder.buffers]


def send_parts(sock: socket.socket, parts: list[bytes | memoryview]) -> None:
    """Send a packed frame; small frames go out in one system call."""
    if sum(len(p) for p in parts) <= 1 * MiB:
        sock.sendall(b"".join(parts))
    else:
        for part in parts:
            sock.sendall(part)


def send(sock: socket.socket, value: Any, limits: Limits,
         to_handle: Callable[[Any], Handle] | None = None) -> None:
    send_parts(sock, pack(value, limits, to_handle))


def _recv_exactly(sock: socket.socket, size: int) -> bytearray:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise EOFError("the other side closed the connection")
        got += n
    return buf


def recv(sock: socket.socket, limits: Limits,
         from_handle: Callable[[Handle], Any] | None = None) -> Any:
    """Receive one frame and decode it. Raises EOFError, ProtocolError or socket.timeout."""
    header_len, count = _HEAD.unpack(_recv_exactly(sock, _HEAD.size))
    if header_len > limits.header_bytes:
        raise TooLarge(f"message header of {header_len} bytes is over the {limits.header_bytes} byte limit")
    if count > limits.buffers:
        raise TooLarge(f"{count} arrays in one message is over the limit of {limits.buffers}")
    sizes = struct.unpack(f"<{count}Q", _recv_exactly(sock, 8 * count)) if count else ()
    total = sum(sizes)
    if total > limits.buffer_bytes:
        raise TooLarge(f"{total / MiB:.0f} MiB of array data is over the {limits.buffer_bytes // MiB} MiB limit")
    try:
        tree = json.loads(_recv_exactly(sock, header_len))
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed header: {exc}") from None
    data = memoryview(_recv_exactly(sock, total))
    offsets = [0, *itertools.accumulate(sizes)]
    buffers = [data[start:end] for start, end in zip(offsets, offsets[1:])]
    return Decoder(buffers, limits, from_handle).decode(tree)
