"""``scan_paths``: everything the importer finds under some files and folders, as volumes and reasons.

One entry point for the CLI (``inspect``, ``convert``), the store's study import and the GUI.  Folders
are walked recursively; ``.nii``/``.nii.gz`` files go to the NIfTI reader, everything else is tried as DICOM
in two passes (headers of every file first, then pixels only of the stacks that passed every check).  A bad
file or series never stops the scan: it is listed in ``skipped`` (per file) or ``rejected`` (per series)
with its reason, so one stray localizer does not cost the user the other three phases.  A second copy of an
image (same SOPInstanceUID, e.g. the same series exported twice) is skipped, not read as a duplicate slice.

Two admission checks are made here for every reader: only regular files are opened (pipes, sockets and
devices are skipped by type, see :mod:`hccdesk.imaging.files`), and every volume's voxels pass
:func:`hccdesk.imaging.voxels.voxel_problem` (grey levels, finite, not absurdly large) or its series is
refused.  Every skip and refusal text is one line (:func:`hccdesk.imaging.messages.one_line`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hccdesk.errors import ImportRefused, InputError
from hccdesk.imaging.dicom_headers import read_planes
from hccdesk.imaging.dicom_pixels import read_stack
from hccdesk.imaging.dicom_planes import NotAnImage, Plane
from hccdesk.imaging.dicom_series import StackPlan, plan_stacks
from hccdesk.imaging.dicom_tags import read_technical_tags
from hccdesk.imaging.files import not_regular_reason
from hccdesk.imaging.messages import one_line
from hccdesk.imaging.nifti import is_nifti_path, read_nifti
from hccdesk.imaging.phases import identify_phases
from hccdesk.imaging.volume import Volume, VolumeSource
from hccdesk.imaging.voxels import voxel_problem


@dataclass(frozen=True)
class Rejected:
    """A series (or NIfTI file) that cannot become a trustworthy volume; ``reason`` as in ImportRefused."""

    series_uid: str
    paths: tuple[str, ...]
    reason: str
    message: str


@dataclass(frozen=True)
class Skipped:
    """A file that is not an image slice at all (not DICOM, a report, a DICOMDIR, truncated, ...)."""

    path: str
    reason: str


@dataclass
class ScanResult:
    """What :func:`scan_paths` found."""

    volumes: list[Volume] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``hccdesk inspect --json`` document (issue 2, item 5)."""
        return {
            "volumes": [volume_summary(volume) for volume in self.volumes],
            "rejected": [
                {"series_uid": r.series_uid, "paths": list(r.paths), "reason": r.reason, "message": r.message}
                for r in self.rejected
            ],
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
        }


def volume_summary(volume: Volume) -> dict[str, Any]:
    """JSON description of one volume (no pixel data, no identity)."""
    return {
        "id": volume.id,
        "paths": list(volume.source.paths),
        "series_uid": volume.source.series_uid,
        "series_description": volume.source.series_description,
        "phase": volume.phase,
        "shape": list(volume.shape),
        "spacing": [round(float(v), 6) for v in volume.spacing],
        "affine_lps": [[round(float(v), 6) for v in row] for row in volume.affine],
        "dtype": str(volume.array.dtype),
        "warnings": list(volume.warnings),
    }


def scan_paths(paths: Sequence[str | Path]) -> ScanResult:
    """Find every volume in ``paths`` (files or folders, searched recursively; DICOM and NIfTI).

    Volumes get stable short ids (the same files give the same ids on every run) and a phase from
    :func:`hccdesk.imaging.phases.identify_phases`, computed per study.

    Raises
    ------
    InputError
        When a given path does not exist.
    """
    unreadable: list[Skipped] = []
    files = _expand(paths, unreadable)
    with warnings.catch_warnings():
        # pydicom warns about every non-conformant value (common in real files), numpy and nibabel about
        # overflowing scale factors; what matters to the user is reported as a skip, a refusal (the voxel
        # check sees every overflow) or a volume warning instead of console noise.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        result = _scan(files)
    result.skipped[:0] = unreadable
    return result


def _scan(files: list[str]) -> ScanResult:
    result = ScanResult()
    planes: list[Plane] = []
    instances: dict[str, str] = {}
    groups: dict[str, list[Volume]] = {}
    for path in files:
        if is_nifti_path(path):
            try:
                volumes = read_nifti(path)
            except ImportRefused as refusal:
                result.rejected.append(_rejected(refusal))
                continue
            admitted = _admitted(volumes, result, f"{path}: ")
            groups.setdefault("", []).extend(_with_nifti_ids(admitted, path))
            continue
        try:
            found = read_planes(path)
        except NotAnImage as reason:
            result.skipped.append(_skipped(path, str(reason)))
            continue
        instance = found[0].sop_instance_uid
        if instance and instance in instances:
            result.skipped.append(
                _skipped(path, f"another copy of the image in {instances[instance]} (same SOP UID)")
            )
            continue
        instances[instance] = path
        planes.extend(found)
    stacks, refusals = plan_stacks(planes)
    tags_of = functools.lru_cache(maxsize=None)(read_technical_tags)
    result.rejected.extend(_rejected(refusal) for refusal in refusals)
    for stack in stacks:
        try:
            array = read_stack(stack)
        except ImportRefused as refusal:
            result.rejected.append(_rejected(refusal))
            continue
        volume = _volume(stack, array, tags_of(stack.planes[0].path))
        where = f"{_series_name(stack)}: after the modality rescale (RescaleSlope/RescaleIntercept), "
        groups.setdefault(stack.study_uid, []).extend(_admitted([volume], result, where))
    seen: set[str] = set()
    for volumes in groups.values():
        for volume, phase in zip(volumes, identify_phases(volumes), strict=True):
            volume.phase = phase
            volume.id = _unique(volume.id, seen)
            result.volumes.append(volume)
    return result


def _expand(paths: Sequence[str | Path], unreadable: list[Skipped]) -> list[str]:
    """Every file under ``paths``, each once, folders walked in sorted order; unreadable folders reported."""

    def report(error: OSError) -> None:
        unreadable.append(_skipped(str(error.filename), f"folder cannot be read ({error.strerror})"))

    files: dict[str, None] = {}

    def admit(path: str) -> None:
        reason = not_regular_reason(path)
        if reason is None:
            files[path] = None
        else:
            unreadable.append(_skipped(path, reason))

    for given in paths:
        path = Path(given)
        if path.is_dir():
            for folder, subfolders, names in os.walk(path, onerror=report):
                subfolders.sort()
                for name in sorted(names):
                    admit(os.path.join(folder, name))
        elif os.path.lexists(path):
            admit(str(path))
        else:
            raise InputError(one_line(f"{given}: no such file or folder"))
    return list(files)


def _skipped(path: str, reason: str) -> Skipped:
    return Skipped(path, one_line(reason))


def _admitted(volumes: list[Volume], result: ScanResult, where: str) -> list[Volume]:
    """``volumes`` if every one's voxels are grey levels that may be stored; else none, with the refusal."""
    for volume in volumes:
        problem = voxel_problem(volume.array)
        if problem:
            paths = volume.source.paths
            result.rejected.append(
                Rejected(volume.source.series_uid, paths, "unsupported", one_line(where + problem))
            )
            return []
    return volumes


def _series_name(stack: StackPlan) -> str:
    description = stack.planes[0].series_description
    return f"series {description!r} ({stack.series_uid})" if description else f"series {stack.series_uid}"


def _rejected(refusal: ImportRefused) -> Rejected:
    return Rejected(refusal.series_uid, refusal.paths, refusal.reason, one_line(str(refusal)))


def _volume(stack: StackPlan, array: Any, file_tags: dict[str, Any]) -> Volume:
    """The volume of a decoded stack; tags from its first file, with the stack's own image type and timing."""
    first = stack.planes[0]
    tags = dict(file_tags)
    tags["ImageType"] = list(first.image_type)
    earliest = min(stack.planes, key=lambda p: (p.acquisition_seconds is None, p.acquisition_seconds or 0.0))
    if earliest.acquisition_time:
        tags["AcquisitionTime"] = earliest.acquisition_time
    if first.temporal_position is not None:
        key = "TemporalPositionIndex" if first.frame is not None else "TemporalPositionIdentifier"
        tags[key] = first.temporal_position
    warnings = list(stack.warnings)
    if first.layout.photometric == "MONOCHROME1":
        warnings.append(
            "MONOCHROME1: low values are displayed bright by the scanner; values are kept as stored"
        )
    identity = first.sop_instance_uid or os.path.basename(first.path)
    digest = hashlib.sha1(f"{stack.series_uid}|{stack.label}|{identity}".encode()).hexdigest()
    series_number = tags.get("SeriesNumber")
    prefix = f"s{series_number}" if isinstance(series_number, int) else "dicom"
    return Volume(
        array=array,
        affine=stack.affine,
        source=VolumeSource(
            paths=stack.paths,
            series_uid=stack.series_uid,
            series_description=first.series_description,
            tags=tags,
        ),
        id=f"{prefix}-{digest[:6]}",
        warnings=warnings,
    )


def _with_nifti_ids(volumes: list[Volume], path: str) -> list[Volume]:
    stem = re.sub(r"\.nii(\.gz)?$", "", os.path.basename(path), flags=re.IGNORECASE)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "nifti"
    for index, volume in enumerate(volumes):
        volume.id = stem if len(volumes) == 1 else f"{stem}-t{index}"
    return volumes


def _unique(candidate: str, seen: set[str]) -> str:
    name, number = candidate, 2
    while name in seen:
        name, number = f"{candidate}-{number}", number + 1
    seen.add(name)
    return name
