"""The one check every voxel array passes before it may become a volume or reach a project.

A volume holds real grey levels: one finite number per voxel, small enough that the arithmetic done on it
later (resampling, the per-patch mean and variance of the networks' normalisation) stays finite in float32.
Anything else is refused with the reason rather than repaired: a colour (RGB24) or complex image has no single
grey level (dropping channels or the imaginary part silently changes the image), and replacing NaN or
infinite voxels with a number would invent intensities the grader then reads as tissue.
"""

from __future__ import annotations

import numpy as np

MAX_MAGNITUDE = float(np.sqrt(np.finfo(np.float32).max))
"""Largest absolute voxel value accepted (about 1.8e19): its square still fits float32, so a variance does."""

_SLAB_VOXELS = 1 << 22
"""Voxels checked per step, so the check needs a few MiB of scratch memory, not a copy of the volume."""


def voxel_type_problem(dtype: np.dtype) -> str | None:
    """Why voxels of ``dtype`` are not grey levels (None when they are: bool, integer or real float)."""
    dtype = np.dtype(dtype)
    if dtype.fields:
        names = ", ".join(dtype.names or ())
        return f"colour or multi-field voxels ({names}), not one grey level per voxel"
    if dtype.kind == "c":
        return "complex voxels (real and imaginary parts), not grey levels; import a magnitude image"
    if dtype.kind not in "biuf" or dtype.subdtype is not None:
        return f"voxels of type {dtype}, not numbers"
    return None


def voxel_problem(array: np.ndarray) -> str | None:
    """Why ``array`` cannot be stored as a volume's grey levels, or None when it can.

    Checks the type (:func:`voxel_type_problem`), then, for floating-point data, that every voxel is finite
    and at most :data:`MAX_MAGNITUDE` in size; integers always are.
    """
    problem = voxel_type_problem(array.dtype)
    if problem or array.dtype.kind != "f":
        return problem
    flat = array.reshape(-1)
    non_finite = too_large = 0
    for start in range(0, flat.size, _SLAB_VOXELS):
        slab = flat[start : start + _SLAB_VOXELS]
        finite = np.isfinite(slab)
        non_finite += int(slab.size - np.count_nonzero(finite))
        too_large += int(np.count_nonzero(np.abs(slab[finite]) > MAX_MAGNITUDE))
    if non_finite:
        return f"{non_finite} of {flat.size} voxels are NaN or infinite"
    if too_large:
        return f"{too_large} of {flat.size} voxels exceed {MAX_MAGNITUDE:.2g} in magnitude"
    return None
