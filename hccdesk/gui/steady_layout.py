"""Widgets whose text never sets the width of the dock they sit in.

A QLabel asks its layout for the width of its text; in a dock that request wins, so selecting a lesion with a
long id, notes or prediction widened the inspector and pushed the phase grid sideways (a new user saw the
grid jump).  Sentences therefore wrap inside the width they are given, single tokens (ids, which cannot wrap)
are cut with "…" and shown whole in their tooltip, and the panel scrolls instead of growing.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


def wrap_steadily(label: QtWidgets.QLabel) -> None:
    """Let ``label`` wrap its text within the width the layout gives it instead of asking for more."""
    label.setWordWrap(True)
    label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)


class ElidedLabel(QtWidgets.QLabel):
    """One line cut with "…" in the middle where it is wider than the label; :meth:`text` and the tooltip
    hold it whole.  For ids: they have no space to wrap at, and their start and end tell them apart."""

    def __init__(self, text: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.setText(text)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802
        self._text = text
        self._show_fitting()

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._show_fitting()

    def _show_fitting(self) -> None:
        shown = self.fontMetrics().elidedText(self._text, QtCore.Qt.TextElideMode.ElideMiddle, self.width())
        super().setText(shown)
        self.setToolTip(self._text if shown != self._text else "")


def scrolling(panel: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    """``panel`` in a frameless scroll area that fits it to its width: however tall or wide the panel's
    contents grow, the dock keeps its size and scrolls.  The vertical scroll bar is always there, so that a
    taller lesion does not narrow the panel by a scroll bar's width and re-wrap every line."""
    area = QtWidgets.QScrollArea()
    area.setWidget(panel)
    area.setWidgetResizable(True)
    area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    area.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
    return area
