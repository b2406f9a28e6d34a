"""Never lose: closing asks about unsaved edits, and edits of a crashed session are offered back at open."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6 import QtWidgets

from hccdesk.store.records import Box, Prediction


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


def test_a_store_change_outside_the_undo_stack_marks_the_window_modified_at_once(window) -> None:
    document = window.document
    document.save()
    assert not window.isWindowModified()
    lesion_id = next(iter(document.project.lesions))
    document.project.add_predictions([Prediction(lesion_id, "m1", 0.8, 0.0, 1)])  # as a job's results do
    assert window.isWindowModified()  # no event loop turn needed: the store was dirty when it notified


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


def _start_app(qtbot):
    from hccdesk.gui.app import create_application, create_window

    create_application()
    main = create_window(None)
    qtbot.addWidget(main)
    return main


def test_without_a_project_the_welcome_page_opens_the_demo(
    qtbot, dialogs, small_cohort_template: Path, tmp_path: Path, monkeypatch
) -> None:
    from hccdesk.phantom.demo import DEMO_NAME

    demo = tmp_path / "home" / "demo" / DEMO_NAME
    shutil.copytree(small_cohort_template, demo, ignore=shutil.ignore_patterns("lock"))  # already built
    monkeypatch.setenv("HCCDESK_HOME", str(tmp_path / "home"))
    main = _start_app(qtbot)
    assert main.stack.currentWidget() is main.welcome and main.document is None
    main.welcome.demo_requested.emit()  # the "Open the demo project" button
    qtbot.waitUntil(lambda: main.document is not None, timeout=60_000)
    assert main.document.folder == demo and main.grid.volumes is not None
    main.close()


def test_the_last_project_is_reopened_at_start(qtbot, dialogs, small_cohort_project: Path) -> None:
    from hccdesk.gui import settings

    settings.remember_project(str(small_cohort_project))
    main = _start_app(qtbot)
    qtbot.waitUntil(lambda: main.document is not None, timeout=30_000)
    assert main.document.folder == small_cohort_project
    assert main.recent_menu.actions()[0].text() == str(small_cohort_project)
    main.close()


def test_a_project_held_by_another_instance_opens_read_only(
    qtbot, dialogs, small_cohort_project: Path
) -> None:
    from hccdesk.store.project import Project

    main = _start_app(qtbot)
    with Project.open(small_cohort_project):  # another instance holds the write lock
        main.files.open_path(small_cohort_project)  # "Open it read-only instead?" answered Yes
        assert any(title == "Project in use" for kind, title, _ in dialogs.calls if kind == "question")
        assert main.document.project.read_only and "[read-only]" in main.windowTitle()
        main.close()
