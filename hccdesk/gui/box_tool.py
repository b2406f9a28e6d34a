"""Lesion boxes drawn over one phase view: outlines of every box the slice cuts, handles on the selected one.

Items live in plane coordinates (voxel units, see :mod:`hccdesk.gui.planes`).  Outlines are created when the
lesions or the orientation change and only shown or hidden on a slice change, which keeps scrolling cheap with
many boxes.  The selected box is a ``pg.ROI`` snapped to whole voxels whose move/resize ends in
``box_edited``; the caller turns that into an undoable edit, so the overlay never writes the project itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from hccdesk.gui import planes
from hccdesk.store.records import Box, Lesion

GRADE_COLOURS = {"low": "#3ccf6e", "high": "#ff4d4d", None: "#ffd23c"}
SELECTED_COLOUR = "#35c9ff"


def _pen(colour: str, width: float = 1.5, dashed: bool = False) -> QtGui.QPen:
    style = QtCore.Qt.PenStyle.DashLine if dashed else QtCore.Qt.PenStyle.SolidLine
    pen = QtGui.QPen(QtGui.QColor(colour), width, style)
    pen.setCosmetic(True)
    return pen


class BoxOverlay(QtCore.QObject):
    """Box outlines, the selected box's handles and the rubber band of a box being drawn, on one ViewBox."""

    box_edited = QtCore.Signal(str, object)  # lesion id, new Box

    def __init__(self, viewbox: pg.ViewBox) -> None:
        super().__init__(viewbox)
        self._viewbox = viewbox
        self._outlines: dict[str, tuple[Box, QtWidgets.QGraphicsRectItem]] = {}
        self._roi: pg.ROI | None = None
        self._roi_lesion: Lesion | None = None
        self._axis = planes.AXIAL
        self._shape = (1, 1, 1)
        self._rubber = QtWidgets.QGraphicsRectItem()
        self._rubber.setPen(_pen(SELECTED_COLOUR, 1.5, dashed=True))
        self._rubber.setZValue(20)
        self._rubber.hide()
        viewbox.addItem(self._rubber, ignoreBounds=True)

    def set_lesions(
        self, lesions: Sequence[Lesion], selected: str | None, axis: int, shape: tuple[int, int, int]
    ) -> None:
        """Rebuild the items for ``lesions`` seen along ``axis``; ``selected`` gets the editable ROI."""
        self.clear()
        self._axis, self._shape = axis, shape
        for lesion in lesions:
            c0, r0, c1, r1 = planes.box_rect(axis, lesion.box)
            item = QtWidgets.QGraphicsRectItem(c0, r0, c1 - c0, r1 - r0)
            colour = SELECTED_COLOUR if lesion.id == selected else GRADE_COLOURS[lesion.label]
            item.setPen(_pen(colour, 2.0 if lesion.id == selected else 1.5))
            item.setZValue(10)
            self._viewbox.addItem(item, ignoreBounds=True)
            self._outlines[lesion.id] = (lesion.box, item)
            if lesion.id == selected:
                self._make_roi(lesion)

    def clear(self) -> None:
        for _, item in self._outlines.values():
            self._viewbox.removeItem(item)
        self._outlines.clear()
        if self._roi is not None:
            self._viewbox.removeItem(self._roi)
            self._roi.deleteLater()
        self._roi, self._roi_lesion = None, None

    def show_slice(self, index: int) -> None:
        """Show exactly the boxes that slice ``index`` (along the overlay's axis) cuts through."""
        for box, item in self._outlines.values():
            item.setVisible(planes.box_spans(self._axis, box, index))
        if self._roi is not None and self._roi_lesion is not None:
            self._roi.setVisible(planes.box_spans(self._axis, self._roi_lesion.box, index))

    def hit(self, col: float, row: float, index: int) -> str | None:
        """The smallest visible box holding plane point ``(col, row)`` on slice ``index`` (for selection)."""
        hits = []
        for lesion_id, (box, _) in self._outlines.items():
            c0, r0, c1, r1 = planes.box_rect(self._axis, box)
            if planes.box_spans(self._axis, box, index) and c0 <= col < c1 and r0 <= row < r1:
                hits.append(((c1 - c0) * (r1 - r0), lesion_id))
        return min(hits)[1] if hits else None

    def show_rubber_band(self, rect: tuple[int, int, int, int] | None) -> None:
        if rect is None:
            self._rubber.hide()
            return
        c0, r0, c1, r1 = rect
        self._rubber.setRect(c0, r0, c1 - c0, r1 - r0)
        self._rubber.show()

    @property
    def roi(self) -> pg.ROI | None:
        """The editable ROI of the selected lesion on this view (tests drive its handles)."""
        return self._roi

    def _make_roi(self, lesion: Lesion) -> None:
        c0, r0, c1, r1 = planes.box_rect(self._axis, lesion.box)
        row_axis, col_axis = planes.PLANE_AXES[self._axis]
        bounds = QtCore.QRectF(0, 0, self._shape[col_axis], self._shape[row_axis])
        roi = pg.ROI(
            (c0, r0),
            (c1 - c0, r1 - r0),
            pen=_pen(SELECTED_COLOUR, 2.0),
            snapSize=1.0,
            translateSnap=True,
            scaleSnap=True,
            maxBounds=bounds,
            rotatable=False,
        )
        for handle, centre in (
            ((1, 1), (0, 0)),
            ((0, 0), (1, 1)),
            ((1, 0), (0, 1)),
            ((0, 1), (1, 0)),
            ((0.5, 0), (0.5, 1)),
            ((0.5, 1), (0.5, 0)),
            ((0, 0.5), (1, 0.5)),
            ((1, 0.5), (0, 0.5)),
        ):
            roi.addScaleHandle(handle, centre)
        roi.setZValue(15)
        roi.sigRegionChangeFinished.connect(self._roi_finished)
        self._viewbox.addItem(roi, ignoreBounds=True)
        self._roi, self._roi_lesion = roi, lesion

    def _roi_finished(self, roi: pg.ROI) -> None:
        lesion = self._roi_lesion
        if lesion is None:
            return
        pos, size = roi.pos(), roi.size()
        c0, r0 = round(pos.x()), round(pos.y())
        c1, r1 = c0 + max(1, round(size.x())), r0 + max(1, round(size.y()))
        through = (lesion.box.lower[self._axis], lesion.box.upper[self._axis])
        box = planes.box_with_rect(self._axis, (c0, r0, c1, r1), through).clipped(self._shape)
        if box != lesion.box:
            self.box_edited.emit(lesion.id, box)
