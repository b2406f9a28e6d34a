"""Drawing and editing lesion boxes with the mouse and keys, each step undone and redone, then saved."""

from __future__ import annotations

from gui_events import click, drag, widget_point
from PySide6 import QtCore, QtGui
from pytestqt.qtbot import QtBot

from hccdesk.store.records import Box


def _draw(window, view_phase: str, c0: int, r0: int, c1: int, r1: int) -> str:
    view = window.grid.views[view_phase]
    before = set(window.document.project.lesions)
    if not window.box_tool_action.isChecked():
        window.box_tool_action.trigger()  # the B key
    start, end = widget_point(view, c0 + 0.5, r0 + 0.5), widget_point(view, c1 - 0.5, r1 - 0.5)
    drag(view, start, end, QtCore.Qt.MouseButton.LeftButton)
    (new,) = set(window.document.project.lesions) - before
    return new


def test_draw_extend_grade_undo_redo_save_reopen(window, qtbot: QtBot, dialogs) -> None:
    document, grid = window.document, window.grid
    project = document.project
    z = grid.slice_index
    lesion_id = _draw(window, "arterial", 10, 12, 18, 17)
    assert project.lesions[lesion_id].box == Box(z, 12, 10, z + 1, 17, 18)
    assert project.lesions[lesion_id].study_id == document.study_id
    assert document.selected == lesion_id
    assert window.isWindowModified() and window.save_label.text().startswith("Unsaved")

    grid.set_slice(z + 3)
    window.last_slice_action.trigger()  # the ] key
    assert project.lesions[lesion_id].box == Box(z, 12, 10, z + 4, 17, 18)
    grid.set_slice(z - 2)
    window.first_slice_action.trigger()  # the [ key
    assert project.lesions[lesion_id].box == Box(z - 2, 12, 10, z + 4, 17, 18)
    # shown on every phase and every slice it spans, hidden elsewhere
    for index, visible in ((z - 2, True), (z + 3, True), (z + 4, False)):
        grid.set_slice(index)
        assert all(
            v.overlay.roi is not None and v.overlay.roi.isVisible() == visible for v in grid.views.values()
        )

    combo = window.inspector.grade_combo
    combo.setCurrentIndex(4)
    combo.activated.emit(4)
    assert project.lesions[lesion_id].grade == 4

    history = [
        Box(z - 2, 12, 10, z + 4, 17, 18),
        Box(z, 12, 10, z + 4, 17, 18),
        Box(z, 12, 10, z + 1, 17, 18),
    ]
    window.undo()  # grade
    assert project.lesions[lesion_id].grade is None
    for box in history[1:]:
        window.undo()
        assert project.lesions[lesion_id].box == box
    window.undo()  # the drawing itself
    assert lesion_id not in project.lesions
    window.redo()
    assert project.lesions[lesion_id].box == history[2]
    for box in reversed(history[:2]):
        window.redo()
        assert project.lesions[lesion_id].box == box
    window.redo()
    assert project.lesions[lesion_id].grade == 4
    assert not window.document.undo_stack.canRedo()

    window.save_action.trigger()
    assert not window.isWindowModified() and not project.dirty
    folder = document.folder
    assert window.close_project()
    window.files.open_path(folder)
    reopened = window.document.project.lesions[lesion_id]
    assert reopened.box == history[0] and reopened.grade == 4
    assert not dialogs.kinds("critical")


def test_handles_move_box_in_plane_and_coronal_view_sets_z_extent(window) -> None:
    document, grid = window.document, window.grid
    project = document.project
    z = grid.slice_index
    lesion_id = _draw(window, "pre", 20, 20, 26, 25)
    roi = grid.views["portal"].overlay.roi
    roi.setPos(QtCore.QPointF(23, 21), finish=True)  # what dragging the box body does
    assert project.lesions[lesion_id].box == Box(z, 21, 23, z + 1, 26, 29)
    window.axis_actions.actions()[1].trigger()  # coronal: rows are slices
    grid.set_cursor((z, 22, 24))
    roi = grid.views["delayed"].overlay.roi
    assert roi is not None and roi.isVisible()
    roi.setSize(QtCore.QPointF(6, 5), finish=True)  # the bottom handle: five slices deep
    assert project.lesions[lesion_id].box == Box(z, 21, 23, z + 5, 26, 29)
    window.undo()
    assert project.lesions[lesion_id].box == Box(z, 21, 23, z + 1, 26, 29)
    window.undo()
    assert project.lesions[lesion_id].box == Box(z, 20, 20, z + 1, 25, 26)


def test_click_selects_delete_removes_and_undo_restores(window) -> None:
    document, grid = window.document, window.grid
    project = document.project
    lesion_id = _draw(window, "arterial", 30, 30, 36, 36)
    window.box_tool_action.trigger()  # back to navigation: a click selects
    document.select("")
    view = grid.views["portal"]
    click(view, widget_point(view, 33.5, 33.5))
    assert document.selected == lesion_id
    record = project.lesions[lesion_id]
    window.delete_action.trigger()
    assert lesion_id not in project.lesions
    assert all(lesion_id not in v.overlay._outlines for v in grid.views.values())
    window.undo()
    assert project.lesions[lesion_id] == record


def test_notes_typed_in_the_inspector_are_one_undo_step(window, qtbot: QtBot) -> None:
    document = window.document
    selected = document.study_lesions()[0].id
    document.select(selected)
    before = document.project.lesions[selected].notes
    edit = window.inspector.notes_edit
    edit.setFocus()
    edit.moveCursor(QtGui.QTextCursor.MoveOperation.End)
    qtbot.keyClicks(edit, " arterial washout")
    window.undo()  # while still typing: the typed notes are committed, then undone as one step
    assert document.project.lesions[selected].notes == before
    assert edit.toPlainText() == before
    window.redo()
    assert document.project.lesions[selected].notes == before + " arterial washout"
