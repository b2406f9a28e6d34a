"""Fixtures of the radiomics tests: small four-phase projects with a grade cue, built with the store API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

PHASES = ("pre", "arterial", "portal", "delayed")
N_LESIONS = 40


def build_cue_project(folder: Path, seed: int, permute: bool) -> Path:
    """``N_LESIONS`` one-lesion patients whose lesion enhances more in the arterial phase when high grade
    (overlapping classes), each study scaled by its own gain (x0.5-2) as scanners do.

    With ``permute`` the recorded grades are shuffled over the lesions so that exactly half of each cue class
    is recorded high: then no image feature carries the grade (a plain shuffle of 40 labels can agree with the
    cue 35 % or 65 % of the time by chance, which a model would rightly learn).
    """
    from hccdesk.imaging.volume import Volume
    from hccdesk.store.project import Project
    from hccdesk.store.records import Box

    rng = np.random.default_rng(seed)
    high = np.arange(N_LESIONS) % 2 == 1
    grades = high.copy()
    if permute:
        for cue in (False, True):
            members = rng.permutation(np.flatnonzero(high == cue))
            grades[members] = np.arange(members.size) % 2 == 1
    with Project.create(folder) as project:
        for index in range(N_LESIONS):
            gain = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
            wash_in = 1.6 + 0.4 * high[index] + 0.15 * rng.standard_normal()
            size = int(rng.integers(5, 9))
            box = Box(8, 20 - size, 20 - size, 8 + size // 2 + 3, 20 + size, 20 + size)
            volumes = {}
            for phase in PHASES:
                array = rng.normal(100.0, 8.0, (20, 40, 40)).astype(np.float32)
                ratio = wash_in if phase == "arterial" else 0.9
                array[box.slices] *= ratio
                volumes[phase] = Volume(gain * array, np.diag([2.0, 2.0, 3.0, 1.0]), phase=phase)
            project.add_study(f"CP{index:02d}", f"CS{index:02d}", volumes)
            project.add_lesion(f"CS{index:02d}", box, grade=3 if grades[index] else 2)
        project.save()
    return folder


@pytest.fixture(scope="session")
def cue_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cue_project(tmp_path_factory.mktemp("cue") / "cue.hccdesk", seed=0, permute=False)


@pytest.fixture(scope="session")
def permuted_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cue_project(tmp_path_factory.mktemp("permuted") / "permuted.hccdesk", seed=0, permute=True)


@pytest.fixture(autouse=True)
def feature_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A session-private MIRP feature cache, so tests never read or fill the user's."""
    folder = tmp_path_factory.getbasetemp() / "radiomics-cache"
    monkeypatch.setenv("HCCDESK_CACHE", str(folder))
    return folder
