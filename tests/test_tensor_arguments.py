"""torch code in a submission: tensors handed to the child, networks behind handles, per-call limits."""
from __future__ import annotations

import socket

import numpy as np
import pytest
import torch

from relu_course.engine import protocol
from relu_course.engine.faults import StudentTimeout
from relu_course.engine.protocol import Limits, ProtocolError, Tensor
from relu_course.engine.proxy import Call, Student
from relu_course.engine.sandbox import Sandbox
from relu_course.notebook import Cell

CELLS = [
    Cell(0, "import time\nimport torch\nfrom torch import nn\n"),
    Cell(1, "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.hidden = nn.Linear(1, 2)\n"
            "    def forward(self, x):\n"
            "        return torch.relu(self.hidden(x))\n"
            "def kind(x):\n"
            "    return [type(x).__name__, str(x.dtype), list(x.shape)]\n"
            "def slow(seconds):\n"
            "    time.sleep(seconds)\n"
            "    return seconds\n"),
]


def roundtrip(value, to_tensor=None):
    a, b = socket.socketpair()
    with a, b:
        protocol.send(a, value, Limits())
        return protocol.recv(b, Limits(), to_tensor=to_tensor)


def test_a_tensor_argument_arrives_as_a_tensor_of_the_same_dtype_shape_and_values():
    array = np.arange(6, dtype=np.float32).reshape(3, 2)
    got = roundtrip({"x": Tensor(array)}, to_tensor=torch.from_numpy)["x"]
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32 and tuple(got.shape) == (3, 2)
    np.testing.assert_array_equal(got.numpy(), array)


def test_the_grader_refuses_a_tensor_sent_to_it():
    with pytest.raises(ProtocolError, match="a tensor cannot be received here"):
        roundtrip([Tensor(np.zeros(2))])


def test_a_tensor_of_something_other_than_an_array_is_malformed():
    decoder = protocol.Decoder([], Limits(), to_tensor=torch.from_numpy)
    with pytest.raises(ProtocolError, match="a tensor of something other than an array"):
        decoder.decode({"p": "text"})


def test_a_network_is_built_and_run_in_the_child(worker):
    box = Sandbox(worker, CELLS)
    try:
        student = Student(box)
        x = np.linspace(-1, 1, 5, dtype=np.float32).reshape(-1, 1)
        assert student.kind(student.tensor(x)) == ["Tensor", "torch.float32", [5, 1]]
        net = student.Net()
        net.load_state_dict({"hidden.weight": student.tensor(np.array([[1.0], [-1.0]], dtype=np.float32)),
                             "hidden.bias": student.tensor(np.zeros(2, dtype=np.float32))})
        out = net(student.tensor(x))
        state = net.state_dict()
    finally:
        box.close()
    assert out.dtype == np.float32 and out.shape == (5, 2)
    np.testing.assert_array_equal(out, np.maximum(np.hstack([x, -x]), 0))
    assert list(state) == ["hidden.weight", "hidden.bias"] and state["hidden.weight"].tolist() == [[1.0], [-1.0]]


def test_a_call_can_have_a_shorter_time_limit_than_the_sandbox(worker):
    box = Sandbox(worker, CELLS)
    try:
        student = Student(box)
        fast, = student.slow.many([Call(0.01)], seconds=0.5)
        slow, = student.slow.many([Call(2.0)], seconds=0.5)
    finally:
        box.close()
    assert fast.value == 0.01
    with pytest.raises(StudentTimeout, match="did not return within 0.5 s"):
        slow.value
