"""The verbs of the ``relu-course`` command, one module each."""
from __future__ import annotations

import sys


def fail(verb: str, message: str) -> int:
    """Say ``message`` as ``relu-course VERB: error: ...`` on stderr; the exit status of a usage or input error (2)."""
    print(f"relu-course {verb}: error: {message}", file=sys.stderr)
    return 2
