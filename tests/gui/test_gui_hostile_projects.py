"""The GUI shows the store's one-line refusals for hostile projects and files, and keeps the project intact:
an export into the project folder (class 3), a lesion CSV with a bad row (classes 4 and 9), a lock path that
is a folder or a read-only project folder (class 5) and a project whose records were altered (class 8)."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

HEADER = "lesion_id,study_id,z0,y0,x0,z1,y1,x1,grade,notes\n"


def _one_critical(dialogs) -> str:
    (message,) = dialogs.kinds("critical")
    assert "\n" not in message and "Traceback" not in message
    return message


def _copy_of_open_project(window, tmp_path: Path) -> Path:
    target = tmp_path / "copy.hccdesk"
    shutil.copytree(window.document.project.folder, target, ignore=shutil.ignore_patterns("lock", "autosave"))
    return target


def test_exporting_lesions_into_the_project_folder_is_refused(window, dialogs, monkeypatch) -> None:
    from PySide6 import QtWidgets

    project = window.document.project
    target = project.folder / "project.h5"
    before = target.read_bytes()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(target), ""))
    window.files.export_lesions_csv()
    assert "is inside the project folder" in _one_critical(dialogs)
    assert target.read_bytes() == before


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [("1_0,2,3,5,10,12,3,", "is not a whole voxel index"), ("1,2,3,5,10,12,7,", "not an Edmondson grade")],
)
def test_a_lesion_csv_with_a_bad_row_is_one_dialog_and_the_project_keeps_its_state(
    window, dialogs, monkeypatch, tmp_path: Path, bad_row: str, expected: str
) -> None:
    from PySide6 import QtWidgets

    project = window.document.project
    study = next(iter(project.studies))
    csv = tmp_path / "lesions.csv"
    csv.write_text(HEADER + f"G1,{study},1,1,1,2,2,2,2,fine\nG2,{study},{bad_row}\n")
    lesions, dirty = dict(project.lesions), project.dirty
    saved = (project.folder / "project.h5").read_bytes()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(csv), ""))
    window.files.import_lesions_csv()
    message = _one_critical(dialogs)
    assert "line 3" in message and expected in message and "nothing imported" in message
    assert dict(project.lesions) == lesions and project.dirty == dirty
    assert (project.folder / "project.h5").read_bytes() == saved


def test_opening_a_project_whose_lock_is_a_folder_says_so(window, dialogs, tmp_path: Path) -> None:
    other = _copy_of_open_project(window, tmp_path)
    (other / "lock").mkdir()
    current = window.document.project
    window.files.open_path(other)
    assert "is not a lock file" in _one_critical(dialogs)
    assert window.document.project is current


def test_opening_a_project_with_altered_records_offers_the_backup(window, dialogs, tmp_path: Path) -> None:
    other = _copy_of_open_project(window, tmp_path)
    with h5py.File(other / "project.h5", "r+") as f:
        records = f["lesions"]["records"]
        texts = list(records.asstr()[()])
        texts[0] = texts[0].replace('"notes":"', '"notes":"altered ', 1)
        records[...] = np.array(texts, dtype=object)
    current = window.document.project
    window.files.open_path(other)
    message = _one_critical(dialogs)
    assert "do not match their checksum" in message and "use-backup" in message
    assert window.document.project is current


def test_a_read_only_project_folder_is_offered_read_only(
    window, dialogs, monkeypatch, tmp_path: Path
) -> None:
    import os
    import stat

    other = _copy_of_open_project(window, tmp_path)
    mode = other.stat().st_mode
    other.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    if os.access(other, os.W_OK):  # root ignores the mode bits: fail the lock's write as for everybody else
        original = Path.write_text

        def refuse(self: Path, *args, **kwargs):
            if self.parent == other:
                raise PermissionError(13, "Permission denied", str(self))
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Path, "write_text", refuse)
    try:
        window.files.open_path(other)
    finally:
        other.chmod(mode)
    (question,) = dialogs.kinds("question")[-1:]
    assert "cannot write in" in question and "read-only" in question
    assert window.document.project.read_only and window.document.project.folder == other
