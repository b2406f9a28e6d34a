"""The whitelist of technical DICOM attributes copied into a volume's provenance.

docs/design/architecture.md §1.7: no patient identity in project files.  Rather than strip identity (a
blacklist always misses a private tag or a free-text field), only attributes that describe geometry, timing,
the sequence and the scanner model are copied.  Dates are left out on purpose: a date of service is
identifying under HIPAA; times of day (used for phase ordering) are not.  Names, IDs, birth dates,
institution, station, operator, device serial numbers and UIDs other than the SOP class / transfer syntax
never appear here.

Whitelisting attributes is not enough, because people type names into free-text attributes too (a series
description "t1 vibe Smith"): :func:`deidentified_tags` is what a project stores.  Each whitelisted attribute
has a kind: numbers, times of day and standard UIDs must look like one (anything else is dropped), coded and
free-text values are cleaned word by word (:mod:`hccdesk.imaging.descriptors`, DICOM PS3.15 Annex E with the
Retain/Clean Descriptors Option).  SoftwareVersions is not kept: Annex E removes it unless the Retain Device
Identity Option is chosen, and nothing in HCC Desk needs it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from hccdesk.imaging.descriptors import clean_values

TECHNICAL_TAGS: tuple[str, ...] = (
    # scanner
    "Modality",
    "Manufacturer",
    "ManufacturerModelName",
    "MagneticFieldStrength",
    "SOPClassUID",
    "BodyPartExamined",
    # sequence
    "ProtocolName",
    "SequenceName",
    "ScanningSequence",
    "SequenceVariant",
    "ScanOptions",
    "MRAcquisitionType",
    "EchoPlanarPulseSequence",
    "RepetitionTime",
    "EchoTime",
    "EffectiveEchoTime",
    "InversionTime",
    "FlipAngle",
    "EchoTrainLength",
    "EchoNumbers",
    "NumberOfAverages",
    "ImagingFrequency",
    "PixelBandwidth",
    "ImageType",
    "KVP",
    "ConvolutionKernel",
    # contrast and timing
    "ContrastBolusAgent",
    "ContrastBolusRoute",
    "ContrastBolusVolume",
    "ContrastBolusStartTime",
    "SeriesTime",
    "AcquisitionTime",
    "ContentTime",
    "TriggerTime",
    "TemporalPositionIdentifier",
    "TemporalPositionIndex",
    "NumberOfTemporalPositions",
    "TemporalResolution",
    "SeriesNumber",
    "AcquisitionNumber",
    # geometry and storage
    "ImageOrientationPatient",
    "PixelSpacing",
    "SliceThickness",
    "SpacingBetweenSlices",
    "GantryDetectorTilt",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "PhotometricInterpretation",
    "RescaleSlope",
    "RescaleIntercept",
    "TransferSyntaxUID",
)
"""DICOM keywords that may be copied; everything else is dropped."""


TEXT_TAGS = frozenset(
    {
        "Manufacturer",
        "ManufacturerModelName",
        "ProtocolName",
        "SequenceName",
        "ConvolutionKernel",
        "ContrastBolusAgent",
        "ContrastBolusRoute",
    }
)
"""Free text (LO/SH): cleaned of every word that is not technical."""

CODE_TAGS = frozenset(
    {
        "Modality",
        "BodyPartExamined",
        "ScanningSequence",
        "SequenceVariant",
        "ScanOptions",
        "MRAcquisitionType",
        "EchoPlanarPulseSequence",
        "ImageType",
        "PhotometricInterpretation",
    }
)
"""Coded strings (CS): defined terms, but writable by hand like text, so cleaned value by value."""

TIME_TAGS = frozenset({"SeriesTime", "AcquisitionTime", "ContentTime", "ContrastBolusStartTime"})
"""Times of day (TM), kept only in the TM format (no date is ever kept)."""

UID_TAGS = frozenset({"SOPClassUID", "TransferSyntaxUID"})
"""Standard UIDs (under the DICOM root 1.2.840.10008), which name a kind of object, never a patient."""

NUMBER_TAGS = frozenset(TECHNICAL_TAGS) - TEXT_TAGS - CODE_TAGS - TIME_TAGS - UID_TAGS
"""Everything else: finite numbers or lists of them."""

_TIME = re.compile(r"\d{2}(:?\d{2}(:?\d{2}(\.\d{1,6})?)?)?")
_STANDARD_UID = re.compile(r"1\.2\.840\.10008(\.\d{1,10}){1,12}")


def deidentified_tags(tags: Mapping[str, Any]) -> dict[str, Any]:
    """What a project may store of ``tags``: whitelisted attributes, each checked or cleaned by its kind.

    Values that do not look like their kind (text in a number or a time, a private UID) and values that are
    empty after cleaning are left out.
    """
    stored: dict[str, Any] = {}
    for keyword, value in tags.items():
        kept = _deidentified(keyword, value)
        if kept not in (None, "", []):
            stored[keyword] = kept
    return stored


def _deidentified(keyword: str, value: Any) -> Any:
    values = value if isinstance(value, list) else [value]
    if keyword in TEXT_TAGS or keyword in CODE_TAGS:
        if not all(isinstance(v, str) for v in values):
            return None
        cleaned = clean_values(values)
        if not isinstance(value, list):
            return cleaned[0]
        return cleaned if any(cleaned) else None
    if keyword in TIME_TAGS:
        return value if isinstance(value, str) and _TIME.fullmatch(value.strip()) else None
    if keyword in UID_TAGS:
        return value if isinstance(value, str) and _STANDARD_UID.fullmatch(value) else None
    if keyword in NUMBER_TAGS:
        numbers = all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
        )
        return value if numbers and values else None
    return None


def read_technical_tags(path: str) -> dict[str, Any]:
    """The whitelisted attributes of one file, plus its TransferSyntaxUID (header only, no pixels).

    The importer calls this once per volume (on its first file), not for every slice in the header pass,
    which keeps the header pass fast.
    """
    import pydicom

    from hccdesk.imaging.files import open_regular

    try:
        with open_regular(path) as handle:
            dataset = pydicom.dcmread(handle, stop_before_pixels=True, force=True)
    except Exception:  # the file was readable in the header pass; provenance is not worth failing the import
        return {}
    tags = technical_tags(dataset)
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        tags["TransferSyntaxUID"] = str(meta.TransferSyntaxUID)
    return tags


def technical_tags(dataset: Any) -> dict[str, Any]:
    """JSON-ready values of the whitelisted attributes present in ``dataset``.

    For Enhanced (multi-frame) objects, attributes that live in the first item of a shared functional group
    (e.g. RepetitionTime in MRTimingAndRelatedParametersSequence) are included too; top-level values win.
    """
    found: dict[str, Any] = {}
    try:
        shared = dataset.get("SharedFunctionalGroupsSequence")
    except Exception:  # a damaged sequence: fall back to the top-level attributes
        shared = None
    if shared:
        for group in shared[0]:
            if group.VR == "SQ" and group.value:
                found.update(_pick(group.value[0]))
    found.update(_pick(dataset))
    return found


def _pick(dataset: Any) -> dict[str, Any]:
    picked = {}
    for keyword in TECHNICAL_TAGS:
        try:
            element = dataset.get(keyword)
        except Exception:  # a damaged value (pydicom converts lazily) is left out, like an absent one
            continue
        if element is None or element == "":
            continue
        value = _plain(element)
        if value is not None:
            picked[keyword] = value
    return picked


def _plain(value: Any) -> Any:
    """Convert pydicom values (DSfloat, IS, MultiValue) to JSON types; None for anything else."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        if isinstance(value, float):
            return float(value)
        if isinstance(value, int):
            return int(value)
        return str(value)
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        items = [_plain(item) for item in value]
        return None if any(item is None for item in items) else items
    return None
