"""NIfTI reading and writing (nibabel), with the RAS <-> LPS conversion done here and nowhere else.

NIfTI stores voxels ``[i, j, k(, t)]`` with a RAS affine; HCC Desk keeps arrays ``[k, j, i]`` with an LPS
affine (see :mod:`hccdesk.imaging.volume`).  Both directions are the same two steps: transpose the first three
axes and left-multiply the affine by ``diag(-1, -1, 1, 1)``.  nibabel chooses the sform when its code is set
and the qform otherwise, which is what 3D Slicer and ITK-SNAP do too.

Reading is bounded by the file: the header is parsed first (without nibabel's silent repairs, which turn a
voxel size of 0 into 1 mm), its claims are checked (voxel type, dimensions, voxel size, how many bytes of
voxel data it announces), and only then are the voxel bytes read, in pieces, from what the file (or its gzip
stream) really holds.  A header that claims 2 GB in a 33 KB file is refused before anything of that size is
allocated.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from hccdesk.errors import ImportRefused
from hccdesk.imaging.dicom_series import MIN_SLICES
from hccdesk.imaging.files import open_regular
from hccdesk.imaging.messages import error_detail
from hccdesk.imaging.volume import LPS_TO_RAS, Volume, VolumeSource
from hccdesk.imaging.voxels import voxel_type_problem

NIFTI_SUFFIXES: tuple[str, ...] = (".nii", ".nii.gz")

MAX_NIFTI_BYTES = 4 * 2**30
"""Most voxel data one NIfTI file may announce: 4 GiB (30 time points of 512 x 512 x 120 int16 are 1.9)."""

_READ_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


def is_nifti_path(path: str | Path) -> bool:
    """True for file names ending in ``.nii`` or ``.nii.gz`` (case-insensitive)."""
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def read_nifti(path: str | Path) -> list[Volume]:
    """Read a 3D or 4D NIfTI file (gzipped or not) as one volume per time point.

    Intensity scaling (``scl_slope``/``scl_inter``) is applied by nibabel, so the arrays hold real values like
    a DICOM volume after its modality LUT; big-endian data are converted to the machine's byte order.
    Trailing singleton dimensions are dropped.  As for DICOM, fewer than 3 slices (or a 2D file) is refused,
    and so are: a file with more than one non-singleton dimension beyond the fourth, voxels that are not grey
    levels (RGB, complex), a voxel size of 0 where the geometry depends on it (no sform), a degenerate affine,
    and a header that announces more voxel data than the file holds.  The voxel values themselves are checked
    by the scanner (:func:`hccdesk.imaging.voxels.voxel_problem`), like every volume's.

    Raises
    ------
    ImportRefused
        ``unsupported`` when the file cannot be read or has an unusable header, ``too_few_slices``.
    """
    path = Path(path)
    try:
        image = _load(path)
        data = np.asanyarray(image.dataobj)
    except ImportRefused:
        raise
    except Exception as error:  # nibabel raises many types for damaged files; each means "cannot read".
        raise _refused(path, f"not a readable NIfTI file ({error_detail(error)})") from error
    while data.ndim > 4 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim > 4:
        raise _refused(path, f"NIfTI data of shape {data.shape} is not a 3D volume or a 4D series of volumes")
    slices = data.shape[2] if data.ndim > 2 else 1
    if slices < MIN_SLICES:
        message = f"{path}: {slices} slice(s), a volume needs at least {MIN_SLICES}"
        raise ImportRefused("too_few_slices", message, paths=(str(path),))
    if not data.dtype.isnative:
        data = data.astype(data.dtype.newbyteorder("="))
    affine_lps = LPS_TO_RAS @ np.asarray(image.affine, dtype=np.float64)
    if not np.isfinite(affine_lps).all() or abs(np.linalg.det(affine_lps[:3, :3])) < 1e-9:
        raise _refused(path, "the NIfTI affine is degenerate (zero voxel size or collinear axes)")
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


def _load(path: Path) -> Any:
    """The nibabel image of ``path``, built from bytes read only after the header's claims were checked."""
    import nibabel as nib

    with open_regular(path) as raw:
        magic = raw.read(2)
        raw.seek(0)
        stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if magic == _GZIP_MAGIC else raw  # type: ignore[assignment]
        head = _read_up_to(stream, 540)
        image_class, header = _parse_header(head, nib)
        _check_header(path, header)
        needed = _claimed_bytes(path, header)
        if magic != _GZIP_MAGIC and needed > os.fstat(raw.fileno()).st_size:
            raise _truncated(path, needed, os.fstat(raw.fileno()).st_size)
        content = bytearray(head)
        if needed > len(content):
            content += _read_up_to(stream, needed - len(content))
        if len(content) < needed:
            raise _truncated(path, needed, len(content))
    with _quiet_nibabel():
        return image_class.from_bytes(bytes(content))


def _parse_header(head: bytes | bytearray, nib: Any) -> tuple[Any, Any]:
    """(image class, unchecked header) for NIfTI-1 (348-byte header) or NIfTI-2 (540), either byte order."""
    if len(head) >= 4:
        for order in ("little", "big"):
            size = int.from_bytes(head[:4], order)
            if size == 348:
                return nib.Nifti1Image, nib.Nifti1Header.from_fileobj(io.BytesIO(head), check=False)
            if size == 540:
                return nib.Nifti2Image, nib.Nifti2Header.from_fileobj(io.BytesIO(head), check=False)
    raise ValueError("no NIfTI-1 or NIfTI-2 header (sizeof_hdr is neither 348 nor 540)")


def _check_header(path: Path, header: Any) -> None:
    """Refuse voxel types that are not grey levels and a voxel size that leaves the geometry undefined."""
    problem = voxel_type_problem(header.get_data_dtype())
    if problem:
        raise _refused(path, problem)
    shape = header.get_data_shape()
    if any(n < 0 for n in shape):
        raise _refused(path, f"the header gives negative dimensions {shape}")
    if int(header["sform_code"]) == 0:
        zooms = np.asarray(header["pixdim"][1:4], dtype=np.float64)
        if not np.all(np.isfinite(zooms)) or np.any(zooms == 0):
            raise _refused(
                path,
                f"degenerate geometry: voxel size (pixdim) {', '.join(f'{v:g}' for v in zooms)} mm "
                "and no sform to place the voxels otherwise",
            )


def _claimed_bytes(path: Path, header: Any) -> int:
    """Bytes from the start of the file to the end of the voxel data the header announces."""
    voxels = math.prod(int(n) for n in header.get_data_shape())
    data_bytes = voxels * header.get_data_dtype().itemsize
    if data_bytes > MAX_NIFTI_BYTES:
        raise _refused(
            path,
            f"the header announces {data_bytes / 2**30:.3g} GiB of voxel data, more than the "
            f"{MAX_NIFTI_BYTES / 2**30:g} GiB one file may hold",
        )
    return max(int(header.get_data_offset()), header.sizeof_hdr + 4) + data_bytes


def _read_up_to(stream: BinaryIO, count: int) -> bytearray:
    """At most ``count`` bytes of ``stream``, read in pieces: memory grows with the data, not the claim."""
    content = bytearray()
    while len(content) < count:
        piece = stream.read(min(_READ_CHUNK, count - len(content)))
        if not piece:
            break
        content += piece
    return content


def _truncated(path: Path, needed: int, available: int) -> ImportRefused:
    return _refused(
        path,
        f"truncated: the header announces {needed} bytes (header and voxels), the file holds {available}",
    )


@contextlib.contextmanager
def _quiet_nibabel() -> Iterator[None]:
    """Silence nibabel's header-repair log lines (printed on stderr); what matters was checked above."""
    logger = logging.getLogger("nibabel.global")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _refused(path: Path, message: str) -> ImportRefused:
    return ImportRefused("unsupported", f"{path}: {message}", paths=(str(path),))


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
