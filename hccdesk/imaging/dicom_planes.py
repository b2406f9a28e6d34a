"""The record the header pass produces: a positioned 2D image (:class:`Plane`) and how to decode it.

A plane is a classic single-frame file, one frame of an Enhanced (multi-frame) object, or one tile of a
Siemens MOSAIC.  This module also holds the checks that make a plane valid (geometry, orientation) and the
modality LUT parameters, which the classic, Enhanced and mosaic readers share.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from hccdesk.imaging.dicom_values import as_float, floats, time_to_seconds


class NotAnImage(Exception):
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


def geometry(ds: Any) -> tuple[tuple[float, ...], tuple[float, float, float], tuple[float, float]]:
    """ImageOrientationPatient, ImagePositionPatient and PixelSpacing of a classic image, or NotAnImage."""
    orientation = floats(ds.get("ImageOrientationPatient"), 6)
    position = floats(ds.get("ImagePositionPatient"), 3)
    spacing = floats(ds.get("PixelSpacing"), 2)
    if orientation is None or position is None:
        raise NotAnImage(
            "no ImagePositionPatient/ImageOrientationPatient: the image has no place in patient space"
        )
    if spacing is None or min(spacing) <= 0:
        raise NotAnImage("no valid PixelSpacing: the image has no physical size")
    check_orientation(orientation)
    return orientation, position, spacing  # type: ignore[return-value]


def check_orientation(orientation: tuple[float, ...]) -> None:
    """Refuse an ImageOrientationPatient whose cosines are not two roughly unit, orthogonal vectors."""
    row, column = orientation[:3], orientation[3:]
    norm_r = math.sqrt(sum(v * v for v in row))
    norm_c = math.sqrt(sum(v * v for v in column))
    dot = sum(a * b for a, b in zip(row, column, strict=True))
    if norm_r < 0.5 or norm_c < 0.5 or abs(dot) > 0.01 * norm_r * norm_c:
        raise NotAnImage(f"invalid ImageOrientationPatient {list(orientation)}")


def rescale(ds: Any) -> tuple[float, float]:
    """RescaleSlope and RescaleIntercept (1 and 0 when absent; a zero slope is taken as 1)."""
    slope = as_float(ds.get("RescaleSlope"))
    intercept = as_float(ds.get("RescaleIntercept"))
    return (1.0 if slope is None or slope == 0 else slope), (0.0 if intercept is None else intercept)
