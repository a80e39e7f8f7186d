"""Public checks, run by ``check("relu")`` in a notebook and by ``relu-course check`` in a terminal.

Every module of this package is imported when the package is: an assignment's module
(it declares ``ASSIGNMENT``) registers its checks with ``public_check(assignment, exercise,
name)``. Adding an assignment's checks means adding its module; there is no list to edit.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

from .core import REGISTRY, CheckFailure, LocalFunctions, NotImplementedYet, PublicCheck

HIDDEN_TESTS_NOTE = ("These are the public checks only. When you submit, hidden tests also check every "
                     "requirement stated in the exercise text, with other inputs.")


class _OneLine:
    """An error IPython shows as its message alone: no frames of this package in the notebook."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class ChecksFailed(_OneLine, AssertionError):
    """Some public checks of an exercise failed (the verdict is printed above the error)."""


class NotImplementedYetError(_OneLine, NotImplementedError):
    """The exercise is still a stub."""


class UnknownExercise(_OneLine, LookupError):
    """No public checks for that name, or several assignments have checks for it."""


@dataclass
class Outcome:
    check: PublicCheck
    passed: bool
    message: str = ""
    details: dict | None = None
    not_implemented: bool = False

    @property
    def reason(self) -> str:
        """The failure in one line: the call, then what went wrong."""
        call = (self.details or {}).get("input")
        return f"{call}: {self.message}" if call else self.message


def run_check(public: PublicCheck, fns: Any) -> Outcome:
    """Run one public check against ``fns`` (local functions or the sandbox proxy)."""
    try:
        public.run(fns)
    except CheckFailure as failure:
        return Outcome(public, False, failure.message, failure.details, isinstance(failure, NotImplementedYet))
    return Outcome(public, True)


def exercises() -> dict[str, list[str]]:
    """{assignment: [exercise, ...]} for every assignment with public checks."""
    return REGISTRY.assignments()


def checks_of(assignment: str, exercise: str) -> list[PublicCheck]:
    """The public checks of one exercise of one assignment, in order."""
    if (assignment, exercise) not in REGISTRY.checks:
        known = ", ".join(exercises().get(assignment, [])) or "none"
        raise UnknownExercise(f"no public checks for {exercise!r} in {assignment}; it has checks for: {known}")
    return REGISTRY.checks[assignment, exercise]


def assignment_of(exercise: str, assignment: str | None = None) -> str:
    """The assignment whose checks ``check(exercise)`` runs: the one given, else the only one with that exercise."""
    if assignment is not None:
        checks_of(assignment, exercise)
        return assignment
    owners = [a for a, names in exercises().items() if exercise in names]
    if len(owners) == 1:
        return owners[0]
    if not owners:
        known = ", ".join(name for names in exercises().values() for name in names)
        raise UnknownExercise(f"no public checks for {exercise!r}; there are checks for: {known}")
    raise UnknownExercise(f"{exercise!r} has public checks in {' and '.join(owners)}; say which, "
                          f"e.g. check({exercise!r}, assignment={owners[0]!r})")


def report(exercise: str, outcomes: list[Outcome], every_pass: bool = True) -> str:
    """The verdict of one exercise's checks, as printed in a notebook and in a terminal.

    A failed check shows its message and the input, returned and expected values. With
    ``every_pass`` False (a terminal, many exercises) an exercise that passes is one line.
    """
    if any(o.not_implemented for o in outcomes):
        return f"{exercise}: not implemented yet (replace `raise NotImplementedError()` with your code)"
    passed = sum(o.passed for o in outcomes)
    lines = [f"{exercise}: {passed} of {len(outcomes)} public checks passed"]
    if passed == len(outcomes) and not every_pass:
        return lines[0]
    for o in outcomes:
        lines.append(f"  {'PASS' if o.passed else 'FAIL'}  {o.check.name}")
        if not o.passed:
            lines.append(f"        {o.message}")
            for key in ("input", "returned", "expected"):
                if o.details and key in o.details:
                    lines.append(f"        {key + ':':9} {o.details[key]}")
    return "\n".join(lines)


def check(exercise: str, assignment: str | None = None, *, namespace: dict | None = None, plot: bool = True) -> None:
    """Run the public checks of ``exercise`` on the notebook's current definitions and print the verdict.

    A failed check shows its input, the returned and the expected value (and a plot of the
    function beside the expected curve where one helps). Raises NotImplementedYetError while
    the exercise is a stub and ChecksFailed if a check fails, so that the cell shows it;
    returns None otherwise. ``assignment`` is needed only when several assignments have
    checks for ``exercise``.
    """
    if namespace is None:
        namespace = _caller_namespace()
    assignment = assignment_of(exercise, assignment)
    outcomes = [run_check(public, LocalFunctions(namespace)) for public in checks_of(assignment, exercise)]
    print(report(exercise, outcomes))
    print(HIDDEN_TESTS_NOTE)
    failed = [o for o in outcomes if not o.passed]
    if any(o.not_implemented for o in failed):
        raise NotImplementedYetError(f"{exercise} is not implemented yet")
    if failed:
        if plot:
            _plot(failed, LocalFunctions(namespace))
        raise ChecksFailed(f"{len(failed)} of {len(outcomes)} public checks of {exercise} failed (see above)")


def _caller_namespace() -> dict:
    """The namespace check() was called from: the notebook's, in Jupyter."""
    try:
        return get_ipython().user_ns  # type: ignore[name-defined]  # noqa: F821
    except NameError:
        import inspect

        frame = inspect.currentframe()
        return frame.f_back.f_back.f_globals  # the caller of check()


def _plot(failed: list[Outcome], fns: LocalFunctions) -> None:
    """A picture of the first failed check that has one: the student's curve beside the expected one."""
    drawable = [o for o in failed if o.check.plot is not None][:1]
    if not drawable:
        return
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    try:
        drawable[0].check.plot(fns, ax)
    except Exception:  # noqa: BLE001 - a picture is a bonus; the verdict is already printed
        plt.close(fig)
        return
    plt.show()


def _discover() -> None:
    """Import every module of this package: each assignment's module registers its checks."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_discover()
