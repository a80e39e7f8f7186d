"""Write a feedback page for every graded submission of a class, at nbgrader's place for them:
``COURSE_DIR/feedback/<student>/<assignment>/<assignment>.html``. A page shows the score per
exercise with a one-line reason, the smallest failing input found with what came back and
what was expected, and a plot of the student's function against the expected one; never a
hidden test or the reference solution."""
from __future__ import annotations

import argparse
import time

from .. import feedback
from ..classroom import FEEDBACK
from ..gradebook import GradebookError, read_graded
from . import class_options, fail

NAME = "feedback"
HELP = "write a feedback page (HTML) for every graded submission of a class"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    class_options.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        url = class_options.gradebook(args)
        graded = read_graded(url, args.assignment)
        written = feedback.write_pages(graded, args.class_dir / FEEDBACK)
    except (ValueError, GradebookError) as exc:
        return fail(NAME, str(exc))
    print(f"wrote {len(written)} feedback pages under {args.class_dir / FEEDBACK} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0
