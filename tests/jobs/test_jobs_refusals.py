"""Worker failures and refused jobs through the real CLI: one stderr line, exit 2, nothing left behind.

A damaged ``.keras`` (not a zip; a Lambda layer, which safe loading refuses) fails the grading in the worker;
the owner prints the worker's one-line reason, no traceback of either process, and leaves ``project.h5``
byte-identical and no job folder.  A refused ``cv``/``compare``/``train`` leaves no ``jobs/<stamp>/`` folder,
and no job file or record holds an absolute path of the disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from hccdesk.store.project import Project
from hccdesk.store.records import ModelRecord

DAMAGED_MODEL = "models/damaged.keras"


def _hccdesk(*argv: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a fresh interpreter, so the workers' stderr is captured as a user would see it."""
    return subprocess.run(
        [sys.executable, "-m", "hccdesk", *argv], capture_output=True, text=True, timeout=600, check=False
    )


def _assert_one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hccdesk: error: "), result.stderr
    return lines[0]


def _add_model_file(project_folder: Path, content: bytes) -> None:
    """Store a model record whose ``.keras`` file holds ``content`` (the project's own write path)."""
    path = project_folder / DAMAGED_MODEL
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    with Project.open(project_folder) as project:
        lesions = sorted(project.lesions)
        project.put_model(
            ModelRecord(id="model-0001", variant="3d-cifa", config={}, path=DAMAGED_MODEL, lesion_ids=lesions)
        )
        project.save()


def _lambda_model_bytes(tmp_path: Path) -> bytes:
    """A real Keras archive with a Lambda layer, plus the metadata member HCC Desk's models carry, so that
    loading gets as far as the layer that safe mode refuses."""
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2.0)(inputs))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("hccdesk.json", json.dumps({"config": {}, "normalizer": {}}))
    return path.read_bytes()


def _job_folders(project_folder: Path) -> list[Path]:
    jobs = project_folder / "jobs"
    return sorted(jobs.iterdir()) if jobs.is_dir() else []


@pytest.mark.parametrize("damage", ["not a zip", "lambda layer"])
def test_grade_with_a_damaged_model_prints_one_line(
    damage: str, small_cohort_project: Path, tmp_path: Path
) -> None:
    content = b"this is not a zip archive\n" if damage == "not a zip" else _lambda_model_bytes(tmp_path)
    _add_model_file(small_cohort_project, content)
    before = (small_cohort_project / "project.h5").read_bytes()
    line = _assert_one_line_refusal(_hccdesk("grade", str(small_cohort_project)))
    assert f"grading failed: cannot load model {DAMAGED_MODEL}: " in line  # relative to the project
    assert line.endswith("; the project is unchanged")
    if damage == "lambda layer":
        assert "Lambda" in line or "lambda" in line
    assert (small_cohort_project / "project.h5").read_bytes() == before
    assert _job_folders(small_cohort_project) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["cv", "{project}", "--variant", "2d-local", "--folds", "40"],
        ["compare", "{project}", "--table", "1", "--folds", "40", "--repeats", "1", "--iterations", "1"],
    ],
    ids=["cv", "compare"],
)
def test_a_refused_cross_validation_leaves_no_job_folder(argv: list[str], small_cohort_project: Path) -> None:
    before = (small_cohort_project / "project.h5").read_bytes()
    _assert_one_line_refusal(_hccdesk(*(a.format(project=small_cohort_project) for a in argv)))
    assert not (small_cohort_project / "jobs").exists()
    assert (small_cohort_project / "project.h5").read_bytes() == before


def test_a_refused_training_leaves_no_job_folder(small_cohort_project: Path) -> None:
    """Training needs both grade classes; with every lesion graded low it is refused before it starts."""
    with Project.open(small_cohort_project) as project:
        for lesion in list(project.lesions.values()):
            project.update_lesion(lesion.id, grade=1)
        project.save()
    before = (small_cohort_project / "project.h5").read_bytes()
    line = _assert_one_line_refusal(_hccdesk("train", str(small_cohort_project), "--variant", "2d-local"))
    assert "both classes" in line
    assert not (small_cohort_project / "jobs").exists()
    assert (small_cohort_project / "project.h5").read_bytes() == before


def test_job_files_and_records_hold_no_absolute_path(cv_result: Any) -> None:
    """The finished cross-validation's job files and run records name paths relative to the project."""
    folder = cv_result.folder.resolve()
    disk_paths = {str(folder), str(cv_result.folder), str(folder.parent)}
    (job,) = _job_folders(folder)
    stored = [(job / "job.json").read_text(), (job / "snapshot.json").read_text()]
    with Project.open(folder, read_only=True) as project:
        stored += [json.dumps(asdict(run)) for run in project.runs.values()]
        run = next(iter(project.runs.values()))
        assert all((folder / path).is_file() for path in run.model_files.values())
    for text in stored:
        assert not any(path in text for path in disk_paths), text[:300]
