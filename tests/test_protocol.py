"""The data-only wire format: what crosses, what is refused, and sizes checked before allocation."""
from __future__ import annotations

import json
import socket
import struct

import numpy as np
import pytest
import torch

from relu_course.engine import protocol
from relu_course.engine.protocol import Handle, Limits, ProtocolError, TooLarge, View

LIMITS = Limits()


def roundtrip(value, limits=LIMITS, to_handle=None):
    a, b = socket.socketpair()
    with a, b:
        protocol.send(a, value, limits, to_handle)
        return protocol.recv(b, limits)


@pytest.mark.parametrize("value", [
    None, True, 0, -7, 2**64 - 1, -2**63, 1.5, -0.0, float("inf"), 3 + 4j, "ünïcode", [], (), {},
    [1, (2.0, "x"), {"k": [None]}], np.float32(1.25), np.int8(-3), np.bool_(True),
])
def test_plain_values_keep_their_type_and_value(value):
    got = roundtrip(value)
    assert type(got) is type(value) and (got == value or got != got)
    if isinstance(value, float):
        assert np.copysign(1, got) == np.copysign(1, value)


def test_nan_crosses():
    assert np.isnan(roundtrip(float("nan")))


@pytest.mark.parametrize("array", [
    np.arange(12.0).reshape(3, 4), np.zeros((0, 3)), np.array(5.0), np.arange(6, dtype=np.float32),
    np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.array([1 + 2j]), np.array([True, False]),
    np.arange(4, dtype=">i4"), np.array([np.nan, -np.inf, -0.0]),
])
def test_arrays_cross_exactly_and_come_back_writable(array):
    got = roundtrip(array)
    assert isinstance(got, np.ndarray) and got.shape == array.shape
    assert got.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(got, array)
    assert got.flags.writeable
    if array.flags.f_contiguous and array.ndim > 1:
        assert got.flags.f_contiguous


def test_views_arrive_non_contiguous():
    base = np.arange(24.0).reshape(4, 6)
    got = roundtrip([View(base, (slice(None), slice(None, None, 2))), View(base, "T"), View(base, (slice(None, None, -1),))])
    for view, expected in zip(got, (base[:, ::2], base.T, base[::-1])):
        assert not view.flags.c_contiguous
        np.testing.assert_array_equal(view, expected)


def test_torch_tensors_cross_as_arrays():
    got = roundtrip({"w": torch.nn.Parameter(torch.ones(2, 3))})
    assert isinstance(got["w"], np.ndarray) and got["w"].shape == (2, 3)


def test_a_state_dict_arrives_as_a_plain_dict_of_arrays_in_order():
    torch.manual_seed(0)
    state = torch.nn.Sequential(torch.nn.Linear(1, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1)).state_dict()
    back = roundtrip(state)
    assert type(back) is dict and list(back) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for name, tensor in state.items():
        np.testing.assert_array_equal(back[name], tensor.numpy())
        assert back[name].dtype == np.float32


@pytest.mark.parametrize("value", [object(), np.array([object()]), lambda: 1, {1: "int key"},
                                   np.zeros(2, dtype=[("a", "f8")]), np.array(["text"])])
def test_anything_else_is_refused_without_a_handle_maker(value):
    with pytest.raises(ProtocolError):
        protocol.pack(value, LIMITS)


def test_anything_else_becomes_a_handle_when_allowed():
    made = []

    def to_handle(obj):
        made.append(obj)
        return Handle(len(made), type(obj).__name__, "summary")

    got = roundtrip([np.array([object()]), object()], to_handle=to_handle)
    assert got == [Handle(1, "ndarray", "summary"), Handle(2, "object", "summary")]


class LyingArray(np.ndarray):
    def __eq__(self, other):
        return True


def test_ndarray_subclasses_arrive_as_plain_data():
    value = np.arange(3.0).view(LyingArray)
    got = roundtrip(value)
    assert type(got) is np.ndarray and not (got == np.array([9.0, 9.0, 9.0])).all()


def test_oversize_values_are_refused_by_the_sender():
    with pytest.raises(TooLarge):
        protocol.pack(np.zeros(1000), Limits(buffer_bytes=4000))
    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(TooLarge):
        protocol.pack(deep, LIMITS)


def send_raw(header: bytes, sizes: list[int], payload: bytes = b"", count: int | None = None):
    a, b = socket.socketpair()
    frame = struct.pack("<II", len(header), len(sizes) if count is None else count)
    frame += struct.pack(f"<{len(sizes)}Q", *sizes) + header + payload
    a.sendall(frame)
    a.close()
    return b


def test_integers_past_64_bits_are_refused_by_the_sender():
    with pytest.raises(TooLarge, match="64-bit"):
        protocol.pack(2**64, LIMITS)


def test_a_budget_bounds_what_several_frames_bring_in_all():
    budget = protocol.Budget(3 * 8)
    for _ in range(3):
        a, b = socket.socketpair()
        with a, b:
            protocol.send(a, np.zeros(1), LIMITS)
            protocol.recv(b, LIMITS, budget=budget)
    assert budget.left == 0
    a, b = socket.socketpair()
    with a, b, pytest.raises(TooLarge, match="allowance"):
        protocol.send(a, np.zeros(1), LIMITS)
        protocol.recv(b, LIMITS, budget=budget)


def test_receiver_checks_declared_sizes_before_allocating():
    # claims 1 TiB of array data: refused from the 16-byte prefix, nothing allocated or read
    b = send_raw(b'null', [1 << 40])
    with b, pytest.raises(TooLarge):
        protocol.recv(b, LIMITS)
    b = send_raw(b"", [], count=10**9)
    with b, pytest.raises(TooLarge):
        protocol.recv(b, LIMITS)


@pytest.mark.parametrize("header, payload", [
    (b'not json', b""),
    (json.dumps({"a": [0, "|O", [1], "C"]}).encode(), b"12345678"),     # object dtype
    (json.dumps({"a": [0, "<f8", [2], "C"]}).encode(), b"12345678"),    # shape does not match the buffer
    (json.dumps({"a": [0, "<f8", [-1], "C"]}).encode(), b"12345678"),
    (json.dumps({"a": [1, "<f8", [1], "C"]}).encode(), b"12345678"),    # no such buffer
    (json.dumps({"q": 1}).encode(), b""),                               # unknown tag
    (json.dumps({"t": [], "d": {}}).encode(), b""),                     # two tags in one value
    (json.dumps({"d": [["x", 1]]}).encode(), b""),                      # dict body that is not an object
    (json.dumps({"c": ["1", 0]}).encode(), b""),                        # complex part that is not a number
    (json.dumps({"h": [1.5, "Net", ""]}).encode(), b""),                # handle id that is not an integer
    (json.dumps([{"a": [0, "<f8", [1], "C"]}, {"a": [0, "<f8", [1], "C"]}]).encode(), b"12345678"),  # one buffer twice
    (b"[18446744073709551616]", b""),                                   # an integer past 64 bits
    (b"[" * 100_000 + b"]" * 100_000, b""),                             # nested past any limit
])
def test_malformed_frames_are_refused(header, payload):
    b = send_raw(header, [len(payload)] if payload else [], payload)
    with b, pytest.raises(ProtocolError):
        protocol.recv(b, LIMITS)


def test_no_pickle_anywhere_in_the_engine():
    import pathlib

    import relu_course

    root = pathlib.Path(relu_course.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text and "dill" not in text, path
