"""Issue 11, class 2: phases that do not belong together are refused by ``hccdesk import`` with the reason.

The project must stay byte-identical after each refusal; a breath-hold shift of a few millimetres is normal
and is imported.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hostile import AFFINE_RAS, assert_one_error_line, cli, fingerprint, smooth_volume

from hccdesk.imaging.nifti import read_nifti, write_nifti
from hccdesk.imaging.volume import Volume
from hccdesk.store.project import Project


def _phase(folder: Path, name: str, seed: int, shift_mm: tuple[float, float, float] = (0, 0, 0)) -> Path:
    affine = AFFINE_RAS.copy()
    affine[:3, 3] += np.asarray(shift_mm) * [-1, -1, 1]  # LPS shift in the RAS affine
    array = np.transpose(smooth_volume(seed), (2, 1, 0))
    return write_nifti(Volume(array, np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine), folder / f"{name}.nii.gz")


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "p.hccdesk"
    assert cli(["project", "create", str(folder)], capsys)[0] == 0
    return folder


def _import(project: Path, capsys: pytest.CaptureFixture[str], **phases: Path) -> tuple[int, str]:
    args = ["import", str(project), "--patient", "P1", "--study", "S1"]
    for name, path in phases.items():
        args += ["--phase", f"{name}={path}"]
    status, _, err = cli(args, capsys)
    return status, err


def test_a_phase_a_kilometre_away_is_refused(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = fingerprint(project)
    arterial = _phase(tmp_path, "arterial", 1)
    portal = _phase(tmp_path, "portal", 2, shift_mm=(0.0, 0.0, 1_000_000.0))
    status, err = _import(project, capsys, arterial=arterial, portal=portal)
    assert status == 2
    assert_one_error_line(err, "the portal phase covers 0% of the arterial phase's grid", "1e+06 mm apart")
    assert fingerprint(project) == before


def test_a_phase_covering_under_half_of_the_reference_is_refused(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arterial = _phase(tmp_path, "arterial", 1)
    pre = _phase(tmp_path, "pre", 3, shift_mm=(-12.0, 0.0, 0.0))  # 12 of 18 mm across: a third overlaps
    status, err = _import(project, capsys, arterial=arterial, pre=pre)
    assert status == 2
    assert_one_error_line(err, "the pre phase covers 3", "at least 50% needed")


def test_a_breath_hold_shift_is_imported(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arterial = _phase(tmp_path, "arterial", 1)
    portal = _phase(tmp_path, "portal", 2, shift_mm=(1.5, -3.0, 4.5))
    assert _import(project, capsys, arterial=arterial, portal=portal)[0] == 0
    with Project.open(project, read_only=True) as opened:
        assert set(opened.studies["S1"].phases) == {"arterial", "portal"}


def test_one_file_cannot_be_two_phases(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = fingerprint(project)
    arterial = _phase(tmp_path, "arterial", 1)
    status, err = _import(project, capsys, arterial=arterial, portal=arterial)
    assert status == 2
    assert_one_error_line(err, "the arterial and portal phases are one image (identical voxels)")
    assert fingerprint(project) == before


def test_a_copy_of_a_series_cannot_be_another_phase(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arterial = _phase(tmp_path, "arterial", 1)
    copy = shutil.copy(arterial, tmp_path / "delayed_copy.nii.gz")
    status, err = _import(project, capsys, arterial=arterial, delayed=Path(copy))
    assert status == 2
    assert_one_error_line(err, "the arterial and delayed phases are one image")


def test_one_4d_file_gives_two_phases_only_from_two_time_points(tmp_path: Path) -> None:
    """The same-file rule keys on the time point: a dynamic 4D file is several phases, legitimately."""
    import nibabel as nib

    frames = np.stack([smooth_volume(seed) for seed in (1, 2)], axis=-1)
    nib.save(nib.Nifti1Image(frames, AFFINE_RAS), tmp_path / "dyn.nii.gz")
    first, second = read_nifti(tmp_path / "dyn.nii.gz")
    with Project.create(tmp_path / "p.hccdesk") as project:
        study = project.add_study("P1", "S1", {"arterial": first, "portal": second})
        assert set(study.phases) == {"arterial", "portal"}
