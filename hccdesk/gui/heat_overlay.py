"""The heat map over the four phase views: one semi-transparent image per view, a colour bar widget.

The map is a :class:`~hccdesk.learn.heat_map.HeatMap` block from the warm worker, placed in a NaN volume on
the study grid, so every view cuts it exactly like the phase under it (same axis, same slice) and a value
sits on the voxel it was computed for.  NaN is transparent; values are coloured on the same ramp as the
report and the ``hccdesk explain`` PNGs (:func:`hccdesk.evaluation.lesion_images.heat_colours`).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from hccdesk.evaluation.lesion_images import heat_colours
from hccdesk.gui import planes
from hccdesk.gui.phase_grid import PhaseGrid
from hccdesk.gui.steady_layout import wrap_steadily
from hccdesk.learn.heat_map import HeatMap

DEFAULT_OPACITY = 0.5
OFF_TITLE = "off (key H)"
"""The colour bar's title while no map is shown: it tells how to turn one on (View > Heat map), short enough
for one line between the ramp's end values."""
OVERLAY_Z = 3
"""Above the slice image, below the crosshair (5) and the box outlines."""


def rgba_plane(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``(rows, cols, 4)`` uint8: heat colours, alpha 0 where NaN."""
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    rgba[..., :3] = heat_colours(values, low, high)
    rgba[..., 3] = np.where(np.isnan(values), 0, 255).astype(np.uint8)
    return rgba


class HeatOverlay(QtCore.QObject):
    """Shows one map over every phase view of ``grid``; hidden until :meth:`set_visible`."""

    def __init__(self, grid: PhaseGrid, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._grid = grid
        self.volume: np.ndarray | None = None
        self.range = (0.0, 1.0)
        self.visible = False
        self.opacity = DEFAULT_OPACITY
        self.images: dict[str, pg.ImageItem] = {}
        for phase, view in grid.views.items():
            image = pg.ImageItem(axisOrder="row-major")
            image.setZValue(OVERLAY_Z)
            image.setOpacity(self.opacity)
            image.setVisible(False)
            view.viewbox.addItem(image, ignoreBounds=True)
            self.images[phase] = image
        grid.rendered.connect(self.render)

    def set_map(self, heat: HeatMap | None, value_range: tuple[float, float] = (0.0, 1.0)) -> None:
        """Show ``heat`` (None clears) with colours spanning ``value_range``."""
        volumes = self._grid.volumes
        self.volume = None if heat is None or volumes is None else heat.to_volume(volumes.shape)
        self.range = value_range
        self.render()

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        self.render()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(np.clip(opacity, 0.0, 1.0))
        for image in self.images.values():
            image.setOpacity(self.opacity)

    def value_at(self, voxel: tuple[int, int, int]) -> float:
        """The shown value at a study voxel (NaN where the map is undefined or nothing is shown)."""
        if self.volume is None:
            return float("nan")
        return float(self.volume[voxel])

    def render(self) -> None:
        rgba = None
        if self.visible and self.volume is not None:
            plane = planes.take_slice(self.volume, self._grid.axis, self._grid.slice_index)
            rgba = None if np.isnan(plane).all() else rgba_plane(plane, *self.range)
        for image in self.images.values():
            if rgba is None:
                image.setVisible(False)
                continue
            image.setImage(rgba, autoLevels=False, levels=(0, 255))
            image.setVisible(True)


class ColourBar(QtWidgets.QWidget):
    """The overlay's colour ramp with its end values and an opacity slider."""

    opacity_changed = QtCore.Signal(float)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.ramp = QtWidgets.QLabel()
        ramp = heat_colours(np.linspace(0.0, 1.0, 256))[np.newaxis].repeat(12, axis=0)
        image = QtGui.QImage(
            np.ascontiguousarray(ramp).data, 256, 12, 256 * 3, QtGui.QImage.Format.Format_RGB888
        )
        self.ramp.setPixmap(QtGui.QPixmap.fromImage(image.copy()).scaled(200, 12))
        self.low_label, self.title_label, self.high_label = (
            QtWidgets.QLabel("0"),
            QtWidgets.QLabel(""),
            QtWidgets.QLabel("1"),
        )
        self.opacity_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(round(DEFAULT_OPACITY * 100))
        self.opacity_slider.setToolTip("Heat-map opacity")
        self.opacity_slider.valueChanged.connect(lambda value: self.opacity_changed.emit(value / 100.0))
        layout.addWidget(self.ramp, 0, 0, 1, 3)
        layout.addWidget(self.low_label, 1, 0)
        wrap_steadily(self.title_label)  # "attention of the patch under the cursor" widened the inspector
        self.title_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.title_label, 1, 1)
        layout.addWidget(self.high_label, 1, 2, QtCore.Qt.AlignmentFlag.AlignRight)
        layout.addWidget(QtWidgets.QLabel("Opacity"), 2, 0)
        layout.addWidget(self.opacity_slider, 2, 1, 1, 2)
        self.set_showing(False)  # the overlay starts hidden

    def set_showing(self, showing: bool) -> None:
        """Greyed out with :data:`OFF_TITLE` while no map is shown (a bright 0-1 ramp beside no map read as
        the scale of one); in place either way, so toggling the map moves nothing in the inspector."""
        self.setEnabled(showing)
        self.title_label.setText("" if showing else OFF_TITLE)

    def set_scale(self, title: str, low: float, high: float) -> None:
        self.title_label.setText(title)
        self.low_label.setText(f"{low:.2g}")
        self.high_label.setText(f"{high:.2g}")
