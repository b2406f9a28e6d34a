"""``hccdesk inspect`` and ``hccdesk convert``: output format, exit codes, no traceback on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hccdesk.cli import main
from hccdesk.imaging.dicom_writer import axial_positions, write_series


@pytest.fixture
def series(tmp_path: Path) -> Path:
    folder = tmp_path / "dicom"
    slices = np.arange(4 * 6 * 5, dtype=np.int16).reshape(4, 6, 5)
    write_series(folder, slices, axial_positions(4, 3.0), pixel_spacing=(0.9, 0.8), description="LAVA art")
    (folder / "notes.txt").write_text("not an image\n")
    return folder


def test_inspect_json(series: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(series), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"volumes", "rejected", "skipped"}
    (volume,) = report["volumes"]
    assert set(volume) >= {
        "id",
        "paths",
        "series_uid",
        "series_description",
        "phase",
        "shape",
        "spacing",
        "affine_lps",
        "dtype",
        "warnings",
    }
    assert volume["shape"] == [4, 6, 5] and volume["spacing"] == [3.0, 0.9, 0.8]
    assert volume["phase"] == "arterial" and volume["dtype"] == "int16"
    np.testing.assert_allclose(np.array(volume["affine_lps"])[:3, 3], axial_positions(4, 3.0)[0])
    assert report["skipped"] == [{"path": str(series / "notes.txt"), "reason": "not a DICOM file"}]


def test_inspect_text(series: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(series)]) == 0
    out = capsys.readouterr().out
    assert "1 volume(s)" in out and "arterial" in out and "not a DICOM file" in out


def test_inspect_without_volumes_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_series(tmp_path, np.zeros((2, 4, 4), np.int16), axial_positions(2, 3.0))
    assert main(["inspect", "--json", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["rejected"][0]["reason"] == "too_few_slices"
    assert captured.err.startswith("hccdesk: error: no volume found") and captured.err.count("\n") == 1


def test_convert_writes_nifti_and_report(series: Path, tmp_path: Path) -> None:
    import nibabel as nib

    out = tmp_path / "out"
    assert main(["convert", str(series), "--out", str(out)]) == 0
    report = json.loads((out / "volumes.json").read_text())
    (volume,) = report["volumes"]
    image = nib.load(out / f"{volume['id']}.nii.gz")
    assert image.shape == (5, 6, 4)
    np.testing.assert_allclose(
        image.affine, np.diag([-1, -1, 1, 1]) @ np.array(volume["affine_lps"]), atol=1e-5
    )


@pytest.mark.parametrize(
    "argv", [["inspect", "/no/such/folder"], ["convert", "/no/such/folder", "--out", "x"]]
)
def test_bad_paths_exit_2_without_traceback(argv: list[str], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hccdesk", *argv], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "hccdesk: error: /no/such/folder: no such file or folder"


def test_garbage_file_exits_2_without_traceback(tmp_path: Path) -> None:
    garbage = tmp_path / "scan.dcm"
    garbage.write_bytes(b"\x00" * 128 + b"DICM" + bytes(range(256)) * 4)
    done = subprocess.run(
        [sys.executable, "-m", "hccdesk", "inspect", str(garbage)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.startswith("hccdesk: error: no volume found")
