"""Model > Cancel owns the Esc key and stops a running job with the job panel's dock hidden; it is enabled
only while there is something to cancel.  (A warm grade cancelled by Esc with the dock hidden:
test_gui_review.py.)"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets
from pytestqt.qtbot import QtBot

from hccdesk.jobs.messages import Finished

JOB_TIMEOUT_MS = 300_000


def _escape_owners(window) -> list[str]:
    """The texts of every action and button in the window bound to Esc (Qt ignores a key bound twice)."""
    escape = QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape)
    owners = [a.text() for a in window.findChildren(QtGui.QAction) if escape in a.shortcuts()]
    owners += [b.text() for b in window.findChildren(QtWidgets.QAbstractButton) if b.shortcut() == escape]
    return owners


def test_model_cancel_owns_esc_and_stops_a_job_with_the_job_panel_hidden(
    window, qtbot: QtBot, dialogs, tensorflow_stays_out
) -> None:
    assert _escape_owners(window) == [window.cancel_action.text()]
    (model_menu,) = [a.menu() for a in window.menuBar().actions() if a.text() == "&Model"]
    assert window.cancel_action in model_menu.actions()
    assert not window.cancel_action.isEnabled()  # nothing to cancel yet
    window.bottom_dock.hide()
    panel = window.jobs
    panel.set_variants(["2d-local"])
    panel.folds_spin.setValue(4)
    panel.repeats_spin.setValue(10)
    panel.profile_combo.setCurrentText("fast")
    panel.run_cv()
    assert panel.busy and window.cancel_action.isEnabled()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    with qtbot.waitSignal(panel.job_finished, timeout=JOB_TIMEOUT_MS) as blocker:
        qtbot.keyClick(window, QtCore.Qt.Key.Key_Escape)
        assert not window.cancel_action.isEnabled()  # cancelling: a second Esc has nothing to stop
    finished: Finished = blocker.args[0]
    assert finished.status == "cancelled", finished
    (run,) = window.document.project.runs.values()
    assert run.status == "cancelled" and len(run.folds) < 40
    assert not window.cancel_action.isEnabled() and not window.bottom_dock.isVisible()
    assert not dialogs.kinds("critical"), dialogs.calls
    assert not tensorflow_stays_out.attempts
