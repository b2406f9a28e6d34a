"""World-coordinate resampling onto another grid."""

from __future__ import annotations

import numpy as np
import pytest

from hccdesk.imaging.resample import resample_to_grid
from hccdesk.imaging.volume import Volume


def _volume() -> Volume:
    array = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    affine = np.array(
        [[0.0, 0.0, 2.0, 10.0], [1.5, 0.0, 0.0, -3.0], [0.0, -1.0, 0.0, 7.0], [0.0, 0.0, 0.0, 1.0]]
    )
    return Volume(array, affine)


def test_same_grid_is_an_exact_float32_copy() -> None:
    volume = _volume()
    out = resample_to_grid(volume, volume.shape, volume.affine)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, volume.array)


@pytest.mark.parametrize("order", [0, 1, 3])
def test_grid_shifted_by_whole_voxels_picks_the_same_values(order: int) -> None:
    volume = _volume()
    target = volume.affine.copy()
    target[:3, 3] += volume.affine[:3, 2] + 2 * volume.affine[:3, 0]  # one slice and two columns further
    out = resample_to_grid(volume, (3, 5, 4), target, order=order)
    np.testing.assert_allclose(out, volume.array[1:, :, 2:], atol=1e-3)


def test_permuted_axes_grid_samples_by_world_position() -> None:
    volume = _volume()
    # target grid: i runs along the source's k axis, k along the source's i axis (same voxel centres)
    target = volume.affine[:, [2, 1, 0, 3]]
    out = resample_to_grid(volume, (6, 5, 4), target, order=1)
    np.testing.assert_allclose(out, np.transpose(volume.array, (2, 1, 0)), atol=1e-4)


def test_half_voxel_shift_interpolates_and_outside_gets_fill() -> None:
    volume = _volume()
    target = volume.affine.copy()
    target[:3, 3] += 0.5 * volume.affine[:3, 0]
    out = resample_to_grid(volume, volume.shape, target, order=1, fill=-7.0)
    np.testing.assert_allclose(out[..., :-1], (volume.array[..., :-1] + volume.array[..., 1:]) / 2, atol=1e-4)
    target[:3, 3] += 100 * volume.affine[:3, 0]
    assert np.all(resample_to_grid(volume, volume.shape, target, fill=-7.0) == -7.0)
