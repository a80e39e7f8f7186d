"""Why a call into a submission gave no value: the faults the grader records.

The child reports a fault by name (``{"type": NOT_DEFINED, ...}``); these names are the one
place both sides take them from. A :class:`SubmissionFault` carries a one-line ``summary``
fit for a report, and a ``status`` for the record.
"""
from __future__ import annotations

from .text import clean

#: names of the faults the child reports instead of a value (never the name of a student's class)
NOT_DEFINED = "NotDefined"
CALL_TIMEOUT = "CallTimeout"
RESULT_TOO_LARGE = "ResultTooLarge"
PROTOCOL_ERROR = "ProtocolError"


def fault(name: str, message: str = "") -> dict:
    """The plain-data description of a fault, as the child sends it. Only the child's own faults
    carry the ``fault`` key: a student's exception class of the same name is not one."""
    return {"fault": name, "type": name, "mro": [name], "message": message, "where": ""}


def fault_name(error: dict) -> str | None:
    """The fault an error description names, or None for an exception the student's code raised."""
    name = error.get("fault") if isinstance(error, dict) else None
    return name if isinstance(name, str) else None


class SubmissionFault(Exception):
    """A call into the submission did not return a value; ``summary`` is one line for the report."""

    status = "error"

    def __init__(self, summary: str):
        summary = clean(summary, 1000)
        super().__init__(summary)
        self.summary = summary


class StudentError(SubmissionFault):
    """The student's code raised. ``type_name`` and ``mro`` are class names only."""

    status = "failed"

    def __init__(self, name: str, error: dict):
        error = error if isinstance(error, dict) else {}
        mro = error.get("mro", [])
        self.type_name = clean(error.get("type", "Exception"), 100)
        self.mro = [clean(n, 100) for n in (mro[:32] if isinstance(mro, list) else [])]
        self.message = clean(error.get("message", ""), 500)
        self.where = clean(error.get("where", ""), 100)
        if self.is_a("NotImplementedError"):
            summary = f"{name} is not implemented yet"
        elif fault_name(error) == NOT_DEFINED:
            summary = self.message
        else:
            where = f" ({self.where})" if self.where else ""
            summary = f"{name} raised {self.type_name}: {self.message}{where}"
        super().__init__(summary)

    def is_a(self, type_name: str) -> bool:
        """Whether the exception's class is, or derives from, a class of that name."""
        return type_name in self.mro or self.type_name == type_name


class NotDefined(StudentError):
    """The notebook does not define the requested name."""


class StudentTimeout(SubmissionFault):
    """A cell, a call or the whole submission ran out of time."""

    status = "timeout"


class StudentCrash(SubmissionFault):
    """The submission's process died."""

    status = "crashed"


class BadResult(SubmissionFault):
    """What came back cannot be checked (too large, or broke the protocol)."""

    status = "failed"


class WorkerError(RuntimeError):
    """The worker itself failed: grading cannot go on in this process."""
