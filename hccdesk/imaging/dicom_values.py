"""Reading DICOM attribute values defensively: absent, empty, malformed or non-finite values become None.

Real files carry empty strings, a single value where a list was expected, "NaN", or a decimal string in an IS
field; the importer needs one answer for all of them, so every header reader goes through these helpers.
"""

from __future__ import annotations

import math
from typing import Any


def item_value(item: Any, keyword: str) -> Any:
    """``item.keyword`` of a sequence item (or None when the item is None or lacks it)."""
    return None if item is None else item.get(keyword)


def as_list(value: Any) -> list[Any]:
    """A multi-valued attribute as a list (a single value becomes a 1-item list, absent or empty []."""
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes):
        return [value]
    try:
        return list(value)
    except TypeError:
        return [value]


def first(value: Any) -> Any:
    """The first value of a (possibly multi-valued) attribute, or None."""
    items = as_list(value)
    return items[0] if items else None


def as_float(value: Any) -> float | None:
    """A finite float, or None."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def as_int(value: Any) -> int | None:
    """An int (decimal strings truncated), or None."""
    number = as_float(value)
    return None if number is None else int(number)


def floats(value: Any, count: int) -> tuple[float, ...] | None:
    """Exactly ``count`` finite floats, or None."""
    items = [as_float(v) for v in as_list(value)]
    if len(items) != count or any(v is None for v in items):
        return None
    return tuple(items)  # type: ignore[arg-type]


def time_to_seconds(text: str) -> float | None:
    """DICOM TM (``HHMMSS.ffffff``, or the old ``HH:MM:SS``) as seconds since midnight, or None."""
    text = (text or "").strip().replace(":", "")
    if not text:
        return None
    whole, _, fraction = text.partition(".")
    if not whole.isdigit():
        return None
    whole = whole.ljust(6, "0")
    hours, minutes, seconds = int(whole[:2]), int(whole[2:4]), int(whole[4:6])
    return hours * 3600 + minutes * 60 + seconds + (float("0." + fraction) if fraction.isdigit() else 0.0)
