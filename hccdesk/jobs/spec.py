"""Job specs: the JSON-serialisable description of one unit of work for a worker.

A spec carries everything a worker on any machine needs besides the data snapshot it points to: the variant's
full config, the iteration count and seed, and which lesions to train on and to predict.  Specs hold only
plain types, so the same spec travels through a ``multiprocessing`` queue, a Dask task or a JSON file.

Paths: ``job_dir`` is the job folder where the worker writes its files (a fold's ``r{r}f{f}.json`` result
and ``r{r}f{f}.keras`` model under ``<job_dir>/<run_id>/``); ``snapshot`` is the snapshot JSON.  A remote
Dask worker must see both at the same paths (a shared file system), as well as the project's
``images/*.h5``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hccdesk.evaluation.splits import fold_key


@dataclass(frozen=True)
class FoldSpec:
    """Train one model and, for a cross-validation fold, predict its held-out lesions.

    ``kind`` is ``"cv"`` (a fold of a run: ``test_ids`` are predicted and scored) or ``"train"`` (a final
    model on all labelled lesions: ``test_ids`` is empty).  ``config`` is the variant config merged with the
    training profile; ``seed`` seeds the network initialisation and the batch order.
    """

    kind: str
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
        return Path(self.job_dir) / self.run_id

    @property
    def result_path(self) -> Path:
        return self.out_dir / f"{self.key}.json"

    @property
    def model_path(self) -> Path:
        return self.out_dir / f"{self.key}.keras"


@dataclass(frozen=True)
class GradeSpec:
    """Predict P(high) of ``lesion_ids`` with every model in ``model_paths`` (one ensemble member each)."""

    job_dir: str
    source_id: str
    model_paths: list[str]
    lesion_ids: list[str]
    snapshot: str
    kind: str = field(default="grade")

    @property
    def result_path(self) -> Path:
        return Path(self.job_dir) / "grades.json"


Spec = FoldSpec | GradeSpec


def to_dict(spec: Spec) -> dict[str, Any]:
    """The spec as plain JSON types."""
    return asdict(spec)


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
