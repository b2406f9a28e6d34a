"""Fixtures of the jobs tests: one smoke cross-validation of the small phantom cohort, shared by the tests
that only read its results (it costs a worker start and a few short trainings)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CV_VARIANTS = ("3d-local", "2d-local")
CV_FOLDS, CV_REPEATS = 2, 2
CV_PROFILE = "smoke"


@dataclass(frozen=True)
class CvResult:
    folder: Path
    data: dict[str, Any]
    variants: tuple[str, ...] = CV_VARIANTS
    folds: int = CV_FOLDS
    repeats: int = CV_REPEATS
    profile: str = CV_PROFILE

    def run_id(self, variant: str) -> str:
        """The id of the run of ``variant``."""
        return next(run["id"] for run in self.data["runs"] if run["variant"] == variant)

    def copy_to(self, folder: Path) -> Path:
        """A writable copy of the project at ``folder`` (the shared one is only read)."""
        shutil.copytree(self.folder, folder, ignore=shutil.ignore_patterns("lock"))
        return folder


@pytest.fixture(scope="session")
def cv_result(small_cohort_template: Path, tmp_path_factory: pytest.TempPathFactory) -> CvResult:
    """A copy of the small cohort after ``hccdesk cv`` (two variants, 2 folds × 2 repeats), and its JSON.

    Tests that write to the project copy ``folder`` first.
    """
    from hccdesk.cli import main

    folder = tmp_path_factory.mktemp("cv") / "small.hccdesk"
    shutil.copytree(small_cohort_template, folder, ignore=shutil.ignore_patterns("lock"))
    out = folder.parent / "cv.json"
    argv = ["cv", str(folder), "--folds", str(CV_FOLDS), "--repeats", str(CV_REPEATS)]
    argv += ["--profile", CV_PROFILE, "--json", str(out)]
    for variant in CV_VARIANTS:
        argv += ["--variant", variant]
    assert main(argv) == 0
    return CvResult(folder, json.loads(out.read_text()))


@pytest.fixture(scope="session")
def signal_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 one-lesion patients whose lesion is bright when high grade and dark when low grade, built with the
    store API: a cue any variant learns in a few steps, so a wrong label anywhere in the pipeline shows."""
    import numpy as np

    from hccdesk.imaging.volume import Volume
    from hccdesk.store.project import Project
    from hccdesk.store.records import Box

    folder = tmp_path_factory.mktemp("signal") / "signal.hccdesk"
    rng = np.random.default_rng(0)
    with Project.create(folder) as project:
        for index in range(12):
            high = index % 2 == 1
            array = rng.normal(100.0, 10.0, (24, 40, 40)).astype(np.float32)
            array[6:18, 12:28, 12:28] += 80.0 if high else -40.0
            volume = Volume(array, np.diag([1.5, 1.5, 2.0, 1.0]), phase="arterial")
            project.add_study(f"PS{index:02d}", f"SS{index:02d}", {"arterial": volume})
            project.add_lesion(f"SS{index:02d}", Box(6, 12, 12, 18, 28, 28), grade=3 if high else 2)
        project.save()
    return folder
