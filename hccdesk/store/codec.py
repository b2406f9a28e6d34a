"""Records to JSON-ready dicts and back.

The project file, the autosave journal, the CLI's ``--json`` output and the workers' snapshots all carry
records as JSON, never pickle, so a file written by one version of the app can be read (and migrated) by
another and nothing read from disk is ever executed.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

from hccdesk.store.records import Box, Lesion, ModelRecord, PhaseInfo, Prediction, RunRecord, Study


def _plain(value: Any) -> Any:
    """``json.dumps`` fallback for numpy scalars and arrays that records may carry (metrics, tags)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store a {type(value).__name__} in a project record: {value!r}")


def dumps(obj: Any) -> str:
    """Compact JSON text of a JSON-ready object."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=_plain)


def to_dict(record: Any) -> dict[str, Any]:
    """A record as a dict that :func:`dumps` can write: nested records become dicts, the rest is shared.

    No deep copy (``dataclasses.asdict`` copies every list element and made a save of a large run 10x
    slower), and the field names are looked up once per class (``dataclasses.fields`` per record was most of
    the cost of a 100 000-lesion import); callers that keep the dict serialise it before the record can
    change.
    """
    names = _FIELD_NAMES.get(type(record))
    if names is None:
        names = _FIELD_NAMES[type(record)] = tuple(f.name for f in fields(record))
    return {name: _field_value(getattr(record, name)) for name in names}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_PLAIN = (str, int, float, list, tuple, type(None))


def _field_value(value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return {key: _field_value(item) for key, item in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    return value


def _tuple2(rows: Any) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in rows)


def _phase_info(d: dict[str, Any]) -> PhaseInfo:
    return PhaseInfo(
        phase=d["phase"],
        native_shape=tuple(int(n) for n in d["native_shape"]),  # type: ignore[arg-type]
        native_affine=_tuple2(d["native_affine"]),
        source_kind=d["source_kind"],
        series_description=d.get("series_description", ""),
        tags=dict(d.get("tags", {})),
    )


def study_from_dict(d: dict[str, Any]) -> Study:
    return Study(
        id=d["id"],
        patient_id=d["patient_id"],
        shape=tuple(int(n) for n in d["shape"]),  # type: ignore[arg-type]
        affine=_tuple2(d["affine"]),
        phases={name: _phase_info(info) for name, info in d["phases"].items()},
        imported=d["imported"],
    )


def lesion_from_dict(d: dict[str, Any]) -> Lesion:
    return Lesion(**{**d, "box": Box(**d["box"])})


def from_dict(kind: str, d: dict[str, Any]) -> Any:
    """Rebuild a record of ``kind`` (``study``, ``lesion``, ``run``, ``model`` or ``prediction``)."""
    if kind == "study":
        return study_from_dict(d)
    if kind == "lesion":
        return lesion_from_dict(d)
    if kind == "run":
        return RunRecord(**d)
    if kind == "model":
        return ModelRecord(**d)
    if kind == "prediction":
        return Prediction(**d)
    raise ValueError(f"unknown record kind {kind!r}")
