"""Turn the phase volumes of one examination into a :class:`Study` and its image file.

The arterial phase is the reference grid (the phase HCC is graded and boxed on).  Every other phase is
resampled onto it in world coordinates, never assumed to be aligned because the matrix sizes match: a
breath-hold shift between phases is a real difference in the affine.  Only what identifies nobody reaches
the project: the pseudonymous IDs the user gives, the geometry, and the technical tags of
:data:`hccdesk.imaging.dicom_tags.TECHNICAL_TAGS` (checked again here, so a reader that put more into a
volume's tags cannot leak it), with every free-text value and the series description cleaned of words that are
not technical (:func:`hccdesk.imaging.dicom_tags.deidentified_tags`, DICOM PS3.15 Annex E with the
Retain/Clean Descriptors Option).  File paths and series UIDs are not stored.

Phases that do not belong together are refused before anything is written: voxels that are not finite grey
levels, the same image given as two phases (the same files and time point, or identical voxels), and a phase
that covers less than :data:`MIN_PHASE_COVERAGE` of the reference grid (a phase shifted by a kilometre would
otherwise be resampled into an all-zero volume).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hccdesk.errors import ImportRefused, InputError
from hccdesk.imaging.descriptors import clean_descriptor
from hccdesk.imaging.dicom_tags import deidentified_tags
from hccdesk.imaging.volume import PHASES, Volume
from hccdesk.imaging.voxels import voxel_problem
from hccdesk.store.images import write_images
from hccdesk.store.records import PhaseInfo, Study

REFERENCE_PHASE = "arterial"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_GRID_TOLERANCE_MM = 1e-3

MIN_PHASE_COVERAGE = 0.5
"""Least fraction of the reference grid a phase must cover.  Breath-hold shifts between phases are
centimetres (the phantom's are at most 15 mm) and leave over 80 % covered; a phase that covers less than half
is another body region or another examination, and lesions outside it would be graded on zeros."""

_COVERAGE_SAMPLES = 24
"""Reference voxel centres sampled per axis to measure coverage (24^3 points: exact to about 4 %)."""


def check_id(value: str, what: str) -> str:
    """``value`` if it is a usable pseudonymous ID (it also names files), else InputError."""
    if not isinstance(value, str) or not _ID.match(value):
        raise InputError(
            f"{what} id {value!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-' "
            "(a pseudonym, never the patient's name or hospital number)"
        )
    return value


def _source_kind(volume: Volume) -> str:
    paths = volume.source.paths
    if any(p.endswith((".nii", ".nii.gz")) for p in paths):
        return "nifti"
    return "dicom" if paths else "array"


def _on_grid(volume: Volume, reference: Volume) -> bool:
    return volume.shape == reference.shape and np.allclose(
        volume.affine, reference.affine, atol=_GRID_TOLERANCE_MM
    )


def _stored(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``array`` in the source's integer ``dtype`` (rounded), or float32 for a floating-point source.

    Integer MR intensities keep their type after resampling: the rounding error (at most 0.5) is far below
    the noise, and the file is half the size of float32 and reads twice as fast.
    """
    if not np.issubdtype(dtype, np.integer):
        return array.astype(np.float32, copy=False)
    if array.dtype == dtype:
        return array
    limits = np.iinfo(dtype)
    return np.clip(np.rint(array), limits.min, limits.max).astype(dtype)


def _affine_tuple(affine: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(affine))


def build_study(images_path: Path, patient_id: str, study_id: str, volumes: Mapping[str, Volume]) -> Study:
    """Write ``images_path`` from ``volumes`` (phase name -> Volume) and return the Study record.

    Raises
    ------
    InputError
        Bad IDs, an unknown phase name, or no arterial phase.
    """
    check_id(patient_id, "patient")
    check_id(study_id, "study")
    unknown = sorted(set(volumes) - set(PHASES))
    if unknown:
        raise InputError(f"study {study_id}: unknown phase(s) {', '.join(unknown)}; use {', '.join(PHASES)}")
    if REFERENCE_PHASE not in volumes:
        raise InputError(
            f"study {study_id} has no arterial phase, which every study needs as its reference grid; "
            "name it with --phase arterial=PATH (or the manifest's phase column)"
        )
    reference = volumes[REFERENCE_PHASE]
    _check_phases(study_id, volumes, reference)
    arrays: dict[str, np.ndarray] = {}
    for name in (p for p in PHASES if p in volumes):
        volume = volumes[name]
        if _on_grid(volume, reference):
            arrays[name] = _stored(volume.array, volume.array.dtype)
        else:
            # Imported here: scipy is only needed at import time, not by readers of the project.
            from hccdesk.imaging.resample import resample_to_grid

            resampled = resample_to_grid(volume, reference.shape, reference.affine, order=1)
            arrays[name] = _stored(resampled, volume.array.dtype)
    write_images(images_path, study_id, reference.affine, arrays)
    phases = {
        name: PhaseInfo(
            phase=name,
            native_shape=volumes[name].shape,
            native_affine=_affine_tuple(volumes[name].affine),
            source_kind=_source_kind(volumes[name]),
            series_description=clean_descriptor(volumes[name].source.series_description),
            tags=deidentified_tags(volumes[name].source.tags),
        )
        for name in arrays
    }
    return Study(study_id, patient_id, reference.shape, _affine_tuple(reference.affine), phases)


def _check_phases(study_id: str, volumes: Mapping[str, Volume], reference: Volume) -> None:
    """Refuse phases that cannot be stored together (module docstring); nothing has been written yet."""
    seen: dict[tuple[Any, ...], str] = {}
    for name in (p for p in PHASES if p in volumes):
        volume = volumes[name]
        problem = voxel_problem(volume.array)
        if problem:
            raise ImportRefused("unsupported", f"study {study_id}, {name} phase: {problem}")
        for key in _identities(volume):
            if key in seen:
                how = "the same files" if key[0] == "source" else "identical voxels"
                raise ImportRefused(
                    "not_a_volume",
                    f"study {study_id}: the {seen[key]} and {name} phases are one image ({how}); "
                    "give each phase its own series",
                )
            seen[key] = name
        coverage = _coverage(volume, reference)
        if coverage < MIN_PHASE_COVERAGE:
            shift = float(np.linalg.norm(_centre(volume) - _centre(reference)))
            raise ImportRefused(
                "not_a_volume",
                f"study {study_id}: the {name} phase covers {coverage:.0%} of the {REFERENCE_PHASE} phase's "
                f"grid (at least {MIN_PHASE_COVERAGE:.0%} needed; their centres are {shift:.4g} mm apart): "
                "not the same examination or body region",
            )


def _identities(volume: Volume) -> list[tuple[Any, ...]]:
    """Keys under which two phases are the same image: their files and time point, and their voxels."""
    array = np.ascontiguousarray(volume.array)
    digest = hashlib.sha256(array.data.cast("B")).hexdigest()
    keys: list[tuple[Any, ...]] = [("voxels", array.shape, str(array.dtype), digest)]
    if volume.source.paths:
        tags = volume.source.tags
        when = tags.get("TemporalPositionIndex", tags.get("TemporalPositionIdentifier"))
        keys.append(("source", volume.source.paths, volume.source.series_uid, when))
    return keys


def _coverage(volume: Volume, reference: Volume) -> float:
    """Fraction of the reference grid's voxel centres (sampled) that lie inside ``volume``'s voxels."""
    axes = [np.linspace(0, n - 1, min(n, _COVERAGE_SAMPLES)) for n in reference.shape]
    kji = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    inside = volume.world_to_voxel(reference.voxel_to_world(kji))
    upper = np.asarray(volume.shape, dtype=np.float64) - 0.5
    return float(np.mean(np.all((inside >= -0.5) & (inside <= upper), axis=1)))


def _centre(volume: Volume) -> np.ndarray:
    return volume.voxel_to_world((np.asarray(volume.shape, dtype=np.float64) - 1) / 2)
