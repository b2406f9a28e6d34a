"""Issue 11, classes 1, 2 and 7 in the GUI: a study import with a hostile file shows the CLI's one-line
message in a dialog, the app keeps running and the open project is unchanged; identity typed into a
description never reaches the project through the GUI either."""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np
from pytestqt.qtbot import QtBot

from hccdesk.cli import main

AFFINE = np.diag([1.5, 1.5, 3.0, 1.0])
PATIENT, STUDY = "P-hostile", "S-hostile"


def _nifti(path: Path, array: np.ndarray, affine: np.ndarray = AFFINE, descrip: str = "") -> Path:
    image = nib.Nifti1Image(array, affine)
    image.header["descrip"] = descrip.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, path)
    return path


def _smooth(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (300 + rng.normal(0, 20, (12, 10, 8))).astype(np.int16)


def _cli_message(tmp_path: Path, paths: list[Path], capsys) -> str:
    """What ``hccdesk import`` says about the same files, without the ``hccdesk: error:`` prefix."""
    project = tmp_path / "cli.hccdesk"
    assert main(["project", "create", str(project)]) == 0
    capsys.readouterr()
    assert main(["import", str(project), "--patient", PATIENT, "--study", STUDY, *map(str, paths)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    return err.removeprefix("hccdesk: error: ").rstrip("\n")


def _import_in_gui(window, qtbot: QtBot, paths: list[Path]) -> None:
    window.files.import_study([str(p) for p in paths], PATIENT, STUDY)
    qtbot.waitUntil(lambda: not window.files.busy, timeout=60_000)


def _assert_still_running(window, project, studies: dict) -> None:
    assert dict(project.studies) == studies and window.document.project is project
    before = window.grid.slice_index
    window.grid.step(-1)
    assert window.grid.slice_index == before - 1


def test_class_1_a_folder_with_a_pipe_and_a_nan_volume(
    window, qtbot: QtBot, dialogs, tmp_path: Path, capsys
) -> None:
    folder = tmp_path / "exam"
    volume = _smooth(1).astype(np.float32)
    volume[2, 3, 4] = np.nan
    _nifti(folder / "arterial.nii.gz", volume)
    os.mkfifo(folder / "stream.dcm")
    expected = _cli_message(tmp_path, [folder], capsys)
    assert "1 of 960 voxels are NaN or infinite" in expected and "\n" not in expected
    project = window.document.project
    studies = dict(project.studies)
    _import_in_gui(window, qtbot, [folder])
    assert dialogs.kinds("critical") == [expected]
    _assert_still_running(window, project, studies)


def test_class_2_a_phase_a_kilometre_away(window, qtbot: QtBot, dialogs, tmp_path: Path, capsys) -> None:
    shifted = AFFINE.copy()
    shifted[2, 3] = 1_000_000.0
    paths = [
        _nifti(tmp_path / "in" / "arterial.nii.gz", _smooth(1)),
        _nifti(tmp_path / "in" / "portal.nii.gz", _smooth(2), shifted),
    ]
    expected = _cli_message(tmp_path, paths, capsys)
    assert "the portal phase covers 0% of the arterial phase's grid" in expected
    project = window.document.project
    studies = dict(project.studies)
    _import_in_gui(window, qtbot, paths)
    assert dialogs.kinds("critical") == [expected]
    _assert_still_running(window, project, studies)


def test_class_7_identity_in_a_description_is_not_stored(
    window, qtbot: QtBot, dialogs, tmp_path: Path
) -> None:
    path = _nifti(tmp_path / "arterial.nii.gz", _smooth(3), descrip="arterial Quaxley MRN-77Q3X9ZK")
    _import_in_gui(window, qtbot, [path])
    assert not dialogs.kinds("critical"), dialogs.calls
    study = window.document.project.studies[STUDY]
    assert study.phases["arterial"].series_description == "arterial"
