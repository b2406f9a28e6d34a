"""Grade and cross-validate from the GUI: real spawn workers, smoke profile, results in the tables."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore
from pytestqt.qtbot import QtBot

from hccdesk.gui.lesion_table import COLUMNS
from hccdesk.jobs.messages import Finished

JOB_TIMEOUT_MS = 300_000


def _wait_finished(qtbot: QtBot, panel) -> Finished:
    with qtbot.waitSignal(panel.job_finished, timeout=JOB_TIMEOUT_MS) as blocker:
        pass
    return blocker.args[0]


def test_grade_without_a_model_trains_one_then_fills_predictions(
    window, qtbot: QtBot, dialogs, tensorflow_stays_out
) -> None:
    project = window.document.project
    assert not project.models and not project.predictions()
    window.grade_action.trigger()  # nothing selected: all lesions; "train one?" is answered Yes
    assert any("No model" in title for kind, title, _ in dialogs.calls if kind == "question")
    trained = _wait_finished(qtbot, window.jobs)
    assert trained.kind == "train" and trained.status == "done", trained
    graded = _wait_finished(qtbot, window.jobs)
    assert graded.kind == "grade" and graded.status == "done", graded
    assert set(window.document.latest_predictions()) == set(project.lesions)
    model = window.browser.model
    column = COLUMNS.index("P(high)")
    texts = [
        model.data(model.index(row, column), QtCore.Qt.ItemDataRole.DisplayRole)
        for row in range(model.rowCount())
    ]
    assert all(text and 0.0 <= float(text) <= 1.0 for text in texts)
    assert model.data(model.index(0, column), QtCore.Qt.ItemDataRole.BackgroundRole) is not None
    assert "P(high)" in window.inspector.prediction_label.text() or not window.document.selected
    assert not dialogs.kinds("critical"), dialogs.calls
    assert not tensorflow_stays_out.attempts


def test_smoke_cross_validation_from_the_dock_fills_results_and_roc(
    window, qtbot: QtBot, dialogs, tensorflow_stays_out, tmp_path: Path
) -> None:
    panel = window.jobs
    panel.set_variants(["2d-local"])
    panel.folds_spin.setValue(2)
    panel.repeats_spin.setValue(1)
    panel.profile_combo.setCurrentText("smoke")
    qtbot.mouseClick(panel.run_button, QtCore.Qt.MouseButton.LeftButton)
    assert panel.busy and panel.cancel_button.isEnabled()
    finished = _wait_finished(qtbot, panel)
    assert finished.status == "done", (finished, dialogs.calls)
    (run,) = window.document.project.runs.values()
    assert run.status == "done" and len(run.folds) == 2
    assert panel.summary_table.rowCount() == 1
    header = [
        panel.summary_table.horizontalHeaderItem(c).text() for c in range(panel.summary_table.columnCount())
    ]
    accuracy = panel.summary_table.item(0, header.index("Accuracy")).text()
    assert "±" in accuracy
    assert panel.folds_table.rowCount() == 2
    assert panel.overall_bar.value() == 100
    assert len(panel.roc_plot.listDataItems()) >= 1
    panel.write_csv(str(tmp_path))
    summary = (tmp_path / "cv_summary.csv").read_text(encoding="utf-8").splitlines()
    assert summary[0].startswith("Run,Variant,Status") and summary[1].startswith(f"{run.id},2d-local,done")
    assert len((tmp_path / "cv_folds.csv").read_text(encoding="utf-8").splitlines()) == 3
    assert not tensorflow_stays_out.attempts


def test_cancel_stops_a_running_cross_validation(window, qtbot: QtBot, dialogs, tensorflow_stays_out) -> None:
    panel = window.jobs
    panel.set_variants(["2d-local"])
    panel.folds_spin.setValue(4)
    panel.repeats_spin.setValue(10)
    panel.profile_combo.setCurrentText("fast")
    panel.run_button.click()
    qtbot.waitUntil(lambda: panel.fold_bar.value() > 0, timeout=JOB_TIMEOUT_MS)
    panel.cancel_button.click()
    finished = _wait_finished(qtbot, panel)
    assert finished.status == "cancelled", finished
    (run,) = window.document.project.runs.values()
    assert run.status == "cancelled" and len(run.folds) < 40
    assert not dialogs.kinds("critical")
