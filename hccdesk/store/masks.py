"""Lesion boxes as NIfTI label maps that ITK-SNAP and 3D Slicer open next to the image.

Per study, ``<study>_arterial.nii.gz`` (the reference volume) and ``<study>_lesions.nii.gz`` (a label map on
the same grid: the voxels of the study's k-th lesion, in lesion-id order, hold label k), written through
:func:`hccdesk.imaging.nifti.write_nifti`, which stores the RAS affine as both sform and qform.  Because the
two files share the grid, a viewer shows the boxes exactly where the app does.  Where boxes overlap, the
later lesion's label wins.  ``lesion_labels.csv`` maps each label back to its lesion and grade.

An export is all-or-nothing: every file is written into a hidden staging folder inside OUTDIR and moved into
place only when all of them are written, so a failure (a full disk, an unreadable study image, Ctrl-C)
leaves OUTDIR as it was.  Files of an earlier export are not overwritten unless asked (``overwrite``), and
an OUTDIR inside a project folder is refused (:mod:`hccdesk.store.export_target`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hccdesk.errors import HccdeskError, InputError, ProjectError
from hccdesk.imaging.nifti import write_nifti
from hccdesk.imaging.volume import Volume, VolumeSource
from hccdesk.store.csvtable import write_table
from hccdesk.store.export_target import refuse_inside_project
from hccdesk.store.fsutil import fsync_dir, write_text_atomically
from hccdesk.store.records import Lesion, Study
from hccdesk.store.studies import REFERENCE_PHASE

if TYPE_CHECKING:
    from hccdesk.store.project import Project

LABELS_FILE = "lesion_labels.csv"
LABEL_COLUMNS = ("study_id", "label", "lesion_id", "grade", "label_name")


def label_dtype(count: int) -> np.dtype:
    """The narrowest unsigned integer type that holds labels 0..``count``."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if count <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise InputError(f"{count} lesions in one study are more than a NIfTI label map can number")


def label_map(study: Study, lesions: list[Lesion]) -> np.ndarray:
    """A ``[k, j, i]`` array on ``study``'s grid with ``lesions[n]``'s box painted with label ``n + 1``."""
    labels = np.zeros(study.shape, dtype=label_dtype(len(lesions)))
    for number, lesion in enumerate(lesions, start=1):
        labels[lesion.box.slices] = number
    return labels


def _file_names(studies: list[Study]) -> list[str]:
    names = [f"{s.id}_{suffix}.nii.gz" for s in studies for suffix in (REFERENCE_PHASE, "lesions")]
    return [*names, LABELS_FILE]


def export_masks(project: Project, outdir: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write each study's reference volume and lesion label map into ``outdir``; returns the files written.

    Raises
    ------
    InputError
        ``outdir`` lies in a project folder, is a file, holds files of an earlier export (without
        ``overwrite``), or cannot be written; nothing was written.
    ProjectError
        A study's image file cannot be read (the message names it); nothing was written.
    """
    outdir = Path(outdir)
    refuse_inside_project(outdir)
    studies = sorted(project.studies.values(), key=lambda s: s.id)
    names = _file_names(studies)
    if outdir.exists() and not outdir.is_dir():
        raise InputError(f"{outdir} is a file; choose a folder for the masks")
    existing = [name for name in names if (outdir / name).exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more file(s) of this export" if len(existing) > 1 else ""
        raise InputError(
            f"{outdir} already holds {existing[0]}{more}; choose another folder, or overwrite them (--force)"
        )
    created = not outdir.exists()
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".hccdesk-masks-", dir=outdir))
    except OSError as error:
        raise InputError(f"cannot write the masks to {outdir}: {error.strerror or error}") from error
    try:
        _write_all(project, studies, staging)
        for name in names:
            os.replace(staging / name, outdir / name)
        fsync_dir(outdir)
    except OSError as error:
        raise InputError(f"cannot write the masks to {outdir}: {error.strerror or error}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(outdir.iterdir()):
            outdir.rmdir()  # a failed export into a folder it created leaves no trace
    return [outdir / name for name in names]


def _reference_volume(project: Project, study: Study) -> np.ndarray:
    """The study's arterial volume in its stored dtype; ProjectError naming the file it cannot read."""
    try:
        with project.images(study.id) as images:
            return images.volume(REFERENCE_PHASE).astype(images.dtype(REFERENCE_PHASE), copy=False)
    except HccdeskError:
        raise
    except (OSError, KeyError, ValueError) as error:
        raise ProjectError(
            f"cannot read the images of study {study.id} ({project.images_path(study.id)}): {error}"
        ) from error


def _write_all(project: Project, studies: list[Study], folder: Path) -> None:
    rows = []
    for study in studies:
        lesions = sorted((x for x in project.lesions.values() if x.study_id == study.id), key=lambda x: x.id)
        source = VolumeSource(series_description=f"{study.id} {REFERENCE_PHASE}")
        reference = Volume(_reference_volume(project, study), study.affine_array, REFERENCE_PHASE, source)
        write_nifti(reference, folder / f"{study.id}_{REFERENCE_PHASE}.nii.gz")
        labels = Volume(
            label_map(study, lesions),
            study.affine_array,
            source=VolumeSource(series_description=f"{study.id} lesion boxes"),
        )
        write_nifti(labels, folder / f"{study.id}_lesions.nii.gz")
        rows += [
            [study.id, number, lesion.id, "" if lesion.grade is None else lesion.grade, lesion.label or ""]
            for number, lesion in enumerate(lesions, start=1)
        ]
    write_text_atomically(folder / LABELS_FILE, write_table(LABEL_COLUMNS, rows))
