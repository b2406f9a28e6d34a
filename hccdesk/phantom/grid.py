"""The rendering grid: voxel centres in the patient's anatomy frame, handed out as broadcastable axes.

The phantom draws every study on its arterial (reference) grid, which is axial and axis-aligned, so the
coordinates of a box of voxels are three 1D arrays that broadcast to ``(z, y, x)``; shapes evaluated on them
cost a fraction of a full coordinate grid.  The anatomy frame is LPS millimetres centred on the field of view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Region = tuple[slice, slice, slice]


@dataclass(frozen=True)
class Grid:
    """An axis-aligned grid: ``shape`` (z, y, x), ``spacing`` (sz, sy, sx) mm, centred on the origin."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]

    @property
    def first_centre(self) -> np.ndarray:
        """Anatomy-frame (z, y, x) position of voxel ``[0, 0, 0]``."""
        return -0.5 * (np.asarray(self.shape) - 1) * np.asarray(self.spacing)

    def region(self, lower_mm: np.ndarray, upper_mm: np.ndarray) -> Region | None:
        """Voxel slices covering the (z, y, x) millimetre box; None when it misses the grid."""
        lo = np.floor((np.asarray(lower_mm) - self.first_centre) / self.spacing).astype(int)
        hi = np.ceil((np.asarray(upper_mm) - self.first_centre) / self.spacing).astype(int) + 1
        lo = np.clip(lo, 0, self.shape)
        hi = np.clip(hi, 0, self.shape)
        if np.any(hi <= lo):
            return None
        return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))  # type: ignore[return-value]

    def axes(self, region: Region) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Millimetre coordinates of ``region`` as arrays shaped (n,1,1), (1,n,1) and (1,1,n)."""
        out = []
        for axis, part in enumerate(region):
            values = self.first_centre[axis] + self.spacing[axis] * np.arange(part.start, part.stop)
            shape = [1, 1, 1]
            shape[axis] = values.size
            out.append(values.astype(np.float32).reshape(shape))
        return out[0], out[1], out[2]

    def full(self) -> Region:
        return tuple(slice(0, n) for n in self.shape)  # type: ignore[return-value]

    def affine_lps(self, world_centre: np.ndarray) -> np.ndarray:
        """The 4x4 ``(i, j, k, 1) -> LPS`` affine placing the grid's centre at ``world_centre`` (x, y, z)."""
        affine = np.eye(4)
        affine[0, 0], affine[1, 1], affine[2, 2] = self.spacing[2], self.spacing[1], self.spacing[0]
        affine[:3, 3] = np.asarray(world_centre, dtype=np.float64) + self.first_centre[::-1]
        return affine
