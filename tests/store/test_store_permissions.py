"""Permissions and locks through the CLI: a read-only folder and any lock file a user (or a crash) could leave
give one line and exit 2, or a read-only open where the command only reads; never a traceback."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from storekit import error_line, snapshot

from hccdesk.cli import main
from hccdesk.store.lock import LOCK_FILE, LockInfo
from hccdesk.store.project import Project

HEADER = "lesion_id,study_id,z0,y0,x0,z1,y1,x1,grade,notes\n"


@pytest.fixture
def lesion_csv(tmp_path: Path) -> Path:
    path = tmp_path / "lesions.csv"
    path.write_text(HEADER + "L1,S1,1,1,1,2,2,2,3,\n")
    return path


@pytest.fixture
def read_only_folder(project_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project folder made read-only; where the tests run as root (which ignores the mode bits) creating
    a file in it fails the way it does for everybody else."""
    mode = project_folder.stat().st_mode
    project_folder.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    if os.access(project_folder, os.W_OK):
        original = Path.write_text

        def refuse(self: Path, *args: object, **kwargs: object) -> int:
            if self.parent == project_folder:
                raise PermissionError(13, "Permission denied", str(self))
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Path, "write_text", refuse)
    yield project_folder
    project_folder.chmod(mode)


def test_a_read_only_project_folder_is_refused_for_changes_and_read_for_reading(
    read_only_folder: Path, lesion_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(read_only_folder)
    assert main(["lesions", "import", str(read_only_folder), str(lesion_csv)]) == 2
    err = error_line(capsys)
    assert "cannot write in" in err and "open it read-only" in err
    assert snapshot(read_only_folder) == before
    assert main(["lesions", "list", str(read_only_folder)]) == 0
    assert main(["project", "info", str(read_only_folder)]) == 0
    assert main(["lesions", "export", str(read_only_folder), str(tmp_path / "out.csv")]) == 0
    capsys.readouterr()


def _lock(folder: Path, **changes: object) -> None:
    info = {**LockInfo.for_this_process().__dict__, **changes}
    (folder / LOCK_FILE).write_text(json.dumps(info))


@pytest.mark.parametrize(
    "lock",
    [
        {"pid": "not a number"},
        {"pid": 2**70},
        {"pid": -1},
        {"pid": 0},
        {"pid": True},
        {"pid": 1.5},
        {"host": 7},
        {"process_start": "early"},
        {"unexpected": "field"},
    ],
)
def test_lock_files_that_lie_are_never_a_traceback(
    project_folder: Path, lesion_csv: Path, capsys: pytest.CaptureFixture[str], lock: dict[str, object]
) -> None:
    _lock(project_folder, **lock)
    assert (
        main(["lesions", "import", str(project_folder), str(lesion_csv)]) == 2
    )  # fresh: maybe being written
    assert "is open in another HCC Desk" in error_line(capsys)
    old = os.stat(project_folder / LOCK_FILE).st_mtime - 60
    os.utime(project_folder / LOCK_FILE, (old, old))
    assert main(["lesions", "import", str(project_folder), str(lesion_csv)]) == 0  # old: taken over
    assert "took over an unreadable lock file" in capsys.readouterr().err
    assert not (project_folder / LOCK_FILE).exists()


@pytest.mark.parametrize("make", [Path.mkdir, lambda path: path.symlink_to("/dev/null")])
def test_a_lock_path_that_is_not_a_file_gives_one_line(
    project_folder: Path, lesion_csv: Path, capsys: pytest.CaptureFixture[str], make: object
) -> None:
    make(project_folder / LOCK_FILE)  # type: ignore[operator]
    assert main(["lesions", "import", str(project_folder), str(lesion_csv)]) == 2
    assert "is not a lock file" in error_line(capsys)
    assert main(["lesions", "list", str(project_folder)]) == 0  # reading needs no lock
    with Project.open(project_folder, read_only=True) as project:
        assert set(project.lesions) == set()
    capsys.readouterr()
