"""The 2x2 phase grid: four linked views sharing one cursor voxel, orientation, zoom and (optionally) levels.

One cursor voxel ``(k, j, i)`` defines everything the grid shows: the axial view cuts slice ``k``, coronal
``j``, sagittal ``i``, and the crosshair marks the other two coordinates.  Phases are already on the study's
reference grid (the store resamples them at import), so the same voxel is the same tissue in every phase and
a box drawn on one phase is shown on all four.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from hccdesk.gui import planes
from hccdesk.gui.phase_view import PhaseView
from hccdesk.gui.resources import Preset
from hccdesk.gui.study_volumes import StudyVolumes
from hccdesk.gui.window_level import Levels, dragged
from hccdesk.imaging.volume import PHASES
from hccdesk.store.records import Lesion


class PhaseGrid(QtWidgets.QWidget):
    """Four :class:`PhaseView` cells in acquisition order (pre, arterial / portal, delayed)."""

    cursor_moved = QtCore.Signal(object)  # (k, j, i)
    hovered = QtCore.Signal(object)  # (k, j, i) or None
    box_drawn = QtCore.Signal(object)  # Box
    box_edited = QtCore.Signal(str, object)  # lesion id, Box
    lesion_clicked = QtCore.Signal(str)
    rendered = QtCore.Signal()  # a new slice, axis or study is on screen (overlays follow it)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.views: dict[str, PhaseView] = {}
        for n, phase in enumerate(PHASES):
            view = PhaseView(phase, self)
            layout.addWidget(view, n // 2, n % 2)
            self.views[phase] = view
            self._connect(view)
        first = self.views[PHASES[0]].viewbox
        for view in list(self.views.values())[1:]:
            view.viewbox.setXLink(first)
            view.viewbox.setYLink(first)
        self.volumes: StudyVolumes | None = None
        self.axis = planes.AXIAL
        self.cursor = (0, 0, 0)
        self.levels: dict[str, Levels] = {}
        self.link_levels = True
        self._lesions: list[Lesion] = []
        self._selected: str | None = None

    # --- study and display -------------------------------------------------------------------------------
    def set_study(self, volumes: StudyVolumes | None, preset: Preset | None = None) -> None:
        """Show ``volumes`` (None: nothing) with the cursor in the middle and ``preset`` levels."""
        self.volumes = volumes
        self._lesions, self._selected = [], None
        if volumes is None:
            for view in self.views.values():
                view.show_plane(None, (0.0, 1.0))
                view.overlay.clear()
                view.set_caption("")
            return
        self.cursor = tuple(n // 2 for n in volumes.shape)  # type: ignore[assignment]
        if preset is not None:
            self.apply_preset(preset, render=False)
        self._orient()
        self.render()
        self.views[PHASES[0]].viewbox.autoRange(padding=0.0)

    def set_axis(self, axis: int) -> None:
        """Switch all views to axial (0), coronal (1) or sagittal (2)."""
        self.axis = axis
        if self.volumes is None:
            return
        self._orient()
        self._rebuild_overlays()
        self.render()
        self.views[PHASES[0]].viewbox.autoRange(padding=0.0)

    @property
    def slice_index(self) -> int:
        return self.cursor[self.axis]

    @property
    def slice_count(self) -> int:
        return self.volumes.shape[self.axis] if self.volumes is not None else 0

    def set_slice(self, index: int) -> None:
        """Move every view to slice ``index`` along the current axis (clamped to the volume)."""
        if self.volumes is None:
            return
        index = min(max(int(index), 0), self.slice_count - 1)
        if index == self.slice_index:
            return
        cursor = list(self.cursor)
        cursor[self.axis] = index
        self.set_cursor(tuple(cursor))  # type: ignore[arg-type]

    def step(self, delta: int) -> None:
        self.set_slice(self.slice_index + delta)

    def set_cursor(self, voxel: tuple[int, int, int]) -> None:
        if self.volumes is None or not self.volumes.contains(voxel):
            return
        self.cursor = voxel
        self.render()
        self.cursor_moved.emit(voxel)

    def render(self) -> None:
        """Put the cursor's slice of every phase on screen (the hot path of scrolling)."""
        volumes = self.volumes
        if volumes is None:
            return
        index = self.slice_index
        col, row = planes.plane_point(self.axis, self.cursor)
        caption = f"{planes.AXIS_NAMES[self.axis]} {index + 1}/{self.slice_count}"
        for phase, view in self.views.items():
            volume = volumes.volumes.get(phase)
            if volume is None:
                view.show_plane(None, (0.0, 1.0))
                view.set_caption(f"{caption}  (phase not in study)")
                continue
            level = self.levels[phase]
            view.show_plane(planes.take_slice(volume, self.axis, index), (level.low, level.high))
            view.set_crosshair(col, row)
            view.overlay.show_slice(index)
            view.set_caption(f"{caption}   W {level.width:.0f} L {level.level:.0f}")
        self.rendered.emit()

    def _orient(self) -> None:
        volumes = self.volumes
        assert volumes is not None
        ratio = planes.aspect_ratio(self.axis, volumes.spacing)
        down = planes.rows_point_down(self.axis, volumes.affine)
        for view in self.views.values():
            view.viewbox.setAspectLocked(True, ratio)
            view.viewbox.invertY(down)

    # --- window / level ----------------------------------------------------------------------------------
    def apply_preset(self, preset: Preset, phase: str | None = None, render: bool = True) -> None:
        """Set ``preset`` levels on ``phase``, or on every phase when None or when levels are linked."""
        if self.volumes is None:
            return
        targets = self.volumes.phases if phase is None or self.link_levels else (phase,)
        for name in targets:
            self.levels[name] = self.volumes.stats[name].preset(preset.low_percentile, preset.high_percentile)
        if render:
            self._show_levels(targets)

    def drag_levels(self, phase: str, dx: float, dy: float) -> None:
        """A right-drag of ``dx, dy`` screen pixels on ``phase``'s view (all phases when linked)."""
        if self.volumes is None or phase not in self.volumes.volumes:
            return
        targets = self.volumes.phases if self.link_levels else (phase,)
        for name in targets:
            self.levels[name] = dragged(self.levels[name], dx, dy, self.volumes.stats[name].spread)
        self._show_levels(targets)

    def _show_levels(self, phases: Sequence[str]) -> None:
        for name in phases:
            self.views[name].set_levels((self.levels[name].low, self.levels[name].high))
        self.render()

    # --- lesions -----------------------------------------------------------------------------------------
    def set_lesions(self, lesions: Sequence[Lesion], selected: str | None) -> None:
        """Boxes of the shown study; ``selected`` gets handles."""
        self._lesions, self._selected = list(lesions), selected
        self._rebuild_overlays()
        if self.volumes is not None:
            for view in self.views.values():
                view.overlay.show_slice(self.slice_index)

    def _rebuild_overlays(self) -> None:
        if self.volumes is None:
            return
        for phase, view in self.views.items():
            shown = self._lesions if phase in self.volumes.volumes else []
            view.overlay.set_lesions(shown, self._selected, self.axis, self.volumes.shape)

    def set_drawing(self, on: bool) -> None:
        """Turn the box tool on (left-drag draws a box) or off (left-drag pans)."""
        for view in self.views.values():
            view.viewbox.drawing = on

    # --- view events -------------------------------------------------------------------------------------
    def _connect(self, view: PhaseView) -> None:
        phase = view.phase
        view.viewbox.scrolled.connect(self.step)
        view.viewbox.window_level_dragged.connect(lambda dx, dy: self.drag_levels(phase, dx, dy))
        view.viewbox.box_dragged.connect(lambda a, b, done: self._box_dragged(view, a, b, done))
        view.viewbox.clicked.connect(lambda col, row: self._clicked(view, col, row))
        view.hovered.connect(self._hovered)
        view.key_pressed.connect(self.handle_key)
        view.overlay.box_edited.connect(self.box_edited)

    def _clicked(self, view: PhaseView, col: float, row: float) -> None:
        voxel = planes.voxel_from_plane(self.axis, self.slice_index, col, row)
        hit = view.overlay.hit(col, row, self.slice_index)
        self.set_cursor(voxel)
        if hit is not None:
            self.lesion_clicked.emit(hit)

    def _hovered(self, col: float, row: float) -> None:
        if self.volumes is None:
            return
        voxel = planes.voxel_from_plane(self.axis, self.slice_index, col, row)
        self.hovered.emit(voxel if self.volumes.contains(voxel) else None)

    def _box_dragged(self, view: PhaseView, start: tuple, end: tuple, finished: bool) -> None:
        if self.volumes is None:
            return
        rect = planes.rect_from_drag(start, end)
        if not finished:
            view.overlay.show_rubber_band(rect)
            return
        view.overlay.show_rubber_band(None)
        box = planes.box_with_rect(self.axis, rect, (self.slice_index, self.slice_index + 1))
        try:
            box = box.clipped(self.volumes.shape)
        except ValueError:
            return  # dragged entirely outside the image
        self.box_drawn.emit(box)

    def handle_key(self, ev: QtGui.QKeyEvent) -> None:
        """Slice keys: Up/Down one slice, PageUp/PageDown a tenth of the stack, Home/End the ends."""
        if self.volumes is None:
            return
        key = ev.key()
        page = max(1, self.slice_count // 10)
        steps = {
            QtCore.Qt.Key.Key_Up: 1,
            QtCore.Qt.Key.Key_Down: -1,
            QtCore.Qt.Key.Key_PageUp: page,
            QtCore.Qt.Key.Key_PageDown: -page,
        }
        if key in steps:
            self.step(steps[key])
        elif key == QtCore.Qt.Key.Key_Home:
            self.set_slice(0)
        elif key == QtCore.Qt.Key.Key_End:
            self.set_slice(self.slice_count - 1)
        else:
            return
        ev.accept()
