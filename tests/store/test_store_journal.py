"""The autosave journal: edits of a killed session are offered at the next open, never applied silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from storekit import kill, start_child, study_volumes, wait_for_line

from hccdesk.errors import ProjectError
from hccdesk.store.journal import AUTOSAVE_DIR, JOURNAL_FILE
from hccdesk.store.project import Project
from hccdesk.store.records import Box

EDIT_THEN_DIE = """
import sys, time
from hccdesk.store.project import Project
from hccdesk.store.records import Box
project = Project.open(sys.argv[1])
a = project.add_lesion("S1", Box(1, 1, 1, 4, 4, 4), grade=2, lesion_id="A")
project.add_lesion("S1", Box(2, 2, 2, 5, 5, 5), grade=4, lesion_id="B")
project.update_lesion("A", notes="capsule")
project.delete_lesion("B")
print("edited", flush=True)
time.sleep(60)
"""


@pytest.fixture
def crashed(project_folder: Path) -> Path:
    """``project_folder`` after a session that edited without saving was killed."""
    child = start_child(EDIT_THEN_DIE, project_folder)
    try:
        wait_for_line(child, "edited")
    finally:
        kill(child)
    return project_folder


def test_edits_of_a_killed_session_are_offered_and_recovered(crashed: Path) -> None:
    with Project.open(crashed) as project:
        pending = project.pending_recovery
        assert pending is not None and len(pending.edits) == 4 and "4 unsaved edit(s)" in pending.describe()
        assert not project.lesions
        with pytest.raises(ProjectError, match="recover or discard"):
            project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2))
        with pytest.raises(ProjectError, match="recover or discard"):
            project.save()
        project.recover()
        assert set(project.lesions) == {"A"} and project.lesions["A"].notes == "capsule" and project.dirty
        project.save()
    assert not (crashed / AUTOSAVE_DIR / JOURNAL_FILE).exists()
    with Project.open(crashed) as project:
        assert project.pending_recovery is None and set(project.lesions) == {"A"}


def test_recover_flag_applies_or_discards(crashed: Path) -> None:
    with Project.open(crashed, read_only=True) as viewer:
        assert viewer.pending_recovery is not None
        with pytest.raises(ProjectError):
            viewer.recover()
    with Project.open(crashed, recover=True) as project:
        assert set(project.lesions) == {"A"}
        project.add_lesion("S1", Box(3, 3, 3, 4, 4, 4), lesion_id="C")  # journaled after the recovered edits
    with Project.open(crashed, recover=False) as project:
        assert not project.lesions and project.pending_recovery is None
    with Project.open(crashed) as project:
        assert project.pending_recovery is None


def test_torn_last_line_is_ignored_and_appending_continues(crashed: Path) -> None:
    journal = crashed / AUTOSAVE_DIR / JOURNAL_FILE
    with journal.open("ab") as f:
        f.write(b'{"op": "put", "kind": "lesion", "rec')
    with Project.open(crashed, recover=True) as project:
        assert set(project.lesions) == {"A"}
        project.add_lesion("S1", Box(3, 3, 3, 4, 4, 4), lesion_id="C")
    with Project.open(crashed, recover=True) as project:
        assert set(project.lesions) == {"A", "C"}


def test_closing_keeps_unsaved_edits_unless_discarded(project_folder: Path) -> None:
    with Project.open(project_folder) as project:
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="kept")
    with Project.open(project_folder, recover=True) as project:
        assert "kept" in project.lesions
        project.close(discard_unsaved=True)
    with Project.open(project_folder) as project:
        assert project.pending_recovery is None and not project.lesions


def test_journal_of_an_already_saved_generation_is_dropped(project_folder: Path) -> None:
    with Project.open(project_folder) as project:
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="saved")
        journal = (project_folder / AUTOSAVE_DIR / JOURNAL_FILE).read_bytes()
        project.save()
    # A crash between the rename of the new project.h5 and the journal's deletion leaves this state.
    (project_folder / AUTOSAVE_DIR / JOURNAL_FILE).write_bytes(journal)
    with Project.open(project_folder) as project:
        assert project.pending_recovery is None and "saved" in project.lesions
    assert not (project_folder / AUTOSAVE_DIR / JOURNAL_FILE).exists()


def test_recovery_leaves_out_a_study_whose_images_are_gone(project_folder: Path) -> None:
    with Project.open(project_folder) as project:
        project.add_study("P2", "S2", study_volumes(4))
        project.add_lesion("S2", Box(1, 1, 1, 2, 2, 2), lesion_id="on-S2")
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="on-S1")
    (project_folder / "images" / "S2.h5").unlink()
    with Project.open(project_folder, recover=True) as project:
        assert set(project.studies) == {"S1"} and set(project.lesions) == {"on-S1"}
        assert any("study S2" in w and "image file is missing" in w for w in project.warnings)
        assert any("lesion on-S2" in w for w in project.warnings)
