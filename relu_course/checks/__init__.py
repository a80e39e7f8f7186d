"""Public checks, run by ``check("relu")`` in a notebook and by ``relu-course check``.

Importing this package registers the checks of every assignment.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import activations, relu_sums, two_neuron_x2  # noqa: F401 - registers the checks
from .core import REGISTRY, CheckFailure, LocalFunctions, NotImplementedYet, PublicCheck

HIDDEN_TESTS_NOTE = ("These are the public checks only. When you submit, hidden tests also check every "
                     "requirement stated in the exercise text, with other inputs.")


@dataclass
class Outcome:
    check: PublicCheck
    passed: bool
    message: str = ""
    details: dict | None = None
    not_implemented: bool = False


def run_check(public: PublicCheck, fns: Any) -> Outcome:
    """Run one public check against ``fns`` (local functions or the sandbox proxy)."""
    try:
        public.run(fns)
    except CheckFailure as failure:
        return Outcome(public, False, failure.message, failure.details, isinstance(failure, NotImplementedYet))
    return Outcome(public, True)


def exercises() -> dict[str, list[str]]:
    """{assignment: [exercise, ...]} for every assignment with public checks."""
    return dict(REGISTRY.assignments)


def checks_of(exercise: str) -> list[PublicCheck]:
    if exercise not in REGISTRY.checks:
        known = ", ".join(sorted(REGISTRY.checks))
        raise KeyError(f"no public checks for {exercise!r}; there are checks for: {known}")
    return REGISTRY.checks[exercise]


def report(exercise: str, outcomes: list[Outcome]) -> str:
    """The plain-text verdict printed in the notebook."""
    passed = sum(o.passed for o in outcomes)
    if any(o.not_implemented for o in outcomes):
        return f"{exercise}: not implemented yet (replace `raise NotImplementedError()` with your code)"
    lines = [f"{exercise}: {passed} of {len(outcomes)} public checks passed"]
    for o in outcomes:
        lines.append(f"  {'PASS' if o.passed else 'FAIL'}  {o.check.name}")
        if not o.passed:
            lines.append(f"        {o.message}")
            for key in ("input", "returned", "expected"):
                if o.details and key in o.details:
                    lines.append(f"        {key + ':':9} {o.details[key]}")
    lines.append(HIDDEN_TESTS_NOTE)
    return "\n".join(lines)


def check(exercise: str, namespace: dict | None = None, plot: bool = True) -> list[Outcome]:
    """Run the public checks of ``exercise`` on the notebook's current definitions.

    Prints a verdict per check, with the input, returned and expected values of a failed
    one (and a small plot of the function where one helps). Raises NotImplementedError
    while the exercise is a stub and AssertionError if a check fails, so that the cell
    shows it; returns the outcomes otherwise.
    """
    if namespace is None:
        namespace = _caller_namespace()
    outcomes = [run_check(public, LocalFunctions(namespace)) for public in checks_of(exercise)]
    print(report(exercise, outcomes))
    failed = [o for o in outcomes if not o.passed]
    if any(o.not_implemented for o in failed):
        raise NotImplementedError(f"{exercise} is not implemented yet")
    if failed:
        if plot:
            _plot(failed, LocalFunctions(namespace))
        raise AssertionError(f"{len(failed)} of {len(outcomes)} public checks of {exercise} failed")
    return outcomes


def _caller_namespace() -> dict:
    """The namespace check() was called from: the notebook's, in Jupyter."""
    try:
        return get_ipython().user_ns  # type: ignore[name-defined]  # noqa: F821
    except NameError:
        import inspect

        frame = inspect.currentframe()
        return frame.f_back.f_back.f_globals  # the caller of check()


def _plot(failed: list[Outcome], fns: LocalFunctions) -> None:
    drawable = [o for o in failed if o.check.plot is not None][:1]
    if not drawable:
        return
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3))
    try:
        drawable[0].check.plot(fns, ax)
    except Exception:  # noqa: BLE001 - a picture is a bonus; the verdict is already printed
        plt.close(fig)
        return
    plt.show()
