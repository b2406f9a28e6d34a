"""``hccdesk bench model``'s ceiling: the phantom's ground truth scored on the reference row's splits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hccdesk.cli import main
from hccdesk.jobs.model_bench import ROWS, Protocol, bench_model, format_report
from hccdesk.store.project import Project

PROTOCOL = Protocol(folds=2, repeats=2)


@pytest.fixture(scope="module")
def benched_cohort(small_cohort_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the small phantom project, its truth file beside it, with a finished hand-lr row (the cheap
    reference row) that the tests' benchmarks reuse."""
    folder = copy_cohort(small_cohort_template, tmp_path_factory.mktemp("ceiling"))
    bench_model([("small", folder)], [ROWS["hand-lr"]], PROTOCOL, ceiling=False)
    return folder


def copy_cohort(folder: Path, target: Path) -> Path:
    """A copy of the project ``folder`` and its ``<stem>.truth.json`` into ``target``."""
    copy = target / folder.name
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("lock"))
    truth = folder.parent / f"{folder.stem}.truth.json"
    shutil.copyfile(truth, target / truth.name)
    return copy


def truth_file(folder: Path) -> Path:
    return folder.parent / f"{folder.stem}.truth.json"


def true_z(folder: Path) -> dict[str, float]:
    data = json.loads(truth_file(folder).read_text())
    return {
        lesion["lesion_id"]: lesion["traits"]["z"] for study in data["studies"] for lesion in study["lesions"]
    }


def z_auc_agreement(cohort: dict[str, Any], folder: Path, z: dict[str, float]) -> list[bool]:
    """Per fold of the z ceiling row: is its AUC roc_auc_score of ``z`` on the reference run's test fold?"""
    with Project.open(folder, read_only=True) as project:
        reference = project.runs[cohort["rows"][0]["run_id"]]
        high = {i: int(lesion.label == "high") for i, lesion in project.lesions.items()}
    tests = {(s["repeat"], s["fold"]): s["test"] for s in reference.splits}
    (z_row,) = [row for row in cohort["ceiling"] if row["row"] == "z"]
    agree = []
    for fold in z_row["fold_rows"]:
        ids = tests[(fold["repeat"], fold["fold"])]
        assert fold["n_test"] == len(ids)
        expected = roc_auc_score([high[i] for i in ids], [z[i] for i in ids])
        agree.append(bool(np.isclose(fold["auc"], expected, rtol=0, atol=1e-12)))
    return agree


@pytest.mark.filterwarnings("error::FutureWarning")
def test_ceiling_rows_score_the_truth_on_the_reference_splits(benched_cohort: Path) -> None:
    (cohort,) = bench_model([("small", benched_cohort)], [ROWS["hand-lr"]], PROTOCOL)
    reference = cohort["rows"][0]
    assert reference["wall_s"] is None  # reused: the ceiling needs no model row of its own
    assert [row["row"] for row in cohort["ceiling"]] == ["oracle-lr", "z"]
    assert cohort["no_ceiling"] is None
    for row in cohort["ceiling"]:
        assert row["splits_of"] == reference["run_id"]
        assert row["note"] == "ground truth, not a model of the images"
        assert row["folds"] == reference["folds"] == PROTOCOL.folds * PROTOCOL.repeats
        assert set(row["p_vs_reference"]) == {"accuracy", "auc"}
        assert 0.0 <= row["auc"]["mean"] <= 1.0 and row["accuracy"]["mean"] is not None
    assert all(z_auc_agreement(cohort, benched_cohort, true_z(benched_cohort)))
    report = format_report([cohort], PROTOCOL)
    assert "ceiling of this cohort (ground truth, not a model of the images)" in report
    assert "\noracle-lr " in report and "\nz " in report


def test_shuffled_truth_z_breaks_the_z_rows_agreement(benched_cohort: Path, tmp_path: Path) -> None:
    folder = copy_cohort(benched_cohort, tmp_path)
    original = true_z(folder)
    data = json.loads(truth_file(folder).read_text())
    lesions = [lesion for study in data["studies"] for lesion in study["lesions"]]
    shuffled = np.random.default_rng(0).permutation([lesion["traits"]["z"] for lesion in lesions])
    for lesion, z in zip(lesions, shuffled, strict=True):
        lesion["traits"]["z"] = float(z)
    truth_file(folder).write_text(json.dumps(data))

    (cohort,) = bench_model([("small", folder)], [ROWS["hand-lr"]], PROTOCOL)
    assert all(z_auc_agreement(cohort, folder, true_z(folder)))
    assert not all(z_auc_agreement(cohort, folder, original))


def test_no_truth_file_says_no_ceiling_and_the_table_still_prints(
    benched_cohort: Path, tmp_path: Path, capsys: Any
) -> None:
    folder = copy_cohort(benched_cohort, tmp_path)
    truth_file(folder).unlink()
    out = tmp_path / "bench.json"
    argv = ["bench", "model", "--cohort", str(folder), "--row", "hand-lr", "--folds", "2", "--repeats", "2"]
    assert main([*argv, "--json", str(out)]) == 0
    (cohort,) = json.loads(out.read_text())
    assert cohort["ceiling"] == [] and "no ground-truth file" in cohort["no_ceiling"]
    printed = capsys.readouterr().out
    assert "\nhand-lr " in printed and "no ceiling: no ground-truth file" in printed


def test_a_regraded_lesion_or_the_switch_gives_no_ceiling(benched_cohort: Path, tmp_path: Path) -> None:
    folder = copy_cohort(benched_cohort, tmp_path)
    data = json.loads(truth_file(folder).read_text())
    lesion = data["studies"][0]["lesions"][0]
    lesion["grade"] = 2 if lesion["grade"] != 2 else 3
    truth_file(folder).write_text(json.dumps(data))
    (cohort,) = bench_model([("small", folder)], [ROWS["hand-lr"]], PROTOCOL)
    assert cohort["ceiling"] == [] and "grades differ" in cohort["no_ceiling"]
    assert lesion["lesion_id"] in cohort["no_ceiling"]

    (cohort,) = bench_model([("small", benched_cohort)], [ROWS["hand-lr"]], PROTOCOL, ceiling=False)
    assert cohort["ceiling"] == [] and "--no-ceiling" in cohort["no_ceiling"]
