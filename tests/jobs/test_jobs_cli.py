"""Exit codes and one-line errors of the jobs commands; the listing commands on a finished run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hccdesk.cli import main
from hccdesk.store.project import Project


def test_unknown_variant_is_a_usage_error(small_cohort_template: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["cv", str(small_cohort_template), "--variant", "4d-magic"])
    assert exit_info.value.code == 2


def test_missing_project_exits_2(tmp_path: Path, capsys: Any) -> None:
    assert main(["cv", str(tmp_path / "nope.hccdesk"), "--variant", "3d-cifa"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hccdesk: error:") and err.count("\n") == 1


def test_too_many_folds_for_the_cohort_exits_2(small_cohort_project: Path, capsys: Any) -> None:
    assert main(["cv", str(small_cohort_project), "--variant", "2d-local", "--folds", "40"]) == 2
    assert "patients" in capsys.readouterr().err


def test_grade_without_models_exits_2(small_cohort_project: Path, capsys: Any) -> None:
    assert main(["grade", str(small_cohort_project)]) == 2
    assert "hccdesk cv" in capsys.readouterr().err


def test_runs_list_and_show(cv_result: Any, capsys: Any) -> None:
    folder, data = cv_result.folder, cv_result.data
    run_id = data["runs"][0]["id"]
    assert main(["runs", "list", str(folder)]) == 0
    listing = capsys.readouterr().out
    assert run_id in listing and "done" in listing
    assert main(["runs", "show", str(folder), run_id]) == 0
    shown = capsys.readouterr().out
    assert "std over repeats" in shown and "AUC 95% CI" in shown
    assert main(["runs", "show", str(folder), "run-9999"]) == 2


@pytest.mark.slow
def test_compare_runs_the_rows_then_reuses_them(small_cohort_project: Path, capsys: Any) -> None:
    """A tiny protocol (2 folds × 1 repeat, 3 steps): the first call runs Table 1's six variants and the
    radiomics baseline, the second reuses all of them and runs nothing."""
    argv = ["compare", str(small_cohort_project), "--table", "1", "--folds", "2", "--repeats", "1"]
    argv += ["--iterations", "3"]
    assert main(argv) == 0
    first, _ = capsys.readouterr()
    assert "not the paper's patients" in first
    assert "93.16 ± 4.36" in first  # the paper's 3D fusion accuracy, printed beside ours
    assert "Radiomics baseline (not in the paper)" in first
    assert main(argv) == 0
    second, err = capsys.readouterr()
    assert "reusing stored runs: 2d-local" in err and "3d-cifa" in err
    assert second == first
    with Project.open(small_cohort_project, read_only=True) as project:
        assert len(project.runs) == 7


@pytest.mark.slow
def test_bench_cv_reports_truncated_runs_as_such(small_cohort_project: Path, capsys: Any) -> None:
    argv = ["bench", "cv", "--project", str(small_cohort_project), "--variant", "2d-local", "--folds", "2"]
    argv += ["--repeats", "1", "--fast-iterations", "3", "--paper-iterations", "6"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "TRUNCATED" in text and "NOT the fast profile" in text and "not assessed" in text
    assert "not the paper's patients" in text
    assert main([*argv, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["fast"]["truncated"] and figures["paper"]["truncated"]
    assert figures["compute_ratio_steps"] == 0.5
    assert figures["paper"]["extrapolated_full_wall_seconds"] == figures["paper"]["wall_seconds"]


def test_cv_without_a_variant_exits_2(small_cohort_project: Path, capsys: Any) -> None:
    assert main(["cv", str(small_cohort_project)]) == 2
    assert "--variant" in capsys.readouterr().err
