"""The whitelist of technical DICOM attributes copied into a volume's provenance.

docs/design/architecture.md §1.7: no patient identity in project files.  Rather than strip identity (a
blacklist always misses a private tag or a free-text field), only attributes that describe geometry, timing,
the sequence and the scanner model are copied.  Dates are left out on purpose: a date of service is
identifying under HIPAA; times of day (used for phase ordering) are not.  Names, IDs, birth dates,
institution, station, operator, device serial numbers and UIDs other than the SOP class / transfer syntax
never appear here.
"""

from __future__ import annotations

from typing import Any

TECHNICAL_TAGS: tuple[str, ...] = (
    # scanner
    "Modality",
    "Manufacturer",
    "ManufacturerModelName",
    "MagneticFieldStrength",
    "SoftwareVersions",
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
