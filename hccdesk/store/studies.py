"""Turn the phase volumes of one examination into a :class:`Study` and its image file.

The arterial phase is the reference grid (the phase HCC is graded and boxed on).  Every other phase is
resampled onto it in world coordinates, never assumed to be aligned because the matrix sizes match: a
breath-hold shift between phases is a real difference in the affine.  Only what identifies nobody reaches
the project: the pseudonymous IDs the user gives, the geometry, and the technical tags of
:data:`hccdesk.imaging.dicom_tags.TECHNICAL_TAGS` (checked again here, so a reader that put more into a
volume's tags cannot leak it).  File paths and series UIDs are not stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hccdesk.errors import InputError
from hccdesk.imaging.dicom_tags import TECHNICAL_TAGS
from hccdesk.imaging.volume import PHASES, Volume
from hccdesk.store.images import write_images
from hccdesk.store.records import PhaseInfo, Study

REFERENCE_PHASE = "arterial"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_GRID_TOLERANCE_MM = 1e-3


def check_id(value: str, what: str) -> str:
    """``value`` if it is a usable pseudonymous ID (it also names files), else InputError."""
    if not isinstance(value, str) or not _ID.match(value):
        raise InputError(
            f"{what} id {value!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-' "
            "(a pseudonym, never the patient's name or hospital number)"
        )
    return value


def _technical(tags: Mapping[str, Any]) -> dict[str, Any]:
    allowed = set(TECHNICAL_TAGS)
    return {key: value for key, value in tags.items() if key in allowed}


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
            series_description=volumes[name].source.series_description,
            tags=_technical(volumes[name].source.tags),
        )
        for name in arrays
    }
    return Study(study_id, patient_id, reference.shape, _affine_tuple(reference.affine), phases)
