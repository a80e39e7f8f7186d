"""How long each solution notebook takes to run top to bottom in a real Jupyter kernel.

Runs every solution notebook with nbclient, as a student's "Run all" would (kernel start
included), a few times, and prints the wall time and the slowest cells. The target for
02_relu_sums is at most 15 s.

    python bench/notebook_speed.py [--runs 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbclient
import nbformat

REPO = Path(__file__).resolve().parent.parent


def cell_seconds(cell) -> float:
    """How long the kernel spent on one cell, from nbclient's timing metadata."""
    timing = cell.metadata.get("execution", {})
    started, ended = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (started and ended):
        return 0.0
    return (datetime.fromisoformat(ended.replace("Z", "+00:00")) -
            datetime.fromisoformat(started.replace("Z", "+00:00"))).total_seconds()


def run_once(path: Path) -> tuple[float, list[tuple[float, str]]]:
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as folder:
        client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                         resources={"metadata": {"path": folder}})
        started = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - started
    cells = sorted(((cell_seconds(c), c.get("id", "?")) for c in nb.cells if c.cell_type == "code"), reverse=True)
    return wall, cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for path in sorted(REPO.glob("solutions/*.ipynb")):
        walls, slowest = [], {}
        for _ in range(args.runs):
            wall, cells = run_once(path)
            walls.append(wall)
            for seconds, cid in cells:
                slowest.setdefault(cid, []).append(seconds)
        top = sorted(((statistics.median(s), cid) for cid, s in slowest.items()), reverse=True)[:4]
        print(f"{path.stem}: top to bottom in a kernel, median {statistics.median(walls):.1f} s "
              f"(min {min(walls):.1f}, max {max(walls):.1f}, {args.runs} runs, kernel start included); slowest cells: "
              + ", ".join(f"{cid} {seconds:.2f} s" for seconds, cid in top))


if __name__ == "__main__":
    main()
