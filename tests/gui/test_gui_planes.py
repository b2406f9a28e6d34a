"""Plane geometry and window/level arithmetic (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest

from hccdesk.gui import planes
from hccdesk.gui.window_level import IntensityStats, Levels, dragged
from hccdesk.store.records import Box


@pytest.mark.parametrize("axis", [planes.AXIAL, planes.CORONAL, planes.SAGITTAL])
def test_box_rect_round_trip_keeps_through_plane_extent(axis: int) -> None:
    box = Box(3, 10, 20, 7, 16, 29)
    rect = planes.box_rect(axis, box)
    through = (box.lower[axis], box.upper[axis])
    assert planes.box_with_rect(axis, rect, through) == box


def test_slice_and_voxel_mapping_agree() -> None:
    volume = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    for axis in (0, 1, 2):
        plane = planes.take_slice(volume, axis, 2)
        row_axis, col_axis = planes.PLANE_AXES[axis]
        assert plane.shape == (volume.shape[row_axis], volume.shape[col_axis])
        voxel = planes.voxel_from_plane(axis, 2, col=1.7, row=3.2)
        assert volume[voxel] == plane[3, 1]


def test_drag_rect_covers_both_end_voxels_in_any_direction() -> None:
    assert planes.rect_from_drag((9.8, 4.1), (2.2, 7.9)) == (2, 4, 10, 8)


def test_extent_keys_set_first_and_last_slice() -> None:
    box = Box(10, 0, 0, 11, 5, 5)
    taller = planes.with_extent(box, "last", planes.AXIAL, 14)
    assert (taller.z0, taller.z1) == (10, 15)
    both = planes.with_extent(taller, "first", planes.AXIAL, 8)
    assert (both.z0, both.z1) == (8, 15)
    past = planes.with_extent(both, "first", planes.AXIAL, 20)
    assert (past.z0, past.z1) == (20, 21)


def test_aspect_ratio_shows_true_millimetres() -> None:
    spacing = (2.5, 0.8, 0.8)
    assert planes.aspect_ratio(planes.AXIAL, spacing) == pytest.approx(1.0)
    assert planes.aspect_ratio(planes.CORONAL, spacing) == pytest.approx(0.8 / 2.5)


def test_right_drag_widens_and_raises_level_relative_to_spread() -> None:
    levels = Levels(100.0, 300.0)
    wider = dragged(levels, dx=40, dy=0, spread=400.0)
    assert wider.width > levels.width and wider.level == pytest.approx(levels.level)
    darker = dragged(levels, dx=0, dy=40, spread=400.0)
    assert darker.level > levels.level and darker.width == pytest.approx(levels.width)
    assert dragged(levels, dx=-10_000, dy=0, spread=400.0).width > 0


def test_percentile_presets_follow_the_data() -> None:
    volume = np.random.default_rng(0).normal(500, 50, (20, 64, 64)).astype(np.float32)
    stats = IntensityStats(volume)
    low, high = stats.percentiles(1, 99)
    assert 350 < low < 420 and 580 < high < 650
    full = stats.preset(0, 100)
    assert full.low < low and full.high > high
