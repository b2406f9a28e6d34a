"""The header pass of the DICOM importer: one :class:`Plane` per 2D image, no pixel data read.

Every file is parsed with ``stop_before_pixels``, so a folder of hundreds of slices is sorted, grouped and
checked before a single pixel is decoded.  A *plane* is one positioned 2D image: a classic single-frame file,
one frame of an Enhanced (multi-frame) file (geometry from its functional groups), or one tile of a Siemens
MOSAIC (geometry from the CSA image header).  Files that cannot become planes (not DICOM, SR, SEG,
presentation states, DICOMDIRs, objects without pixels or without patient-space geometry, colour images,
truncated pixel data) are reported as :class:`NotAnImage` with the reason, never as a traceback.
"""

from __future__ import annotations

import math
import os
import struct
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

NATIVE_LITTLE_ENDIAN = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")
"""Implicit and Explicit VR Little Endian: pixel data that can be read straight from the file."""

DEFLATED = "1.2.840.10008.1.2.1.99"
"""Deflated Explicit VR Little Endian: the whole dataset is zlib-compressed."""

UNDEFINED_LENGTH = 0xFFFFFFFF

_PIXEL_TAGS = {(0x7FE0, 0x0010), (0x7FE0, 0x0008), (0x7FE0, 0x0009)}

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


class NotAnImage(Exception):  # noqa: N818  (a verdict about a file, not an error of the program)
    """A file that is skipped by the importer; ``str(error)`` is the reason shown to the user."""


@dataclass(frozen=True)
class PixelLayout:
    """How to decode a file's pixel data, read from the header pass.

    ``offset`` is the byte position of the PixelData value when it can be read directly (native little-endian,
    single frame, defined length); the pixel pass then skips pydicom entirely for such files.
    """

    transfer_syntax: str
    rows: int
    columns: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric: str
    number_of_frames: int
    offset: int | None = None
    mosaic_tiles: int = 0


@dataclass(frozen=True)
class Plane:
    """One positioned 2D image.

    ``orientation`` is ImageOrientationPatient (row cosine r, then column cosine c), ``position`` the LPS
    centre of its first pixel, ``pixel_spacing`` (row spacing, column spacing) = (sy, sx) as in DICOM.
    The temporal attributes are whatever the file carries; the series builder decides which one splits.
    """

    path: str
    frame: int | None
    tile: int | None
    study_uid: str
    series_uid: str
    series_description: str
    image_type: tuple[str, ...]
    orientation: tuple[float, ...]
    position: tuple[float, float, float]
    pixel_spacing: tuple[float, float]
    slope: float
    intercept: float
    layout: PixelLayout
    temporal_position: float | None = None
    trigger_time: float | None = None
    acquisition_time: str = ""
    acquisition_number: int | None = None
    instance_number: int | None = None
    echo: float | None = None
    stack_id: str = ""
    spacing_between_slices: float | None = None
    sop_instance_uid: str = ""

    @property
    def source_name(self) -> str:
        """File name, plus ``#frameN`` or ``#tileN`` for a plane that is part of a file."""
        name = os.path.basename(self.path)
        if self.tile is not None:
            return f"{name}#tile{self.tile}"
        if self.frame is not None:
            return f"{name}#frame{self.frame}"
        return name

    @property
    def acquisition_seconds(self) -> float | None:
        """AcquisitionTime as seconds since midnight, or None."""
        return time_to_seconds(self.acquisition_time)


def read_planes(path: str | Path) -> list[Plane]:
    """Parse one file's header into planes.

    Raises
    ------
    NotAnImage
        With the reason the file is skipped.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    path = str(path)
    try:
        with open(path, "rb") as handle:
            try:
                dataset = pydicom.dcmread(handle, stop_before_pixels=True)
            except InvalidDicomError:
                handle.seek(0)
                if handle.read(2) not in (b"\x08\x00", b"\x02\x00"):
                    raise NotAnImage("not a DICOM file") from None
                handle.seek(0)
                dataset = pydicom.dcmread(handle, stop_before_pixels=True, force=True)
            if str(_meta(dataset, "TransferSyntaxUID")) == DEFLATED:
                # the dataset is zlib-compressed, so file offsets mean nothing: read it whole (rare, small)
                handle.seek(0)
                dataset = pydicom.dcmread(handle, force=True)
                pixel_header = (0, UNDEFINED_LENGTH, 0) if "PixelData" in dataset else None
            else:
                pixel_header = _pixel_element_header(handle, dataset)
        # pydicom converts values lazily, so a damaged element only fails here
        return _planes_of(path, dataset, pixel_header)
    except NotAnImage:
        raise
    except OSError as error:
        raise NotAnImage(f"cannot be read ({error.strerror or error})") from error
    except Exception as error:  # pydicom raises many types for damaged headers; each means "corrupt".
        raise NotAnImage(f"not a readable DICOM file ({type(error).__name__}: {error})") from error


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
        return _enhanced_planes(path, ds, layout)
    if layout.number_of_frames > 1:
        raise NotAnImage(
            f"a {layout.number_of_frames}-frame image without functional groups: its frames have no positions"
        )
    common = _common(path, ds, layout)
    image_type = common["image_type"]
    if "MOSAIC" in image_type:
        return _mosaic_planes(ds, common)
    orientation, position, spacing = _geometry(ds)
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
    value_offset, length, file_size = pixel_header
    offset = None
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
    slope, intercept = _rescale(ds)
    temporal = ds.get("TemporalPositionIdentifier")
    return {
        "path": path,
        "study_uid": str(ds.get("StudyInstanceUID", "")),
        "series_uid": str(ds.get("SeriesInstanceUID", "")),
        "series_description": str(ds.get("SeriesDescription", "") or ""),
        "image_type": tuple(str(v) for v in _as_list(ds.get("ImageType"))),
        "slope": slope,
        "intercept": intercept,
        "layout": layout,
        "temporal_position": _float(temporal),
        "trigger_time": _float(ds.get("TriggerTime")),
        "acquisition_time": str(ds.get("AcquisitionTime", "") or ds.get("ContentTime", "") or ""),
        "acquisition_number": _int(ds.get("AcquisitionNumber")),
        "instance_number": _int(ds.get("InstanceNumber")),
        "echo": _float(_first(ds.get("EchoNumbers"))),
        "spacing_between_slices": _float(ds.get("SpacingBetweenSlices")),
        "sop_instance_uid": str(ds.get("SOPInstanceUID", "")),
    }


def _geometry(ds: Any) -> tuple[tuple[float, ...], tuple[float, float, float], tuple[float, float]]:
    orientation = _floats(ds.get("ImageOrientationPatient"), 6)
    position = _floats(ds.get("ImagePositionPatient"), 3)
    spacing = _floats(ds.get("PixelSpacing"), 2)
    if orientation is None or position is None:
        raise NotAnImage(
            "no ImagePositionPatient/ImageOrientationPatient: the image has no place in patient space"
        )
    if spacing is None or min(spacing) <= 0:
        raise NotAnImage("no valid PixelSpacing: the image has no physical size")
    _check_orientation(orientation)
    return orientation, position, spacing  # type: ignore[return-value]


def _check_orientation(orientation: tuple[float, ...]) -> None:
    row, column = orientation[:3], orientation[3:]
    norm_r = math.sqrt(sum(v * v for v in row))
    norm_c = math.sqrt(sum(v * v for v in column))
    dot = sum(a * b for a, b in zip(row, column, strict=True))
    if norm_r < 0.5 or norm_c < 0.5 or abs(dot) > 0.01 * norm_r * norm_c:
        raise NotAnImage(f"invalid ImageOrientationPatient {list(orientation)}")


def _mosaic_planes(ds: Any, common: dict[str, Any]) -> list[Plane]:
    """Un-pack a Siemens MOSAIC: tile positions from the CSA header's NumberOfImagesInMosaic and slice normal.

    DICOM's ImagePositionPatient of a mosaic is that of the whole mosaic's first pixel; the first tile's first
    pixel sits half the unused mosaic extent further along r and c (the centre of the mosaic is the centre of
    each tile).  Tile k lies k x SpacingBetweenSlices along the CSA SliceNormalVector, which may point
    against r x c (sagittal), so planes carry positions and the series builder sorts them like any stack.
    """
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nibabel.nicom import csareader

    try:
        csa = csareader.get_csa_header(ds, "image")
        count = int(csareader.get_n_mosaic(csa)) if csa else 0
        normal = csareader.get_slice_normal(csa) if csa else None
    except Exception as error:  # a damaged CSA header is a damaged file, whatever nibabel raises
        raise NotAnImage(f"a Siemens MOSAIC with an unreadable CSA header ({error})") from error
    if count <= 0 or normal is None:
        raise NotAnImage(
            "a Siemens MOSAIC without NumberOfImagesInMosaic/SliceNormalVector in its CSA header"
        )
    orientation, position, spacing = _geometry(ds)
    layout: PixelLayout = common["layout"]
    grid = math.ceil(math.sqrt(count))
    tile_rows, tile_columns = layout.rows // grid, layout.columns // grid
    step = common["spacing_between_slices"] or _float(ds.get("SliceThickness"))
    if not step:
        raise NotAnImage("a Siemens MOSAIC without SpacingBetweenSlices or SliceThickness")
    row_cosine, column_cosine = np.array(orientation[:3]), np.array(orientation[3:])
    first = (
        np.array(position)
        + column_cosine * spacing[0] * (layout.rows - tile_rows) / 2
        + row_cosine * spacing[1] * (layout.columns - tile_columns) / 2
    )
    normal = np.asarray(normal, dtype=np.float64) / np.linalg.norm(normal)
    tile_layout = replace(layout, offset=None, mosaic_tiles=count)
    fields = {**common, "layout": tile_layout}
    return [
        Plane(
            frame=None,
            tile=tile,
            orientation=orientation,
            position=tuple(float(v) for v in first + tile * step * normal),  # type: ignore[arg-type]
            pixel_spacing=spacing,
            **fields,
        )
        for tile in range(count)
    ]


def mosaic_tile_shape(layout: PixelLayout) -> tuple[int, int, int]:
    """``(grid, tile_rows, tile_columns)`` of a mosaic layout."""
    grid = math.ceil(math.sqrt(layout.mosaic_tiles))
    return grid, layout.rows // grid, layout.columns // grid


def _enhanced_planes(path: str, ds: Any, layout: PixelLayout) -> list[Plane]:
    """One plane per frame of an Enhanced multi-frame object, from shared + per-frame functional groups."""
    shared = ds.get("SharedFunctionalGroupsSequence")
    shared_item = shared[0] if shared else None
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if len(per_frame) not in (0, layout.number_of_frames):
        raise NotAnImage(f"{len(per_frame)} per-frame functional groups for {layout.number_of_frames} frames")
    image_type = tuple(str(v) for v in _as_list(ds.get("ImageType")))
    base_slope, base_intercept = _rescale(ds)
    planes = []
    for index in range(layout.number_of_frames):
        item = per_frame[index] if per_frame else None

        def group(keyword: str, item: Any = item) -> Any:
            for source in (item, shared_item):
                if source is not None and keyword in source and source[keyword].value:
                    return source[keyword].value[0]
            return None

        position = _floats(_attr(group("PlanePositionSequence"), "ImagePositionPatient"), 3)
        orientation = _floats(_attr(group("PlaneOrientationSequence"), "ImageOrientationPatient"), 6)
        measures = group("PixelMeasuresSequence")
        spacing = _floats(_attr(measures, "PixelSpacing"), 2)
        if position is None or orientation is None or spacing is None or min(spacing) <= 0:
            raise NotAnImage(
                "an Enhanced multi-frame image without plane position, orientation or pixel spacing in its "
                "functional groups: its frames have no place in patient space"
            )
        _check_orientation(orientation)
        transform = group("PixelValueTransformationSequence")
        slope = _float(_attr(transform, "RescaleSlope"))
        intercept = _float(_attr(transform, "RescaleIntercept"))
        content = group("FrameContentSequence")
        frame_type = _frame_type(item) or _frame_type(shared_item) or image_type
        echo = group("MREchoSequence")
        acquired = str(_attr(content, "FrameAcquisitionDateTime") or "")
        planes.append(
            Plane(
                path=path,
                frame=index,
                tile=None,
                study_uid=str(ds.get("StudyInstanceUID", "")),
                series_uid=str(ds.get("SeriesInstanceUID", "")),
                series_description=str(ds.get("SeriesDescription", "") or ""),
                image_type=tuple(str(v) for v in _as_list(frame_type)),
                orientation=orientation,
                position=position,  # type: ignore[arg-type]
                pixel_spacing=spacing,  # type: ignore[arg-type]
                slope=base_slope if slope is None else slope,
                intercept=base_intercept if intercept is None else intercept,
                layout=layout,
                temporal_position=_float(_attr(content, "TemporalPositionIndex")),
                trigger_time=_float(
                    _attr(group("CardiacSynchronizationSequence"), "NominalCardiacTriggerDelayTime")
                ),
                acquisition_time=acquired[8:]
                if len(acquired) > 8
                else str(ds.get("AcquisitionTime", "") or ""),
                acquisition_number=_int(ds.get("AcquisitionNumber")),
                instance_number=_int(ds.get("InstanceNumber")),
                echo=_float(_attr(echo, "EffectiveEchoTime")),
                stack_id=str(_attr(content, "StackID") or ""),
                spacing_between_slices=_float(_attr(measures, "SpacingBetweenSlices")),
                sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
            )
        )
    return planes


def _frame_type(item: Any) -> Any:
    """FrameType from whichever ``*FrameTypeSequence`` (MR, CT, ...) the functional group item holds."""
    if item is None:
        return None
    for element in item:
        if element.VR == "SQ" and element.keyword.endswith("FrameTypeSequence") and element.value:
            return element.value[0].get("FrameType")
    return None


def _rescale(ds: Any) -> tuple[float, float]:
    slope = _float(ds.get("RescaleSlope"))
    intercept = _float(ds.get("RescaleIntercept"))
    return (1.0 if slope is None or slope == 0 else slope), (0.0 if intercept is None else intercept)


def _meta(ds: Any, keyword: str) -> Any:
    meta = getattr(ds, "file_meta", None)
    return meta.get(keyword) if meta is not None else None


def _uid_name(uid: str) -> str:
    from pydicom.uid import UID

    return UID(uid).name if uid else ""


def _attr(item: Any, keyword: str) -> Any:
    return None if item is None else item.get(keyword)


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes):
        return [value]
    try:
        return list(value)
    except TypeError:
        return [value]


def _first(value: Any) -> Any:
    items = _as_list(value)
    return items[0] if items else None


def _float(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _int(value: Any) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


def _floats(value: Any, count: int) -> tuple[float, ...] | None:
    items = [_float(v) for v in _as_list(value)]
    if len(items) != count or any(v is None for v in items):
        return None
    return tuple(items)  # type: ignore[arg-type]


def time_to_seconds(text: str) -> float | None:
    """DICOM TM (``HHMMSS.ffffff``, or the old ``HH:MM:SS``) as seconds since midnight, or None."""
    text = (text or "").strip().replace(":", "")
    if not text:
        return None
    whole, _, fraction = text.partition(".")
    if not whole.isdigit():
        return None
    whole = whole.ljust(6, "0")
    hours, minutes, seconds = int(whole[:2]), int(whole[2:4]), int(whole[4:6])
    return hours * 3600 + minutes * 60 + seconds + (float("0." + fraction) if fraction.isdigit() else 0.0)
