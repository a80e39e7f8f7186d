"""The limits one submission runs under: time, memory, files, processes, output."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .protocol import MiB, Limits


@dataclass(frozen=True)
class SandboxLimits:
    """Fences and time limits for one submission."""

    call_seconds: float = 10.0
    cell_seconds: float = 10.0
    submission_seconds: float = 120.0
    memory_bytes: int = 3 * 1024 * MiB
    cpu_seconds: int = 120
    file_bytes: int = 64 * MiB
    scratch_bytes: int = 64 * MiB  # everything the child writes, where a mount namespace bounds it
    open_files: int = 256
    processes: int = 64
    output_chars: int = 20_000
    submission_bytes: int = 1024 * MiB  # array data all of one submission's replies may bring, in all
    protocol: Limits = field(default_factory=Limits)
    disabled: tuple[str, ...] = ()  # optional fences to leave off (see fences.OPTIONAL)

    def for_child(self) -> dict:
        """What the worker needs to fence a child: everything but the grader's own clocks."""
        data = asdict(self)
        for key in ("call_seconds", "cell_seconds", "submission_seconds", "submission_bytes"):
            data.pop(key)
        return data
