"""Real files bundled with pydicom and pydicom-data: series logic, codecs, damaged and non-image objects."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hccdesk.imaging.dicom_pixels import decode_file
from hccdesk.imaging.scan import scan_paths

pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402
from pydicom.uid import generate_uid  # noqa: E402


def _file(name: str) -> str:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not installed (pydicom-data)")
    return str(path)


def _dicomdir_tests() -> Path:
    return Path(_file("DICOMDIR")).parent


def _stack_copies(source: str, folder: Path, count: int = 3, step: float = 2.0) -> list[Path]:
    """``count`` copies of a single-slice file shifted along its normal, pixel data untouched (same codec)."""
    series = generate_uid()
    written = []
    for index in range(count):
        ds = pydicom.dcmread(source)
        row, column = (
            np.array(ds.ImageOrientationPatient[:3], float),
            np.array(ds.ImageOrientationPatient[3:], float),
        )
        position = np.array(ds.ImagePositionPatient, float) + index * step * np.cross(row, column)
        ds.ImagePositionPatient = [float(v) for v in position]
        ds.SeriesInstanceUID = series
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        path = folder / f"slice{index}.dcm"
        ds.save_as(path)
        written.append(path)
    return written


def test_ct5n_is_a_volume_sorted_along_the_normal() -> None:
    result = scan_paths([_dicomdir_tests() / "98892001" / "CT5N"])
    assert not result.rejected
    (volume,) = result.volumes
    assert volume.shape == (5, 16, 16)
    np.testing.assert_allclose(volume.spacing, [2.5, 0.488281, 0.488281], atol=1e-5)
    heights = [
        float(pydicom.dcmread(p, stop_before_pixels=True).ImagePositionPatient[2])
        for p in volume.source.paths
    ]
    assert heights == sorted(heights)
    assert volume.origin[2] == pytest.approx(heights[0])
    expected = np.stack(
        [
            pydicom.pixels.apply_modality_lut(d.pixel_array, d)
            for d in map(pydicom.dcmread, volume.source.paths)
        ]
    )
    np.testing.assert_array_equal(volume.array, expected)


def test_ct2_with_a_202mm_gap_is_refused() -> None:
    result = scan_paths([_dicomdir_tests() / "77654033" / "CT2"])
    assert result.volumes == []
    (rejected,) = result.rejected
    assert rejected.reason == "gap_or_uneven_spacing"
    assert "202.5" in rejected.message


def test_mr2_localizers_are_refused_not_stacked() -> None:
    result = scan_paths([_dicomdir_tests() / "98892003" / "MR2"])
    assert result.volumes == []
    assert sorted(r.reason for r in result.rejected) == [
        "mixed_orientation",
        "mixed_orientation",
        "too_few_slices",
    ]


def test_mr700_radial_projections_are_refused() -> None:
    result = scan_paths([_dicomdir_tests() / "98892003" / "MR700"])
    assert result.volumes == []
    assert [r.reason for r in result.rejected] == ["mixed_orientation"]
    assert len(result.rejected[0].paths) == 7


def test_dicomdir_and_pixel_less_instances_are_skipped_with_reasons() -> None:
    result = scan_paths([_dicomdir_tests()])
    reasons = {os.path.basename(s.path): s.reason for s in result.skipped}
    assert "DICOMDIR" in reasons["DICOMDIR"]
    assert "README.txt" in reasons and reasons["README.txt"] == "not a DICOM file"
    tiny_alpha = [s for s in result.skipped if f"TINY_ALPHA{os.sep}PT" in s.path]
    assert len(tiny_alpha) == 50 and all(s.reason.startswith("no pixel data") for s in tiny_alpha)
    assert [v.shape for v in result.volumes] == [(5, 16, 16)]


def test_deflated_file_is_read_whole() -> None:
    """Deflated datasets have no usable file offsets; pixels are still found (the SC image lacks geometry)."""
    result = scan_paths([_file("image_dfl.dcm")])
    assert result.skipped[0].reason.startswith("no ImagePositionPatient")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("SC_rgb.dcm", "a colour image (RGB)"),
        ("examples_palette.dcm", "a colour image (PALETTE COLOR)"),
        ("rtdose.dcm", "a radiotherapy object"),
        ("RG1_UNCR.dcm", "no ImagePositionPatient"),
    ],
)
def test_objects_that_are_not_grey_level_slices_are_skipped(name: str, reason: str) -> None:
    result = scan_paths([_file(name)])
    assert result.volumes == [] and result.rejected == []
    assert result.skipped[0].reason.startswith(reason)


def test_seg_is_skipped() -> None:
    result = scan_paths([_file("liver_1frame.dcm")])
    assert result.volumes == [] and result.rejected == []
    assert "Segmentation Storage" in result.skipped[0].reason


def test_truncated_file_gives_a_reason() -> None:
    result = scan_paths([_file("MR_truncated.dcm")])
    assert result.volumes == []
    assert result.skipped[0].reason.startswith("truncated")


def test_real_liver_slice_alone_is_refused_as_too_few_slices() -> None:
    """Policy: a volume needs 3 slices; the single DCE slice is refused, not turned into a 1-slice volume."""
    result = scan_paths([_file("examples_overlay.dcm")])
    assert result.volumes == []
    assert [r.reason for r in result.rejected] == ["too_few_slices"]
    assert "marked lesion" in result.rejected[0].message


def test_real_liver_slice_stacked_keeps_pixels_and_whitelisted_tags(tmp_path: Path) -> None:
    source = _file("MR-SIEMENS-DICOM-WithOverlays.dcm")
    _stack_copies(source, tmp_path, count=3, step=4.0)
    (volume,) = scan_paths([tmp_path]).volumes
    reference = pydicom.dcmread(source).pixel_array
    assert volume.shape == (3, *reference.shape)
    np.testing.assert_array_equal(volume.array[1], reference)
    assert volume.spacing[0] == pytest.approx(4.0)
    assert volume.source.tags["SequenceName"] == "*fl3d1"
    assert volume.source.tags["ProtocolName"] == "t1_vibe_fs_tra_bh_dyn"


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_expb.dcm",
        "MR_small_padded.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
    ],
)
def test_codec_variants_decode_to_the_same_volume(name: str, tmp_path: Path) -> None:
    reference = pydicom.dcmread(_file("MR_small.dcm")).pixel_array
    _stack_copies(_file(name), tmp_path)
    result = scan_paths([tmp_path])
    assert not result.rejected
    (volume,) = result.volumes
    for plane in volume.array:
        np.testing.assert_array_equal(plane, reference)


@pytest.mark.parametrize(
    "name",
    [
        "emri_small_RLE.dcm",
        "emri_small_big_endian.dcm",
        "emri_small_jpeg_2k_lossless.dcm",
        "emri_small_jpeg_ls_lossless.dcm",
    ],
)
def test_enhanced_codec_variants_decode_like_the_uncompressed_file(name: str) -> None:
    np.testing.assert_array_equal(decode_file(_file(name)), decode_file(_file("emri_small.dcm")))


def test_enhanced_file_without_functional_groups_is_skipped() -> None:
    """emri_small has 10 frames but no plane positions: it cannot be placed in the world, so it is skipped."""
    result = scan_paths([_file("emri_small.dcm")])
    assert result.volumes == []
    assert "without functional groups" in result.skipped[0].reason


def test_per_file_rescale_of_philips_mr(tmp_path: Path) -> None:
    source = _file("MR2_UNCR.dcm")
    _stack_copies(source, tmp_path)
    (volume,) = scan_paths([tmp_path]).volumes
    ds = pydicom.dcmread(source)
    assert volume.array.dtype == np.float32
    np.testing.assert_allclose(
        volume.array[0], ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept), rtol=1e-6
    )


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small.dcm"])
def test_a_damaged_slice_refuses_its_series_with_a_reason(name: str, tmp_path: Path) -> None:
    paths = _stack_copies(_file(name), tmp_path)
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: len(data) - 700])
    result = scan_paths([tmp_path])
    assert result.volumes == []
    assert result.rejected or result.skipped
    reasons = {r.reason for r in result.rejected} | {s.reason.split(":")[0] for s in result.skipped}
    assert reasons <= {"undecodable_transfer_syntax", "unsupported", "too_few_slices", "truncated"}
