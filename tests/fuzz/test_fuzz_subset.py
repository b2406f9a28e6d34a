"""A small, fixed subset of the fuzz run (``tests/fuzz/fuzz_cli.py``) in the test suite: one generated case of
each family, each command in its own process under a timeout, no finding allowed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fuzz_cli import run_case
from hostile_inputs import AFFINE_RAS, GENERATORS, smooth_volume

from hccdesk.cli import main


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fuzz run's starting project (study S1, arterial only), built in this process to save time."""
    import nibabel as nib

    work = tmp_path_factory.mktemp("fuzz")
    arterial = work / "arterial.nii.gz"
    nib.save(nib.Nifti1Image(smooth_volume(np.random.default_rng(0)), AFFINE_RAS), arterial)
    project = work / "template.hccdesk"
    assert main(["project", "create", str(project)]) == 0
    assert (
        main(["import", str(project), "--patient", "P1", "--study", "S1", "--phase", f"arterial={arterial}"])
        == 0
    )
    return project


@pytest.mark.parametrize("family", sorted(GENERATORS))
def test_one_generated_case_of_each_family_has_no_finding(
    family: str, template: Path, tmp_path: Path
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    case = GENERATORS[family](np.random.default_rng(2026), inputs, 0)
    runs = run_case(case, template, tmp_path, timeout=120, memory_mib=1024)
    assert runs and all(run.status is not None for run in runs)
    assert [(run.command, run.findings, run.stderr) for run in runs if run.findings] == []
