"""Undo and Redo select the lesion they brought back: a redone drawing, or an undone delete, is the lesion the
user was working on, so the inspector (and the live grade) show it again, as they did after the drawing."""

from __future__ import annotations

from hccdesk.store.records import Box


def test_redoing_a_drawing_and_undoing_a_delete_select_the_lesion_again(window) -> None:
    document = window.document
    window.grid.box_drawn.emit(Box(8, 30, 30, 14, 44, 46))  # what the box tool emits at mouse release
    drawn = document.selected
    assert drawn in document.project.lesions
    window.undo()
    assert drawn not in document.project.lesions and document.selected == ""
    window.redo()
    assert document.selected == drawn and window.inspector.id_label.text() == drawn
    document.select(sorted(document.project.lesions)[0])
    document.select(drawn)
    window.delete_action.trigger()
    assert document.selected == ""
    window.undo()
    assert document.selected == drawn and window.inspector.id_label.text() == drawn
