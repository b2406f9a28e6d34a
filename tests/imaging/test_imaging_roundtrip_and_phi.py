"""DICOM -> Volume -> NIfTI -> Volume keeps every voxel's world position; no identity leaves DICOM, and free
text is stored cleaned (PS3.15 Annex E, Retain/Clean Descriptors) without losing the phase it names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from hccdesk.imaging.descriptors import VOCABULARY, clean_descriptor
from hccdesk.imaging.dicom_tags import (
    CODE_TAGS,
    NUMBER_TAGS,
    TECHNICAL_TAGS,
    TEXT_TAGS,
    TIME_TAGS,
    UID_TAGS,
    deidentified_tags,
)
from hccdesk.imaging.dicom_writer import write_series
from hccdesk.imaging.nifti import read_nifti, write_nifti
from hccdesk.imaging.phases import phase_from_text, phase_words
from hccdesk.imaging.scan import scan_paths

OBLIQUE = (0.609, 0.791, 0.064, -0.143, 0.188, -0.972)  # the Hitachi corpus series' orientation (rounded)


def _oblique_series(folder: Path) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    row, column = np.array(OBLIQUE[:3]), np.array(OBLIQUE[3:])
    row /= np.linalg.norm(row)
    column -= row * (row @ column)
    column /= np.linalg.norm(column)
    normal = np.cross(row, column)
    positions = np.array([10.0, -20.0, 30.0]) + np.outer(np.arange(4)[::-1] * 4.0, normal)
    rng = np.random.default_rng(7)
    slices = rng.integers(0, 3000, size=(4, 6, 5), dtype=np.int16)
    spacing = (2.3, 1.7)
    write_series(folder, slices, positions, orientation=(*row, *column), pixel_spacing=spacing)
    return slices, positions, spacing


def test_dicom_to_nifti_and_back_keeps_world_positions(tmp_path: Path) -> None:
    import nibabel as nib

    slices, positions, (row_spacing, column_spacing) = _oblique_series(tmp_path / "dicom")
    (volume,) = scan_paths([tmp_path / "dicom"]).volumes
    row, column = np.array(volume.direction[0]), np.array(volume.direction[1])
    # the DICOM definition of every voxel's position: IPP of its slice + i * sx * r + j * sy * c
    order = np.argsort(positions @ volume.direction[2])
    k, j, i = np.meshgrid(np.arange(4), np.arange(6), np.arange(5), indexing="ij")
    expected = (
        positions[order][k] + (i * column_spacing)[..., None] * row + (j * row_spacing)[..., None] * column
    )
    kji = np.stack([k, j, i], axis=-1)
    np.testing.assert_allclose(volume.voxel_to_world(kji), expected, atol=1e-4)
    np.testing.assert_array_equal(volume.array, slices[order])

    path = write_nifti(volume, tmp_path / "v.nii.gz")
    image = nib.load(path)
    ras = nib.affines.apply_affine(image.affine, kji[..., ::-1].reshape(-1, 3))
    np.testing.assert_allclose(ras * [-1, -1, 1], expected.reshape(-1, 3), atol=1e-4)
    (back,) = read_nifti(path)
    np.testing.assert_allclose(back.voxel_to_world(kji), expected, atol=1e-4)
    np.testing.assert_array_equal(back.array, volume.array)
    assert back.array.dtype == volume.array.dtype


def test_no_identity_in_tags_or_reports(tmp_path: Path) -> None:
    _oblique_series(tmp_path)
    result = scan_paths([tmp_path])
    (volume,) = result.volumes
    identity = {
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "StudyDate",
        "InstitutionName",
        "StudyInstanceUID",
    }
    assert not identity & set(TECHNICAL_TAGS)
    assert set(volume.source.tags) <= set(TECHNICAL_TAGS)
    report = json.dumps(result.to_dict()) + json.dumps(volume.source.tags)
    for value in ("Bench^Synthetic", "BENCH-0001", "19700101", "20240101"):
        assert value not in report
    assert volume.source.tags["Manufacturer"] == "SIEMENS" and volume.source.tags["FlipAngle"] == 10.0


def test_every_whitelisted_tag_has_exactly_one_kind() -> None:
    kinds = [TEXT_TAGS, CODE_TAGS, TIME_TAGS, UID_TAGS, NUMBER_TAGS]
    for keyword in TECHNICAL_TAGS:
        assert sum(keyword in kind for kind in kinds) == 1, keyword


def test_free_text_tags_are_stored_cleaned(tmp_path: Path) -> None:
    import pydicom

    _oblique_series(tmp_path)
    for path in tmp_path.glob("*.dcm"):
        dataset = pydicom.dcmread(path)
        dataset.ProtocolName = "t1_vibe Quaxley^Hieronymus"
        dataset.ContrastBolusAgent = "Primovist MRN-77Q3X9ZK"
        dataset.ImageType = ["ORIGINAL", "PRIMARY", "M", "QUAXLEY"]
        dataset.SeriesTime = "19230817 Quaxley"
        dataset.save_as(path)
    (volume,) = scan_paths([tmp_path]).volumes
    stored = deidentified_tags(volume.source.tags)
    assert stored["ProtocolName"] == "t1_vibe" and stored["ContrastBolusAgent"] == "Primovist"
    assert stored["ImageType"] == ["ORIGINAL", "PRIMARY", "M", ""] and "SeriesTime" not in stored
    assert stored["EchoTime"] == volume.source.tags["EchoTime"]
    assert "Quaxley" not in json.dumps(stored) and "77Q3X9ZK" not in json.dumps(stored)


NAMES = st.text(alphabet=st.characters(categories=["L"]), min_size=2, max_size=12).filter(
    lambda word: word.lower() not in VOCABULARY
)
NUMBERS = st.integers(1000, 10**12).map(str)


@given(
    phase_words=st.lists(st.sampled_from(sorted(phase_words())), min_size=0, max_size=3),
    identity=st.lists(st.one_of(NAMES, NUMBERS), min_size=1, max_size=4),
    separators=st.lists(st.sampled_from([" ", "_", "^", "-", ".", "/", ", "]), min_size=8, max_size=8),
)
def test_cleaning_removes_names_and_numbers_but_keeps_the_phase(
    phase_words: list[str], identity: list[str], separators: list[str]
) -> None:
    words = [*phase_words, *identity]
    words = [words[i] for i in np.random.default_rng(len(identity)).permutation(len(words))]
    text = "".join(f"{separator}{word}" for separator, word in zip(separators, words, strict=False))
    cleaned = clean_descriptor(text)
    for secret in identity:
        assert secret.lower() not in _words(cleaned), (text, cleaned)
    assert phase_from_text(cleaned) == phase_from_text(" ".join(phase_words))


def _words(text: str) -> set[str]:
    return {word.lower() for word in re.split(r"[^A-Za-z0-9]+", text) if word}
