"""The reference solution: the solution notebook's own code, run in the trusted process.

It is loaded the way a submission is (same cells, same order, test cells left out), but
in-process: the solution is trusted, and there is no second copy of it anywhere.
"""
from __future__ import annotations

import types
from pathlib import Path

from .. import notebook


class ReferenceError_(Exception):
    """The solution notebook itself failed to run."""


_cache: dict[tuple[str, int], types.ModuleType] = {}


def load_reference(path: Path) -> types.ModuleType:
    """Execute the solution notebook's code cells into a module and return it (cached)."""
    path = Path(path).resolve()
    key = (str(path), path.stat().st_mtime_ns)
    if key in _cache:
        return _cache[key]
    import matplotlib.pyplot as plt
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    module = types.ModuleType(f"reference_{path.stem}")
    module.__file__ = str(path)
    was_interactive = plt.isinteractive()
    plt.ioff()
    try:
        for cell in notebook.code_cells(notebook.read(path)):
            try:
                exec(compile(transform(cell.source), f"<{path.name} {cell.label}>", "exec"), module.__dict__)
            except Exception as exc:
                raise ReferenceError_(f"the solution {path.name} failed in {cell.label}: "
                                      f"{type(exc).__name__}: {exc}") from exc
    finally:
        plt.close("all")
        if was_interactive:
            plt.ion()
    _cache[key] = module
    return module
