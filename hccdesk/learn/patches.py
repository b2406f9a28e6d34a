"""Patches from a lesion box: resampling to a fixed voxel size, the patch grid, normalisation and
augmentation.

Only the box (plus a context margin and one voxel for interpolation) is read from the study, through
``StudyImages.read(phase, region)``, so a lesion never loads its whole volume.  The region is resampled onto
an isotropic grid (``patches.voxel_mm``) centred on the box and at least one patch wide on every axis: a
lesion smaller than a patch is padded with the real tissue around it, and only where that runs past the edge
of the image is the border voxel repeated.  Patches are cut on a stride (``patches.stride``, in target
voxels): 16³ cubes for 3D variants, 16² windows of axial slices for 2D variants.

Normalisation statistics come from training patches only (:func:`fit_normalizer`); augmentation is for
training batches only and takes an explicit ``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy import ndimage

from hccdesk.errors import InputError
from hccdesk.store.records import Box


class RegionReader(Protocol):
    """What patch extraction needs from a study's images (``hccdesk.store.images.StudyImages`` provides
    it)."""

    phases: tuple[str, ...]
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]

    def read(self, phase: str, region: tuple[slice, slice, slice]) -> np.ndarray: ...


@dataclass(frozen=True)
class ArrayImages:
    """In-memory volumes (phase -> array ``[k, j, i]``) with their spacing, readable like ``StudyImages``."""

    arrays: Mapping[str, np.ndarray]
    spacing: tuple[float, float, float]

    @property
    def phases(self) -> tuple[str, ...]:
        return tuple(self.arrays)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(next(iter(self.arrays.values())).shape)

    def read(self, phase: str, region: tuple[slice, slice, slice]) -> np.ndarray:
        return np.asarray(self.arrays[phase][region], dtype=np.float32)


@dataclass(frozen=True)
class TargetGrid:
    """The isotropic grid a lesion box is resampled onto, placed in the study's voxel coordinates.

    Target voxel ``t`` (per axis, ``[k, j, i]`` order) sits at study voxel ``first + t·step``; ``lengths`` is
    the grid shape.  Keeping this mapping is what lets a patch (or a patch-level prediction) be put back on
    the study's reference grid.
    """

    first: np.ndarray
    step: np.ndarray
    lengths: np.ndarray

    def to_study(self, points: np.ndarray) -> np.ndarray:
        """Target-grid coordinates ``(n, 3)`` -> study voxel coordinates ``(n, 3)`` (float)."""
        return self.first + np.asarray(points, dtype=float) * self.step


def target_grid(images: RegionReader, box: Box, settings: Mapping[str, Any]) -> TargetGrid:
    """The target grid of a box: centred on the box centre, spanning the box plus ``margin_mm`` on each side,
    widened to ``size`` voxels where the lesion is smaller than a patch."""
    size = int(settings["size"])
    spacing = np.asarray(images.spacing, dtype=float)
    target = np.asarray(settings["voxel_mm"], dtype=float)
    shape = np.asarray(images.shape)
    lower, upper = np.asarray(box.lower, dtype=float), np.asarray(box.upper, dtype=float)
    if np.any(lower >= shape) or np.any(upper <= 0):
        raise InputError(f"lesion box {box.as_tuple()} lies outside the image of shape {tuple(shape)}")
    extent_mm = (upper - lower) * spacing + 2.0 * float(settings["margin_mm"])
    lengths = np.maximum(size, np.ceil(extent_mm / target - 1e-9)).astype(int)
    centre = (lower + upper - 1.0) / 2.0
    step = target / spacing
    return TargetGrid(first=centre - (lengths - 1) / 2.0 * step, step=step, lengths=lengths)


def resample_box(images: RegionReader, box: Box, settings: Mapping[str, Any]) -> np.ndarray:
    """The box plus margin resampled (trilinear) onto its :func:`target_grid`: ``(C, Lz, Ly, Lx)`` float32,
    each L ≥ size."""
    phases = list(settings["phases"])
    missing = [phase for phase in phases if phase not in images.phases]
    if missing:
        raise InputError(
            f"the study has no {', '.join(missing)} phase; import it or use an arterial-only variant"
        )
    grid = target_grid(images, box, settings)
    shape = np.asarray(images.shape)
    last = grid.to_study(grid.lengths - 1)
    lo = np.clip(np.floor(grid.first).astype(int), 0, shape - 1)
    hi = np.clip(np.ceil(last).astype(int) + 1, lo + 1, shape)
    region = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    volumes = [
        ndimage.affine_transform(
            images.read(phase, region).astype(np.float32, copy=False),
            matrix=grid.step,
            offset=grid.first - lo,
            output_shape=tuple(int(n) for n in grid.lengths),
            order=1,
            mode="nearest",
        )
        for phase in phases
    ]
    return np.stack(volumes).astype(np.float32, copy=False)


def _starts(length: int, size: int, stride: int) -> list[int]:
    """Patch origins on ``stride`` covering ``[0, length)``; the last patch is aligned with the far end."""
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] != length - size:
        starts.append(length - size)
    return starts


def _box_slices(grid_length: int, box_mm: float, voxel_mm: float, stride: int) -> list[int]:
    """Axial slice indices of the target grid inside the box (not its margin), every ``stride``, centred."""
    centre, half = (grid_length - 1) / 2.0, box_mm / voxel_mm / 2.0
    inside = [z for z in range(grid_length) if abs(z - centre) <= half + 1e-9] or [round(centre)]
    return inside[(len(inside) - 1) % stride // 2 :: stride]


@dataclass(frozen=True)
class LesionPatches:
    """The patches of one lesion and where each one sits in its study.

    Attributes
    ----------
    patches
        ``(n, 16, 16, 16, C)`` for 3D variants or ``(n, 16, 16, C)`` for 2D variants, float32.
    centres
        ``(n, 3)`` float: each patch's centre in the study's reference-grid voxel coordinates ``[k, j, i]``
        (fractional: the patch grid is resampled), so patch-level outputs can be mapped back onto the study.
    """

    patches: np.ndarray
    centres: np.ndarray

    def __len__(self) -> int:
        return len(self.patches)


def cut_lesion_patches(images: RegionReader, box: Box, config: Mapping[str, Any]) -> LesionPatches:
    """Raw-intensity patches of one lesion for a variant config, with their centres in the study.

    At most ``max_patches`` are kept (evenly spaced along the grid order); channels =
    ``config["patches"]["phases"]``.
    """
    settings = config["patches"]
    dims = int(config["dims"])
    size = int(settings["size"])
    stride = [int(s) for s in settings["stride"]]
    grid = target_grid(images, box, settings)
    volume = resample_box(images, box, settings)
    _, lz, ly, lx = volume.shape
    ys, xs = _starts(ly, size, stride[1]), _starts(lx, size, stride[2])
    half = (size - 1) / 2.0
    if dims == 3:
        zs = _starts(lz, size, stride[0])
        origins = [(z, y, x) for z in zs for y in ys for x in xs]
        patches = [volume[:, z : z + size, y : y + size, x : x + size] for z, y, x in origins]
        centres = [(z + half, y + half, x + half) for z, y, x in origins]
    else:
        box_mm = (box.z1 - box.z0) * float(images.spacing[0])
        zs = _box_slices(lz, box_mm, float(settings["voxel_mm"][0]), stride[0])
        origins = [(z, y, x) for z in zs for y in ys for x in xs]
        patches = [volume[:, z, y : y + size, x : x + size] for z, y, x in origins]
        centres = [(float(z), y + half, x + half) for z, y, x in origins]
    cap = int(settings["max_patches"])
    if len(patches) > cap:
        keep = np.unique(np.linspace(0, len(patches) - 1, cap).round().astype(int))
        patches = [patches[i] for i in keep]
        centres = [centres[i] for i in keep]
    return LesionPatches(
        patches=np.moveaxis(np.stack(patches), 1, -1).astype(np.float32, copy=False),
        centres=grid.to_study(np.asarray(centres, dtype=float)),
    )


def extract_lesion_patches(images: RegionReader, box: Box, config: Mapping[str, Any]) -> np.ndarray:
    """The patch array of :func:`cut_lesion_patches`, for callers that do not need the centres."""
    return cut_lesion_patches(images, box, config).patches


@dataclass(frozen=True)
class Normalizer:
    """Per-channel z-scoring with statistics from the training patches of one fold (never from test data)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def apply(self, patches: np.ndarray) -> np.ndarray:
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        return ((np.asarray(patches, dtype=np.float32) - mean) / std).astype(np.float32, copy=False)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[float]]) -> Normalizer:
        return cls(mean=tuple(float(v) for v in data["mean"]), std=tuple(float(v) for v in data["std"]))


def fit_normalizer(patches: np.ndarray) -> Normalizer:
    """Fit per-channel mean and standard deviation on training patches ``(n, ..., C)``.

    A constant channel gets std 1 so it maps to zero instead of dividing by zero.
    """
    patches = np.asarray(patches, dtype=np.float64)
    if patches.ndim < 3 or patches.shape[0] == 0:
        raise InputError("cannot fit intensity normalisation: no training patches")
    axes = tuple(range(patches.ndim - 1))
    mean = patches.mean(axis=axes)
    std = patches.std(axis=axes)
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    return Normalizer(mean=tuple(float(v) for v in mean), std=tuple(float(v) for v in std))


def augment(batch: np.ndarray, rng: np.random.Generator, settings: Mapping[str, Any]) -> np.ndarray:
    """Random flips on every spatial axis, 90° in-plane rotations and mild intensity jitter, per patch.

    ``batch`` is ``(n, *spatial, C)`` normalised patches; in-plane = the last two spatial axes (y, x).  The
    jitter is ``x·(1 + jitter_scale·ε₁) + jitter_shift·ε₂`` with one ε pair per patch and channel.
    """
    out = np.array(batch, dtype=np.float32, copy=True)
    n, spatial = out.shape[0], out.ndim - 2
    for index in range(n):
        patch = out[index]
        if settings["flips"]:
            axes = tuple(int(a) for a in np.flatnonzero(rng.random(spatial) < 0.5))
            if axes:
                patch = np.flip(patch, axis=axes)
        if settings["rot90"]:
            patch = np.rot90(patch, k=int(rng.integers(4)), axes=(spatial - 2, spatial - 1))
        out[index] = patch
    channels = out.shape[-1]
    shape = (n,) + (1,) * spatial + (channels,)
    scale = 1.0 + float(settings["jitter_scale"]) * rng.standard_normal(shape)
    shift = float(settings["jitter_shift"]) * rng.standard_normal(shape)
    return (out * scale + shift).astype(np.float32, copy=False)
