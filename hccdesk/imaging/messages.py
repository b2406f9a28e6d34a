"""One-line texts for skips and refusals, whatever a library's exception or a file name contains.

The CLI prints each refusal or skip on one line and the GUI shows it in a dialog line; a nibabel error that
spans two lines, or a file named with a newline, would break both (and tests that count stderr lines).
"""

from __future__ import annotations

import re

MAX_DETAIL = 240
"""Longest text kept of a foreign exception's message (some quote a whole header)."""

_LINE_BREAKS = re.compile(r"\s*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")


def one_line(text: str) -> str:
    """``text`` with every line break (and the blanks around it) turned into one space and other control
    characters shown as ``\\xNN`` escapes."""
    flat = _LINE_BREAKS.sub(" ", str(text)).replace("\t", " ")
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", flat).strip()


def error_detail(error: BaseException) -> str:
    """A library exception as one short line: its message, or its type name when the message is empty."""
    text = one_line(str(error)) or type(error).__name__
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"
