"""A steady layout: selecting a lesion with long texts, showing a live grade or the attention scale, and
deselecting again must not widen the inspector dock or move the phase grid (a new user saw the grid jump)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from hccdesk.store.records import MAX_NOTES_CHARS, Prediction, now_iso

WINDOW_SIZE = (1400, 900)
LONGEST_ID = "L" + "7" * 63
"""As long as an id may be (64 characters) and without a space, so word wrap alone cannot break it."""
LONG_NOTES = ("Biopsy 2019: moderately differentiated, trabecular; re-read by a second radiologist. " * 2000)[
    :MAX_NOTES_CHARS
]
LONG_MODEL_ID = "run:" + "x" * 120
LIVE_TEXT = (
    f"P(high) 0.50 → high grade, spread ±0.49 over 20 model(s); {LONG_MODEL_ID} — live, not stored "
    "(press Grade to store)"
)


def layout_geometry(window) -> tuple:
    """Where the phase grid is and how large, the inspector dock's width and the inspector's own (a label that
    pushed it would be cut off by the dock's scroll area), once Qt has laid out."""
    from PySide6 import QtCore, QtWidgets

    for _ in range(3):  # a layout request can post another (dock area after the dock's contents)
        QtWidgets.QApplication.processEvents()
    grid = window.grid
    corner = grid.mapTo(window, QtCore.QPoint(0, 0))
    return (
        corner.x(),
        corner.y(),
        grid.width(),
        grid.height(),
        window.right_dock.width(),
        window.inspector.width(),
    )


def test_selecting_lesions_with_long_texts_keeps_the_grid_and_inspector_steady(window, qtbot: QtBot) -> None:
    window.resize(*WINDOW_SIZE)
    project = window.document.project
    shown = window.document.study_id
    plain = next(lesion for lesion in project.lesions.values() if lesion.study_id == shown)
    long_one = project.add_lesion(shown, plain.box, grade=4, notes=LONG_NOTES, lesion_id=LONGEST_ID)
    project.add_predictions(
        [
            Prediction(
                lesion_id=long_one.id,
                model_id=LONG_MODEL_ID,
                p_high=0.5,
                spread=0.49,
                n_members=20,
                created=now_iso(),
            )
        ]
    )
    before = layout_geometry(window)
    assert before[2] > 0 and before[3] > 0

    window.document.select(plain.id)
    assert layout_geometry(window) == before
    window.document.select(long_one.id)
    assert window.inspector.id_label.text() == LONGEST_ID
    assert LONG_MODEL_ID in window.inspector.prediction_label.text()
    assert layout_geometry(window) == before
    window.inspector.show_live(LIVE_TEXT)  # what the review controller shows for the box being edited
    window.inspector.colour_bar.set_scale("attention of the patch under the cursor", 0.0, 0.0123)
    assert layout_geometry(window) == before
    window.document.select("")
    assert window.inspector.id_label.text() == "-"
    assert layout_geometry(window) == before


def test_the_prediction_columns_are_in_view_at_the_default_size(window) -> None:
    """A user reviewing grades sees each lesion's P(high) and spread without scrolling the table sideways."""
    from hccdesk.gui.lesion_table import COLUMNS

    window.resize(*WINDOW_SIZE)
    project = window.document.project
    graded = dict(model_id="run:run-0001", p_high=0.73, spread=0.12, n_members=4, created=now_iso())
    project.add_predictions([Prediction(lesion_id=i, **graded) for i in project.lesions])
    layout_geometry(window)  # let Qt lay out
    table = window.browser.table
    visible = table.viewport().width()
    for name in ("Grade", "P(high)", "Spread"):
        column = COLUMNS.index(name)
        assert table.columnViewportPosition(column) + table.columnWidth(column) <= visible, name


def test_a_small_window_still_shows_several_lesions_and_the_phase_views(window) -> None:
    """At 1024 x 700 (a small laptop) the lesion table keeps room for a handful of rows: the study list and
    the lesion table share the left dock through a splitter, and the job panel's loss plot may shrink."""
    window.resize(1024, 700)
    layout_geometry(window)  # let Qt lay out
    table = window.browser.table
    assert table.viewport().height() >= 4 * table.rowHeight(0)
    assert window.grid.height() >= 300
