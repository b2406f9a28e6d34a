"""Generated hostile inputs for the fuzz run: NIfTI and DICOM files that lie, special files, mismatched
phases and lesion CSV rows.  Every generator takes a numpy ``Generator`` and a folder and returns a
:class:`Case`; the same seed gives the same files.

The members of each class are drawn at random from the classes of issue 11 (1: files that are not what
they claim; 2: phases that do not belong together; 7: identity in free text; CSV rows for ``lesions import``:
lenient numbers, formulas, sizes and encodings), so a run covers combinations no hand-written test lists.
"""

from __future__ import annotations

import gzip
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

AFFINE_RAS = np.diag([1.5, 1.5, 3.0, 1.0])
SHAPE = (12, 10, 8)
IDENTITY_TEXT = ("Quaxley^Hieronymus", "MRN-77Q3X9ZK", "19230817", "Sankt-Eustachius")
"""Identity typed into free text; the fuzz run checks that none of it reaches a project."""


@dataclass
class Case:
    """One hostile input: what to run it through, and where its files are.

    ``kind`` is ``image`` (``inspect`` and ``import`` of ``paths``), ``phases`` (``import`` with
    ``--phase NAME=PATH`` for each of ``phases``) or ``csv`` (``lesions import`` of ``paths[0]``).
    """

    name: str
    kind: str
    paths: list[Path]
    phases: dict[str, Path] = field(default_factory=dict)
    family: str = ""


def smooth_volume(rng: np.random.Generator, dtype: type = np.int16) -> np.ndarray:
    i, j, k = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    return (300 + 80 * np.sin(i / 3.0) * np.cos(j / 4.0) + 5 * k + rng.normal(0, 3, SHAPE)).astype(dtype)


# --- NIfTI ------------------------------------------------------------------------------------------------
_NIFTI_FIELDS: dict[str, Callable[[np.random.Generator], object]] = {
    "datatype": lambda r: int(
        r.choice([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1536, 1792, 2304, 99])
    ),
    "bitpix": lambda r: int(r.choice([0, 1, 8, 24, 128])),
    "dim": lambda r: [int(r.integers(-1, 9)), *[int(v) for v in r.choice([-5, 0, 1, 3, 700, 32767], 7)]],
    "pixdim": lambda r: [
        float(r.choice([1, -1])),
        *[float(v) for v in r.choice([0.0, -2.0, np.nan, np.inf, 1e-30, 1e30, 2.0], 7)],
    ],
    "vox_offset": lambda r: float(r.choice([0.0, 100.0, 348.0, 1e12, np.nan, 2000.0])),
    "scl_slope": lambda r: float(r.choice([0.0, np.nan, np.inf, -np.inf, 1e38, -1e38, 1e-45, 1e20])),
    "scl_inter": lambda r: float(r.choice([np.nan, np.inf, 1e38, -1e38, 1e20])),
    "sform_code": lambda r: int(r.choice([0, 1, 2, 3, 4, 5, 17, -3])),
    "qform_code": lambda r: int(r.choice([0, 1, 2, -1, 9])),
    "srow_x": lambda r: [float(v) for v in r.choice([0.0, np.nan, np.inf, 1e30, 1.5], 4)],
    "srow_z": lambda r: [0.0, 0.0, 0.0, float(r.choice([0.0, 1e6]))],
    "quatern_b": lambda r: float(r.choice([np.nan, 2.0, -1.0, 1e30])),
    "qoffset_z": lambda r: float(r.choice([np.nan, np.inf, 1e9])),
    "descrip": lambda r: f"arterial {IDENTITY_TEXT[int(r.integers(len(IDENTITY_TEXT)))]}".encode(),
    "sizeof_hdr": lambda r: int(r.choice([0, 347, 540, 12345])),
    "magic": lambda r: bytes(r.choice([b"n+1\0", b"ni1\0", b"n+2\0", b"\0\0\0\0"])),
}


def nifti_case(rng: np.random.Generator, folder: Path, index: int) -> Case:
    """A valid small NIfTI with 1-3 header fields set to hostile values, its data optionally damaged."""
    import nibabel as nib

    dtype = rng.choice([np.int16, np.float32, np.float64, np.uint8])
    data = smooth_volume(rng, dtype)
    if data.dtype.kind == "f" and rng.random() < 0.4:
        data.reshape(-1)[rng.integers(0, data.size, int(rng.integers(1, 20)))] = rng.choice(
            [np.nan, np.inf, -np.inf]
        )
    header = nib.Nifti1Header(endianness=str(rng.choice(["<", ">"])))
    header.set_data_dtype(data.dtype)
    header.set_data_shape(data.shape)
    header.set_sform(AFFINE_RAS, code=1)
    header.set_qform(AFFINE_RAS, code=1)
    header["vox_offset"] = 352
    chosen = rng.choice(sorted(_NIFTI_FIELDS), size=int(rng.integers(1, 4)), replace=False)
    for name in chosen:
        header[name] = _NIFTI_FIELDS[name](rng)
    payload = (
        np.asfortranarray(data).astype(data.dtype.newbyteorder(str(header.endianness))).tobytes(order="F")
    )
    damage = rng.choice(["none", "none", "truncate", "append", "flip"])
    if damage == "truncate":
        payload = payload[: int(rng.integers(0, len(payload)))]
    elif damage == "append":
        payload += rng.bytes(int(rng.integers(1, 5000)))
    elif damage == "flip" and payload:
        raw = bytearray(payload)
        for position in rng.integers(0, len(raw), 20):
            raw[position] = int(rng.integers(0, 256))
        payload = bytes(raw)
    content = header.binaryblock + b"\0" * 4 + payload
    gz = rng.random() < 0.5
    path = folder / f"fuzz{index:04d}_{'_'.join(chosen)}_{damage}.nii{'.gz' if gz else ''}"
    path.write_bytes(gzip.compress(content) if gz else content)
    return Case(path.name, "image", [path])


# --- DICOM ------------------------------------------------------------------------------------------------
def _dicom_mutations() -> dict[str, Callable[[object, np.random.Generator], None]]:
    def setter(keyword: str, values: list[object]) -> Callable[[object, np.random.Generator], None]:
        def mutate(dataset: object, rng: np.random.Generator) -> None:
            from pydicom.datadict import dictionary_VR, tag_for_keyword
            from pydicom.dataelem import RawDataElement
            from pydicom.tag import Tag

            value = values[int(rng.integers(len(values)))]
            try:
                setattr(dataset, keyword, value)
            except (ValueError, TypeError, OverflowError):  # pydicom will not hold it: store the raw bytes
                tag = Tag(tag_for_keyword(keyword))
                raw = str(value).encode()
                raw += b" " * (len(raw) % 2)
                element = RawDataElement(tag, dictionary_VR(tag), len(raw), raw, 0, False, True)
                dataset._dict[tag] = element  # type: ignore[attr-defined]

        return mutate

    def delete(keyword: str) -> Callable[[object, np.random.Generator], None]:
        def mutate(dataset: object, rng: np.random.Generator) -> None:
            if keyword in dataset:  # type: ignore[operator]
                delattr(dataset, keyword)

        return mutate

    return {
        "Rows": setter("Rows", [0, 1, 65535, 9]),
        "Columns": setter("Columns", [0, 65535, 7]),
        "BitsAllocated": setter("BitsAllocated", [0, 1, 7, 12, 64]),
        "BitsStored": setter("BitsStored", [0, 3, 17, 32]),
        "PixelRepresentation": setter("PixelRepresentation", [1, 2]),
        "NumberOfFrames": setter("NumberOfFrames", ["0", "2", "1000000000", "-3", "abc"]),
        "RescaleSlope": setter("RescaleSlope", ["1e38", "-1e38", "NaN", "inf", "0", "abc", "1e308"]),
        "RescaleIntercept": setter("RescaleIntercept", ["1e38", "-inf", "NaN", "3.5e38"]),
        "PixelSpacing": setter("PixelSpacing", [[0, 0], ["NaN", 1], [-1, -1], [1e30, 1e30], [1]]),
        "ImagePositionPatient": setter(
            "ImagePositionPatient", [["NaN", 0, 0], [1e300, 0, 0], [0, 0], [0, 0, 0]]
        ),
        "ImageOrientationPatient": setter(
            "ImageOrientationPatient", [[0, 0, 0, 0, 0, 0], [1, 0, 0, 1, 0, 0], ["NaN", 0, 0, 0, 1, 0]]
        ),
        "SamplesPerPixel": setter("SamplesPerPixel", [3, 0]),
        "PhotometricInterpretation": setter(
            "PhotometricInterpretation", ["RGB", "PALETTE COLOR", "MONOCHROME1"]
        ),
        "SeriesDescription": setter("SeriesDescription", [f"art {t}" for t in IDENTITY_TEXT]),
        "ProtocolName": setter("ProtocolName", list(IDENTITY_TEXT)),
        "ContrastBolusAgent": setter("ContrastBolusAgent", [f"Gd {t}" for t in IDENTITY_TEXT]),
        "ImageType": setter("ImageType", [["ORIGINAL", "PRIMARY", "QUAXLEY"], ["DERIVED", "MRN77Q3X9ZK"]]),
        "AcquisitionTime": setter("AcquisitionTime", ["Quaxley", "99999999", ""]),
        "SOPClassUID": setter(
            "SOPClassUID", ["1.2.840.10008.5.1.4.1.1.88.11", "1.2.840.10008.1.3.10", "junk"]
        ),
        "-ImagePositionPatient": delete("ImagePositionPatient"),
        "-PixelSpacing": delete("PixelSpacing"),
        "-Rows": delete("Rows"),
    }


DICOM_MUTATIONS = _dicom_mutations()


def dicom_case(rng: np.random.Generator, folder: Path, index: int) -> Case:
    """A valid 4-slice series with 1-3 attributes of some slices set to hostile values, or a damaged file."""
    import pydicom

    from hccdesk.imaging.dicom_writer import axial_positions, write_series

    series = folder / f"fuzz{index:04d}_dicom"
    slices = (smooth_volume(rng)[:, :, :4].transpose(2, 1, 0)).astype(np.int16)
    paths = write_series(series, slices, axial_positions(4, 3.0), description="t1 vibe arterial")
    chosen = [
        str(n) for n in rng.choice(sorted(DICOM_MUTATIONS), size=int(rng.integers(1, 4)), replace=False)
    ]
    labels = list(chosen)
    victims = paths if rng.random() < 0.6 else [paths[int(rng.integers(len(paths)))]]
    for path in victims:
        dataset = pydicom.dcmread(path)
        for name in chosen:
            DICOM_MUTATIONS[name](dataset, rng)
        lying_syntax = rng.random() < 0.2
        if lying_syntax:  # raw pixels declared as JPEG, JPEG 2000 or an unknown syntax
            from pydicom.encaps import encapsulate

            syntax = str(rng.choice(["1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.90", "1.2.3.4.5"]))
            dataset.file_meta.TransferSyntaxUID = syntax
            dataset.PixelData = encapsulate([dataset.PixelData])
            dataset["PixelData"].VR = "OB"
            labels.append("TransferSyntaxUID")
        try:
            dataset.save_as(path, enforce_file_format=False)
        except (ValueError, TypeError, OverflowError) as error:  # pydicom will not even write this value
            raise ValueError(f"cannot write the mutated dataset: {error}") from error
    damage = rng.choice(["none", "none", "truncate", "flip"])
    if damage != "none":
        path = victims[0]
        raw = bytearray(path.read_bytes())
        if damage == "truncate":
            raw = raw[: int(rng.integers(0, len(raw)))]
        else:
            for position in rng.integers(0, len(raw), 30):
                raw[position] = int(rng.integers(0, 256))
        path.write_bytes(bytes(raw))
    name = f"{series.name}_{'_'.join(dict.fromkeys(labels))}_{damage}"
    return Case(name, "image", [series])


# --- special files ----------------------------------------------------------------------------------------
def special_case(rng: np.random.Generator, folder: Path, index: int) -> Case:
    """A folder holding one valid arterial NIfTI and something that is not a regular image file."""
    import nibabel as nib

    exam = folder / f"fuzz{index:04d}_special"
    exam.mkdir()
    nib.save(nib.Nifti1Image(smooth_volume(rng), AFFINE_RAS), exam / "arterial.nii.gz")
    kinds = [
        "fifo",
        "dev_zero",
        "dev_urandom",
        "dir_named_nii",
        "empty",
        "loop",
        "sparse",
        "dicom_noise",
        "newline",
    ]
    what = str(rng.choice(kinds))
    if what == "fifo":
        os.mkfifo(exam / str(rng.choice(["a.dcm", "b.nii", "c.nii.gz", "IM0001"])))
    elif what == "dev_zero":
        (exam / "zero.dcm").symlink_to("/dev/zero")
    elif what == "dev_urandom":
        (exam / "random.nii").symlink_to("/dev/urandom")
    elif what == "dir_named_nii":
        (exam / "folder.nii.gz").mkdir()
    elif what == "empty":
        (exam / str(rng.choice(["empty.nii", "empty.nii.gz", "empty.dcm"]))).write_bytes(b"")
    elif what == "loop":
        (exam / "loop.nii").symlink_to(exam / "loop.nii")
    elif what == "sparse":
        with open(exam / "sparse.nii", "wb") as handle:
            handle.truncate(8 * 2**30)
    elif what == "dicom_noise":  # a DICOM-looking start, then zeros or random bytes that parse as elements
        with open(exam / "noise.dcm", "wb") as handle:
            handle.write(b"\x08\x00" + (rng.bytes(2**20) if rng.random() < 0.5 else b""))
            handle.truncate(200 * 2**20)
    else:
        (exam / "two\nlines.nii").write_bytes(b"not a nifti")
    return Case(f"{exam.name}_{what}", "image", [exam])


# --- phases that do not belong together -------------------------------------------------------------------
def phase_case(rng: np.random.Generator, folder: Path, index: int) -> Case:
    """An arterial phase and a second phase that is far away, barely overlapping, or the same image."""
    import shutil

    import nibabel as nib

    base = folder / f"fuzz{index:04d}_phases"
    base.mkdir()
    arterial = base / "arterial.nii.gz"
    nib.save(nib.Nifti1Image(smooth_volume(rng), AFFINE_RAS), arterial)
    what = str(rng.choice(["far", "barely", "same_file", "copy", "rotated_far"]))
    other = base / "other.nii.gz"
    affine = AFFINE_RAS.copy()
    if what == "far":
        affine[int(rng.integers(3)), 3] = float(rng.choice([1e6, -1e6, 5e3]))
    elif what == "barely":
        affine[0, 3] = float(rng.choice([15.0, 17.0, -16.5]))
    elif what == "rotated_far":
        affine[:3, :3] = np.array([[0, 1.5, 0], [1.5, 0, 0], [0, 0, 3.0]])
        affine[:3, 3] = 1e4
    if what == "same_file":
        other = arterial
    elif what == "copy":
        shutil.copy(arterial, other)
    else:
        nib.save(nib.Nifti1Image(smooth_volume(rng), affine), other)
    second = str(rng.choice(["pre", "portal", "delayed"]))
    return Case(f"{base.name}_{what}", "phases", [], {"arterial": arterial, second: other})


# --- lesion CSV rows --------------------------------------------------------------------------------------
_CELLS = [
    "1_0",
    "\u0661\u0662",
    "1e3",
    "-5",
    "999999999999",
    "",
    " 3",
    "NaN",
    "inf",
    "0x10",
    "+4",
    "3.0",
    "½",
    '=HYPERLINK("http://x")',
    "+SUM(1+1)",
    "@SUM(A1)",
    "-2+3",
    "\t=1",
    "'=1",
    '"quoted"',
    "a,b",
    "line\nbreak",
    "\x00nul",
    "\ufeffbom",
    "x" * 70_000,
    "../../etc/passwd",
    "S1",
    "L0001",
    "V",
    "0",
    "iv",
    "IIII",
    "Quaxley^Hieronymus",
    "\r\n",
    "\u202eevil",
]


def csv_case(rng: np.random.Generator, folder: Path, index: int) -> Case:
    """A lesion CSV whose 1-3 rows have hostile cells (numbers, ids, grades, notes, structure, encoding)."""
    header = "lesion_id,study_id,z0,y0,x0,z1,y1,x1,grade,notes"
    rows = []
    for _ in range(int(rng.integers(1, 4))):
        cells = ["", "S1", "1", "1", "1", "3", "3", "3", "2", "fuzz"]
        for column in rng.choice(len(cells), size=int(rng.integers(1, 4)), replace=False):
            cells[int(column)] = str(rng.choice(_CELLS))
        if rng.random() < 0.1:
            cells = cells[: int(rng.integers(1, len(cells)))]
        if rng.random() < 0.1:
            cells += ["extra"]
        rows.append(",".join(_quote(cell) if rng.random() < 0.7 else cell for cell in cells))
    text = "\n".join([header, *rows]) + "\n"
    if rng.random() < 0.1:
        text = text.replace("\n", "\r\n")
    encoding = str(rng.choice(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    path = folder / f"fuzz{index:04d}_lesions.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    if rng.random() < 0.05:
        path.write_bytes(path.read_bytes()[: int(rng.integers(0, len(text)))] + b"\xff\xfe\x00")
    return Case(path.name, "csv", [path])


def _quote(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


GENERATORS: dict[str, Callable[[np.random.Generator, Path, int], Case]] = {
    "nifti": nifti_case,
    "dicom": dicom_case,
    "special": special_case,
    "phases": phase_case,
    "csv": csv_case,
}
"""Case generators by name; :func:`generate` cycles through them with these weights."""

WEIGHTS = {"nifti": 0.3, "dicom": 0.25, "special": 0.1, "phases": 0.1, "csv": 0.25}


def generate(count: int, seed: int, folder: Path) -> list[Case]:
    """``count`` cases drawn with :data:`WEIGHTS` from seed ``seed``, written under ``folder``."""
    rng = np.random.default_rng(seed)
    names = sorted(GENERATORS)
    weights = np.array([WEIGHTS[name] for name in names])
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    warnings.simplefilter("ignore")  # pydicom warns about every invalid value written, which is the point
    for index in range(count):
        family = str(rng.choice(names, p=weights / weights.sum()))
        case = GENERATORS[family](rng, folder, index)
        case.family = family
        cases.append(case)
    return cases
