"""Resampling one volume onto another grid, in world coordinates.

Each target voxel centre is mapped to LPS by the target affine and back to a continuous source index by the
inverse source affine; the value there is interpolated.  Because the whole chain is affine, it runs through
``scipy.ndimage.affine_transform`` (``map_coordinates`` with the coordinates generated on the fly), so a
512x512x88 grid never needs a 3 x N coordinate array in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hccdesk.imaging.volume import Volume

_REVERSE = np.eye(3)[::-1]
"""Permutes ``(i, j, k)`` to ``(k, j, i)`` (and back): affines work on ``ijk``, arrays are indexed ``kji``."""


def resample_to_grid(
    volume: Volume,
    shape: Sequence[int],
    affine: np.ndarray,
    order: int = 1,
    fill: float = 0.0,
) -> np.ndarray:
    """Sample ``volume`` at the voxel centres of the grid ``(shape, affine)``.

    Parameters
    ----------
    volume
        The moving image.
    shape
        Target array shape ``(nz, ny, nx)``.
    affine
        Target 4x4 affine mapping ``(i, j, k, 1)`` to LPS.
    order
        Spline order (0 nearest, 1 trilinear, 3 cubic).
    fill
        Value for target voxels that fall outside the source volume.

    Returns
    -------
    numpy.ndarray
        float32 array of ``shape``.  When the grids are identical this is an exact copy (no interpolation).
    """
    shape = tuple(int(n) for n in shape)
    affine = np.asarray(affine, dtype=np.float64)
    source = volume.array
    if shape == source.shape and np.allclose(affine, volume.affine, rtol=0.0, atol=1e-6):
        return source.astype(np.float32, copy=True)
    from scipy import ndimage

    target_to_source = np.linalg.inv(volume.affine) @ affine
    matrix = _REVERSE @ target_to_source[:3, :3] @ _REVERSE
    offset = _REVERSE @ target_to_source[:3, 3]
    return ndimage.affine_transform(
        source.astype(np.float32, copy=False),
        matrix,
        offset=offset,
        output_shape=shape,
        output=np.float32,
        order=order,
        mode="constant",
        cval=float(fill),
        prefilter=order > 1,
    )
