"""The public checks as a pytest module, for ``relu-course check``.

It runs on the grading code path (sandbox, proxy, plugin), with the public checks in
place of the hidden tests: one test per check, parametrized by the grading plugin.
"""
from relu_course.checks import run_check


def test_public_check(student, public_check):
    outcome = run_check(public_check, student)
    if not outcome.passed:
        call = (outcome.details or {}).get("input")
        raise AssertionError(f"{call}: {outcome.message}" if call else outcome.message)
