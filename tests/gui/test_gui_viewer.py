"""The linked phase grid on the small phantom project: scrolling, window/level, orientation, status bar."""

from __future__ import annotations

import numpy as np
from gui_events import drag, wheel, widget_point
from PySide6 import QtCore
from pytestqt.qtbot import QtBot

from hccdesk.gui import planes


def _shown_slices(window) -> dict[str, int]:
    """For each phase view, which slice of its volume the view's image is (found by comparing the data)."""
    grid = window.grid
    found = {}
    for phase, view in grid.views.items():
        volume = grid.volumes.volumes.get(phase)
        if volume is None:
            continue
        matches = [
            index
            for index in range(grid.slice_count)
            if np.array_equal(view.image.image, planes.take_slice(volume, grid.axis, index))
        ]
        assert len(matches) == 1, (phase, matches)
        found[phase] = matches[0]
    return found


def test_wheel_and_keys_scroll_all_four_phases_together(window, qtbot: QtBot) -> None:
    grid = window.grid
    assert len(grid.volumes.phases) == 4
    start = grid.slice_index
    view = grid.views["portal"]
    centre = widget_point(view, grid.volumes.shape[2] / 2, grid.volumes.shape[1] / 2)
    wheel(view, centre, 3)
    assert grid.slice_index == start + 3
    assert set(_shown_slices(window).values()) == {start + 3}
    view.setFocus()
    for key, expected in (
        (QtCore.Qt.Key.Key_Down, start + 2),
        (QtCore.Qt.Key.Key_Home, 0),
        (QtCore.Qt.Key.Key_PageUp, max(1, grid.slice_count // 10)),
        (QtCore.Qt.Key.Key_End, grid.slice_count - 1),
    ):
        qtbot.keyClick(view, key)
        assert grid.slice_index == expected
        assert set(_shown_slices(window).values()) == {expected}
    wheel(view, centre, 5)  # past the end: stays on the last slice
    assert grid.slice_index == grid.slice_count - 1


def test_right_drag_changes_window_and_level_of_linked_phases(window) -> None:
    grid = window.grid
    view = grid.views["arterial"]
    before = dict(grid.levels)
    shape = grid.volumes.shape
    start = widget_point(view, shape[2] * 0.4, shape[1] * 0.5)
    drag(view, start, start + QtCore.QPointF(60, 0), QtCore.Qt.MouseButton.RightButton)
    after_width = dict(grid.levels)
    for phase in grid.volumes.phases:
        assert after_width[phase].width > before[phase].width
        assert after_width[phase].level == np.float32(before[phase].level) or abs(
            after_width[phase].level - before[phase].level
        ) < 1e-6 * max(1.0, abs(before[phase].level))
    assert tuple(view.image.levels) == (after_width["arterial"].low, after_width["arterial"].high)
    window.link_levels_action.trigger()  # unlink: only the dragged phase changes
    drag(view, start, start + QtCore.QPointF(0, 40), QtCore.Qt.MouseButton.RightButton)
    assert grid.levels["arterial"].level > after_width["arterial"].level
    assert grid.levels["portal"] == after_width["portal"]


def test_orientation_switch_shows_coronal_and_sagittal_planes(window) -> None:
    grid = window.grid
    nz, ny, nx = grid.volumes.shape
    for action_index, expected_shape in ((1, (nz, nx)), (2, (nz, ny)), (0, (ny, nx))):
        window.axis_actions.actions()[action_index].trigger()
        assert all(v.image.image.shape == expected_shape for v in grid.views.values())
        assert len(set(_shown_slices(window).values())) == 1


def test_status_bar_shows_lps_position_and_each_phase_intensity(window) -> None:
    grid = window.grid
    voxel = tuple(n // 3 for n in grid.volumes.shape)
    grid.hovered.emit(voxel)
    text = window.position_label.text()
    assert "LPS" in text
    for phase in grid.volumes.phases:
        assert f"{phase} {grid.volumes.volumes[phase][voxel]:.0f}" in text
    world = grid.volumes.world(voxel)
    assert f"{world[0]:.1f}" in text


def test_presets_set_percentile_levels_on_every_phase(window) -> None:
    grid = window.grid
    index = next(i for i, p in enumerate(window.presets) if p.name.startswith("Full range"))
    window.preset_combo.setCurrentIndex(index)
    window.preset_combo.activated.emit(index)
    for phase in grid.volumes.phases:
        stats = grid.volumes.stats[phase]
        assert grid.levels[phase] == stats.preset(0.0, 100.0)
        assert tuple(grid.views[phase].image.levels) == (grid.levels[phase].low, grid.levels[phase].high)
