"""An end-to-end smoke cross-validation in spawn workers: results, stored splits and stored metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sklearn.metrics import accuracy_score, recall_score, roc_auc_score

from hccdesk.jobs.runner import import_results, start_cv
from hccdesk.store.project import Project


def test_cv_json_layout(cv_result: Any) -> None:
    data = cv_result.data
    assert set(data) == {"runs", "comparisons"}
    assert [r["variant"] for r in data["runs"]] == list(cv_result.variants)
    for run in data["runs"]:
        assert set(run) == {"id", "variant", "config", "device", "folds", "summary", "oof"}
        assert run["device"].startswith(("CPU", "GPU"))
        assert len(run["folds"]) == cv_result.folds * cv_result.repeats
        fold_keys = {"repeat", "fold", "n_train", "n_test", "accuracy", "sensitivity", "specificity", "auc"}
        assert set(run["folds"][0]) == fold_keys | {"balanced_accuracy", "seconds"}
        for name in ("accuracy", "sensitivity", "specificity", "auc"):
            assert set(run["summary"][name]) == {"mean", "std_folds", "std_repeats"}
        lo, hi = run["summary"]["auc_ci95"]
        assert 0 <= lo <= hi <= 1
        assert set(run["oof"][0]) == {"lesion_id", "repeat", "p_high"}
    assert {(c["a"], c["b"], c["metric"]) for c in data["comparisons"]} == {
        (data["runs"][0]["id"], data["runs"][1]["id"], m) for m in ("accuracy", "auc")
    }


def test_cv_beats_chance_when_the_grade_is_visible(signal_project: Path) -> None:
    """Out-of-fold AUC near 1 on lesions whose grade is plain to see: no label or lesion mix-up between the
    splits, the patches, the training labels and the scored predictions (a flip would give an AUC near 0).
    The 16-lesion phantom cohort is too small and its grade signal too subtle for a smoke-length training
    to beat chance reliably, so it serves the structural checks only."""
    with Project.open(signal_project) as project:
        handle = start_cv(project, ["2d-local"], folds=2, repeats=1, profile="smoke", seed=0)
        assert handle.wait() == "done", handle.reason
        import_results(project, handle)
        run = project.runs[handle.record_ids[0]]
    assert run.summary["auc"]["mean"] >= 0.9
    assert run.summary["accuracy"]["mean"] >= 0.75


def test_no_patient_on_both_sides_of_any_stored_split(cv_result: Any) -> None:
    folder = cv_result.folder
    with Project.open(folder, read_only=True) as project:
        for run in project.runs.values():
            assert run.status == "done"
            assert len(run.splits) == cv_result.folds * cv_result.repeats
            graded = {i for i, lesion in project.lesions.items() if lesion.grade is not None}
            for split in run.splits:
                test = set(split["test"])
                train = graded - test
                patients = {project.lesions[i].patient_id for i in test}
                assert patients.isdisjoint({project.lesions[i].patient_id for i in train})
            for repeat in range(cv_result.repeats):
                tested = [i for s in run.splits if s["repeat"] == repeat for i in s["test"]]
                assert sorted(tested) == sorted(graded)


def test_stored_metrics_equal_sklearn_on_stored_oof(cv_result: Any) -> None:
    folder = cv_result.folder
    with Project.open(folder, read_only=True) as project:
        for run in project.runs.values():
            p_high = {(o["repeat"], o["lesion_id"]): o["p_high"] for o in run.oof}
            for split, fold in zip(run.splits, run.folds, strict=True):
                assert (split["repeat"], split["fold"]) == (fold["repeat"], fold["fold"])
                y = [int(project.lesions[i].grade >= 3) for i in split["test"]]
                p = [p_high[(split["repeat"], i)] for i in split["test"]]
                pred = [int(v >= 0.5) for v in p]
                assert fold["n_test"] == len(y)
                assert fold["accuracy"] == accuracy_score(y, pred)
                assert fold["sensitivity"] == recall_score(y, pred, pos_label=1)
                assert fold["specificity"] == recall_score(y, pred, pos_label=0)
                assert fold["auc"] == roc_auc_score(y, p)
            for key, path in run.model_files.items():
                assert (folder / path).is_file(), key


def test_replay_uses_the_stored_splits_again(cv_result: Any, tmp_path: Path) -> None:
    from hccdesk.cli import main

    folder = tmp_path / "copy.hccdesk"
    cv_result.copy_to(folder)
    original = cv_result.data["runs"][1]  # the 2D run: the cheaper one to repeat
    out = tmp_path / "replay.json"
    assert main(["cv", str(folder), "--replay", original["id"], "--json", str(out)]) == 0
    (replayed,) = json.loads(out.read_text())["runs"]
    assert replayed["variant"] == original["variant"]
    assert replayed["config"]["replay_of"] == original["id"]
    assert replayed["config"]["iterations"] == original["config"]["iterations"]
    with Project.open(folder, read_only=True) as project:
        assert project.runs[replayed["id"]].splits == project.runs[original["id"]].splits
