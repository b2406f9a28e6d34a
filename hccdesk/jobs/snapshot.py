"""The data snapshot a job works on: lesions (box, grade, patient) and where the images are.

The owner writes it when the job starts, so later edits in the app do not leak into a running job and the
job's inputs can be audited: its ``hash`` (SHA-256 of the lesion rows) is stored in the run's config.
The file names no folder: whoever reads it knows the project folder it lies in (a worker from its spec), so no
absolute path of the user's disk is stored in the project.
Workers never open the project itself (one writer); they read ``images/<study>.h5`` read-only through
:meth:`hccdesk.store.images.StudyImages.open`.  No patient identity is involved: patient ids are the
project's pseudonyms.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hccdesk.jobs.spec import read_json, write_json
from hccdesk.store.records import Box, grade_label

if TYPE_CHECKING:
    from hccdesk.store.project import Project

FORMAT = "hccdesk-snapshot"


@dataclass(frozen=True)
class SnapshotLesion:
    id: str
    study_id: str
    patient_id: str
    box: Box
    grade: int | None

    @property
    def y(self) -> int:
        """1 for high grade (the positive class), 0 for low grade."""
        label = grade_label(self.grade)
        if label is None:
            raise ValueError(f"lesion {self.id} has no grade")
        return int(label == "high")


@dataclass(frozen=True)
class Snapshot:
    project_folder: Path
    lesions: dict[str, SnapshotLesion]
    hash: str

    def images_path(self, study_id: str) -> Path:
        return self.project_folder / "images" / f"{study_id}.h5"

    def labels(self) -> dict[str, int]:
        return {i: lesion.y for i, lesion in self.lesions.items() if lesion.grade is not None}


def build_snapshot(project: Project, lesion_ids: Iterable[str] | None = None) -> dict[str, Any]:
    """The snapshot of ``lesion_ids`` (default: every graded lesion) as JSON-ready data."""
    if lesion_ids is None:
        chosen = [lesion for lesion in project.lesions.values() if lesion.grade is not None]
    else:
        chosen = [project.lesions[i] for i in lesion_ids]
    rows = [
        {
            "id": lesion.id,
            "study_id": lesion.study_id,
            "patient_id": lesion.patient_id,
            "box": list(lesion.box.as_tuple()),
            "grade": lesion.grade,
        }
        for lesion in sorted(chosen, key=lambda lesion: lesion.id)
    ]
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
    return {"format": FORMAT, "lesions": rows, "hash": digest}


def write_snapshot(project: Project, path: Path, lesion_ids: Iterable[str] | None = None) -> Snapshot:
    data = build_snapshot(project, lesion_ids)
    write_json(path, data)
    return parse_snapshot(data, Path(project.folder))


def parse_snapshot(data: dict[str, Any], project_folder: Path) -> Snapshot:
    """The snapshot of the project at ``project_folder`` (older snapshots' stored folder is ignored)."""
    if data.get("format") != FORMAT:
        raise ValueError("not an hccdesk snapshot")
    lesions = {
        row["id"]: SnapshotLesion(
            id=row["id"],
            study_id=row["study_id"],
            patient_id=row["patient_id"],
            box=Box(*row["box"]),
            grade=row["grade"],
        )
        for row in data["lesions"]
    }
    return Snapshot(project_folder=Path(project_folder), lesions=lesions, hash=data["hash"])


def read_snapshot(path: Path, project_folder: Path) -> Snapshot:
    return parse_snapshot(read_json(path), project_folder)
