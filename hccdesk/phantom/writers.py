"""Writing a synthetic study as DICOM (a series per phase, or one GE-style dynamic series) and as NIfTI.

The DICOM headers carry what the importer relies on and a scanner writes: geometry (ImagePositionPatient,
ImageOrientationPatient, PixelSpacing, SliceThickness), timing (AcquisitionTime, TriggerTime from the
injection, ContrastBolusStartTime), sequence (fat-suppressed 3D spoiled GRE), the phase in the
SeriesDescription and RescaleSlope for the scanner's scaling.  Identity is a pseudonym (``PHANTOM^0001``).
UIDs are derived from the cohort seed and the study, phase and slice, and dates from the study's seed, so the
same seed writes the same bytes.
"""

from __future__ import annotations

import bisect
import struct
import uuid
from pathlib import Path

import numpy as np

from hccdesk.imaging.volume import PHASES, Volume, VolumeSource
from hccdesk.phantom.study import SyntheticStudy

DESCRIPTIONS: dict[str, str] = {
    "pre": "Ax 3D T1 FS pre",
    "arterial": "Ax 3D T1 FS late arterial",
    "portal": "Ax 3D T1 FS portal venous",
    "delayed": "Ax 3D T1 FS delayed 3 min",
}
"""SeriesDescription per phase; the words are those radiographers type and the phase reader knows."""

DYNAMIC_DESCRIPTION = "Ax 3D T1 FS dynamic"
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def _uid(*parts: object) -> str:
    """A ``2.25`` UID from a name-based UUID of ``parts`` (seed, study, series, slice): unique, repeatable."""
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, 'hccdesk-phantom:' + '/'.join(map(str, parts))).int}"


def _clock(seconds: float) -> str:
    """DICOM TM (HHMMSS.ffffff) for seconds after midnight."""
    micro = round(seconds * 1e6)
    whole, fraction = divmod(micro, 1_000_000)
    return f"{whole // 3600:02d}{whole // 60 % 60:02d}{whole % 60:02d}.{fraction:06d}"


class _Header:
    """The attributes shared by every image of one study, built once; slices add their own."""

    def __init__(self, study: SyntheticStudy, cohort_seed: int) -> None:
        self.study = study
        self.key = (cohort_seed, study.plan.study_id)
        self.day = study.timing.date
        self.start = study.timing.start_s
        self.number = study.plan.study_id.split("-")[0].removeprefix("PH")

    def dataset(self, series_key: str, series_number: int, description: str):
        from pydicom.dataset import Dataset, FileMetaDataset
        from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

        grid, acq = self.study.grid, self.study.acquisition
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
        ds.SOPClassUID = MRImageStorage
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = self.day
        ds.StudyTime = _clock(self.start)
        ds.Modality = "MR"
        ds.Manufacturer = "HCC Desk"
        ds.ManufacturerModelName = "synthetic liver phantom"
        ds.StudyDescription = "MR liver dynamic (synthetic)"
        ds.SeriesDescription = description
        ds.ProtocolName = description
        ds.PatientName = f"PHANTOM^{self.number}"
        ds.PatientID = f"PHANTOM-{self.number}"
        ds.PatientBirthDate = ""
        ds.PatientSex = "O"
        ds.BodyPartExamined = "ABDOMEN"
        ds.ScanningSequence = "GR"
        ds.SequenceVariant = "SP"
        ds.ScanOptions = "FS"
        ds.MRAcquisitionType = "3D"
        ds.SequenceName = "fl3d_fs"
        ds.SliceThickness = f"{grid.spacing[0]:g}"
        ds.SpacingBetweenSlices = f"{grid.spacing[0]:g}"
        ds.RepetitionTime = "3.76"
        ds.EchoTime = "1.8"
        ds.FlipAngle = "10"
        ds.NumberOfAverages = "1"
        ds.EchoNumbers = "1"
        ds.MagneticFieldStrength = f"{acq.field_strength:g}"
        ds.ImagingFrequency = f"{42.577478 * acq.field_strength:.6f}"
        ds.PatientPosition = "HFS"
        ds.StudyInstanceUID = _uid(*self.key, "study")
        ds.SeriesInstanceUID = _uid(*self.key, series_key)
        ds.FrameOfReferenceUID = _uid(*self.key, "frame")
        ds.PositionReferenceIndicator = ""
        ds.StudyID = self.number
        ds.SeriesNumber = series_number
        ds.AcquisitionNumber = 1
        ds.ImageOrientationPatient = [f"{v:g}" for v in AXIAL]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = grid.shape[1], grid.shape[2]
        ds.PixelSpacing = [f"{grid.spacing[1]:g}", f"{grid.spacing[2]:g}"]
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.RescaleIntercept = "0"
        ds.RescaleType = "US"
        return ds

    def set_phase(self, ds, phase: str) -> None:
        """Timing, contrast and scaling of ``phase`` on ``ds``."""
        timing = self.study.timing
        when = timing.phases[PHASES.index(phase)]
        ds.AcquisitionTime = ds.ContentTime = ds.SeriesTime = _clock(self.start + when)
        ds.TriggerTime = f"{max(when - timing.injection, 0.0) * 1000:.0f}" if phase != "pre" else "0"
        if phase == "pre":
            for keyword in ("ContrastBolusAgent", "ContrastBolusStartTime", "ContrastBolusRoute"):
                if keyword in ds:
                    delattr(ds, keyword)
        else:
            ds.ContrastBolusAgent = "Gd-DTPA"
            ds.ContrastBolusRoute = "IV"
            ds.ContrastBolusStartTime = _clock(self.start + timing.injection)
        acquired = self.study.phases[phase]
        ds.RescaleSlope = f"{acquired.slope:.6g}"
        real = acquired.real
        ds.WindowCenter = f"{float(np.percentile(real[::4, ::4, ::4], 90)) * 0.7:.0f}"
        ds.WindowWidth = f"{float(np.percentile(real[::4, ::4, ::4], 99.5)) * 1.2:.0f}"

    def write_phase(self, ds, folder: Path, phase: str, first_instance: int, series_key: str) -> None:
        """Write every slice of ``phase`` with the attributes now on ``ds`` (instances numbered from one)."""
        from pydicom.dataset import FileMetaDataset
        from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

        meta = FileMetaDataset(ds.file_meta)
        meta.FileMetaInformationVersion = b"\x00\x01"
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.ImplementationVersionName = "HCCDESK_PHANTOM"
        meta_encoder = _SliceEncoder(meta, ("MediaStorageSOPInstanceUID",))
        body_encoder = _SliceEncoder(ds, _PER_SLICE)
        stored = self.study.phases[phase].stored
        for k in range(self.study.grid.shape[0]):
            uid = _uid(*self.key, series_key, phase, k)
            position = self.study.affine @ np.array([0.0, 0.0, k, 1.0])
            meta_bytes = meta_encoder.encode({"MediaStorageSOPInstanceUID": uid})
            body = body_encoder.encode(
                {
                    "SOPInstanceUID": uid,
                    "InstanceNumber": str(first_instance + k),
                    "ImagePositionPatient": "\\".join(f"{v:.4f}" for v in position[:3]),
                    "SliceLocation": f"{position[2]:.4f}",
                    "PixelData": stored[k].astype("<u2").tobytes(),
                }
            )
            group_length = b"\x02\x00\x00\x00UL\x04\x00" + struct.pack("<I", len(meta_bytes))
            path = folder / f"IM{first_instance + k:04d}.dcm"
            path.write_bytes(b"\x00" * 128 + b"DICM" + group_length + meta_bytes + body)


_PER_SLICE = ("SOPInstanceUID", "InstanceNumber", "ImagePositionPatient", "SliceLocation", "PixelData")


class _SliceEncoder:
    """Encodes images that differ only in a few attributes: the rest is encoded once, in tag order.

    pydicom needs several milliseconds to write a file; a phantom cohort has thousands of slices whose
    headers are identical except for UID, instance number, position and pixels, so the shared attributes
    are encoded once per series by pydicom (explicit VR little endian) and spliced around the per-slice ones,
    which :func:`_element` encodes directly.
    """

    def __init__(self, dataset, varying: tuple[str, ...]) -> None:
        from pydicom.datadict import tag_for_keyword
        from pydicom.dataset import Dataset

        self.varying = sorted(varying, key=tag_for_keyword)
        tags = [tag_for_keyword(keyword) for keyword in self.varying]
        chunks = [Dataset() for _ in range(len(tags) + 1)]
        for element in dataset:
            if element.tag not in tags:
                chunks[bisect.bisect(tags, element.tag)].add(element)
        self.chunks = [_encode(chunk) for chunk in chunks]

    def encode(self, values: dict[str, str | bytes]) -> bytes:
        parts = [self.chunks[0]]
        for keyword, chunk in zip(self.varying, self.chunks[1:], strict=True):
            parts += [_element(keyword, values[keyword]), chunk]
        return b"".join(parts)


def _element(keyword: str, value: str | bytes) -> bytes:
    """One explicit-VR little-endian element: text (UI, IS, DS; multiple values joined by backslashes) or
    pixel data (OW bytes)."""
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    tag = tag_for_keyword(keyword)
    group, number = tag >> 16, tag & 0xFFFF
    if isinstance(value, bytes):
        return struct.pack("<HH2sHI", group, number, b"OW", 0, len(value)) + value
    vr = dictionary_VR(keyword)
    data = value.encode("ascii")
    if len(data) % 2:
        data += b"\x00" if vr == "UI" else b" "
    return struct.pack("<HH2sH", group, number, vr.encode("ascii"), len(data)) + data


def _encode(dataset) -> bytes:
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    buffer = DicomBytesIO()
    buffer.is_implicit_VR = False
    buffer.is_little_endian = True
    write_dataset(buffer, dataset)
    return buffer.getvalue()


def write_dicom(study: SyntheticStudy, folder: Path, cohort_seed: int) -> dict[str, Path]:
    """One series per phase under ``folder/<NN>_<phase>/``; returns phase -> series folder."""
    header = _Header(study, cohort_seed)
    out = {}
    for index, phase in enumerate(PHASES):
        series_folder = folder / f"{5 + index:02d}_{phase}"
        series_folder.mkdir(parents=True, exist_ok=True)
        ds = header.dataset(phase, 5 + index, DESCRIPTIONS[phase])
        header.set_phase(ds, phase)
        header.write_phase(ds, series_folder, phase, 1, phase)
        out[phase] = series_folder
    return out


def write_dicom_dynamic(study: SyntheticStudy, folder: Path, cohort_seed: int) -> Path:
    """All four phases in one series (GE LAVA/DISCO style) with TemporalPositionIdentifier 1-4."""
    header = _Header(study, cohort_seed)
    series_folder = folder / "05_dynamic"
    series_folder.mkdir(parents=True, exist_ok=True)
    ds = header.dataset("dynamic", 5, DYNAMIC_DESCRIPTION)
    ds.NumberOfTemporalPositions = len(PHASES)
    nz = study.grid.shape[0]
    for index, phase in enumerate(PHASES):
        header.set_phase(ds, phase)
        ds.TemporalPositionIdentifier = index + 1
        header.write_phase(ds, series_folder, phase, index * nz + 1, "dynamic")
    return series_folder


def write_nifti_phases(study: SyntheticStudy, folder: Path) -> dict[str, Path]:
    """One gzipped 3D NIfTI per phase (real-world float32 values, RAS affine): ``<study>_<phase>.nii.gz``."""
    from hccdesk.imaging.nifti import write_nifti

    out = {}
    for phase in PHASES:
        volume = Volume(
            array=study.phases[phase].real,
            affine=study.affine,
            phase=phase,
            source=VolumeSource(series_description=DESCRIPTIONS[phase]),
        )
        out[phase] = write_nifti(volume, folder / f"{study.plan.study_id}_{phase}.nii.gz")
    return out
