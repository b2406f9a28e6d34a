"""The warm inference worker's channel, typed: the requests its owner sends and the replies it gets back.

Three requests (:class:`LoadRequest`, :class:`GradeRequest`, :class:`ExplainRequest`) and five replies
(:class:`Loaded`, :class:`Graded`, :class:`Explained`, :class:`Cancelled`, :class:`Failed`), each a frozen
dataclass with a literal ``type`` tag, like the job protocol (:mod:`hccdesk.jobs.messages`).  Every request
carries an ``id`` the owner chooses and names the prediction source that must answer it (``source_id`` and the
members' ``model_paths``); every request gets exactly one reply with the same ``id``.

They cross a ``multiprocessing`` queue between the owner (:class:`hccdesk.jobs.warm_worker.WarmWorker`) and
its worker process (:mod:`hccdesk.jobs.inference_worker`), never JSON or a file: :func:`to_dict` and
:func:`from_dict` are the only translation, into plain types and, inside an :class:`Explained` reply, numpy
arrays (the heat map and the patch table, sent as arrays rather than lists because they are large).
Consumers tell replies apart with ``isinstance`` or ``match``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from hccdesk.jobs import grading
from hccdesk.jobs.tagged import tag, untag
from hccdesk.learn.heat_map import HeatMap
from hccdesk.store.records import Box, Prediction

RequestType = Literal["load", "grade", "explain"]


@dataclass(frozen=True)
class LoadRequest:
    """Load the source's members now (a grade would load them anyway): the worker is warm for the next one."""

    type: ClassVar[Literal["load"]] = "load"
    id: int
    source_id: str
    model_paths: tuple[str, ...]


@dataclass(frozen=True)
class LesionBox:
    """One box to grade: a stored lesion, or the box being drawn, on the study whose images are at
    ``images_path``."""

    lesion_id: str
    images_path: str
    box: Box


@dataclass(frozen=True)
class GradeRequest:
    """P(high) of every member for each box; a cancel between boxes answers :class:`Cancelled`."""

    type: ClassVar[Literal["grade"]] = "grade"
    id: int
    source_id: str
    model_paths: tuple[str, ...]
    lesions: tuple[LesionBox, ...]


@dataclass(frozen=True)
class ExplainRequest:
    """The heat map of ``box``, and for non-local variants the attention of the patch under ``voxel``."""

    type: ClassVar[Literal["explain"]] = "explain"
    id: int
    source_id: str
    model_paths: tuple[str, ...]
    images_path: str
    box: Box
    voxel: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class Loaded:
    """``precision`` is the number format the worker's networks compute in (``float32``, ``bfloat16``:
    :mod:`hccdesk.learn.inference`; ``float64`` for lesion-level models)."""

    type: ClassVar[Literal["loaded"]] = "loaded"
    id: int
    source_id: str
    seconds: float
    precision: str


@dataclass(frozen=True)
class Graded:
    """``p_high`` is members × lesions, the grade job's result format (``members`` are the model paths)."""

    type: ClassVar[Literal["graded"]] = "graded"
    id: int
    source_id: str
    seconds: float
    lesion_ids: tuple[str, ...]
    p_high: tuple[tuple[float, ...], ...]
    members: tuple[str, ...]

    def predictions(self, created: str) -> list[Prediction]:
        """One prediction per lesion, reduced exactly as the grade job's result is."""
        return grading.ensemble_predictions(to_dict(self), created)


@dataclass(frozen=True)
class Explained:
    """The lesion's heat map (each patch's P(high) on the study grid), the patch table it is made of
    (``centres`` in study voxels, ``patch_p_high``), the lesion's P(high) per member, and ``attention`` when
    a voxel was asked for, the variant has a non-local branch and the voxel lies in a patch."""

    type: ClassVar[Literal["explained"]] = "explained"
    id: int
    source_id: str
    seconds: float
    heat: HeatMap
    centres: np.ndarray
    patch_p_high: np.ndarray
    member_p_high: tuple[float, ...]
    has_attention: bool
    attention: HeatMap | None = None


@dataclass(frozen=True)
class Cancelled:
    """A grade stopped by :meth:`~hccdesk.jobs.warm_worker.WarmWorker.cancel` before its last box."""

    type: ClassVar[Literal["cancelled"]] = "cancelled"
    id: int


@dataclass(frozen=True)
class Failed:
    """``request`` failed (or the worker died): ``reason`` is one line a user can read."""

    type: ClassVar[Literal["failed"]] = "failed"
    id: int
    request: RequestType
    reason: str


InferenceRequest = LoadRequest | GradeRequest | ExplainRequest
InferenceReply = Loaded | Graded | Explained | Cancelled | Failed
REQUESTS = (LoadRequest, GradeRequest, ExplainRequest)
REPLIES = (Loaded, Graded, Explained, Cancelled, Failed)
_CLASSES: dict[str, type[InferenceRequest | InferenceReply]] = {cls.type: cls for cls in REQUESTS + REPLIES}


def _heat_map(data: dict[str, Any] | None) -> HeatMap | None:
    return None if data is None else HeatMap(tuple(data["origin"]), np.asarray(data["values"]))


_DECODE: dict[str, Callable[[Any], Any]] = {
    "model_paths": tuple,
    "members": tuple,
    "lesion_ids": tuple,
    "box": lambda data: Box(**data),
    "voxel": lambda voxel: None if voxel is None else tuple(int(v) for v in voxel),
    "lesions": lambda items: tuple(LesionBox(**{**item, "box": Box(**item["box"])}) for item in items),
    "p_high": lambda rows: tuple(tuple(float(p) for p in row) for row in rows),
    "member_p_high": lambda values: tuple(float(p) for p in values),
    "heat": _heat_map,
    "attention": _heat_map,
    "centres": np.asarray,
    "patch_p_high": np.asarray,
}
"""How each field's plain form becomes its typed value again (fields not named here are plain already)."""


def to_dict(message: InferenceRequest | InferenceReply) -> dict[str, Any]:
    """The message as plain types (numpy arrays inside an explain reply), tagged with its ``type``."""
    return tag(message)


def from_dict(data: dict[str, Any]) -> InferenceRequest | InferenceReply:
    """Rebuild a request or reply from :func:`to_dict`'s output.

    Raises
    ------
    ValueError
        For an unknown ``type`` or fields that do not belong to it (a sender of another version).
    """
    cls, body = untag(data, _CLASSES, "an inference message")
    return cls(**{name: _DECODE.get(name, _identity)(value) for name, value in body.items()})


def _identity(value: Any) -> Any:
    return value
