"""Never lose: closing asks about unsaved edits, and edits of a crashed session are offered back at open."""

from __future__ import annotations

from PySide6 import QtWidgets

from hccdesk.store.records import Box


def test_closing_with_unsaved_changes_asks_and_cancel_keeps_the_project(window, dialogs) -> None:
    document = window.document
    study = document.study_id
    document.add_box(Box(2, 10, 10, 4, 20, 20))
    assert window.isWindowModified()
    dialogs.answer = QtWidgets.QMessageBox.StandardButton.Cancel
    window.close()
    assert any(title == "Unsaved changes" for kind, title, _ in dialogs.calls if kind == "question")
    assert window.document is document and window.isVisible()
    dialogs.answer = QtWidgets.QMessageBox.StandardButton.Save
    assert window.close_project()
    assert window.document is None and window.stack.currentWidget() is window.welcome
    window.files.open_path(document.folder)
    assert any(lesion.study_id == study for lesion in window.document.project.lesions.values())


def test_edits_of_a_session_that_ended_unexpectedly_are_offered_back(window, dialogs) -> None:
    document = window.document
    folder = document.folder
    document.add_box(Box(1, 5, 5, 3, 15, 15))
    new_id = document.selected
    document.project.close()  # what a crash leaves: the journal, no save
    window.document = None
    window.files.open_path(folder)  # "Recover unsaved edits?" answered Yes
    assert any("Recover" in title for kind, title, _ in dialogs.calls if kind == "question")
    assert new_id in window.document.project.lesions
    assert window.document.dirty
