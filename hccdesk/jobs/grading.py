"""Grading with a run's fold ensemble or a final model: which models, and how their votes combine.

A cross-validation run leaves one model per fold; together they are an ensemble whose members saw different
training lesions, so the spread of their P(high) is an honest, cheap signal of how sure the grade is.  A
final model (``hccdesk train``) saw every labelled lesion and gives a single P(high) with spread 0.

A prediction's ``model_id`` is the ModelRecord id, or ``run:<run id>`` for a run's ensemble; together with
the model's or run's stored config and provenance that says exactly what produced the grade.

When neither a run nor a model is named, the newest source wins: the latest finished run with fold models or
the latest final model, whichever was created last.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hccdesk.errors import InputError, ModelError
from hccdesk.store.records import Prediction

if TYPE_CHECKING:
    from hccdesk.store.project import Project

RUN_PREFIX = "run:"


def _resolve(project: Project, relative: str) -> Path:
    path = Path(relative)
    return path if path.is_absolute() else Path(project.folder) / path


def ensemble_members(
    project: Project, run_id: str | None = None, model_id: str | None = None
) -> tuple[str, list[Path]]:
    """The prediction source id and the absolute paths of its ``.keras`` members.

    Raises
    ------
    InputError
        For an unknown run or model, or when the project has nothing to grade with.
    ModelError
        When a model file named by the project is missing.
    """
    if run_id is not None and model_id is not None:
        raise InputError("name either --run or --model, not both")
    if run_id is None and model_id is None:
        run_id, model_id = default_source(project)
    if run_id is not None:
        run = project.runs.get(run_id)
        if run is None:
            raise InputError(f"no run {run_id!r} in this project; see `hccdesk runs list`")
        if not run.model_files:
            raise InputError(f"run {run_id} has no finished fold models to grade with")
        source, paths = (
            RUN_PREFIX + run_id,
            [_resolve(project, p) for _, p in sorted(run.model_files.items())],
        )
    else:
        model = project.models.get(str(model_id))
        if model is None:
            raise InputError(f"no model {model_id!r} in this project; see `hccdesk runs list`")
        source, paths = str(model_id), [_resolve(project, model.path)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ModelError(f"model file(s) missing from the project folder: {', '.join(missing[:3])}")
    return source, paths


def default_source(project: Project) -> tuple[str | None, str | None]:
    """``(run_id, None)`` or ``(None, model_id)``: the newest run with fold models or final model."""
    candidates: list[tuple[str, int, str]] = []
    candidates += [
        (r.created, 0, r.id) for r in project.runs.values() if r.model_files and r.status == "done"
    ]
    candidates += [(m.created, 1, m.id) for m in project.models.values()]
    if not candidates:
        raise InputError("nothing to grade with: run `hccdesk cv` or `hccdesk train` first")
    _, kind, record_id = max(candidates)
    return (record_id, None) if kind == 0 else (None, record_id)


def ensemble_predictions(result: dict[str, Any], created: str) -> list[Prediction]:
    """One Prediction per lesion from a grade job's result: mean P(high) over members and its std (ddof 0)."""
    votes = np.asarray(result["p_high"], dtype=float)  # (members, lesions)
    mean, spread = votes.mean(axis=0), votes.std(axis=0)
    return [
        Prediction(
            lesion_id=lesion_id,
            model_id=result["source_id"],
            p_high=float(m),
            spread=float(s),
            n_members=int(votes.shape[0]),
            created=created,
        )
        for lesion_id, m, s in zip(result["lesion_ids"], mean, spread, strict=True)
    ]
