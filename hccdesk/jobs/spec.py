"""Job specs: the JSON-serialisable description of one unit of work for a worker.

A spec carries everything a worker on any machine needs besides the data snapshot it points to: the variant's
full config, the iteration count and seed, and which lesions to train on and to predict.  Specs hold only
plain types, so the same spec travels through a ``multiprocessing`` queue, a Dask task or a JSON file.

Paths: ``job_dir`` (the job folder where the worker writes its files: a fold's ``r{r}f{f}.json`` result and
``r{r}f{f}.keras`` model under ``<job_dir>/<run_id>/``), ``snapshot`` (the snapshot JSON) and a grading's
``model_paths`` are relative to ``project_folder``.  Only the spec in flight carries ``project_folder``; the
copy stored in the job's ``job.json`` (:func:`stored_dict`) leaves it out, so the project never records
where the user's disk keeps it and a moved project still reads its job folders.  A remote Dask worker must
see the project at the same absolute path (a shared file system).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from hccdesk.evaluation.splits import fold_key


class _InProject:
    """The absolute paths of a spec's job folder and snapshot, which it names relative to its project."""

    project_folder: str
    job_dir: str
    snapshot: str

    @property
    def job_path(self) -> Path:
        return Path(self.project_folder) / self.job_dir

    @property
    def snapshot_path(self) -> Path:
        return Path(self.project_folder) / self.snapshot


@dataclass(frozen=True)
class FoldSpec(_InProject):
    """Train one model and, for a cross-validation fold, predict its held-out lesions.

    ``kind`` is ``"cv"`` (a fold of a run: ``test_ids`` are predicted and scored) or ``"train"`` (a final
    model on all labelled lesions: ``test_ids`` is empty).  ``config`` is the variant config merged with the
    training profile; ``seed`` seeds the network initialisation and the batch order.
    """

    kind: Literal["cv", "train"]
    project_folder: str
    job_dir: str
    run_id: str
    variant: str
    config: dict[str, Any]
    iterations: int
    seed: int
    repeat: int
    fold: int
    train_ids: list[str]
    test_ids: list[str]
    snapshot: str

    @property
    def key(self) -> str:
        """File stem of the fold's result and model: ``r{repeat}f{fold}``, or ``model`` for a final model."""
        return "model" if self.kind == "train" else fold_key(self.repeat, self.fold)

    @property
    def out_dir(self) -> Path:
        return self.job_path / self.run_id

    @property
    def result_path(self) -> Path:
        return self.out_dir / f"{self.key}.json"


@dataclass(frozen=True)
class GradeSpec(_InProject):
    """Predict P(high) of ``lesion_ids`` with every model in ``model_paths`` (one ensemble member each)."""

    project_folder: str
    job_dir: str
    source_id: str
    model_paths: list[str]
    lesion_ids: list[str]
    snapshot: str
    kind: Literal["grade"] = "grade"

    @property
    def member_paths(self) -> list[Path]:
        return [Path(self.project_folder) / p for p in self.model_paths]

    @property
    def result_path(self) -> Path:
        return self.job_path / "grades.json"


Spec = FoldSpec | GradeSpec


def to_dict(spec: Spec) -> dict[str, Any]:
    """The spec as plain JSON types, as it travels to a worker."""
    return asdict(spec)


def stored_dict(spec: Spec) -> dict[str, Any]:
    """The spec as the job's ``job.json`` keeps it: without the absolute ``project_folder``."""
    data = to_dict(spec)
    del data["project_folder"]
    return data


def from_dict(data: dict[str, Any]) -> Spec:
    """Rebuild a spec from :func:`to_dict`'s output (dispatching on ``kind``)."""
    if data.get("kind") == "grade":
        return GradeSpec(**data)
    if data.get("kind") in ("cv", "train"):
        return FoldSpec(**data)
    raise ValueError(f"unknown job kind {data.get('kind')!r}")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file + rename), so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, allow_nan=False), encoding="utf-8")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))
