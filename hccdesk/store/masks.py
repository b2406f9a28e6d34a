"""Lesion boxes as NIfTI label maps that ITK-SNAP and 3D Slicer open next to the image.

Per study, ``<study>_arterial.nii.gz`` (the reference volume) and ``<study>_lesions.nii.gz`` (a label map on
the same grid: the voxels of the study's k-th lesion, in lesion-id order, hold label k), written through
:func:`hccdesk.imaging.nifti.write_nifti`, which stores the RAS affine as both sform and qform.  Because the
two files share the grid, a viewer shows the boxes exactly where the app does.  Where boxes overlap, the
later lesion's label wins.  ``lesion_labels.csv`` maps each label back to its lesion and grade.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hccdesk.errors import InputError
from hccdesk.imaging.nifti import write_nifti
from hccdesk.imaging.volume import Volume, VolumeSource
from hccdesk.store.fsutil import write_text_atomically
from hccdesk.store.records import Lesion, Study
from hccdesk.store.studies import REFERENCE_PHASE

if TYPE_CHECKING:
    from hccdesk.store.project import Project

LABELS_FILE = "lesion_labels.csv"


def label_map(study: Study, lesions: list[Lesion]) -> np.ndarray:
    """A ``[k, j, i]`` array on ``study``'s grid with ``lesions[n]``'s box painted with label ``n + 1``."""
    dtype = np.uint8 if len(lesions) < 256 else np.uint16
    labels = np.zeros(study.shape, dtype=dtype)
    for number, lesion in enumerate(lesions, start=1):
        labels[lesion.box.slices] = number
    return labels


def export_masks(project: Project, outdir: str | Path) -> list[Path]:
    """Write each study's reference volume and lesion label map into ``outdir``; returns the files written."""
    try:
        return _export(project, Path(outdir))
    except OSError as error:
        raise InputError(f"cannot write the masks to {outdir}: {error.strerror or error}") from error


def _export(project: Project, outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    table = io.StringIO(newline="")
    rows = csv.writer(table, lineterminator="\n")
    rows.writerow(["study_id", "label", "lesion_id", "grade", "label_name"])
    for study in sorted(project.studies.values(), key=lambda s: s.id):
        lesions = sorted((x for x in project.lesions.values() if x.study_id == study.id), key=lambda x: x.id)
        with project.images(study.id) as images:
            reference = images.volume(REFERENCE_PHASE).astype(images.dtype(REFERENCE_PHASE), copy=False)
        source = VolumeSource(series_description=f"{study.id} {REFERENCE_PHASE}")
        written.append(
            write_nifti(
                Volume(reference, study.affine_array, REFERENCE_PHASE, source),
                outdir / f"{study.id}_{REFERENCE_PHASE}.nii.gz",
            )
        )
        labels = Volume(
            label_map(study, lesions),
            study.affine_array,
            source=VolumeSource(series_description=f"{study.id} lesion boxes"),
        )
        written.append(write_nifti(labels, outdir / f"{study.id}_lesions.nii.gz"))
        for number, lesion in enumerate(lesions, start=1):
            grade = "" if lesion.grade is None else lesion.grade
            rows.writerow([study.id, number, lesion.id, grade, lesion.label or ""])
    write_text_atomically(outdir / LABELS_FILE, table.getvalue())
    written.append(outdir / LABELS_FILE)
    return written
