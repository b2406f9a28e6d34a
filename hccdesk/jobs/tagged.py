"""Frozen dataclasses tagged with a literal ``type``, as plain dicts and back: the one codec of the job
protocol (:mod:`hccdesk.jobs.messages`) and of the warm worker's requests and replies
(:mod:`hccdesk.jobs.inference_messages`).

Messages cross process boundaries as plain dicts; both protocols tag them the same way and refuse what they do
not know in the same way (a sender of another version), so that rule is written once here.  Each protocol
turns its own nested fields back into typed values after :func:`untag`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any, TypeVar

T = TypeVar("T")


def tag(message: Any) -> dict[str, Any]:
    """``message`` (a dataclass with a class-level ``type``) as plain types, tagged with its ``type``."""
    return {"type": message.type, **asdict(message)}


def untag(
    data: Mapping[str, Any], classes: Mapping[str, type[T]], what: str
) -> tuple[type[T], dict[str, Any]]:
    """The class ``data``'s tag names and its remaining fields, still in their plain form.

    Raises
    ------
    ValueError
        For an unknown ``type`` (``what`` names the protocol in the message) or fields that do not belong
        to it.
    """
    body = dict(data)
    cls = classes.get(body.pop("type", None))
    if cls is None:
        raise ValueError(f"not {what}: type {data.get('type')!r}")
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    if not names >= body.keys():
        raise ValueError(f"{data['type']} message with unknown fields: {sorted(body.keys() - names)}")
    return cls, body
