"""Checks that every record read from disk says something possible: ranges, references and kinds.

``project.h5`` and the autosave journal are plain JSON inside files a user can edit, and disks do corrupt data
now and then.  A record that lies (a grade of 7, a box beyond its volume, a lesion whose study is missing, a
model file outside the project folder) would otherwise be accepted and fail much later, in a view or a
training, far from its cause.  So records are checked when they are read, against the same rules the edit API
enforces when they are made, and a project that fails is refused with the reasons instead of half-opened.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from hccdesk.errors import HccdeskError
from hccdesk.imaging.volume import PHASES
from hccdesk.store.records import GRADES, Lesion, ModelRecord, Prediction, RunRecord, Study, check_notes
from hccdesk.store.studies import REFERENCE_PHASE, check_id

RUN_STATUSES = ("running", "done", "cancelled", "failed")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _bad_id(value: Any, what: str) -> str | None:
    try:
        check_id(value, what)
    except HccdeskError:
        return f"{what} id {value!r} is not a valid id"
    return None


def study_problems(study: Study) -> list[str]:
    """What is impossible about ``study`` on its own (an empty list when nothing is)."""
    where = f"study {study.id!r}"
    problems = [p for p in (_bad_id(study.id, "study"), _bad_id(study.patient_id, "patient")) if p]
    if len(study.shape) != 3 or not all(_is_int(n) and n > 0 for n in study.shape):
        problems.append(f"{where}: grid shape {study.shape} is not three positive whole numbers")
    rows = study.affine
    if len(rows) != 4 or any(len(row) != 4 for row in rows) or not all(map(_is_finite, sum(rows, ()))):
        problems.append(f"{where}: its affine is not a 4 x 4 matrix of finite numbers")
    unknown = sorted(set(study.phases) - set(PHASES))
    if unknown:
        problems.append(f"{where}: unknown phase(s) {', '.join(map(repr, unknown))}")
    if REFERENCE_PHASE not in study.phases:
        problems.append(f"{where}: it has no {REFERENCE_PHASE} (reference) phase")
    return problems


def lesion_problems(lesion: Lesion, studies: Mapping[str, Study]) -> list[str]:
    """What is impossible about ``lesion`` given the project's ``studies``."""
    where = f"lesion {lesion.id!r}"
    problems = [p for p in (_bad_id(lesion.id, "lesion"),) if p]
    if not (lesion.grade is None or (_is_int(lesion.grade) and lesion.grade in GRADES)):
        problems.append(f"{where}: grade {lesion.grade!r} is not an Edmondson grade 1-4 (or unknown)")
    try:
        check_notes(lesion.notes)
    except ValueError as error:
        problems.append(f"{where}: {error}")
    box = lesion.box.as_tuple()
    study = studies.get(lesion.study_id)
    if not all(_is_int(v) for v in box):
        problems.append(f"{where}: box {box} is not whole voxel indices")
    elif study is None:
        problems.append(f"{where}: its study {lesion.study_id!r} is not in the project")
    elif not lesion.box.fits(study.shape):
        problems.append(f"{where}: box {box} lies outside study {study.id}, whose grid is {study.shape}")
    if study is not None and lesion.patient_id != study.patient_id:
        problems.append(
            f"{where}: patient {lesion.patient_id!r}, but its study belongs to {study.patient_id!r}"
        )
    return problems


def prediction_problems(prediction: Prediction) -> list[str]:
    """What is impossible about ``prediction`` (a probability outside 0-1, a negative spread, ...)."""
    where = f"prediction for lesion {prediction.lesion_id!r}"
    problems = []
    if not (_is_finite(prediction.p_high) and 0.0 <= prediction.p_high <= 1.0):
        problems.append(f"{where}: P(high) {prediction.p_high!r} is not a probability")
    if not (_is_finite(prediction.spread) and prediction.spread >= 0.0):
        problems.append(f"{where}: spread {prediction.spread!r} is not a finite non-negative number")
    if not (_is_int(prediction.n_members) and prediction.n_members >= 1):
        problems.append(f"{where}: {prediction.n_members!r} ensemble members")
    return problems


def _inside_project(path: Any) -> bool:
    """True for a relative path that stays inside the project folder (on POSIX and Windows alike)."""
    if not isinstance(path, str) or not path:
        return False
    posix, windows = PurePosixPath(path), PureWindowsPath(path)
    absolute = posix.is_absolute() or windows.is_absolute() or bool(windows.drive)
    return not absolute and ".." not in posix.parts and ".." not in windows.parts


def run_problems(run: RunRecord) -> list[str]:
    where = f"run {run.id!r}"
    problems = []
    if run.status not in RUN_STATUSES:
        problems.append(f"{where}: status {run.status!r} is not one of {', '.join(RUN_STATUSES)}")
    outside = sorted(str(p) for p in run.model_files.values() if not _inside_project(p))
    if outside:
        problems.append(f"{where}: model file(s) outside the project folder: {', '.join(outside)}")
    return problems


def model_problems(model: ModelRecord) -> list[str]:
    if _inside_project(model.path):
        return []
    return [f"model {model.id!r}: its file {model.path!r} is not a path inside the project folder"]


def record_problems(
    studies: Mapping[str, Study],
    lesions: Mapping[str, Lesion],
    runs: Mapping[str, RunRecord],
    models: Mapping[str, ModelRecord],
    predictions: Sequence[Prediction],
) -> list[str]:
    """Every problem of a whole project's records, studies first (lesions refer to them)."""
    problems = [p for study in studies.values() for p in study_problems(study)]
    problems += [p for lesion in lesions.values() for p in lesion_problems(lesion, studies)]
    problems += [p for run in runs.values() for p in run_problems(run)]
    problems += [p for model in models.values() for p in model_problems(model)]
    problems += [p for prediction in predictions for p in prediction_problems(prediction)]
    return problems


def duplicate_ids(records: Sequence[dict[str, Any]]) -> list[str]:
    """Ids that appear more than once among raw record dicts (a later one would replace the first)."""
    seen: set[Any] = set()
    repeated = []
    for record in records:
        key = record.get("id")
        if key in seen:
            repeated.append(str(key))
        seen.add(key)
    return repeated
