"""The lesion table: every lesion of the project with its true grade beside the latest predicted P(high).

A QAbstractTableModel over the project's lesion mapping, refreshed from the project's change notifications.
P(high) cells are tinted from green (low grade) to red (high grade), so disagreements with the recorded grade
stand out while scanning the list.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui

from hccdesk.evaluation.review_order import uncertainty_key
from hccdesk.gui.document import ProjectDocument
from hccdesk.store.records import ROMAN, Lesion, Prediction

COLUMNS: tuple[str, ...] = ("Lesion", "Grade", "P(high)", "Spread", "Predicted", "Label", "Study")
"""The recorded grade beside the model's answer, and the study (a long id, also in the study list) last: with
the study second, the prediction columns sat behind the dock's horizontal scroll at 1400 x 900."""


def probability_colour(p_high: float) -> QtGui.QColor:
    """Green at 0, amber at 0.5, red at 1 (muted so black text stays readable)."""
    p = min(max(p_high, 0.0), 1.0)
    if p < 0.5:
        a, b, t = (120, 200, 120), (235, 200, 90), p / 0.5
    else:
        a, b, t = (235, 200, 90), (235, 110, 100), (p - 0.5) / 0.5
    return QtGui.QColor(*(round(x + (y - x) * t) for x, y in zip(a, b, strict=True)))


class LesionTableModel(QtCore.QAbstractTableModel):
    """Rows: lesions ordered by study then id, or by a column (:meth:`sort`); :meth:`lesion_id` maps a row
    back to its lesion."""

    def __init__(self, document: ProjectDocument, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._document = document
        self._rows: list[Lesion] = []
        self._predictions: dict[str, Prediction] = {}
        self._sort_column, self._descending = "", False
        document.lesions_changed.connect(self.refresh)
        document.records_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.beginResetModel()
        lesions = self._document.project.lesions.values()
        self._predictions = self._document.latest_predictions()
        self._rows = sorted(lesions, key=self._sort_key)
        if self._descending:
            self._rows.reverse()
        self.endResetModel()

    def sort(self, column: int, order: QtCore.Qt.SortOrder = QtCore.Qt.SortOrder.AscendingOrder) -> None:
        """Order the rows by ``column``; "Spread" orders by how unsure the model is (see
        :func:`hccdesk.evaluation.review_order.uncertainty_key`: ascending = most uncertain first)."""
        self._sort_column = COLUMNS[column] if 0 <= column < len(COLUMNS) else ""
        self._descending = order == QtCore.Qt.SortOrder.DescendingOrder
        self.layoutAboutToBeChanged.emit()
        self.refresh()
        self.layoutChanged.emit()

    def _sort_key(self, lesion: Lesion) -> tuple:
        prediction = self._predictions.get(lesion.id)
        column = self._sort_column
        if column == "Spread":
            return (*uncertainty_key(prediction), lesion.id)
        if column == "P(high)":
            return (prediction is None, prediction.p_high if prediction else 0.0, lesion.id)
        if column in ("Lesion", "Study", "Grade", "Label", "Predicted"):
            return (self._text(lesion, prediction, column), lesion.study_id, lesion.id)
        return (lesion.study_id, lesion.id)

    def lesion_id(self, row: int) -> str:
        return self._rows[row].id

    def row_of(self, lesion_id: str) -> int:
        for row, lesion in enumerate(self._rows):
            if lesion.id == lesion_id:
                return row
        return -1

    def rowCount(self, parent: QtCore.QModelIndex | None = None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def columnCount(self, parent: QtCore.QModelIndex | None = None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0) -> object:  # noqa: N802
        if role == QtCore.Qt.ItemDataRole.DisplayRole and orientation == QtCore.Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QtCore.QModelIndex, role: int = 0) -> object:
        if not index.isValid():
            return None
        lesion = self._rows[index.row()]
        prediction = self._predictions.get(lesion.id)
        column = COLUMNS[index.column()]
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self._text(lesion, prediction, column)
        if role == QtCore.Qt.ItemDataRole.BackgroundRole and column == "P(high)" and prediction is not None:
            return probability_colour(prediction.p_high)
        if role == QtCore.Qt.ItemDataRole.ForegroundRole and column == "P(high)" and prediction is not None:
            return QtGui.QColor("black")
        if role == QtCore.Qt.ItemDataRole.ToolTipRole and prediction is not None:
            return f"model {prediction.model_id}, {prediction.n_members} member(s), {prediction.created}"
        return None

    @staticmethod
    def _text(lesion: Lesion, prediction: Prediction | None, column: str) -> str:
        if column == "Lesion":
            return lesion.id
        if column == "Study":
            return lesion.study_id
        if column == "Grade":
            return ROMAN[lesion.grade] if lesion.grade is not None else "?"
        if column == "Label":
            return lesion.label or ""
        if prediction is None:
            return ""
        if column == "P(high)":
            return f"{prediction.p_high:.2f}"
        if column == "Predicted":
            return prediction.label
        return f"±{prediction.spread:.2f}"
