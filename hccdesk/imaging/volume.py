"""The Volume: a 3D image with its world geometry, contrast phase and provenance.

World convention: **LPS millimetres** (the DICOM and ITK patient system), for the whole application.  NIfTI
(RAS) is converted at its reader and writer by negating x and y.  Arrays are indexed ``[k, j, i]``
(slice, row, column) and the 4x4 ``affine`` maps ``(i, j, k, 1)`` to LPS, so its last column is the centre
of voxel ``[0, 0, 0]`` and its first three columns are the column, row and slice steps in millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

PHASES: tuple[str, ...] = ("pre", "arterial", "portal", "delayed")
"""Contrast phases in acquisition order; the arterial phase is every study's reference grid."""

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
"""Left-multiplying an LPS affine by this gives the RAS affine (and vice versa)."""


@dataclass(frozen=True)
class VolumeSource:
    """Where a volume came from: files, series identity and a whitelist of technical tags (no identity)."""

    paths: tuple[str, ...] = ()
    series_uid: str = ""
    series_description: str = ""
    tags: dict[str, Any] = field(default_factory=dict)


@dataclass
class Volume:
    """A 3D image in world space.

    Parameters
    ----------
    array
        Voxel values indexed ``[k, j, i]``; rescaled (modality LUT applied), in the dtype it was stored in or
        float32 when a rescale made it fractional.
    affine
        4x4 matrix mapping ``(i, j, k, 1)`` to LPS millimetres.
    phase
        One of :data:`PHASES`, or None when unknown.
    source
        Provenance; never carries patient identity.
    id
        A short identifier, unique within one import (used for file names).
    warnings
        Things the user should know about that did not stop the import.
    """

    array: np.ndarray
    affine: np.ndarray
    phase: str | None = None
    source: VolumeSource = field(default_factory=VolumeSource)
    id: str = "volume"
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.affine = np.asarray(self.affine, dtype=np.float64)
        if self.array.ndim != 3:
            raise ValueError(f"a Volume is 3D, got an array of shape {self.array.shape}")
        if self.affine.shape != (4, 4):
            raise ValueError(f"affine must be 4x4, got {self.affine.shape}")
        if self.phase is not None and self.phase not in PHASES:
            raise ValueError(f"unknown phase {self.phase!r}; expected one of {PHASES}")

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(nz, ny, nx)``."""
        return tuple(int(n) for n in self.array.shape)  # type: ignore[return-value]

    @property
    def spacing(self) -> np.ndarray:
        """Voxel size ``(sz, sy, sx)`` in millimetres, from the affine's column norms."""
        return np.linalg.norm(self.affine[:3, :3], axis=0)[::-1]

    @property
    def origin(self) -> np.ndarray:
        """LPS position of the centre of voxel ``[0, 0, 0]``."""
        return self.affine[:3, 3].copy()

    @property
    def direction(self) -> np.ndarray:
        """Unit vectors ``[r, c, n]`` as rows: the directions of increasing i, j and k in LPS."""
        return (self.affine[:3, :3] / np.linalg.norm(self.affine[:3, :3], axis=0)).T

    @property
    def affine_ras(self) -> np.ndarray:
        """The same geometry as a NIfTI (RAS) affine."""
        return LPS_TO_RAS @ self.affine

    def voxel_to_world(self, kji: np.ndarray) -> np.ndarray:
        """LPS positions of voxel indices given as ``(..., 3)`` in ``(k, j, i)`` order."""
        kji = np.asarray(kji, dtype=np.float64)
        ijk = kji[..., ::-1]
        return ijk @ self.affine[:3, :3].T + self.affine[:3, 3]

    def world_to_voxel(self, lps: np.ndarray) -> np.ndarray:
        """Continuous ``(k, j, i)`` indices of LPS positions given as ``(..., 3)``."""
        lps = np.asarray(lps, dtype=np.float64)
        inverse = np.linalg.inv(self.affine)
        ijk = lps @ inverse[:3, :3].T + inverse[:3, 3]
        return ijk[..., ::-1]
