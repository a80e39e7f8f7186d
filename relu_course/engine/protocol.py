"""The data-only wire format between the trusted grader and the sandboxed child.

A message is a tree of plain values: None, bool, int, float, complex, str, lists,
tuples, dicts with str keys (an OrderedDict, such as a torch ``state_dict()``, arrives as a
plain dict in the same order), numpy arrays and scalars of numeric dtypes (torch tensors
are sent as arrays). Anything else is replaced by a :class:`Handle` naming an object
that stays on the sending side. Nothing is ever pickled.

In the JSON header, None, bool, int, float (NaN and infinities included), str and
lists are themselves; every other value is an object with one key naming its kind:
``{"t": [...]}`` a tuple, ``{"d": {...}}`` a dict, ``{"a": [buffer, dtype, shape, order]}``
an array, ``{"g": [...]}`` a numpy scalar, ``{"c": [re, im]}``, ``{"h": [id, type, summary]}``
a handle, ``{"v": [base, index]}`` a view.

Frame layout (all integers little-endian):
    u32 header length, u32 buffer count, u64 length of each buffer,
    header (UTF-8 JSON of tagged values), then the raw array buffers.
Every size is checked against :class:`Limits` before anything is allocated.
"""
from __future__ import annotations

import collections
import functools
import itertools
import json
import math
import re
import socket
import struct
import time
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
    return _wire_dtype(value.dtype) is not None


_WIRE_DTYPES: dict[np.dtype, str | None] = {}


def _wire_dtype(dtype: np.dtype) -> str | None:
    """``dtype.str`` if arrays of it may cross (plain numbers), else None. Cached: it is asked per value."""
    try:
        return _WIRE_DTYPES[dtype]
    except KeyError:
        plain = dtype.kind in "biufc" and not dtype.fields and not dtype.subdtype
        descr = _WIRE_DTYPES[dtype] = dtype.str if plain else None
        return descr


#: the integers that may cross: what an int64 or uint64 holds
INT_MIN, INT_MAX = -(1 << 63), (1 << 64) - 1
_PLAIN = (str, float, bool, type(None))  # cross as themselves in the JSON header
_LEAVES = (*_PLAIN, int)  # what a JSON header holds besides lists and objects


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

    def _array(self, arr: np.ndarray, descr: str) -> list:
        """[buffer index, dtype, shape, order] of a numeric array; its bytes become a buffer."""
        if descr[0] == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
            descr = arr.dtype.str
        shape, order = list(arr.shape), "C"
        if arr.ndim > 1 and not arr.flags.c_contiguous and arr.flags.f_contiguous:
            arr, order = arr.T, "F"  # sent as is, without a copy
        if len(self.buffers) >= self.limits.buffers:
            raise TooLarge(f"more than {self.limits.buffers} arrays in one message")
        self.total += arr.nbytes
        if self.total > self.limits.buffer_bytes:
            raise TooLarge(
                f"an array of shape {arr.shape} and dtype {arr.dtype} "
                f"({arr.nbytes / MiB:.0f} MiB) is over the {self.limits.buffer_bytes // MiB} MiB limit"
            )
        self.buffers.append(memoryview(np.ascontiguousarray(arr)).cast("B") if arr.size else memoryview(b""))
        return [len(self.buffers) - 1, descr, shape, order]

    def encode(self, value: Any, depth: int = 0) -> Any:
        cls = type(value)
        if cls in _PLAIN:
            return value
        if cls is int:
            if not INT_MIN <= value <= INT_MAX:
                raise TooLarge("an integer outside the 64-bit range")
            return value
        if isinstance(value, np.ndarray):
            arr = value if cls is np.ndarray else np.ndarray.view(value, np.ndarray)  # a subclass crosses as a plain array
            descr = _wire_dtype(arr.dtype)
            if descr is not None:
                return {"a": self._array(arr, descr)}
        if depth >= self.limits.depth:
            raise TooLarge(f"nested deeper than {self.limits.depth} levels")
        if cls is list:
            return [v if type(v) in _PLAIN else self.encode(v, depth + 1) for v in value]
        if cls is tuple:
            return {"t": [v if type(v) in _PLAIN else self.encode(v, depth + 1) for v in value]}
        if (cls is dict or cls is collections.OrderedDict) and all(type(k) is str for k in value):
            return {"d": {k: v if type(v) in _PLAIN else self.encode(v, depth + 1) for k, v in value.items()}}
        if cls is complex:
            return {"c": [value.real, value.imag]}
        if cls is Handle:
            return {"h": [value.ident, value.type_name, value.summary]}
        if cls is View:
            return {"v": [self.encode(value.base, depth + 1), _encode_index(value.index)]}
        if isinstance(value, np.generic) and cls.__module__ == "numpy":
            descr = _wire_dtype(value.dtype)
            if descr is not None:
                return {"g": self._array(np.asarray(value), descr)}
        tensor = _torch_tensor(value)
        if tensor is not None:
            return {"a": self._array(tensor, tensor.dtype.str)}
        if self.to_handle is None:
            raise ProtocolError(f"a {cls.__name__} cannot be sent")
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
        self.used: set[int] = set()

    def _array(self, body: Any) -> np.ndarray:
        if type(body) is not list or len(body) != 4:
            raise ProtocolError("malformed array")
        index, descr, shape, order = body
        dtype = _dtype_of(descr)
        if (type(index) is not int or not 0 <= index < len(self.buffers)
                or type(shape) is not list or len(shape) > 32
                or not all(type(n) is int and n >= 0 for n in shape) or order not in ("C", "F")):
            raise ProtocolError("malformed array")
        if index in self.used:
            raise ProtocolError("an array buffer named twice")  # else one buffer could fill memory many times
        self.used.add(index)
        buf = self.buffers[index]
        count = math.prod(shape)
        if count * dtype.itemsize != len(buf):
            raise ProtocolError("array size does not match its buffer")
        flat = np.frombuffer(buf, dtype=dtype, count=count)
        if order == "F":
            return flat.reshape(shape[::-1]).T
        return flat.reshape(shape)

    def decode(self, node: Any, depth: int = 0) -> Any:
        cls = type(node)
        if cls in _LEAVES:
            return node
        if depth >= self.limits.depth:
            raise TooLarge(f"nested deeper than {self.limits.depth} levels")
        if cls is list:
            return [v if type(v) in _LEAVES else self.decode(v, depth + 1) for v in node]
        if cls is not dict or len(node) != 1:
            raise ProtocolError("malformed value")
        ((tag, body),) = node.items()
        try:
            if tag == "a":
                return self._array(body)
            if tag == "d" and type(body) is dict:
                return {k: v if type(v) in _LEAVES else self.decode(v, depth + 1) for k, v in body.items()}
            if tag == "t" and type(body) is list:
                return tuple([v if type(v) in _LEAVES else self.decode(v, depth + 1) for v in body])
            if tag == "g":
                return self._array(body)[()]
            if tag == "c":
                return complex(_number(body[0]), _number(body[1]))
            if tag == "h":
                handle = Handle(_int(body[0]), _str(body[1]), _str(body[2]))
                return self.from_handle(handle) if self.from_handle else handle
            if tag == "v":
                base = self.decode(body[0], depth + 1)
                if type(base) is not np.ndarray:
                    raise ValueError("a view of something other than an array")
                if body[1] == "T":
                    return base.T
                return base[tuple(slice(*map(_opt_int, s)) for s in body[1])]
        except (IndexError, KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"malformed value: {exc}") from None
        raise ProtocolError(f"unknown tag {tag!r}")


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise ValueError("expected a number")
    return float(value)


def _int(value: Any) -> int:
    if type(value) is not int:
        raise ValueError("expected an integer")
    return value


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


def _recv_exactly(sock: socket.socket, size: int, deadline: float | None = None) -> bytearray:
    """``size`` bytes; by ``deadline`` (time.monotonic()) however slowly they come, or socket.timeout."""
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("the reply did not arrive in time")
            sock.settimeout(left)
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise EOFError("the other side closed the connection")
        got += n
    return buf


@dataclass
class Budget:
    """Bytes of array data still allowed across several frames (all of one submission's replies)."""

    left: int


def _checked_int(digits: str) -> int:
    value = int(digits)
    if not INT_MIN <= value <= INT_MAX:
        raise ProtocolError("an integer outside the 64-bit range")
    return value


def recv(sock: socket.socket, limits: Limits, from_handle: Callable[[Handle], Any] | None = None,
         deadline: float | None = None, budget: Budget | None = None) -> Any:
    """Receive one frame and decode it. Raises EOFError, ProtocolError or socket.timeout.

    With a ``deadline`` (a time.monotonic() value) the whole frame must have arrived by then:
    a sender that trickles bytes does not stretch it. With a ``budget``, the frame's array data
    is taken from it, and a frame over what is left is refused before anything is allocated.
    """
    header_len, count = _HEAD.unpack(_recv_exactly(sock, _HEAD.size, deadline))
    if header_len > limits.header_bytes:
        raise TooLarge(f"message header of {header_len} bytes is over the {limits.header_bytes} byte limit")
    if count > limits.buffers:
        raise TooLarge(f"{count} arrays in one message is over the limit of {limits.buffers}")
    sizes = struct.unpack(f"<{count}Q", _recv_exactly(sock, 8 * count, deadline)) if count else ()
    total = sum(sizes)
    if total > limits.buffer_bytes:
        raise TooLarge(f"{total / MiB:.0f} MiB of array data is over the {limits.buffer_bytes // MiB} MiB limit")
    if budget is not None:
        if total > budget.left:
            raise TooLarge(f"{total / MiB:.0f} MiB of array data is over what is left of the submission's allowance")
        budget.left -= total
    try:
        tree = json.loads(_recv_exactly(sock, header_len, deadline), parse_int=_checked_int)
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed header: {exc}") from None
    data = memoryview(_recv_exactly(sock, total, deadline))
    offsets = [0, *itertools.accumulate(sizes)]
    buffers = [data[start:end] for start, end in zip(offsets, offsets[1:])]
    return Decoder(buffers, limits, from_handle).decode(tree)
