"""Geometry of the three slice orientations: which array axis a view cuts, and how boxes map to its plane.

A view shows one 2D plane of a ``[k, j, i]`` volume.  Plane coordinates are ``(col, row)`` in voxel units with
pixel ``(c, r)`` covering ``[c, c+1) x [r, r+1)``, which is how pyqtgraph places a row-major image; so a
half-open box edge maps to a plane edge without half-voxel shifts.  Qt-free, so it is tested on its own.
"""

from __future__ import annotations

import numpy as np

from hccdesk.store.records import Box

AXIAL, CORONAL, SAGITTAL = 0, 1, 2
AXIS_NAMES: tuple[str, ...] = ("Axial", "Coronal", "Sagittal")

# (row axis, column axis) of the plane shown when cutting array axis ``a`` (array axes: 0=k/z, 1=j/y, 2=i/x).
PLANE_AXES: dict[int, tuple[int, int]] = {AXIAL: (1, 2), CORONAL: (0, 2), SAGITTAL: (0, 1)}


def take_slice(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    """The 2D plane of ``volume`` at ``index`` along array ``axis`` (rows, cols) as in :data:`PLANE_AXES`."""
    return volume[(slice(None),) * axis + (index,)]


def voxel_from_plane(axis: int, index: int, col: float, row: float) -> tuple[int, int, int]:
    """The ``(k, j, i)`` voxel under plane point ``(col, row)`` of the slice ``index`` along ``axis``."""
    voxel = [0, 0, 0]
    row_axis, col_axis = PLANE_AXES[axis]
    voxel[axis] = index
    voxel[row_axis] = int(np.floor(row))
    voxel[col_axis] = int(np.floor(col))
    return (voxel[0], voxel[1], voxel[2])


def plane_point(axis: int, voxel: tuple[int, int, int]) -> tuple[float, float]:
    """The centre ``(col, row)`` of ``voxel`` in the plane of ``axis`` (where the crosshair goes)."""
    row_axis, col_axis = PLANE_AXES[axis]
    return voxel[col_axis] + 0.5, voxel[row_axis] + 0.5


def box_rect(axis: int, box: Box) -> tuple[int, int, int, int]:
    """``(col0, row0, col1, row1)`` of ``box`` in the plane of ``axis``."""
    row_axis, col_axis = PLANE_AXES[axis]
    lo, hi = box.lower, box.upper
    return lo[col_axis], lo[row_axis], hi[col_axis], hi[row_axis]


def box_spans(axis: int, box: Box, index: int) -> bool:
    """True when slice ``index`` along ``axis`` cuts through ``box``."""
    return box.lower[axis] <= index < box.upper[axis]


def box_with_rect(axis: int, rect: tuple[int, int, int, int], through: tuple[int, int]) -> Box:
    """A box whose in-plane extent is ``rect`` (col0, row0, col1, row1) and whose extent along ``axis`` is
    ``through`` (half-open)."""
    col0, row0, col1, row1 = rect
    row_axis, col_axis = PLANE_AXES[axis]
    lo, hi = [0, 0, 0], [0, 0, 0]
    lo[axis], hi[axis] = through
    lo[row_axis], hi[row_axis] = min(row0, row1), max(row0, row1)
    lo[col_axis], hi[col_axis] = min(col0, col1), max(col0, col1)
    return Box(*lo, *hi)


def rect_from_drag(start: tuple[float, float], end: tuple[float, float]) -> tuple[int, int, int, int]:
    """The voxel-aligned rectangle covering every voxel between two dragged points (both inclusive)."""
    c0, c1 = sorted((int(np.floor(start[0])), int(np.floor(end[0]))))
    r0, r1 = sorted((int(np.floor(start[1])), int(np.floor(end[1]))))
    return c0, r0, c1 + 1, r1 + 1


def with_first_slice(box: Box, axis: int, index: int) -> Box:
    """``box`` with its first slice along ``axis`` moved to ``index`` (the ``[`` key); it keeps at least that
    slice, so setting a first slice past the last one makes a one-slice box there."""
    lo, hi = list(box.lower), list(box.upper)
    lo[axis] = index
    hi[axis] = max(hi[axis], index + 1)
    return Box(*lo, *hi)


def with_last_slice(box: Box, axis: int, index: int) -> Box:
    """``box`` with its last slice (inclusive) along ``axis`` moved to ``index`` (the ``]`` key)."""
    lo, hi = list(box.lower), list(box.upper)
    hi[axis] = index + 1
    lo[axis] = min(lo[axis], index)
    return Box(*lo, *hi)


def aspect_ratio(axis: int, spacing: tuple[float, float, float]) -> float:
    """pyqtgraph's locked aspect (x scale / y scale) showing voxels of ``spacing`` (sz, sy, sx) in true mm."""
    row_axis, col_axis = PLANE_AXES[axis]
    return float(spacing[col_axis] / spacing[row_axis])


def rows_point_down(axis: int, affine: np.ndarray) -> bool:
    """Whether row 0 belongs at the top of the view: anterior up for axial, superior up for the others."""
    if axis == AXIAL:
        return True
    return bool(affine[2, 2] < 0)


def with_extent(box: Box, which: str, axis: int, index: int) -> Box:
    """``box`` after an extent key: ``which`` is ``"first"`` (the ``[`` key) or ``"last"`` (``]``)."""
    if which == "first":
        return with_first_slice(box, axis, index)
    return with_last_slice(box, axis, index)
