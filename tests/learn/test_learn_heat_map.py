"""Patch values painted on the study grid: each patch's value at its centre, NaN where no patch reached."""

from __future__ import annotations

import numpy as np

from hccdesk.learn.heat_map import paint, paint_cells, patch_half_extent


def test_paint_gives_each_patch_its_value_at_its_centre_and_nan_outside() -> None:
    centres = np.array([[5.0, 10.0, 10.0], [5.0, 10.0, 18.0], [9.0, 14.0, 14.0]])
    values = np.array([0.1, 0.9, 0.5])
    half = np.array([2.0, 4.0, 4.0])
    heat = paint((20, 40, 40), centres, values, half)
    for centre, value in zip(centres, values, strict=True):
        assert heat.value_at(tuple(int(c) for c in centre)) == np.float32(value)
    assert np.isnan(heat.value_at((5, 10, 30)))  # beyond every patch
    assert np.isnan(heat.value_at((0, 0, 0)))
    volume = heat.to_volume((20, 40, 40))
    assert volume.shape == (20, 40, 40) and np.nanmax(volume) == np.float32(0.9)
    assert set(np.unique(volume[~np.isnan(volume)])) == set(values.astype(np.float32))


def test_paint_is_clipped_to_the_study() -> None:
    heat = paint((4, 8, 8), np.array([[0.0, 0.0, 0.0]]), np.array([0.7]), np.array([3.0, 3.0, 3.0]))
    assert heat.origin == (0, 0, 0) and heat.values.shape == (4, 4, 4)


def test_half_extent_of_2d_patches_is_the_slab_between_slices() -> None:
    config = {"dims": 2, "patches": {"size": 16, "stride": [2, 8, 8]}}
    step = np.array([0.5, 2.0, 2.0])
    assert np.allclose(patch_half_extent(config, step), [0.5, 16.0, 16.0])
    assert np.allclose(patch_half_extent({**config, "dims": 3}, step), [4.0, 16.0, 16.0])


def test_paint_cells_spreads_a_grid_over_the_patch() -> None:
    cells = np.arange(8, dtype=float).reshape(2, 2, 2)
    heat = paint_cells((30, 30, 30), np.array([10.0, 10.0, 10.0]), np.array([4.0, 4.0, 4.0]), cells)
    assert heat.origin == (6, 6, 6) and heat.values.shape == (9, 9, 9)
    assert heat.value_at((7, 7, 7)) == 0.0 and heat.value_at((13, 13, 13)) == 7.0
    assert heat.value_at((7, 7, 13)) == 1.0
