"""What the hidden tests hold: stand-ins for the submission's functions and objects.

``student.relu(x)`` sends ``x`` to the sandboxed child and returns plain data. Objects
that cannot cross (an ``nn.Module``, an object array, anything with behaviour) come back
as :class:`RemoteObject`; the tests never run a student's method in their own process.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .faults import StudentCrash
from .protocol import Handle, Tensor
from .records import CallRecord

#: the sandbox a proxy talks to (engine.sandbox.Sandbox); typed loosely so that this module
#: does not import the sandbox, which imports it
Sandbox = Any


class Call:
    """The arguments of one call, for :meth:`RemoteFunction.many`: ``Call(x, alpha=0.2)``."""

    def __init__(self, *args: Any, **kwargs: Any):
        self.args = args
        self.kwargs = kwargs


class RemoteObject:
    """An object that lives in the child. Call it, call its methods, or fetch attributes.

    ``obj(x)`` calls it; ``obj.method(x)`` calls a method; ``obj.get("weight")`` fetches an
    attribute as data. It is valid only while the child that made it lives.
    """

    def __init__(self, sandbox: Sandbox, handle: Handle, generation: int):
        self._sandbox = sandbox
        self._handle = handle
        self._generation = generation

    @property
    def type_name(self) -> str:
        return self._handle.type_name

    def _target(self) -> Handle:
        if self._generation != self._sandbox.generation:
            raise StudentCrash(f"a {self.type_name} object was lost when the notebook's process restarted")
        return self._handle

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._sandbox.call(self._target(), args, kwargs).value

    def __getattr__(self, name: str) -> "RemoteMethod":
        if name.startswith("_"):
            raise AttributeError(name)
        return RemoteMethod(self, name)

    def get(self, name: str) -> Any:
        """The attribute ``name`` of the remote object, as data (or another RemoteObject)."""
        return self._sandbox.get_attribute(self._target(), name)

    def __repr__(self) -> str:
        return f"<remote {self.type_name}: {self._handle.summary}>"


class RemoteMethod:
    """A method of a :class:`RemoteObject`, called in the child."""

    def __init__(self, owner: RemoteObject, name: str):
        self.owner = owner
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.record(*args, **kwargs).value

    def record(self, *args: Any, **kwargs: Any) -> CallRecord:
        return self.owner._sandbox.call(self.owner._target(), args, kwargs, attr=self.name)


class RemoteFunction:
    """A top-level name of the notebook, called in the child.

    ``f(x)`` returns the value; ``f.record(x)`` returns a :class:`CallRecord` with the
    warnings raised and the positions of array arguments the call modified;
    ``f.many([Call(x1), Call(x2, alpha=0.2)])`` makes several calls in one round trip.
    """

    def __init__(self, sandbox: Sandbox, name: str):
        self.sandbox = sandbox
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.record(*args, **kwargs).value

    def record(self, *args: Any, **kwargs: Any) -> CallRecord:
        return self.sandbox.call(self.name, args, kwargs)

    def many(self, calls: list[Call], stop_on_error: bool = True, seconds: float | None = None) -> list[CallRecord]:
        """Several calls in one round trip to the child; one record each, in order.

        By default the calls stop at the first one that raises; the records after it carry
        that same fault (a test reports the first failure anyway). ``seconds`` is each
        call's time limit (default: the sandbox's call limit).
        """
        return self.sandbox.call_many(self.name, [(c.args, c.kwargs) for c in calls], stop_on_error=stop_on_error,
                                      seconds=seconds)

    def __repr__(self) -> str:
        return f"<student's {self.name}>"


class Student:
    """The submission as the tests see it: ``student.relu`` is a :class:`RemoteFunction`."""

    def __init__(self, sandbox: Sandbox):
        self._sandbox = sandbox

    def __getattr__(self, name: str) -> RemoteFunction:
        if name.startswith("_"):
            raise AttributeError(name)
        return RemoteFunction(self._sandbox, name)

    def defines(self, name: str) -> bool:
        """Whether the notebook defines ``name`` at top level."""
        return self._sandbox.defines(name)

    def numpy(self, name: str) -> Any:
        """``numpy.<name>`` made in the submission's process, to pass to its functions
        (a function cannot cross the boundary): ``student.f(student.numpy("sin"))``."""
        return self._sandbox.numpy(name)

    def tensor(self, array: Any) -> Tensor:
        """``array`` as an argument the submission receives as a torch tensor: ``net(student.tensor(x))``."""
        return Tensor(np.asarray(array))
