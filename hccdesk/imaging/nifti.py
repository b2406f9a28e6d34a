"""NIfTI reading and writing (nibabel), with the RAS <-> LPS conversion done here and nowhere else.

NIfTI stores voxels ``[i, j, k(, t)]`` with a RAS affine; HCC Desk keeps arrays ``[k, j, i]`` with an LPS
affine (see :mod:`hccdesk.imaging.volume`).  Both directions are the same two steps: transpose the first three
axes and left-multiply the affine by ``diag(-1, -1, 1, 1)``.  nibabel chooses the sform when its code is set
and the qform otherwise, which is what 3D Slicer and ITK-SNAP do too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hccdesk.errors import ImportRefused
from hccdesk.imaging.dicom_series import MIN_SLICES
from hccdesk.imaging.volume import LPS_TO_RAS, Volume, VolumeSource

NIFTI_SUFFIXES: tuple[str, ...] = (".nii", ".nii.gz")


def is_nifti_path(path: str | Path) -> bool:
    """True for file names ending in ``.nii`` or ``.nii.gz`` (case-insensitive)."""
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def read_nifti(path: str | Path) -> list[Volume]:
    """Read a 3D or 4D NIfTI file (gzipped or not) as one volume per time point.

    Intensity scaling (``scl_slope``/``scl_inter``) is applied by nibabel, so the arrays hold real values like
    a DICOM volume after its modality LUT; big-endian data are converted to the machine's byte order.
    Trailing singleton dimensions are dropped.  As for DICOM, fewer than 3 slices (or a 2D file) is refused,
    and so is a file with more than one non-singleton dimension beyond the fourth or a degenerate affine.

    Raises
    ------
    ImportRefused
        ``unsupported`` when the file cannot be read or has an unusable shape.
    """
    import nibabel as nib

    path = Path(path)
    try:
        image = nib.load(str(path))
        data = np.asanyarray(image.dataobj)
    except Exception as error:  # nibabel raises many types for damaged files; each means "cannot read".
        message = f"{path}: not a readable NIfTI file ({error})"
        raise ImportRefused("unsupported", message, paths=(str(path),)) from error
    while data.ndim > 4 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim > 4:
        raise ImportRefused(
            "unsupported",
            f"{path}: NIfTI data of shape {data.shape} is not a 3D volume or a 4D series of volumes",
            paths=(str(path),),
        )
    slices = data.shape[2] if data.ndim > 2 else 1
    if slices < MIN_SLICES:
        message = f"{path}: {slices} slice(s), a volume needs at least {MIN_SLICES}"
        raise ImportRefused("too_few_slices", message, paths=(str(path),))
    if not data.dtype.isnative:
        data = data.astype(data.dtype.newbyteorder("="))
    affine_lps = LPS_TO_RAS @ np.asarray(image.affine, dtype=np.float64)
    if not np.isfinite(affine_lps).all() or abs(np.linalg.det(affine_lps[:3, :3])) < 1e-9:
        message = f"{path}: the NIfTI affine is degenerate (zero voxel size or collinear axes)"
        raise ImportRefused("unsupported", message, paths=(str(path),))
    warnings = []
    header = image.header
    if int(header.get("sform_code", 0)) == 0 and int(header.get("qform_code", 0)) == 0:
        warnings.append("the file has no qform or sform: only its voxel size is known, not its orientation")
    frames = [data] if data.ndim == 3 else [data[..., t] for t in range(data.shape[3])]
    description = _description(header)
    volumes = []
    for index, frame in enumerate(frames):
        source = VolumeSource(
            paths=(str(path),),
            series_uid="",
            series_description=description,
            tags={} if len(frames) == 1 else {"TemporalPositionIndex": index + 1},
        )
        volumes.append(
            Volume(
                array=np.ascontiguousarray(np.transpose(frame, (2, 1, 0))),
                affine=affine_lps,
                source=source,
                warnings=list(warnings),
            )
        )
    return volumes


def write_nifti(volume: Volume, path: str | Path) -> Path:
    """Write ``volume`` as NIfTI-1 (``.nii.gz`` compresses) with its RAS affine as both sform and qform.

    Boolean arrays are stored as uint8 (NIfTI has no boolean type).  Returns the path written.
    """
    import nibabel as nib

    path = Path(path)
    data = volume.array.astype(np.uint8) if volume.array.dtype == bool else volume.array
    image = nib.Nifti1Image(np.transpose(data, (2, 1, 0)), volume.affine_ras)
    image.header.set_xyzt_units(xyz="mm")
    image.set_sform(volume.affine_ras, code=1)
    image.set_qform(volume.affine_ras, code=1)
    if volume.source.series_description:
        image.header["descrip"] = volume.source.series_description.encode("ascii", "replace")[:79]
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, str(path))
    return path


def _description(header: object) -> str:
    """The header's ``descrip`` field as text (empty when absent)."""
    try:
        raw = header["descrip"]  # type: ignore[index]
    except (KeyError, TypeError):
        return ""
    value = raw.item() if hasattr(raw, "item") else raw
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return str(value).split("\x00")[0].strip()
