"""Grades from a run's fold ensemble (with spread) and from a final model, stored with their source."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from hccdesk.cli import main
from hccdesk.store.project import Project


def test_grade_with_run_ensemble_and_final_model(cv_result: Any, tmp_path: Path, capsys: Any) -> None:
    source, data = cv_result.folder, cv_result.data
    folder = tmp_path / "copy.hccdesk"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("lock"))
    run_id = data["runs"][0]["id"]
    with Project.open(folder, read_only=True) as project:
        lesions = sorted(project.lesions)[:3]
    capsys.readouterr()
    argv = ["grade", str(folder), "--run", run_id, "--json"]
    for lesion in lesions:
        argv += ["--lesion", lesion]
    assert main(argv) == 0
    graded = json.loads(capsys.readouterr().out)
    assert graded["source"] == f"run:{run_id}"
    assert [p["lesion_id"] for p in graded["predictions"]] == lesions
    for p in graded["predictions"]:
        assert p["n_members"] == cv_result.folds * cv_result.repeats
        assert 0.0 <= p["p_high"] <= 1.0 and p["spread"] >= 0.0
    assert any(p["spread"] > 0 for p in graded["predictions"])  # members trained on different lesions

    assert main(["train", str(folder), "--variant", "2d-local", "--profile", "smoke"]) == 0
    with Project.open(folder, read_only=True) as project:
        (model,) = project.models.values()
        assert (folder / model.path).is_file()
        assert model.provenance["iterations"] == 30
        graded = sorted(i for i, lesion in project.lesions.items() if lesion.grade is not None)
        assert sorted(model.lesion_ids) == graded
    capsys.readouterr()
    assert main(["grade", str(folder), "--model", model.id, "--lesion", lesions[0], "--json"]) == 0
    (single,) = json.loads(capsys.readouterr().out)["predictions"]
    assert single["n_members"] == 1 and single["spread"] == 0.0
    with Project.open(folder, read_only=True) as project:
        stored = project.predictions(lesions[0])
        assert {p.model_id for p in stored} == {f"run:{run_id}", model.id}
