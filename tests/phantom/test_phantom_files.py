"""The phantom on disk: identical bytes for a seed, DICOM and NIfTI that import back to the same geometry and
values, the manifest and lesion CSVs, and the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from hccdesk.cli import main
from hccdesk.errors import InputError
from hccdesk.imaging.scan import scan_paths
from hccdesk.imaging.volume import PHASES
from hccdesk.phantom.build import write_cohort
from hccdesk.phantom.cohort import plan_cohort
from hccdesk.phantom.presets import get_preset
from hccdesk.phantom.study import generate_study


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory):
    return write_cohort(
        tmp_path_factory.mktemp("phantom") / "out", lesions=3, seed=8, formats=("dicom", "nifti")
    )


def test_same_seed_gives_identical_bytes_whatever_the_process_count(cohort, tmp_path: Path) -> None:
    again = write_cohort(tmp_path / "again", lesions=3, seed=8, formats=("dicom", "nifti"), workers=2)
    first, second = _files(cohort.folder), _files(again.folder)
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []
    other = write_cohort(tmp_path / "other", lesions=3, seed=9, formats=("dicom",))
    assert (
        _files(other.folder)["dicom/PH0001/PH0001-MR1/06_arterial/IM0001.dcm"]
        != first["dicom/PH0001/PH0001-MR1/06_arterial/IM0001.dcm"]
    )


@pytest.mark.parametrize("index, with_slope", [(0, False), (1, True)], ids=["raw", "rescale-slope"])
def test_dicom_imports_back_to_the_same_geometry_and_values(cohort, index: int, with_slope: bool) -> None:
    plan = plan_cohort(3, seed=8)[index]
    study = generate_study(plan, get_preset("small"))
    assert study.acquisition.stored_with_slope == with_slope  # seed 8 covers both encodings
    result = scan_paths([cohort.folder / "dicom" / plan.patient_id])
    assert not result.rejected and len(result.volumes) == 4
    by_phase = {volume.phase: volume for volume in result.volumes}
    assert set(by_phase) == set(PHASES)
    for phase, volume in by_phase.items():
        np.testing.assert_allclose(volume.affine, study.affine, atol=1e-3)
        np.testing.assert_allclose(volume.array, study.phases[phase].real, rtol=1e-5, atol=1e-3)
    nifti = {v.phase: v for v in scan_paths([cohort.folder / "nifti" / plan.patient_id]).volumes}
    assert set(nifti) == set(PHASES)
    for phase, volume in nifti.items():
        np.testing.assert_allclose(volume.affine, study.affine, atol=1e-3)
        np.testing.assert_allclose(volume.array, study.phases[phase].real, rtol=1e-6)


def test_dicom_headers_name_phases_order_times_and_hide_identity(cohort) -> None:
    study_folder = cohort.folder / "dicom" / "PH0002" / "PH0002-MR1"
    headers = [
        pydicom.dcmread(next(s.glob("*.dcm")), stop_before_pixels=True)
        for s in sorted(study_folder.iterdir())
    ]
    assert len({h.SeriesInstanceUID for h in headers}) == 4
    assert len({h.StudyInstanceUID for h in headers}) == 1
    assert [h.AcquisitionTime for h in headers] == sorted(h.AcquisitionTime for h in headers)
    assert [float(h.TriggerTime) for h in headers] == sorted(float(h.TriggerTime) for h in headers)
    assert "arterial" in headers[1].SeriesDescription and "portal" in headers[2].SeriesDescription
    assert str(headers[0].PatientName) == "PHANTOM^0002" and headers[0].PatientBirthDate == ""
    assert "ContrastBolusAgent" not in headers[0] and headers[1].ContrastBolusAgent


def test_dynamic_series_splits_into_four_named_phases(tmp_path: Path) -> None:
    files = write_cohort(tmp_path / "dyn", lesions=1, seed=7, dynamic=True)
    series = cohort_rows(files.manifest)
    assert {row["path"] for row in series} == {"dicom/PH0001/PH0001-MR1/05_dynamic"}
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in (tmp_path / "dyn").rglob("*.dcm")]
    assert len({h.SeriesInstanceUID for h in headers}) == 1
    assert sorted({int(h.TemporalPositionIdentifier) for h in headers}) == [1, 2, 3, 4]
    result = scan_paths([tmp_path / "dyn" / "dicom"])
    assert [
        v.phase for v in sorted(result.volumes, key=lambda v: v.source.tags["TemporalPositionIdentifier"])
    ] == list(PHASES)
    study = generate_study(plan_cohort(1, seed=7)[0], get_preset("small"))
    for volume in result.volumes:
        np.testing.assert_allclose(volume.array, study.phases[volume.phase].real, rtol=1e-5, atol=1e-3)


def cohort_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_csvs_and_truth_describe_the_cohort(cohort) -> None:
    rows = cohort_rows(cohort.manifest)
    assert list(rows[0]) == ["patient_id", "study_id", "phase", "path"]
    assert len(rows) == 12 and all((cohort.folder / row["path"]).is_dir() for row in rows)
    assert all((cohort.folder / row["path"]).is_file() for row in cohort_rows(cohort.manifests["nifti"]))
    lesions = cohort_rows(cohort.lesions)
    assert list(lesions[0]) == ["lesion_id", "study_id", "z0", "y0", "x0", "z1", "y1", "x1", "grade", "notes"]
    truth = json.loads(cohort.truth.read_text())
    assert [s["study_id"] for s in truth["studies"]] == [row["study_id"] for row in lesions]
    for row, study in zip(lesions, truth["studies"], strict=True):
        assert [int(row[k]) for k in ("z0", "y0", "x0", "z1", "y1", "x1")] == study["lesions"][0]["box"]
        assert int(row["grade"]) in (1, 2, 3, 4)


def test_refuses_a_folder_that_is_not_empty(cohort) -> None:
    with pytest.raises(InputError, match="not an empty folder"):
        write_cohort(cohort.folder, lesions=1, seed=1)


def test_cli_writes_a_cohort_and_rejects_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    assert (
        main(["phantom", str(out), "--lesions", "2", "--seed", "3", "--preset", "small", "--format", "nifti"])
        == 0
    )
    assert len(cohort_rows(out / "cohort.csv")) == 8 and not (out / "dicom").exists()
    assert main(["phantom", str(tmp_path / "bad"), "--lesions", "0", "--preset", "small"]) == 2
    assert main(["phantom", str(out), "--lesions", "1", "--preset", "small"]) == 2
    assert main(["phantom", str(tmp_path / "x"), "--format", "nifti", "--dynamic-series"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3 and all(line.startswith("hccdesk: error: ") for line in errors)
