"""Issue 11, class 1: files that are not what they claim, through the real CLI.

Every case ends in a skip or refusal with a one-line reason (``inspect`` exits 2 with one stderr line when
nothing usable is left; ``import`` exits 2 and leaves the project byte-identical), never a hang, a traceback,
an allocation the file cannot back, or a non-finite value in a project.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hostile import (
    assert_one_error_line,
    cli,
    fingerprint,
    nifti_bytes,
    scan_with_peak_memory,
    smooth_volume,
    write_nifti_bytes,
)

from hccdesk.cli import main
from hccdesk.imaging.dicom_writer import axial_positions, write_series

NAN_ONE = smooth_volume().astype(np.float32)
NAN_ONE[3, 4, 5] = np.nan
RGB = np.zeros((6, 5, 4), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])

BAD_NIFTI = {
    "rgb24.nii": (nifti_bytes(RGB), "colour or multi-field voxels"),
    "complex.nii.gz": (nifti_bytes(np.ones((6, 5, 4), np.complex64)), "complex voxels"),
    "one_nan.nii.gz": (nifti_bytes(NAN_ONE), "1 of 960 voxels are NaN or infinite"),
    "all_nan.nii": (nifti_bytes(np.full((6, 5, 4), np.nan, np.float32)), "120 of 120 voxels are NaN"),
    "plus_inf.nii": (nifti_bytes(np.full((6, 5, 4), np.inf, np.float64)), "NaN or infinite"),
    "minus_inf.nii": (nifti_bytes(np.full((6, 5, 4), -np.inf, np.float32)), "NaN or infinite"),
    "huge_values.nii": (nifti_bytes(np.full((6, 5, 4), 1e30, np.float32)), "exceed 1.8e+19 in magnitude"),
    "slope_overflow.nii": (nifti_bytes(smooth_volume(), scl_slope=1e38), "960 of 960 voxels exceed"),
    "pixdim0.nii": (
        nifti_bytes(smooth_volume(), pixdim=(0, 0, 0), sform_code=0, qform_code=0),
        "degenerate geometry: voxel size (pixdim) 0, 0, 0 mm",
    ),
    "pixdim_nan_qform.nii": (
        nifti_bytes(smooth_volume(), pixdim=(1.0, np.nan, 1.0), sform_code=0),
        "degenerate geometry",
    ),
    "claims_2gb.nii": (
        nifti_bytes(b"\0" * 33_000, shape=(1024, 1024, 1024), dtype=np.int16),
        "truncated: the header announces 2147484000 bytes",
    ),
    "claims_2gb.nii.gz": (
        nifti_bytes(b"\0" * 33_000, shape=(1024, 1024, 1024), dtype=np.int16),
        "truncated: the header announces 2147484000 bytes",
    ),
    "claims_64gb.nii": (
        nifti_bytes(b"\0" * 100, shape=(32767, 32767, 32767), dtype=np.float64),
        "more than the 4 GiB one file may hold",
    ),
    "one_byte_short.nii": (nifti_bytes(smooth_volume().tobytes()[:-1], shape=(12, 10, 8)), "truncated"),
    "not_nifti.nii": (b"this is a text file that claims to be NIfTI\n" * 20, "not a readable NIfTI file"),
    "bad_dim0.nii": (nifti_bytes(smooth_volume(), dim=[9, 12, 10, 8, 1, 1, 1, 1]), "GiB of voxel data"),
    "negative_dim.nii": (
        nifti_bytes(smooth_volume(), dim=[3, 12, -10, 8, 1, 1, 1, 1]),
        "negative dimensions",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_NIFTI))
def test_inspect_refuses_a_nifti_that_is_not_what_it_claims(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, reason = BAD_NIFTI[name]
    path = write_nifti_bytes(tmp_path / name, content)
    status, out, err = cli(["inspect", str(path)], capsys)
    assert status == 2 and "0 volume(s)" in out and reason in out, out
    assert_one_error_line(err, "no volume found (1 series refused", reason)


@pytest.mark.parametrize("name", ["rgb24.nii", "one_nan.nii.gz", "pixdim0.nii", "claims_2gb.nii"])
def test_import_refuses_it_and_leaves_the_project_byte_identical(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p.hccdesk"
    assert cli(["project", "create", str(project)], capsys)[0] == 0
    before = fingerprint(project)
    content, reason = BAD_NIFTI[name]
    path = write_nifti_bytes(tmp_path / "in" / name, content)
    status, _, err = cli(
        ["import", str(project), "--patient", "P1", "--study", "S1", "--phase", f"arterial={path}"], capsys
    )
    assert status == 2
    assert_one_error_line(err, reason)
    assert fingerprint(project) == before


def test_a_header_claiming_gigabytes_allocates_no_more_than_the_file_holds(tmp_path: Path) -> None:
    path = write_nifti_bytes(tmp_path / "claims_2gb.nii.gz", BAD_NIFTI["claims_2gb.nii.gz"][0])
    result, peak = scan_with_peak_memory(path)
    assert result.rejected[0].message.count("truncated") == 1
    assert peak < 4 * 2**20, f"peak {peak} bytes for a file that decompresses to 33 KB"


def test_pipes_and_devices_in_a_folder_are_skipped_without_being_opened(tmp_path: Path) -> None:
    folder = tmp_path / "exam"
    write_nifti_bytes(folder / "arterial.nii.gz", nifti_bytes(smooth_volume()))
    os.mkfifo(folder / "pipe.dcm")
    os.mkfifo(folder / "pipe.nii")
    (folder / "zero.dcm").symlink_to("/dev/zero")
    done = subprocess.run(
        [sys.executable, "-m", "hccdesk", "inspect", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.count("a named pipe (FIFO), not a regular file: never opened") == 2
    assert "zero.dcm: a character device, not a regular file" in done.stdout
    project = tmp_path / "p.hccdesk"
    commands = [
        ["project", "create", str(project)],
        ["import", str(project), "--patient", "P1", "--study", "S1", str(folder)],
    ]
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", "hccdesk", *command], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr


def test_a_pipe_given_by_name_is_skipped_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(tmp_path / "pipe.nii.gz")
    status, out, err = cli(["inspect", str(tmp_path / "pipe.nii.gz")], capsys)
    assert status == 2 and "named pipe" in out
    assert_one_error_line(err, "no volume found (0 series refused, 1 files skipped)")


def test_a_dicom_rescale_that_overflows_to_infinity_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slices = (np.arange(4 * 8 * 8).reshape(4, 8, 8) % 300 + 100).astype(np.int16)
    write_series(tmp_path, slices, axial_positions(4, 3.0), slopes=[1.0, 1.0, 1e38, 1.0])
    status, _out, err = cli(["inspect", str(tmp_path)], capsys)
    assert status == 2
    assert_one_error_line(err, "after the modality rescale (RescaleSlope/RescaleIntercept), 64 of 256 voxels")


def test_compressed_dicom_claiming_a_giant_matrix_is_skipped_before_decoding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pydicom.encaps import encapsulate

    paths = write_series(tmp_path, np.zeros((3, 8, 8), np.int16), axial_positions(3, 3.0))
    for index, path in enumerate(paths):
        dataset = pydicom.dcmread(path)
        dataset.Rows, dataset.Columns = (65535, 65535) if index == 0 else (8000, 8000)
        dataset.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.70"
        dataset.PixelData = encapsulate([b"\xff\xd8" + b"\0" * 2000])
        dataset["PixelData"].VR = "OB"
        dataset.save_as(path, enforce_file_format=True)
    status, out, err = cli(["inspect", str(tmp_path)], capsys)
    assert status == 2 and "an image matrix of 65535 x 65535 pixels" in out
    assert out.count("compressed pixel data that would decode to 128000000 bytes") == 2
    assert_one_error_line(err, "no volume found (0 series refused, 3 files skipped)")


def test_messages_stay_on_one_line_whatever_the_file_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_nifti_bytes(tmp_path / "two\nlines\r.nii", b"garbage")
    status, _out, err = cli(["inspect", str(path)], capsys)
    assert status == 2
    assert_one_error_line(err, "two lines")


def test_noise_that_parses_as_dicom_elements_is_skipped_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """200 MB of zeros after a DICOM-looking group number were 26 million elements for pydicom (a hang)."""
    path = tmp_path / "zeros.dcm"
    with open(path, "wb") as handle:
        handle.write(b"\x08\x00")
        handle.truncate(200 * 2**20)  # sparse: no disk used
    status, out, err = cli(["inspect", str(path)], capsys)
    assert status == 2 and "elements out of order, not a DICOM dataset" in out
    assert_one_error_line(err, "no volume found (0 series refused, 1 files skipped)")


def test_what_a_failing_codec_prints_does_not_reach_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """libjpeg writes "Not a JPEG file" to file descriptor 2 itself; the refusal line is all the user sees."""
    from pydicom.encaps import encapsulate

    paths = write_series(tmp_path, np.ones((3, 8, 8), np.int16), axial_positions(3, 3.0))
    for path in paths:
        dataset = pydicom.dcmread(path)
        dataset.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.70"  # JPEG Lossless, but raw pixels
        dataset.PixelData = encapsulate([dataset.PixelData])
        dataset["PixelData"].VR = "OB"
        dataset.save_as(path, enforce_file_format=True)
    status = main(["inspect", str(tmp_path)])
    err = capfd.readouterr().err
    assert status == 2
    assert_one_error_line(err, "cannot decode transfer syntax JPEG Lossless")
