"""The options of the verbs that read a graded class (export, feedback): where it is, its gradebook."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..classroom import gradebook_url, is_class_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("class_dir", type=Path, metavar="COURSE_DIR",
                        help="the class, in nbgrader's layout (submitted/<student>/<assignment>/)")
    parser.add_argument("--db", metavar="URL", help="the gradebook, any SQLAlchemy URL "
                                                    "(default: sqlite:///COURSE_DIR/gradebook.db)")
    parser.add_argument("--assignment", metavar="ID", help="only this assignment")


def gradebook(args: argparse.Namespace) -> str:
    """The gradebook's URL; ValueError (one line) when COURSE_DIR is not a class."""
    if not is_class_dir(args.class_dir):
        raise ValueError(f"{args.class_dir} is not a class directory (it has no submitted/ folder)")
    if args.db is None and not (args.class_dir / "gradebook.db").exists():
        raise ValueError(f"{args.class_dir} has no gradebook.db yet: run relu-course grade {args.class_dir} first")
    return args.db or gradebook_url(args.class_dir)
