"""From planes to stacks: group, split, sort and check DICOM images before any pixel is read.

Policy (``docs/design/dicom.md`` §6, the one the real-scanner corpus assumes):

1. Group by StudyInstanceUID and SeriesInstanceUID.  Inside a series, split by image type (ImageType, or
   FrameType for Enhanced frames: magnitude / phase / field map), echo, Enhanced StackID, matrix size, and
   one volume per Siemens MOSAIC file.
2. More than one ImageOrientationPatient in such a group is refused as ``mixed_orientation`` (localizers,
   radial stacks); it is never split into per-orientation stacks, which would be 1-3 slice fragments.
3. Split by temporal position (TemporalPositionIdentifier, or TemporalPositionIndex for Enhanced frames).
4. One distinct position for several images is ``not_a_volume``.  If positions still repeat, and each one
   exactly ``t`` times, the images are split into ``t`` volumes by acquisition order (TriggerTime, then
   AcquisitionTime, AcquisitionNumber, InstanceNumber): a GE/Philips dynamic series without temporal tags.
   Any other repetition is refused (duplicate slices).  AcquisitionNumber alone never splits a series.
5. Sort along the slice normal n = r x c by n.IPP; spacing from positions (never SliceThickness).  Fewer than
   3 slices is ``too_few_slices``; increments that differ by more than ``SPACING_TOLERANCE`` (a missing slice,
   uneven spacing, duplicates) are ``gap_or_uneven_spacing``; a stack direction more than ``TILT_DEGREES``
   away from n, or positions off a straight line by more than ``LINE_TOLERANCE`` of a pixel, is
   ``gantry_tilt``.  Nothing is averaged or resampled silently.  The affine's slice column is the mean step
   between positions, so every slice centre is where its ImagePositionPatient says.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hccdesk.errors import ImportRefused
from hccdesk.imaging.dicom_planes import Plane

MIN_SLICES = 3
"""A volume needs at least this many slices; 1 and 2 slice "volumes" are refused (too_few_slices)."""

SPACING_TOLERANCE = (0.02, 0.02)
"""Slice increments may differ from their median by ``max(0.02 mm, 2 % of the median)``.

Real scanners write positions with float jitter of ~1e-5 mm (dcm2niix#216), some rounded to 0.01 mm; a
missing slice is a whole increment.  The dicom-corpus accepts at 2e-5 mm and refuses at 0.75 mm deviation."""

TILT_DEGREES = 0.05
"""Largest angle between the stack direction (first to last ImagePositionPatient) and n = r x c.

Beyond it the grid is sheared (gantry tilt; the corpus has 14 degrees and more).  Below it the stack
direction itself is the affine's slice column, so the rounding of ImageOrientationPatient to a few digits
(1e-4 rad over 300 mm is 0.03 mm) never misplaces a slice and never causes a false refusal."""

LINE_TOLERANCE = 0.05
"""A slice may sit at most 5 % of a pixel (and at least 0.01 mm) sideways of the straight line through the
first and last slice positions."""

ORIENTATION_TOLERANCE = 1e-4
"""Two ImageOrientationPatient values are the same orientation when no component differs by more."""

POSITION_TOLERANCE = 1e-3
"""Two image positions (mm) closer than this are the same slice position."""


@dataclass
class StackPlan:
    """A validated stack: planes in slice order and the affine, ready for the pixel pass."""

    planes: list[Plane]
    affine: np.ndarray
    label: str
    warnings: list[str] = field(default_factory=list)

    @property
    def series_uid(self) -> str:
        return self.planes[0].series_uid

    @property
    def study_uid(self) -> str:
        return self.planes[0].study_uid

    @property
    def paths(self) -> tuple[str, ...]:
        """Files in slice order, each once."""
        return tuple(dict.fromkeys(plane.path for plane in self.planes))


def plan_stacks(planes: Iterable[Plane]) -> tuple[list[StackPlan], list[ImportRefused]]:
    """Turn every plane into a stack or a refusal (policy in the module docstring)."""
    stacks: list[StackPlan] = []
    refusals: list[ImportRefused] = []
    series = _group(planes, lambda p: (p.study_uid, p.series_uid))
    for members in series.values():
        for group in _split_series(members):
            try:
                stacks.extend(_plan_group(group))
            except ImportRefused as refusal:
                refusals.append(refusal)
    return stacks, refusals


def _group(planes: Iterable[Plane], key: Callable[[Plane], Hashable]) -> dict[Hashable, list[Plane]]:
    groups: dict[Hashable, list[Plane]] = defaultdict(list)
    for plane in planes:
        groups[key(plane)].append(plane)
    return groups


def _split_series(members: list[Plane]) -> list[list[Plane]]:
    """Split one series by image type, echo, stack, matrix and mosaic file; order groups by acquisition."""

    def key(plane: Plane) -> Hashable:
        mosaic = plane.path if plane.tile is not None else ""
        return plane.image_type, plane.echo, plane.stack_id, plane.layout.rows, plane.layout.columns, mosaic

    groups = list(_group(members, key).values())
    groups.sort(key=lambda group: min(_acquisition_order(p) for p in group))
    return groups


def _acquisition_order(plane: Plane) -> tuple[Any, ...]:
    """Sort key for "which image was acquired first" when no temporal position says so."""
    return (
        _none_last(plane.trigger_time),
        _none_last(plane.acquisition_seconds),
        _none_last(plane.acquisition_number),
        _none_last(plane.instance_number),
        plane.path,
        plane.frame or 0,
        plane.tile or 0,
    )


def _none_last(value: float | None) -> tuple[bool, float]:
    return (value is None, 0.0 if value is None else float(value))


def _plan_group(group: list[Plane]) -> list[StackPlan]:
    _check_single_orientation(group)
    temporal = _group(group, lambda p: p.temporal_position)
    ordered = sorted(temporal.items(), key=lambda item: _none_last(item[0]))  # type: ignore[arg-type]
    plans = []
    for position, members in ordered:
        label = _describe(members[0]) + ("" if position is None or len(ordered) == 1 else f", t={position:g}")
        plans.extend(_split_repeats(members, label))
    return plans


def _describe(plane: Plane) -> str:
    parts = ["\\".join(plane.image_type) or "image"]
    if plane.echo is not None:
        parts.append(f"echo {plane.echo:g}")
    if plane.stack_id:
        parts.append(f"stack {plane.stack_id}")
    if plane.tile is not None:
        parts.append(os.path.basename(plane.path))
    return ", ".join(parts)


def _normal(plane: Plane) -> np.ndarray:
    row = np.asarray(plane.orientation[:3], dtype=np.float64)
    column = np.asarray(plane.orientation[3:], dtype=np.float64)
    normal = np.cross(row / np.linalg.norm(row), column / np.linalg.norm(column))
    return normal / np.linalg.norm(normal)


def _refuse(reason: str, message: str, planes: list[Plane]) -> ImportRefused:
    paths = tuple(dict.fromkeys(p.path for p in planes))
    uid = planes[0].series_uid
    description = planes[0].series_description
    where = f"series {description!r} ({uid})" if description else f"series {uid or '(no SeriesInstanceUID)'}"
    return ImportRefused(reason, f"{where}: {message}", series_uid=uid, paths=paths)


def _check_single_orientation(group: list[Plane]) -> None:
    orientations = np.array([p.orientation for p in group])
    spread = np.abs(orientations - orientations[0]).max()
    if spread > ORIENTATION_TOLERANCE:
        distinct = len({tuple(np.round(o, 4)) for o in orientations})
        raise _refuse(
            "mixed_orientation",
            f"{len(group)} images in {distinct} different orientations (localizer or radial images), not one "
            "stack; import a series of parallel slices",
            group,
        )


def _split_repeats(members: list[Plane], label: str) -> list[StackPlan]:
    normal = _normal(members[0])
    heights = np.array([np.dot(normal, p.position) for p in members])
    order = np.argsort(heights, kind="stable")
    clusters: list[list[Plane]] = []
    last = None
    for index in order:
        plane = members[index]
        if (
            last is not None
            and np.linalg.norm(np.subtract(plane.position, last.position)) < POSITION_TOLERANCE
        ):
            clusters[-1].append(plane)
        else:
            clusters.append([plane])
        last = plane
    if len(clusters) == 1:
        if len(members) == 1:
            raise _refuse(
                "too_few_slices", f"a single image, not a volume (at least {MIN_SLICES} slices)", members
            )
        raise _refuse("not_a_volume", f"all {len(members)} images lie at one position: not a volume", members)
    sizes = {len(cluster) for cluster in clusters}
    if sizes == {1}:
        return [_make_plan([c[0] for c in clusters], label, [])]
    if len(sizes) == 1:
        repeats = sizes.pop()
        for cluster in clusters:
            cluster.sort(key=_acquisition_order)
        note = (
            f"{repeats} images at each of {len(clusters)} positions without temporal position tags: "
            f"split into {repeats} volumes by acquisition order "
            "(trigger time, acquisition time, acquisition number, instance number)"
        )
        return [
            _make_plan([cluster[t] for cluster in clusters], f"{label}, volume {t + 1} of {repeats}", [note])
            for t in range(repeats)
        ]
    duplicated = sum(1 for cluster in clusters if len(cluster) > 1)
    raise _refuse(
        "gap_or_uneven_spacing",
        f"{duplicated} of {len(clusters)} slice positions hold more than one image (duplicate slices); "
        "remove the duplicates or import the series' volumes separately",
        members,
    )


def _make_plan(planes: list[Plane], label: str, warnings: list[str]) -> StackPlan:
    """Check a sorted stack (count, spacing, tilt, pixel size) and build its affine."""
    if len(planes) < MIN_SLICES:
        raise _refuse("too_few_slices", f"{len(planes)} slices, a volume needs at least {MIN_SLICES}", planes)
    first = planes[0]
    spacings = np.array([p.pixel_spacing for p in planes])
    if np.abs(spacings - spacings[0]).max() > 1e-4 * spacings[0].max():
        raise _refuse("not_a_volume", "the pixel spacing changes from slice to slice", planes)
    row_spacing, column_spacing = first.pixel_spacing
    normal = _normal(first)
    positions = np.array([p.position for p in planes], dtype=np.float64)
    heights = positions @ normal
    increments = np.diff(heights)
    step = float(np.median(increments))
    tolerance = max(SPACING_TOLERANCE[0], SPACING_TOLERANCE[1] * step)
    if np.abs(increments - step).max() > tolerance:
        raise _refuse(
            "gap_or_uneven_spacing",
            f"slice increments range from {increments.min():.4g} to {increments.max():.4g} mm "
            f"(median {step:.4g}): a missing slice or uneven spacing, which the importer does not average "
            "or resample",
            planes,
        )
    step = (positions[-1] - positions[0]) / (len(planes) - 1)
    angle = float(np.degrees(np.arccos(np.clip(step @ normal / np.linalg.norm(step), -1.0, 1.0))))
    if angle > TILT_DEGREES:
        raise _refuse(
            "gantry_tilt",
            f"the slices are sheared by {angle:.2f} degrees from the slice normal (gantry tilt); "
            "the stack is not a rectangular grid",
            planes,
        )
    offsets = positions - positions[0] - np.outer(np.arange(len(planes)), step)
    sideways = float(np.linalg.norm(offsets - np.outer(offsets @ normal, normal), axis=1).max())
    if sideways > max(0.01, LINE_TOLERANCE * min(row_spacing, column_spacing)):
        raise _refuse(
            "gantry_tilt",
            f"the slice positions wander up to {sideways:.3g} mm sideways of a straight stack",
            planes,
        )
    row = np.asarray(first.orientation[:3], dtype=np.float64)
    column = np.asarray(first.orientation[3:], dtype=np.float64)
    affine = np.eye(4)
    affine[:3, 0] = row / np.linalg.norm(row) * column_spacing
    affine[:3, 1] = column / np.linalg.norm(column) * row_spacing
    affine[:3, 2] = step
    affine[:3, 3] = positions[0]
    return StackPlan(planes=planes, affine=affine, label=label, warnings=list(warnings))
