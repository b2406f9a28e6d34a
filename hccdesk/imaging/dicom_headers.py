"""The header pass of the DICOM importer: one :class:`Plane` per 2D image, no pixel data read.

Every file is parsed with ``stop_before_pixels``, so a folder of hundreds of slices is sorted, grouped and
checked before a single pixel is decoded.  A *plane* is one positioned 2D image: a classic single-frame file,
one frame of an Enhanced (multi-frame) file (geometry from its functional groups), or one tile of a Siemens
MOSAIC (geometry from the CSA image header; :mod:`~hccdesk.imaging.enhanced` and
:mod:`~hccdesk.imaging.mosaic` read those two).  Files that cannot become planes (not DICOM, SR, SEG,
presentation states, DICOMDIRs, objects without pixels or without patient-space geometry, colour images,
truncated pixel data) are reported as :class:`NotAnImage` with the reason, never as a traceback.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from hccdesk.imaging.dicom_planes import NotAnImage, PixelLayout, Plane, geometry, rescale
from hccdesk.imaging.dicom_values import as_float, as_int, as_list, first
from hccdesk.imaging.enhanced import enhanced_planes
from hccdesk.imaging.files import open_regular
from hccdesk.imaging.messages import error_detail
from hccdesk.imaging.mosaic import mosaic_planes

NATIVE_LITTLE_ENDIAN = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")
"""Implicit and Explicit VR Little Endian: pixel data that can be read straight from the file."""

DEFLATED = "1.2.840.10008.1.2.1.99"
"""Deflated Explicit VR Little Endian: the whole dataset is zlib-compressed."""

UNDEFINED_LENGTH = 0xFFFFFFFF

MAX_PLANE_PIXELS = 1 << 26
"""Largest image matrix accepted (64 Mpx; a mammogram has about 20, an MR slice at most 1)."""

MAX_COMPRESSION_RATIO = 1000
"""Compressed pixel data may decode to at most this many times its size in the file (or
:data:`SMALL_DECODE_BYTES`): a JPEG header that claims 65535 x 65535 pixels in a 2 KB file is refused before
the decoder allocates 8 GB for it."""

SMALL_DECODE_BYTES = 64 * 2**20
"""Decoded sizes up to this are accepted whatever the ratio (blank, padding frames compress enormously)."""

_PIXEL_TAGS = {(0x7FE0, 0x0010), (0x7FE0, 0x0008), (0x7FE0, 0x0009)}
_PIXEL_TAG_NUMBERS = {group << 16 | element for group, element in _PIXEL_TAGS}

_NON_IMAGE_SOP_PREFIXES: dict[str, str] = {
    "1.2.840.10008.1.3.10": "a DICOMDIR (media directory)",
    "1.2.840.10008.5.1.4.1.1.88.": "a structured report",
    "1.2.840.10008.5.1.4.1.1.11.": "a presentation state",
    "1.2.840.10008.5.1.4.1.1.66": "a segmentation, registration or raw-data object",
    "1.2.840.10008.5.1.4.1.1.481.": "a radiotherapy object",
    "1.2.840.10008.5.1.4.1.1.104.": "an encapsulated document",
    "1.2.840.10008.5.1.4.1.1.9.": "a waveform",
}
"""SOP classes that are never grey-level image slices, even when they carry pixel data (e.g. DICOM-SEG)."""


def read_planes(path: str | Path) -> list[Plane]:
    """Parse one file's header into planes.

    Raises
    ------
    NotAnImage
        With the reason the file is skipped.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.filereader import read_partial

    path = str(path)
    try:
        with open_regular(path) as handle:
            try:
                dataset = read_partial(handle, stop_when=_HeaderEnd())
            except InvalidDicomError:
                handle.seek(0)
                if handle.read(2) not in (b"\x08\x00", b"\x02\x00"):
                    raise NotAnImage("not a DICOM file") from None
                handle.seek(0)
                dataset = read_partial(handle, stop_when=_HeaderEnd(), force=True)
            if str(_meta(dataset, "TransferSyntaxUID")) == DEFLATED:
                # the dataset is zlib-compressed, so file offsets mean nothing: read it whole (rare, small)
                handle.seek(0)
                dataset = pydicom.dcmread(handle, force=True)
                size = os.fstat(handle.fileno()).st_size
                pixel_header = (0, UNDEFINED_LENGTH, size) if "PixelData" in dataset else None
            else:
                pixel_header = _pixel_element_header(handle, dataset)
        # pydicom converts values lazily, so a damaged element only fails here
        return _planes_of(path, dataset, pixel_header)
    except NotAnImage:
        raise
    except OSError as error:
        raise NotAnImage(f"cannot be read ({error.strerror or error_detail(error)})") from error
    except Exception as error:  # pydicom raises many types for damaged headers; each means "corrupt".
        detail = f"{type(error).__name__}: {error_detail(error)}"
        raise NotAnImage(f"not a readable DICOM file ({detail})") from error


class _HeaderEnd:
    """pydicom's ``stop_when`` for the header pass: stop at the pixel data, refuse elements out of order.

    PS3.5 section 7.1 requires a dataset's elements in ascending tag order.  A file that breaks it at the top
    level is not a dataset but noise that happens to parse: 200 MB of zero bytes after ``08 00`` are 26
    million "elements" that take pydicom minutes, which made ``inspect`` hang.  Checking the order refuses
    such a file at its second element.  The first element may come twice: pydicom reads it once more when
    the file's VR encoding is not the one its header declares.
    """

    def __init__(self) -> None:
        self._last = -1
        self._calls = 0

    def __call__(self, tag: int, vr: str | None, length: int) -> bool:
        self._calls += 1
        if tag in _PIXEL_TAG_NUMBERS:
            return True
        if tag < self._last or (tag == self._last and self._calls > 2):
            raise NotAnImage(
                f"data element ({tag >> 16:04X},{tag & 0xFFFF:04X}) after ({self._last >> 16:04X},"
                f"{self._last & 0xFFFF:04X}): elements out of order, not a DICOM dataset"
            )
        self._last = tag
        return False


def _pixel_element_header(handle: Any, dataset: Any) -> tuple[int, int, int] | None:
    """``(value_offset, value_length, file_size)`` of the pixel data the reader stopped at, or None."""
    start = handle.tell()
    head = handle.read(12)
    if len(head) < 8:
        return None
    little = dataset.original_encoding[1] is not False
    order = "<" if little else ">"
    group, element = struct.unpack(order + "HH", head[:4])
    if (group, element) not in _PIXEL_TAGS:
        return None
    if (group, element) != (0x7FE0, 0x0010):
        raise NotAnImage("floating-point pixel data (a parametric map), not a stored image")
    if dataset.original_encoding[0]:  # implicit VR
        (length,) = struct.unpack(order + "I", head[4:8])
        value_offset = start + 8
    else:
        (length,) = struct.unpack(order + "I", head[8:12])
        value_offset = start + 12
    return value_offset, length, os.fstat(handle.fileno()).st_size


def _planes_of(path: str, ds: Any, pixel_header: tuple[int, int, int] | None) -> list[Plane]:
    sop_class = str(ds.get("SOPClassUID", "") or _meta(ds, "MediaStorageSOPClassUID"))
    for prefix, what in _NON_IMAGE_SOP_PREFIXES.items():
        if sop_class.startswith(prefix):
            raise NotAnImage(f"{what}, not an image ({_uid_name(sop_class)})")
    if "DirectoryRecordSequence" in ds:
        raise NotAnImage("a DICOMDIR (media directory), not an image")
    if pixel_header is None:
        raise NotAnImage(f"no pixel data ({_uid_name(sop_class) or 'unknown SOP class'})")
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2") or "MONOCHROME2")
    if samples != 1 or not photometric.startswith("MONOCHROME"):
        raise NotAnImage(f"a colour image ({photometric}), not a grey-level slice")
    layout = _layout(ds, pixel_header)
    if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
        return enhanced_planes(path, ds, layout)
    if layout.number_of_frames > 1:
        raise NotAnImage(
            f"a {layout.number_of_frames}-frame image without functional groups: its frames have no positions"
        )
    common = _common(path, ds, layout)
    image_type = common["image_type"]
    if "MOSAIC" in image_type:
        return mosaic_planes(ds, common)
    orientation, position, spacing = geometry(ds)
    return [
        Plane(
            frame=None, tile=None, orientation=orientation, position=position, pixel_spacing=spacing, **common
        )
    ]


def _layout(ds: Any, pixel_header: tuple[int, int, int]) -> PixelLayout:
    transfer_syntax = str(_meta(ds, "TransferSyntaxUID") or "1.2.840.10008.1.2")
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    bits_allocated = int(ds.get("BitsAllocated", 16) or 16)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if rows <= 0 or columns <= 0:
        raise NotAnImage("no image matrix (Rows/Columns missing)")
    if rows * columns > MAX_PLANE_PIXELS:
        raise NotAnImage(f"an image matrix of {rows} x {columns} pixels, more than any slice has")
    value_offset, length, file_size = pixel_header
    offset = None
    decoded = rows * columns * frames * max(1, bits_allocated // 8)
    if length == UNDEFINED_LENGTH and decoded > max(SMALL_DECODE_BYTES, MAX_COMPRESSION_RATIO * file_size):
        raise NotAnImage(
            f"compressed pixel data that would decode to {decoded} bytes from a {file_size}-byte file "
            f"(more than {MAX_COMPRESSION_RATIO} times): the header does not describe this file"
        )
    if length != UNDEFINED_LENGTH:
        needed = rows * columns * frames * bits_allocated // 8
        if value_offset + min(length, needed) > file_size or length < needed:
            available = max(0, min(length, file_size - value_offset))
            raise NotAnImage(f"truncated: pixel data needs {needed} bytes, the file holds {available}")
        if transfer_syntax in NATIVE_LITTLE_ENDIAN and frames == 1 and bits_allocated in (8, 16, 32):
            offset = value_offset
    return PixelLayout(
        transfer_syntax=transfer_syntax,
        rows=rows,
        columns=columns,
        bits_allocated=bits_allocated,
        bits_stored=int(ds.get("BitsStored", bits_allocated) or bits_allocated),
        pixel_representation=int(ds.get("PixelRepresentation", 0) or 0),
        photometric=str(ds.get("PhotometricInterpretation", "MONOCHROME2")),
        number_of_frames=frames,
        offset=offset,
    )


def _common(path: str, ds: Any, layout: PixelLayout) -> dict[str, Any]:
    """Plane fields shared by every plane of a classic (non-Enhanced) file."""
    slope, intercept = rescale(ds)
    temporal = ds.get("TemporalPositionIdentifier")
    return {
        "path": path,
        "study_uid": str(ds.get("StudyInstanceUID", "")),
        "series_uid": str(ds.get("SeriesInstanceUID", "")),
        "series_description": str(ds.get("SeriesDescription", "") or ""),
        "image_type": tuple(str(v) for v in as_list(ds.get("ImageType"))),
        "slope": slope,
        "intercept": intercept,
        "layout": layout,
        "temporal_position": as_float(temporal),
        "trigger_time": as_float(ds.get("TriggerTime")),
        "acquisition_time": str(ds.get("AcquisitionTime", "") or ds.get("ContentTime", "") or ""),
        "acquisition_number": as_int(ds.get("AcquisitionNumber")),
        "instance_number": as_int(ds.get("InstanceNumber")),
        "echo": as_float(first(ds.get("EchoNumbers"))),
        "spacing_between_slices": as_float(ds.get("SpacingBetweenSlices")),
        "sop_instance_uid": str(ds.get("SOPInstanceUID", "")),
    }


def _meta(ds: Any, keyword: str) -> Any:
    meta = getattr(ds, "file_meta", None)
    return meta.get(keyword) if meta is not None else None


def _uid_name(uid: str) -> str:
    from pydicom.uid import UID

    return UID(uid).name if uid else ""
