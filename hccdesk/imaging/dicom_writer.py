"""Writing single-frame MR DICOM series with pydicom: the benchmark's study and the tests' failure modes.

Headers look like a Siemens VIBE liver exam (the attributes a real scanner writes for geometry, timing and
sequence), so the importer is exercised on the same paths as with scanner files.  Per-slice positions,
orientations and rescale values are explicit arguments, which is how the tests build gaps, tilts, duplicates
and mixed orientations that no scanner would write on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
"""ImageOrientationPatient of an axial slice (rows along +x, columns along +y)."""


def write_series(
    folder: str | Path,
    slices: np.ndarray,
    positions: Sequence[Sequence[float]] | np.ndarray,
    *,
    orientation: Sequence[float] | Sequence[Sequence[float]] = AXIAL,
    pixel_spacing: tuple[float, float] = (1.0, 1.0),
    description: str = "t1_vibe_fs_tra_bh",
    series_number: int = 1,
    study_uid: str | None = None,
    series_uid: str | None = None,
    acquisition_time: str = "101500.000000",
    temporal_positions: Sequence[int | None] | None = None,
    slopes: Sequence[float] | None = None,
    intercepts: Sequence[float] | None = None,
    instance_numbers: Sequence[int] | None = None,
    prefix: str = "IM",
) -> list[Path]:
    """Write ``slices`` (``[k, rows, columns]``, int16 or uint16) as one file per slice; return the paths.

    ``orientation`` is one ImageOrientationPatient for all slices or one per slice; ``temporal_positions``,
    ``slopes``, ``intercepts`` and ``instance_numbers`` are per slice when given.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    slices = np.asarray(slices)
    if slices.dtype not in (np.int16, np.uint16):
        raise ValueError(f"write int16 or uint16 slices, got {slices.dtype}")
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    orientations = _per_slice(orientation, len(slices))
    written = []
    for index, pixels in enumerate(slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.Modality = "MR"
        ds.Manufacturer = "SIEMENS"
        ds.ManufacturerModelName = "Avanto"
        ds.MagneticFieldStrength = 1.5
        ds.BodyPartExamined = "ABDOMEN"
        ds.PatientName = "Bench^Synthetic"
        ds.PatientID = "BENCH-0001"
        ds.PatientBirthDate = "19700101"
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = "20240101"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = series_number
        ds.SeriesDescription = description
        ds.ProtocolName = description
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND", "NORM"]
        ds.ScanningSequence = "GR"
        ds.SequenceVariant = "SP"
        ds.MRAcquisitionType = "3D"
        ds.SequenceName = "*fl3d1"
        ds.RepetitionTime = 5.53
        ds.EchoTime = 2.81
        ds.FlipAngle = 10
        ds.AcquisitionTime = acquisition_time
        ds.SeriesTime = acquisition_time
        ds.InstanceNumber = instance_numbers[index] if instance_numbers is not None else index + 1
        if temporal_positions is not None and temporal_positions[index] is not None:
            ds.TemporalPositionIdentifier = temporal_positions[index]
        ds.ImagePositionPatient = [f"{v:.6f}" for v in positions[index]]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in orientations[index]]
        ds.PixelSpacing = [f"{v:.6f}" for v in pixel_spacing]
        ds.SliceThickness = 2.5
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = pixels.shape
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1 if pixels.dtype == np.int16 else 0
        ds.RescaleSlope = f"{slopes[index]:.6g}" if slopes is not None else "1"
        ds.RescaleIntercept = f"{intercepts[index]:.6g}" if intercepts is not None else "0"
        ds.PixelData = np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder("<")).tobytes()
        path = folder / f"{prefix}{series_number:03d}_{index + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        written.append(path)
    return written


def _per_slice(value: Sequence[float] | Sequence[Sequence[float]], count: int) -> list[Sequence[float]]:
    first = value[0]
    if isinstance(first, int | float):
        return [value] * count  # type: ignore[list-item]
    return list(value)  # type: ignore[arg-type]


def axial_positions(count: int, step: float, origin: Sequence[float] = (-190.0, -160.0, -80.0)) -> np.ndarray:
    """``count`` ImagePositionPatient values ``step`` mm apart along +z (feet to head)."""
    positions = np.tile(np.asarray(origin, dtype=np.float64), (count, 1))
    positions[:, 2] += step * np.arange(count)
    return positions
