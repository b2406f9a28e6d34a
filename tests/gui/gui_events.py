"""Mouse and keyboard on phase views, the way a user does it: real Qt events on the view's viewport.

pyqtgraph's scene drops mouse moves that come faster than its rate limit (``mouseRateLimit``, 100 Hz), so a
drag waits a little between moves, as a hand would.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtTest, QtWidgets

from hccdesk.gui.phase_view import PhaseView

MOVE_INTERVAL_MS = 25


def widget_point(view: PhaseView, col: float, row: float) -> QtCore.QPointF:
    """Where plane point ``(col, row)`` is on the view's viewport (plane -> scene -> widget)."""
    scene = view.viewbox.mapViewToScene(QtCore.QPointF(col, row))
    return QtCore.QPointF(view.mapFromScene(scene))


def _send_mouse(
    target: QtWidgets.QWidget,
    kind: QtCore.QEvent.Type,
    pos: QtCore.QPointF,
    button: QtCore.Qt.MouseButton,
    buttons: QtCore.Qt.MouseButton,
) -> None:
    global_pos = QtCore.QPointF(target.mapToGlobal(pos.toPoint()))
    event = QtGui.QMouseEvent(kind, pos, global_pos, button, buttons, QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(target, event)


def drag(
    view: PhaseView, start: QtCore.QPointF, end: QtCore.QPointF, button: QtCore.Qt.MouseButton, steps: int = 6
):
    """Press at ``start``, move in ``steps`` to ``end`` with the button held, release (widget coordinates)."""
    port = view.viewport()
    no = QtCore.Qt.MouseButton.NoButton
    _send_mouse(port, QtCore.QEvent.Type.MouseMove, start, no, no)
    _send_mouse(port, QtCore.QEvent.Type.MouseButtonPress, start, button, button)
    for n in range(1, steps + 1):
        QtTest.QTest.qWait(MOVE_INTERVAL_MS)
        point = start + (end - start) * (n / steps)
        _send_mouse(port, QtCore.QEvent.Type.MouseMove, point, no, button)
    _send_mouse(port, QtCore.QEvent.Type.MouseButtonRelease, end, button, no)
    QtWidgets.QApplication.processEvents()


def click(view: PhaseView, point: QtCore.QPointF) -> None:
    port = view.viewport()
    left, no = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.NoButton
    _send_mouse(port, QtCore.QEvent.Type.MouseMove, point, no, no)
    _send_mouse(port, QtCore.QEvent.Type.MouseButtonPress, point, left, left)
    _send_mouse(port, QtCore.QEvent.Type.MouseButtonRelease, point, left, no)
    QtWidgets.QApplication.processEvents()


def wheel(view: PhaseView, point: QtCore.QPointF, notches: int) -> None:
    """Turn the mouse wheel ``notches`` (positive: away from the user) over ``point``."""
    port = view.viewport()
    for _ in range(abs(notches)):
        delta = QtCore.QPoint(0, 120 if notches > 0 else -120)
        event = QtGui.QWheelEvent(
            point,
            QtCore.QPointF(port.mapToGlobal(point.toPoint())),
            QtCore.QPoint(0, 0),
            delta,
            QtCore.Qt.MouseButton.NoButton,
            QtCore.Qt.KeyboardModifier.NoModifier,
            QtCore.Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QtWidgets.QApplication.sendEvent(port, event)
    QtWidgets.QApplication.processEvents()
