"""The in-memory project: edits, observers, ids, records of every kind, and what is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from storekit import SHAPE, phase_volume, study_volumes

from hccdesk.errors import InputError, ProjectError
from hccdesk.store.project import Project
from hccdesk.store.records import Box, ModelRecord, Prediction, RunRecord


def test_edits_survive_save_and_reopen(project: Project) -> None:
    first = project.add_lesion("S1", Box(1, 2, 3, 5, 10, 12), grade=2, notes="segment VII", author="rad1")
    second = project.add_lesion("S1", Box(0, 0, 0, 3, 3, 3))
    moved = project.update_lesion(first.id, box=Box(2, 2, 3, 6, 10, 12), grade=4)
    assert moved.grade == 4 and moved.created == first.created and moved.notes == "segment VII"
    assert project.dirty
    project.save()
    assert not project.dirty
    folder = project.folder
    project.close()
    with Project.open(folder) as reopened:
        assert reopened.lesions[first.id] == moved
        assert reopened.lesions[second.id].grade is None
        assert reopened.lesions[first.id].label == "high"
        assert reopened.lesions[first.id].patient_id == "P1"


def test_undo_by_putting_records_back(project: Project) -> None:
    lesion = project.add_lesion("S1", Box(1, 1, 1, 4, 4, 4), grade=1)
    changed = project.update_lesion(lesion.id, notes="typo")
    project.put_lesion(lesion)
    assert project.lesions[lesion.id] == lesion
    removed = project.delete_lesion(lesion.id)
    assert removed == lesion and lesion.id not in project.lesions
    project.put_lesion(changed)
    assert project.lesions[lesion.id].notes == "typo"


def test_observers_hear_every_change(project: Project) -> None:
    heard: list[tuple[str, str]] = []
    project.add_observer(lambda kind, record_id: heard.append((kind, record_id)))
    lesion = project.add_lesion("S1", Box(1, 1, 1, 4, 4, 4))
    project.update_lesion(lesion.id, grade=3)
    project.delete_lesion(lesion.id)
    project.add_predictions([Prediction("L9", "m1", 0.7, 0.0, 1)])
    project.save()
    assert heard == [("lesion", lesion.id)] * 3 + [("prediction", "L9"), ("saved", "")]


def test_observers_see_the_dirty_state_of_the_change_they_hear_of(project: Project) -> None:
    seen: list[tuple[str, bool]] = []
    project.add_observer(lambda kind, _record_id: seen.append((kind, project.dirty)))
    project.add_lesion("S1", Box(1, 1, 1, 4, 4, 4), lesion_id="L1")
    project.save()
    project.update_lesion("L1", grade=2)
    folder = project.folder
    project.close()  # the grade change stays journaled, unsaved
    with Project.open(folder) as reopened:
        reopened.add_observer(lambda kind, _record_id: seen.append((f"recovered {kind}", reopened.dirty)))
        reopened.recover()
    assert seen == [("lesion", True), ("saved", False), ("lesion", True), ("recovered lesion", True)]


def test_bad_edits_are_refused_and_change_nothing(project: Project) -> None:
    lesion = project.add_lesion("S1", Box(1, 1, 1, 4, 4, 4), lesion_id="L1")
    with pytest.raises(InputError, match="outside study S1"):
        project.add_lesion("S1", Box(0, 0, 0, SHAPE[0] + 1, 2, 2))
    with pytest.raises(InputError, match="grade"):
        project.update_lesion(lesion.id, grade=5)
    with pytest.raises(InputError, match="already exists"):
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="L1")
    with pytest.raises(InputError, match="no study"):
        project.add_lesion("S9", Box(1, 1, 1, 2, 2, 2))
    with pytest.raises(InputError, match="no lesion"):
        project.delete_lesion("L2")
    with pytest.raises(InputError, match="not allowed"):
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="Jane Doe")
    with pytest.raises(ValueError, match="changes only"):
        project.update_lesion(lesion.id, study_id="S2")
    assert dict(project.lesions) == {"L1": lesion}


def test_new_ids_are_never_reused(project: Project) -> None:
    first = project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2))
    project.delete_lesion(first.id)
    second = project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2))
    assert second.id != first.id
    project.save()
    folder = project.folder
    project.close()
    with Project.open(folder) as reopened:
        assert reopened.new_id("lesion") not in {first.id, second.id}
        assert reopened.new_id("run") == "run-0001"


def test_runs_models_and_predictions_round_trip(project: Project) -> None:
    run = RunRecord(
        "run-0001",
        "3d-cifa",
        {"folds": 4, "repeats": 10, "seed": 0},
        status="done",
        folds=[{"repeat": 0, "fold": 0, "auc": float("nan"), "accuracy": np.float64(0.75)}],
        oof=[{"lesion_id": "L1", "p_high": 0.4}],
        model_files={"r0f0": "runs/run-0001/r0f0.keras"},
    )
    model = ModelRecord("model-0001", "3d-cifa", {"lr": 1e-4}, "models/model-0001.keras", ["L1", "L2"])
    project.put_run(run)
    project.put_model(model)
    project.add_predictions(
        [Prediction("L1", "model-0001", 0.2, 0.0, 1, created="2026-01-01T00:00:00+00:00")]
    )
    project.add_predictions(
        [Prediction("L1", "run:run-0001", 0.8, 0.1, 4, created="2026-01-02T00:00:00+00:00")]
    )
    project.save()
    folder = project.folder
    project.close()
    with Project.open(folder, read_only=True) as reopened:
        stored = reopened.runs["run-0001"]
        assert np.isnan(stored.folds[0]["auc"]) and stored.folds[0]["accuracy"] == 0.75
        assert stored.model_files == run.model_files and stored.status == "done"
        assert reopened.models["model-0001"] == model
        assert [p.model_id for p in reopened.predictions("L1")] == ["run:run-0001", "model-0001"]
        assert reopened.predictions("L2") == []


def test_read_only_and_closed_projects_refuse_changes(project_folder: Path) -> None:
    with Project.open(project_folder, read_only=True) as viewer:
        assert viewer.read_only
        with pytest.raises(ProjectError, match="read-only"):
            viewer.add_lesion("S1", Box(1, 1, 1, 2, 2, 2))
        with pytest.raises(ProjectError, match="read-only"):
            viewer.save()
    closed = Project.open(project_folder)
    closed.close()
    with pytest.raises(ProjectError, match="closed"):
        closed.save()


def test_create_and_open_refuse_wrong_folders(tmp_path: Path, project_folder: Path) -> None:
    with pytest.raises(ProjectError, match="not an empty folder"):
        Project.create(project_folder)
    (tmp_path / "plain").mkdir()
    with pytest.raises(ProjectError, match="not an HCC Desk project"):
        Project.open(tmp_path / "plain")
    with pytest.raises(ProjectError, match="does not exist"):
        Project.open(tmp_path / "missing.hccdesk")


def test_study_phases_are_resampled_onto_the_arterial_grid(project: Project) -> None:
    study = project.studies["S1"]
    assert study.shape == SHAPE and list(study.phases) == ["arterial", "portal"]
    portal = study_volumes()["portal"]
    with project.images("S1") as images:
        assert images.dtype("arterial") == np.int16 and images.dtype("portal") == np.int16
        resampled = images.volume("portal")
    # portal is shifted by (x 0, y 2, z 1.5) mm = (0, 4/3, 1/2) voxels: reference voxel (k, j, i) sits at
    # portal voxel (k - 0.5, j - 4/3, i); compare away from the edges where both grids overlap.
    reference = project.studies["S1"].affine_array
    kji = np.array([6, 20, 24])
    world = reference[:3, :3] @ kji[::-1] + reference[:3, 3]
    source = np.linalg.solve(portal.affine[:3, :3], world - portal.affine[:3, 3])[::-1]
    assert np.allclose(source, kji - [0.5, 4 / 3, 0])
    lo = np.floor(source).astype(int)
    corner = portal.array[lo[0] : lo[0] + 2, lo[1] : lo[1] + 2, lo[2] : lo[2] + 2].astype(float)
    assert corner.min() - 1 <= resampled[tuple(kji)] <= corner.max() + 1


def test_study_import_refusals(project: Project) -> None:
    with pytest.raises(InputError, match="already in"):
        project.add_study("P1", "S1", study_volumes())
    with pytest.raises(InputError, match="no arterial phase"):
        project.add_study("P1", "S2", {"portal": phase_volume(3, "portal")})
    with pytest.raises(InputError, match="unknown phase"):
        project.add_study(
            "P1", "S2", {"arterial": phase_volume(3, "arterial"), "late": phase_volume(4, None)}
        )
    assert list(project.studies) == ["S1"]
