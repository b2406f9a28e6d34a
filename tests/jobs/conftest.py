"""Fixtures of the jobs tests: one smoke cross-validation of the small phantom cohort, shared by the tests
that only read its results (it costs a worker start and a few short trainings)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

CV_VARIANTS = ("3d-local", "2d-local")
CV_FOLDS, CV_REPEATS = 2, 2
CV_ITERATIONS = 120
"""Enough steps for the small cohort's grade signal to show (the ``smoke`` profile is too short to learn)."""


@pytest.fixture(scope="session")
def cv_result(
    small_cohort_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """A copy of the small cohort after ``hccdesk cv`` (two variants, 2 folds × 2 repeats), and its JSON."""
    from hccdesk.cli import main

    folder = tmp_path_factory.mktemp("cv") / "small.hccdesk"
    shutil.copytree(small_cohort_template, folder, ignore=shutil.ignore_patterns("lock"))
    out = folder.parent / "cv.json"
    argv = ["cv", str(folder), "--folds", str(CV_FOLDS), "--repeats", str(CV_REPEATS)]
    argv += ["--iterations", str(CV_ITERATIONS), "--json", str(out)]
    for variant in CV_VARIANTS:
        argv += ["--variant", variant]
    assert main(argv) == 0
    return folder, json.loads(out.read_text())
