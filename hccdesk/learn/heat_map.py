"""Patch-level values (P(high), attention) painted back onto a study's reference grid.

A lesion's patches are cut from an isotropic grid resampled around its box (:mod:`hccdesk.learn.patches`),
so each patch covers a known block of study voxels around its centre.  A reader wants one value per voxel,
and wants that value to be a prediction the model actually made: every voxel inside some patch takes the
value of the patch whose centre is nearest, distance measured in patch half-widths on each axis with the
maximum norm (so a voxel inside any patch is inside its nearest one, and a thick-slice study is not
stretched).  The map is piecewise constant and equal to each patch's own prediction at its centre.
Voxels no patch covers are NaN (shown transparent, written as NaN in NIfTI).

Numpy only: the GUI process places these maps; the model that produced the values runs in a worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class HeatMap:
    """A lesion-sized block of values on a study's reference grid.

    Attributes
    ----------
    origin
        Study voxel ``[k, j, i]`` of ``values[0, 0, 0]``.
    values
        float32 block; NaN where no patch reached.
    """

    origin: tuple[int, int, int]
    values: np.ndarray

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        """Where the block sits in the study volume."""
        (k, j, i), (nk, nj, ni) = self.origin, self.values.shape
        return slice(k, k + nk), slice(j, j + nj), slice(i, i + ni)

    def value_at(self, voxel: tuple[int, int, int]) -> float:
        """The value at a study voxel (NaN outside the block)."""
        local = [v - o for v, o in zip(voxel, self.origin, strict=True)]
        if any(not 0 <= x < n for x, n in zip(local, self.values.shape, strict=True)):
            return float("nan")
        return float(self.values[tuple(local)])

    def to_volume(self, shape: tuple[int, int, int]) -> np.ndarray:
        """The block placed in a NaN volume of the study's ``shape`` (for NIfTI export)."""
        volume = np.full(shape, np.nan, dtype=np.float32)
        volume[self.slices] = self.values
        return volume


def patch_half_extent(config: Mapping[str, Any], step: np.ndarray) -> np.ndarray:
    """Half the block of study voxels one patch covers, per axis ``[k, j, i]``.

    ``step`` is the patch grid's voxel in study voxels.  A 3D patch spans ``size`` grid voxels on every axis;
    a 2D patch is one axial slice of the grid, taken every ``stride[0]`` slices, so it stands for the slab up
    to the next one.
    """
    settings = config["patches"]
    size = float(settings["size"])
    along_z = size if int(config["dims"]) == 3 else float(max(int(settings["stride"][0]), 1))
    return np.asarray([along_z, size, size], dtype=float) / 2.0 * np.asarray(step, dtype=float)


def paint(
    shape: tuple[int, int, int], centres: np.ndarray, values: np.ndarray, half_extent: np.ndarray
) -> HeatMap:
    """Each voxel covered by a patch takes the value of the nearest patch centre.

    Parameters
    ----------
    shape
        The study's voxel shape ``[k, j, i]`` (the block is clipped to it).
    centres
        ``(n, 3)`` patch centres in study voxels (fractional).
    values
        ``(n,)`` one value per patch.
    half_extent
        Half a patch's size in study voxels per axis (:func:`patch_half_extent`).
    """
    centres = np.asarray(centres, dtype=float).reshape(-1, 3)
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    half = np.asarray(half_extent, dtype=float)
    if len(centres) == 0 or len(centres) != len(values):
        raise ValueError(f"need one value per patch centre, got {len(values)} for {len(centres)}")
    limit = np.asarray(shape)
    lo = np.clip(np.floor(centres.min(axis=0) - half).astype(int), 0, limit)
    hi = np.clip(np.ceil(centres.max(axis=0) + half).astype(int) + 1, lo, limit)
    axes = [np.arange(a, b, dtype=float) for a, b in zip(lo, hi, strict=True)]
    voxels = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    scale = 1.0 / np.maximum(half, 1e-9)  # one patch half-width = 1 on every axis
    distance, nearest = cKDTree(centres * scale).query(voxels * scale, p=np.inf)
    inside = distance <= 1.0 + 1e-6
    block = np.where(inside, values[nearest], np.nan).astype(np.float32)
    block_shape = tuple(int(b - a) for a, b in zip(lo, hi, strict=True))
    return HeatMap(origin=(int(lo[0]), int(lo[1]), int(lo[2])), values=block.reshape(block_shape))


def paint_cells(
    shape: tuple[int, int, int], centre: np.ndarray, half_extent: np.ndarray, cells: np.ndarray
) -> HeatMap:
    """A regular grid of values spread evenly over one patch's block of study voxels.

    Used for the non-local attention of one query position: ``cells`` is the attention over the feature
    map's positions, ``(nz, ny, nx)`` for a 3D patch or ``(ny, nx)`` for a 2D one (constant over its slab).
    Each study voxel inside the patch takes the value of the cell it falls in.
    """
    cells = np.asarray(cells, dtype=np.float32)
    if cells.ndim == 2:
        cells = cells[np.newaxis]
    centre, half = np.asarray(centre, dtype=float), np.asarray(half_extent, dtype=float)
    limit = np.asarray(shape)
    lo = np.clip(np.ceil(centre - half - 1e-6).astype(int), 0, limit)
    hi = np.clip(np.floor(centre + half + 1e-6).astype(int) + 1, lo, limit)
    indices = [
        np.clip(np.floor((np.arange(a, b) - (c - h)) / (2.0 * h) * n).astype(int), 0, n - 1)
        for a, b, c, h, n in zip(lo, hi, centre, np.maximum(half, 1e-9), cells.shape, strict=True)
    ]
    block = cells[np.ix_(*indices)]
    return HeatMap(origin=(int(lo[0]), int(lo[1]), int(lo[2])), values=np.ascontiguousarray(block))
