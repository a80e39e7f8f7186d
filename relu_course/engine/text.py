"""Text that came from a submission, made safe to show: a record, a terminal, a file.

A student controls exception messages, class names, warnings, reprs and printed output. Any
of them may be megabytes long, hold ANSI escape sequences that redraw a terminal, control
characters, bidirectional overrides, or lone surrogates that no UTF-8 file can hold.
:func:`clean` turns anything into one short line of valid, printable text.
"""
from __future__ import annotations

import re
from typing import Any

#: escape sequences (CSI, OSC and other ESC-introduced ones), then every control character
#: (C0, DEL, C1), the bidirectional overrides and isolates, and other invisible formatting
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
#: how long a piece of submission text may be where the caller does not say
LIMIT = 300


def clean(value: Any, limit: int = LIMIT) -> str:
    """``value`` as one line: valid UTF-8, no escape sequences or control characters
    (line breaks and tabs become spaces), at most ``limit`` characters (cut with "…")."""
    text = value if isinstance(value, str) else _str(value)
    if len(text) > 4 * limit + 64:
        text = text[: 4 * limit + 64]  # the rest would be cut anyway; keep the work bounded
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    text = _ESCAPES.sub("", text)
    text = _CONTROLS.sub(lambda m: " " if m.group() in "\t\n\r\x0b\x0c" else "", text)
    text = " ".join(text.split()) if ("  " in text or text != text.strip()) else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _str(value: Any) -> str:
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a value's __str__ is not ours
        return f"<a {type(value).__name__} that cannot be shown>"
