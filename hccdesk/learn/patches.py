"""Patches from a lesion box: resampling to a fixed voxel size, the patch grid and normalisation.

Only the box (plus a context margin and one voxel for interpolation) is read from the study, through
``StudyImages.read(phase, region)``, so a lesion never loads its whole volume; with standardisation the read
also holds the shell of ``patches.reference_mm`` around the box, so one read per phase serves both the
reference intensity and the resampling.  The region is resampled onto an isotropic grid (``patches.voxel_mm``)
centred on the box and at least one patch wide on every axis: a lesion smaller than a patch is padded with
the real tissue around it, and only where that runs past the edge of the image is the border voxel repeated.
Patches are cut on a stride (``patches.stride``, in target voxels): 16³ cubes for 3D variants, 16² windows
of axial slices for 2D variants.

Normalisation statistics come from training patches only (:func:`fit_normalizer`); augmentation happens in
the training pipeline (:mod:`hccdesk.learn.batches`).
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


Region = tuple[slice, slice, slice]
"""A box of study voxels, ``[k, j, i]`` slices, as ``RegionReader.read`` takes it."""


def resample_box(images: RegionReader, box: Box, settings: Mapping[str, Any]) -> np.ndarray:
    """The box plus margin resampled (trilinear) onto its :func:`target_grid`: ``(C, Lz, Ly, Lx)`` float32,
    each L ≥ size."""
    phases = _phases(images, settings)
    grid = target_grid(images, box, settings)
    region = _grid_region(images, grid)
    return _resample([images.read(phase, region) for phase in phases], grid, region)


def _phases(images: RegionReader, settings: Mapping[str, Any]) -> list[str]:
    """The phases a variant reads, refused before any read when the study lacks one."""
    phases = list(settings["phases"])
    missing = [phase for phase in phases if phase not in images.phases]
    if missing:
        raise InputError(
            f"the study has no {', '.join(missing)} phase; import it or use an arterial-only variant"
        )
    return phases


def _grid_region(images: RegionReader, grid: TargetGrid) -> Region:
    """The study voxels trilinear resampling onto ``grid`` touches (clipped to the image)."""
    shape = np.asarray(images.shape)
    last = grid.to_study(grid.lengths - 1)
    lo = np.clip(np.floor(grid.first).astype(int), 0, shape - 1)
    hi = np.clip(np.ceil(last).astype(int) + 1, lo + 1, shape)
    return _region(lo, hi)


def _resample(volumes: Sequence[np.ndarray], grid: TargetGrid, region: Region) -> np.ndarray:
    """Each phase's voxels of ``region`` (as read) resampled onto ``grid``: ``(C, Lz, Ly, Lx)`` float32."""
    origin = np.asarray([axis.start for axis in region])
    resampled = [
        ndimage.affine_transform(
            volume.astype(np.float32, copy=False),
            matrix=grid.step,
            offset=grid.first - origin,
            output_shape=tuple(int(n) for n in grid.lengths),
            order=1,
            mode="nearest",
        )
        for volume in volumes
    ]
    return np.stack(resampled).astype(np.float32, copy=False)


def reference_intensity(images: RegionReader, phase: str, box: Box, reference_mm: float) -> float:
    """The intensity of the tissue around a lesion in one phase: the standardisation reference.

    MR intensities have no absolute scale (receiver gain, coil loading, bias field): the phantom's per-study
    gain alone explained r = 0.94 of the log patch intensity (docs/design/model-review.md finding 1).
    Radiologists read a lesion against the liver around it (lesion-to-liver ratios, LI-RADS), so the reference
    is the median of the foreground voxels in a shell of ``reference_mm`` around the box (the box itself
    excluded), in the same study and phase.  Local rather than whole-volume statistics also cancel most of a
    smooth bias field.  Foreground = above a tenth of the shell's 99th percentile (drops air and
    fat-suppressed fat next to the liver edge); the cut and the median scale with the image, so a study
    multiplied by any positive factor gives the same ratios.
    """
    region = _shell_region(images, box, reference_mm)
    return _shell_reference(images.read(phase, region), region, images.shape, box, phase)


def _shell_region(images: RegionReader, box: Box, reference_mm: float) -> Region:
    """The box grown by ``reference_mm`` on every side (clipped to the image): the shell and the box."""
    spacing = np.asarray(images.spacing, dtype=float)
    shape = np.asarray(images.shape)
    grow = np.ceil(float(reference_mm) / spacing).astype(int)
    return _region(
        np.clip(np.asarray(box.lower) - grow, 0, shape), np.clip(np.asarray(box.upper) + grow, 0, shape)
    )


def _shell_reference(
    values: np.ndarray, region: Region, shape: tuple[int, int, int], box: Box, phase: str
) -> float:
    """:func:`reference_intensity` from the voxels of the shell ``region`` of one phase, as read."""
    values = np.asarray(values)
    bounds = np.asarray(shape)
    lesion = _region(np.clip(box.lower, 0, bounds), np.clip(box.upper, 0, bounds))
    keep = np.ones(values.shape, dtype=bool)
    keep[_within(lesion, region)] = False
    # float64 after masking: the same values, fewer converted; both statistics depend on the values alone,
    # not their order, so they may partition their input in place instead of copying it
    shell = (values[keep] if keep.any() else values.ravel()).astype(np.float64)
    foreground = shell[shell > 0.1 * np.percentile(shell, 99, overwrite_input=True)]
    reference = float(np.median(foreground, overwrite_input=True)) if foreground.size else 0.0
    if not np.isfinite(reference) or reference <= 0.0:
        raise InputError(
            f"lesion box {box.as_tuple()}: no tissue around it in the {phase} phase to standardise against"
        )
    return reference


def _standardized_box(images: RegionReader, box: Box, settings: Mapping[str, Any]) -> np.ndarray:
    """:func:`resample_box` with each phase divided by its :func:`reference_intensity`, reading each phase
    once.

    The resampling region (box + margin) and the shell region (box + ``reference_mm``) overlap almost
    entirely, so their bounding region is read once and both are cut from it in memory: the values are
    those two separate reads would give (the same stored voxels, converted alike), at one read's cost.
    """
    phases = _phases(images, settings)
    grid = target_grid(images, box, settings)
    resampled, shell = _grid_region(images, grid), _shell_region(images, box, float(settings["reference_mm"]))
    both = _region(
        np.minimum([a.start for a in resampled], [a.start for a in shell]),
        np.maximum([a.stop for a in resampled], [a.stop for a in shell]),
    )
    read = [images.read(phase, both) for phase in phases]
    volume = _resample([values[_within(resampled, both)] for values in read], grid, resampled)
    for channel, (phase, values) in enumerate(zip(phases, read, strict=True)):
        volume[channel] /= _shell_reference(values[_within(shell, both)], shell, images.shape, box, phase)
    return volume


def _region(lower: np.ndarray, upper: np.ndarray) -> Region:
    """The region from voxel ``lower`` (included) to ``upper`` (excluded), per axis."""
    return tuple(slice(int(a), int(b)) for a, b in zip(lower, upper, strict=True))


def _within(inner: Region, outer: Region) -> Region:
    """``inner`` in the coordinates of an array read from ``outer`` (which contains it)."""
    return tuple(slice(a.start - b.start, a.stop - b.start) for a, b in zip(inner, outer, strict=True))


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
    """Patches of one lesion for a variant config, with their centres in the study.

    With ``patches.standardize`` each phase is divided by its :func:`reference_intensity` before the patches
    are cut (intensities become ratios to the surrounding liver); without it they keep the raw scale.

    At most ``max_patches`` are kept (evenly spaced along the grid order); channels =
    ``config["patches"]["phases"]``.
    """
    settings = config["patches"]
    dims = int(config["dims"])
    size = int(settings["size"])
    stride = [int(s) for s in settings["stride"]]
    grid = target_grid(images, box, settings)
    volume = (_standardized_box if settings["standardize"] else resample_box)(images, box, settings)
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
    centres_study = grid.to_study(np.asarray(centres, dtype=float))
    keep = (
        np.flatnonzero(inside_lesion(centres_study, box))
        if settings["inside_lesion"]
        else np.arange(len(patches))
    )
    cap = int(settings["max_patches"])
    if len(keep) > cap:
        keep = keep[np.unique(np.linspace(0, len(keep) - 1, cap).round().astype(int))]
    return LesionPatches(
        patches=np.moveaxis(np.stack([patches[i] for i in keep]), 1, -1).astype(np.float32, copy=False),
        centres=centres_study[keep],
    )


def inside_lesion(centres: np.ndarray, box: Box) -> np.ndarray:
    """Which patch centres (study voxel coordinates ``(n, 3)``) lie in the ellipsoid inscribed in the box.

    A patch carries its lesion's grade, so its centre must be lesion tissue: on the box grid 8.7 % of centres
    (up to 45 % for some lesions) lay outside the lesion (docs/design/model-review.md finding 6).  The box
    is all we know of the lesion's shape, and the inscribed ellipsoid is the usual approximation of a round
    tumour.  When no centre falls inside (a lesion smaller than the patch stride), the one nearest the
    lesion centre is kept, so every lesion keeps at least one patch.
    """
    lower, upper = np.asarray(box.lower, dtype=float), np.asarray(box.upper, dtype=float)
    # voxel v covers [v - 0.5, v + 0.5]: the box spans [lower - 0.5, upper - 0.5]
    middle, semi_axes = (lower + upper - 1.0) / 2.0, (upper - lower) / 2.0
    radius = np.sum(((np.asarray(centres, dtype=float) - middle) / semi_axes) ** 2, axis=1)
    inside = radius <= 1.0
    if not inside.any():
        inside[np.argmin(radius)] = True
    return inside


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
