"""All or nothing: Ctrl-C or a failure during ``lesions import`` or ``import --manifest`` leaves the project
byte-identical (journal included), and a transaction's edits are journaled as one line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from storekit import snapshot, study_volumes

from hccdesk.cli import main
from hccdesk.errors import ProjectError
from hccdesk.imaging.nifti import write_nifti
from hccdesk.store.journal import Journal
from hccdesk.store.project import Project
from hccdesk.store.records import Box
from tests.conftest import ctrl_c_as_from_a_terminal

HEADER = "lesion_id,study_id,z0,y0,x0,z1,y1,x1,grade,notes\n"


def _lesion_csv(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "lesions.csv"
    lines = [
        f"X{n},S1,{n % 10},{n % 30},{n % 40},{n % 10 + 1},{n % 30 + 2},{n % 40 + 3},," for n in range(rows)
    ]
    path.write_text(HEADER + "\n".join(lines) + "\n")
    return path


@pytest.fixture
def saved_edit(project_folder: Path) -> Path:
    """The project with one saved lesion, so 'as before' is more than an empty project."""
    with Project.open(project_folder) as project:
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="kept")
        project.save()
    return project_folder


def _fail_on_call(monkeypatch: pytest.MonkeyPatch, name: str, number: int, error: BaseException) -> None:
    """Make ``Project.<name>`` raise ``error`` on its ``number``-th call (after doing the earlier ones)."""
    original = getattr(Project, name)
    calls = []

    def failing(self: Project, *args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == number:
            raise error
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Project, name, failing)


@pytest.mark.parametrize(
    ("error", "status"), [(KeyboardInterrupt(), 130), (ProjectError("the disk is full"), 2)]
)
def test_an_interrupted_lesion_import_leaves_the_project_as_it_was(
    saved_edit: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    status: int,
) -> None:
    path = _lesion_csv(tmp_path, 3000)
    before = snapshot(saved_edit)
    _fail_on_call(monkeypatch, "add_lesion", 2800, error)
    assert main(["lesions", "import", str(saved_edit), str(path)]) == status
    assert capsys.readouterr().err.count("\n") == 1
    assert snapshot(saved_edit) == before
    monkeypatch.undo()
    assert main(["project", "recover", str(saved_edit)]) == 0
    assert "no unsaved edits" in capsys.readouterr().out


def test_an_interrupted_manifest_import_leaves_no_study_and_no_image_file(
    saved_edit: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = ["patient_id,study_id,phase,path"]
    for study in ("S2", "S3"):
        for phase, volume in study_volumes().items():
            write_nifti(volume, tmp_path / f"{study}_{phase}.nii.gz")
            rows.append(f"P{study},{study},{phase},{study}_{phase}.nii.gz")
    manifest = tmp_path / "cohort.csv"
    manifest.write_text("\n".join(rows) + "\n")
    before = snapshot(saved_edit)
    _fail_on_call(monkeypatch, "add_study", 2, KeyboardInterrupt())
    assert main(["import", str(saved_edit), "--manifest", str(manifest)]) == 130
    assert snapshot(saved_edit) == before  # S2 was written, then removed with the rest
    monkeypatch.undo()
    assert main(["import", str(saved_edit), "--manifest", str(manifest)]) == 0
    with Project.open(saved_edit) as project:
        assert set(project.studies) == {"S1", "S2", "S3"} and set(project.lesions) == {"kept"}
    capsys.readouterr()


@pytest.mark.slow
def test_ctrl_c_sent_to_a_real_import_keeps_all_rows_or_none(saved_edit: Path, tmp_path: Path) -> None:
    path = _lesion_csv(tmp_path, 20_000)
    before = snapshot(saved_edit)
    child = subprocess.Popen(
        [sys.executable, "-m", "hccdesk", "lesions", "import", str(saved_edit), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_as_from_a_terminal,
    )
    time.sleep(4.0)  # Python and the store have loaded; the rows are being read, checked or added
    child.send_signal(signal.SIGINT)
    _out, err = child.communicate(timeout=300)
    assert "Traceback" not in err
    if child.returncode == 0:  # the machine was fast: the import had finished
        with Project.open(saved_edit, read_only=True) as project:
            assert len(project.lesions) == 20_001
    else:
        assert child.returncode == 130 and err == "hccdesk: interrupted\n"
        assert snapshot(saved_edit) == before


def test_a_transaction_is_one_journal_line_and_recovers_whole(project_folder: Path) -> None:
    project = Project.open(project_folder)
    with project.transaction():
        for n in range(5):
            project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2 + n), lesion_id=f"T{n}")
    project.close()  # unsaved: the edits wait in the journal
    lines = (project_folder / "autosave" / "journal.jsonl").read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["op"] == "batch"
    with Project.open(project_folder, recover=True) as again:
        assert set(again.lesions) == {f"T{n}" for n in range(5)}
        assert "recovered 5 unsaved edit(s)" in again.warnings[-1]


def test_a_failing_transaction_tells_the_observers_nothing_and_journals_nothing(project: Project) -> None:
    heard: list[tuple[str, str]] = []
    project.add_observer(lambda kind, record_id: heard.append((kind, record_id)))
    with pytest.raises(RuntimeError), project.transaction():
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="gone")
        raise RuntimeError("a bug half-way")
    assert heard == [] and "gone" not in project.lesions and not project.dirty
    assert not Journal(project.folder, 0).path.exists()


def test_ids_taken_inside_a_failed_transaction_are_free_again(project: Project) -> None:
    with pytest.raises(KeyboardInterrupt), project.transaction():
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="L0007")
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2))
        raise KeyboardInterrupt
    assert project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2)).id == "L0001"
    project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="L0041")
    assert project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2)).id == "L0042"
