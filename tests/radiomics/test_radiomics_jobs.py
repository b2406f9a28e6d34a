"""The radiomics variant through the real job machinery (CLI, spawn workers): it learns a cue, learns nothing
from shuffled grades, fits on the training fold only, and a trained model grades what it was trained on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hccdesk.cli import main
from hccdesk.learn.variants import load_variant, with_overrides
from hccdesk.radiomics.features import extract_lesion_features
from hccdesk.radiomics.model import RadiomicsModel
from hccdesk.store.project import Project

HAND = ["--set", "features.set=hand", "--set", 'region.phases=["pre","arterial","portal","delayed"]']
HAND_OVERRIDES = {"features.set": "hand", "region.phases": ["pre", "arterial", "portal", "delayed"]}


def _copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / folder.name
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("lock"))
    return target


def _cv(folder: Path, out: Path, repeats: int) -> dict[str, Any]:
    argv = ["cv", str(folder), "--variant", "radiomics", "--folds", "4", "--repeats", str(repeats)]
    assert main([*argv, *HAND, "--json", str(out)]) == 0
    (run,) = json.loads(out.read_text())["runs"]
    return run


def test_a_cue_is_learned_and_shuffled_grades_give_chance(
    cue_project: Path, permuted_project: Path, tmp_path: Path
) -> None:
    learned = _cv(_copy(cue_project, tmp_path), tmp_path / "cue.json", repeats=2)
    assert learned["summary"]["auc"]["mean"] > 0.85
    shuffled = _cv(_copy(permuted_project, tmp_path), tmp_path / "permuted.json", repeats=5)
    assert abs(shuffled["summary"]["auc"]["mean"] - 0.5) < 0.15


def test_each_fold_is_fitted_on_its_training_lesions_only(cue_project: Path, tmp_path: Path) -> None:
    folder = _copy(cue_project, tmp_path)
    _cv(folder, tmp_path / "cv.json", repeats=1)
    config = with_overrides(load_variant("radiomics"), HAND_OVERRIDES)
    with Project.open(folder, read_only=True) as project:
        (run,) = project.runs.values()
        rows = {}
        for lesion in project.lesions.values():
            with project.images(lesion.study_id) as images:
                rows[lesion.id] = extract_lesion_features(images, lesion.box, config)[0]
        everything = np.mean(list(rows.values()), axis=0)
        for split in run.splits:
            key = f"r{split['repeat']}f{split['fold']}"
            model = RadiomicsModel.load(folder / run.model_files[key])
            assert (folder / run.model_files[key]).name.endswith(".radiomics.json")
            train_ids = set(rows) - set(split["test"])
            training = np.mean([rows[i] for i in train_ids], axis=0)[model.columns]
            np.testing.assert_allclose(model.mean, training, rtol=1e-6)
            assert not np.allclose(model.mean, everything[model.columns], rtol=1e-3)


def test_train_then_grade_round_trip(cue_project: Path, tmp_path: Path, capsys: Any) -> None:
    folder = _copy(cue_project, tmp_path)
    assert main(["train", str(folder), "--variant", "radiomics", *HAND]) == 0
    with Project.open(folder, read_only=True) as project:
        (record,) = project.models.values()
        model = RadiomicsModel.load(folder / record.path)
        expected = {}
        for lesion in project.lesions.values():
            with project.images(lesion.study_id) as images:
                row = extract_lesion_features(images, lesion.box, model.config)
            expected[lesion.id] = float(model.predict_rows(row)[0])
    assert record.variant == "radiomics" and "tensorflow" not in record.provenance["software"]
    capsys.readouterr()
    assert main(["grade", str(folder), "--model", record.id, "--json"]) == 0
    graded = json.loads(capsys.readouterr().out)["predictions"]
    assert {p["lesion_id"]: p["p_high"] for p in graded} == pytest.approx(expected)
    high = [p["p_high"] for p in graded if p["lesion_id"] in _high(folder)]
    low = [p["p_high"] for p in graded if p["lesion_id"] not in _high(folder)]
    assert np.mean(high) > np.mean(low)


def _high(folder: Path) -> set[str]:
    with Project.open(folder, read_only=True) as project:
        return {i for i, lesion in project.lesions.items() if lesion.label == "high"}


@pytest.mark.slow
def test_ibsi_features_train_and_grade(cue_project: Path, tmp_path: Path, capsys: Any) -> None:
    """The shipped config (MIRP features, arterial phase) end to end on a quarter of the cue cohort."""
    folder = _copy(cue_project, tmp_path)
    with Project.open(folder) as project:
        for lesion_id in sorted(project.lesions)[12:]:
            project.delete_lesion(lesion_id)
        project.save()
    assert main(["train", str(folder), "--variant", "radiomics"]) == 0
    capsys.readouterr()
    assert main(["grade", str(folder), "--json"]) == 0
    graded = json.loads(capsys.readouterr().out)["predictions"]
    assert len(graded) == 12 and all(0.0 < p["p_high"] < 1.0 for p in graded)
