"""The lesion region a box defines: the box resampled to isotropic voxels, each phase standardised to the
tissue around the lesion, and the box's inscribed ellipsoid as the lesion mask.

The project stores boxes, not segmentations, so the lesion is approximated by the ellipsoid inscribed in its
box (HCCs are round to oval).  Each phase is divided by the networks' standardisation reference
(:func:`hccdesk.learn.patches.reference_intensity`, the median of the tissue in a shell around the box):
MR has no absolute intensity scale and the phantom, like scanners, draws a per-study gain, so lesion-to-liver
ratios are what a radiologist reads and what survives a change of gain.  Resampling reuses the patch path's
``resample_box``, so both model families see the same voxels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hccdesk.learn.patches import RegionReader, reference_intensity, resample_box, target_grid
from hccdesk.store.records import Box


@dataclass(frozen=True)
class LesionRegion:
    """Phases of one lesion on an isotropic grid, as ratios to the tissue around it.

    ``volumes`` maps phase -> ``(Lz, Ly, Lx)`` float32 array, ``lesion`` is the boolean ellipsoid mask on the
    same grid and ``voxel_mm`` the isotropic voxel size.
    """

    volumes: dict[str, np.ndarray]
    lesion: np.ndarray
    voxel_mm: float


def lesion_region(images: RegionReader, box: Box, settings: Mapping[str, Any]) -> LesionRegion:
    """Resample ``box`` plus ``settings["margin_mm"]`` of every phase in ``settings["phases"]`` and divide
    each by its reference intensity over ``settings["reference_mm"]`` around the box.

    Raises
    ------
    InputError
        When the study lacks a phase, the box lies outside the image or has no tissue around it.
    """
    voxel = float(settings["voxel_mm"])
    grid_settings = {
        "size": 1,
        "voxel_mm": [voxel] * 3,
        "margin_mm": float(settings["margin_mm"]),
        "phases": list(settings["phases"]),
    }
    stacked = resample_box(images, box, grid_settings)
    grid = target_grid(images, box, grid_settings)
    axes = [grid.first[a] + np.arange(grid.lengths[a]) * grid.step[a] for a in range(3)]
    points = np.meshgrid(*axes, indexing="ij")
    lower, upper = np.asarray(box.lower, dtype=float), np.asarray(box.upper, dtype=float)
    centre, half = (lower + upper - 1.0) / 2.0, (upper - lower) / 2.0
    lesion = sum(((points[a] - centre[a]) / half[a]) ** 2 for a in range(3)) <= 1.0
    volumes = {
        phase: volume / np.float32(reference_intensity(images, phase, box, float(settings["reference_mm"])))
        for phase, volume in zip(settings["phases"], stacked, strict=True)
    }
    return LesionRegion(volumes=volumes, lesion=lesion, voxel_mm=voxel)
