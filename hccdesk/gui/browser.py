"""The left panel: the project's studies and the lesion table.

Choosing a study shows it in the phase grid; choosing a lesion shows its study, selects it and moves the
cursor to the box centre, so reviewing a cohort is one click per lesion.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from hccdesk.gui.document import ProjectDocument
from hccdesk.gui.lesion_table import LesionTableModel


class Browser(QtWidgets.QWidget):
    """Study list above the lesion table, split so the user can give either the room; both follow the
    document's study and selection."""

    def __init__(self, document: ProjectDocument, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._document = document
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        layout.addWidget(self.splitter)
        self.studies = QtWidgets.QListWidget()
        self.model = LesionTableModel(document, self)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.horizontalHeader().setSortIndicator(-1, QtCore.Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setToolTip("Click a column to sort; Spread sorts the least sure first")
        for title, widget in (("Studies", self.studies), ("Lesions", self.table)):
            self.splitter.addWidget(_titled(title, widget))
        # the lesions get three parts of the height: reviewing is done in the table (at 1024 x 700 a fixed
        # 160 px study list left the table one and a half rows)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.refresh_studies()
        self.studies.currentTextChanged.connect(self._study_chosen)
        self.table.selectionModel().currentRowChanged.connect(self._row_chosen)
        self.model.modelReset.connect(self._show_selection)
        document.records_changed.connect(self._records_changed)
        document.study_changed.connect(self._show_study)
        document.selection_changed.connect(lambda _id: self._show_selection())

    def selected_lesion_ids(self) -> list[str]:
        """Lesions selected in the table (for Grade), in table order."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.lesion_id(row) for row in rows]

    def refresh_studies(self) -> None:
        blocker = QtCore.QSignalBlocker(self.studies)
        self.studies.clear()
        for study_id in sorted(self._document.project.studies):
            self.studies.addItem(study_id)
        del blocker
        self._show_study(self._document.study_id)

    def _records_changed(self, kind: str) -> None:
        if kind == "study":
            self.refresh_studies()

    def _study_chosen(self, study_id: str) -> None:
        if study_id:
            self._document.show_study(study_id)

    def _row_chosen(self, current: QtCore.QModelIndex, _previous: QtCore.QModelIndex) -> None:
        if current.isValid():
            self._document.select(self.model.lesion_id(current.row()))

    def _show_study(self, study_id: str) -> None:
        items = self.studies.findItems(study_id, QtCore.Qt.MatchFlag.MatchExactly) if study_id else []
        if items and self.studies.currentItem() is not items[0]:
            blocker = QtCore.QSignalBlocker(self.studies)
            self.studies.setCurrentItem(items[0])
            del blocker

    def _show_selection(self) -> None:
        row = self.model.row_of(self._document.selected) if self._document.selected else -1
        current = self.table.selectionModel().currentIndex()
        blocker = QtCore.QSignalBlocker(self.table.selectionModel())
        if row < 0:
            self.table.clearSelection()
            self.table.selectionModel().clearCurrentIndex()
            del blocker
            self.table.viewport().update()
            return
        if current.isValid() and current.row() == row:
            return
        self.table.selectRow(row)
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0), QtCore.QItemSelectionModel.SelectionFlag.NoUpdate
        )
        del blocker
        self.table.viewport().update()
        self.table.scrollTo(self.model.index(row, 0))


def _titled(title: str, widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    """``widget`` under a label, as one pane of the splitter."""
    pane = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(pane)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(QtWidgets.QLabel(title))
    layout.addWidget(widget, 1)
    return pane
