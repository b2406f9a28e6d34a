"""The records a project holds: studies, lesions, runs, models and predictions.

Plain dataclasses with no I/O, so the GUI, the CLI, the workers and the tests share one vocabulary.  Boxes are
half-open voxel index ranges on the study's reference (arterial) grid in array order
``(z0, y0, x0, z1, y1, x1)``.  Grades are Edmondson grades 1-4; the derived label follows the paper: grades
I-II are *low*, III-IV are *high*,
and *high* is the positive class everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

GRADES: tuple[int, ...] = (1, 2, 3, 4)
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
MAX_NOTES_CHARS = 100_000
"""Longest lesion note: below the CSV reader's field limit (131 072), so every stored note exports and imports
back, and far above any real note (a pasted report is a few thousand characters)."""


def now_iso() -> str:
    """Current UTC time as an ISO-8601 string (seconds precision), the timestamp format of every record."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def grade_label(grade: int | None) -> str | None:
    """``"low"`` for Edmondson I-II, ``"high"`` for III-IV, None when the grade is unknown."""
    if grade is None:
        return None
    if grade not in GRADES:
        raise ValueError(f"Edmondson grade must be 1-4, got {grade!r}")
    return "high" if grade >= 3 else "low"


def check_notes(notes: str) -> None:
    """Raise ValueError unless ``notes`` is text that a project and its CSV export can hold unchanged."""
    if not isinstance(notes, str):
        raise ValueError(f"notes must be text, not {type(notes).__name__}")
    if len(notes) > MAX_NOTES_CHARS:
        raise ValueError(f"notes of {len(notes)} characters are longer than the limit of {MAX_NOTES_CHARS}")
    try:
        notes.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("notes hold a character that is not valid Unicode text") from None


@dataclass(frozen=True)
class Box:
    """A half-open voxel box ``[z0, z1) x [y0, y1) x [x0, x1)`` on a study's reference grid."""

    z0: int
    y0: int
    x0: int
    z1: int
    y1: int
    x1: int

    def __post_init__(self) -> None:
        if not (self.z1 > self.z0 and self.y1 > self.y0 and self.x1 > self.x0):
            raise ValueError(f"box {self.as_tuple()} is empty: each upper bound must exceed its lower bound")

    @classmethod
    def from_corners(cls, a: tuple[int, int, int], b: tuple[int, int, int]) -> Box:
        """The smallest box holding voxels ``a`` and ``b`` (inclusive corners in any order)."""
        lo = [min(p, q) for p, q in zip(a, b, strict=True)]
        hi = [max(p, q) + 1 for p, q in zip(a, b, strict=True)]
        return cls(*lo, *hi)

    def as_tuple(self) -> tuple[int, int, int, int, int, int]:
        return (self.z0, self.y0, self.x0, self.z1, self.y1, self.x1)

    @property
    def lower(self) -> tuple[int, int, int]:
        return (self.z0, self.y0, self.x0)

    @property
    def upper(self) -> tuple[int, int, int]:
        return (self.z1, self.y1, self.x1)

    @property
    def size(self) -> tuple[int, int, int]:
        return (self.z1 - self.z0, self.y1 - self.y0, self.x1 - self.x0)

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        """Index a ``[k, j, i]`` array with it."""
        return (slice(self.z0, self.z1), slice(self.y0, self.y1), slice(self.x0, self.x1))

    def contains_slice(self, z: int) -> bool:
        return self.z0 <= z < self.z1

    def clipped(self, shape: tuple[int, int, int]) -> Box:
        """This box cut to a volume of ``shape``; raises ValueError when nothing is left."""
        lo = [min(max(v, 0), n) for v, n in zip(self.lower, shape, strict=True)]
        hi = [min(max(v, 0), n) for v, n in zip(self.upper, shape, strict=True)]
        return Box(*lo, *hi)

    def fits(self, shape: tuple[int, int, int]) -> bool:
        return all(lo >= 0 and hi <= n for lo, hi, n in zip(self.lower, self.upper, shape, strict=True))

    def world_corners(self, affine: np.ndarray) -> np.ndarray:
        """LPS positions (mm) of the outer faces: row 0 the lower corner, row 1 the upper corner.

        Voxel centres sit at integer indices, so the box's outer faces lie half a voxel outside them.
        """
        kji = np.array([self.lower, self.upper], dtype=np.float64) - 0.5
        ijk = kji[:, ::-1]
        return ijk @ affine[:3, :3].T + affine[:3, 3]


@dataclass(frozen=True)
class PhaseInfo:
    """One phase volume of a study as imported: its native geometry and whitelisted technical tags."""

    phase: str
    native_shape: tuple[int, int, int]
    native_affine: tuple[tuple[float, ...], ...]
    source_kind: str  # "dicom" or "nifti"
    series_description: str = ""
    tags: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Study:
    """One examination of one patient: up to four phases resampled onto the arterial (reference) grid."""

    id: str
    patient_id: str
    shape: tuple[int, int, int]
    affine: tuple[tuple[float, ...], ...]  # reference grid, (i, j, k, 1) -> LPS mm
    phases: dict[str, PhaseInfo]
    imported: str = field(default_factory=now_iso)

    @property
    def affine_array(self) -> np.ndarray:
        return np.asarray(self.affine, dtype=np.float64)

    @property
    def spacing(self) -> np.ndarray:
        """``(sz, sy, sx)`` of the reference grid in mm."""
        return np.linalg.norm(self.affine_array[:3, :3], axis=0)[::-1]


@dataclass(frozen=True)
class Lesion:
    """A lesion box with its pathology grade.  Immutable: edits produce a new record (easy undo)."""

    id: str
    study_id: str
    patient_id: str
    box: Box
    grade: int | None = None
    notes: str = ""
    author: str = ""
    created: str = field(default_factory=now_iso)
    modified: str = field(default_factory=now_iso)

    def __post_init__(self) -> None:
        grade_label(self.grade)  # validates
        check_notes(self.notes)

    @property
    def label(self) -> str | None:
        return grade_label(self.grade)

    def edited(self, **changes: Any) -> Lesion:
        """A copy with ``changes`` applied and ``modified`` set to now."""
        return replace(self, **changes, modified=now_iso())


@dataclass(frozen=True)
class Prediction:
    """A grade prediction for one lesion by one model or run ensemble."""

    lesion_id: str
    model_id: str  # a ModelRecord id, or "run:<run id>" for a run's fold ensemble
    p_high: float
    spread: float  # std of P(high) across ensemble members (0 for a single model)
    n_members: int
    created: str = field(default_factory=now_iso)

    @property
    def label(self) -> str:
        return "high" if self.p_high >= 0.5 else "low"


@dataclass
class RunRecord:
    """A cross-validation run: its full config, splits, fold metrics, out-of-fold probabilities and status.

    ``status`` is one of ``running``, ``done``, ``cancelled``, ``failed``; ``reason`` says why for the
    last two.
    ``folds`` and ``oof`` rows follow the ``hccdesk cv --json`` layout; ``splits`` holds, per repeat and fold,
    the test lesion ids, so a run can be audited and replayed.  ``model_files`` maps ``"r{repeat}f{fold}"`` to
    the fold model's path relative to the project folder (the fold ensemble used for grading).
    """

    id: str
    variant: str
    config: dict[str, Any]
    status: str = "running"
    reason: str = ""
    device: str = ""
    folds: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    oof: list[dict[str, Any]] = field(default_factory=list)
    splits: list[dict[str, Any]] = field(default_factory=list)
    model_files: dict[str, str] = field(default_factory=dict)
    created: str = field(default_factory=now_iso)
    finished: str = ""


@dataclass
class ModelRecord:
    """A trained model: the ``.keras`` file (relative to the project folder), its config and provenance."""

    id: str
    variant: str
    config: dict[str, Any]
    path: str
    lesion_ids: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=now_iso)
