"""What a call into the submission left behind, and what a cell that failed left behind."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..notebook import Cell
from .faults import SubmissionFault


@dataclass
class CallRecord:
    """What one call returned (or the fault it ended in), and what it did on the way.

    ``mutated`` lists the positions of array arguments the call modified.
    """

    result: Any = None
    warnings: list[str] = field(default_factory=list)
    mutated: list[int] = field(default_factory=list)
    error: SubmissionFault | None = None

    @property
    def value(self) -> Any:
        """The returned value; raises the fault if the call did not return one."""
        if self.error is not None:
            raise self.error
        return self.result


@dataclass
class CellFailure:
    """A cell that raised, hung or killed the child. ``fatal`` cells are skipped on restart."""

    cell: Cell
    message: str
    fatal: bool = False
