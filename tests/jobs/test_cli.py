"""Exit codes and one-line errors of the jobs commands; the listing commands on a finished run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from hccdesk.cli import main
from hccdesk.store.project import Project

from .conftest import CV_FOLDS, CV_ITERATIONS, CV_REPEATS


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


def test_runs_list_and_show(cv_result: tuple[Path, dict[str, Any]], capsys: Any) -> None:
    folder, data = cv_result
    run_id = data["runs"][0]["id"]
    assert main(["runs", "list", str(folder)]) == 0
    listing = capsys.readouterr().out
    assert run_id in listing and "done" in listing
    assert main(["runs", "show", str(folder), run_id]) == 0
    shown = capsys.readouterr().out
    assert "std over repeats" in shown and "AUC 95% CI" in shown
    assert main(["runs", "show", str(folder), "run-9999"]) == 2


@pytest.mark.slow
def test_compare_reuses_stored_runs_and_labels_the_cohort(
    cv_result: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: Any
) -> None:
    """Table 1 holds 2d-local and 3d-local, which the fixture ran with this protocol: they are reused and
    the four other rows are run."""
    source, _ = cv_result
    folder = tmp_path / "copy.hccdesk"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("lock"))
    argv = ["compare", str(folder), "--table", "1", "--folds", str(CV_FOLDS), "--repeats", str(CV_REPEATS)]
    assert main([*argv, "--iterations", str(CV_ITERATIONS)]) == 0
    out, err = capsys.readouterr()
    assert "reusing stored runs: 3d-local" in err
    assert "not the paper's patients" in out
    assert "93.16 ± 4.36" in out  # the paper's 3D fusion accuracy, printed beside ours
    with Project.open(folder, read_only=True) as project:
        assert sorted(r.variant for r in project.runs.values()) == sorted(
            ["2d-local", "3d-local", "2d-nonlocal", "2d-cifa", "3d-nonlocal", "3d-cifa"]
        )
