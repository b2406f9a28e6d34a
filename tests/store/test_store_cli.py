"""The project commands end to end: exit 0 on success, 2 with one clear line on every expected failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from storekit import error_line, snapshot, study_volumes

from hccdesk.cli import main
from hccdesk.imaging.nifti import write_nifti
from hccdesk.store.project import Project
from hccdesk.store.records import Box


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for phase, volume in study_volumes().items():
        paths[phase] = write_nifti(volume, tmp_path / "in" / f"{phase}.nii.gz")
    return paths


def test_create_import_lesions_and_masks(
    tmp_path: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["project", "create", str(tmp_path / "demo")]) == 0
    project = tmp_path / "demo.hccdesk"
    assert capsys.readouterr().out.strip() == str(project)
    assert main(["project", "create", str(project)]) == 2
    assert "not an empty folder" in error_line(capsys)
    phases = ["--phase", f"arterial={images['arterial']}", "--phase", f"portal={images['portal']}"]
    assert main(["import", str(project), "--patient", "P1", "--study", "S1", *phases]) == 0
    assert "arterial, portal on a 12x40x48 grid" in capsys.readouterr().out
    unnamed = images["arterial"].with_name("volume7.nii.gz")
    unnamed.write_bytes(images["arterial"].read_bytes())
    assert main(["import", str(project), "--patient", "P1", "--study", "S2", str(unnamed)]) == 2
    assert "no arterial phase" in error_line(capsys)  # nothing in a bare NIfTI file tells its phase
    lesions = tmp_path / "lesions.csv"
    lesions.write_text("lesion_id,study_id,z0,y0,x0,z1,y1,x1,grade,notes\nL1,S1,1,2,3,5,10,12,4,\n")
    assert main(["lesions", "import", str(project), str(lesions)]) == 0
    assert main(["lesions", "import", str(project), str(lesions)]) == 2
    assert "line 2: lesion L1 is already in the project" in error_line(capsys)
    assert main(["lesions", "list", str(project), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(x["id"], x["label"], len(x["box_lps_mm"])) for x in listed] == [("L1", "high", 2)]
    assert main(["lesions", "export", str(project), str(tmp_path / "out.csv")]) == 0
    assert (tmp_path / "out.csv").read_text().splitlines()[1] == "L1,S1,1,2,3,5,10,12,4,"
    assert main(["export-masks", str(project), str(tmp_path / "masks")]) == 0
    assert (tmp_path / "masks" / "S1_lesions.nii.gz").exists()
    assert main(["export-masks", str(project), str(lesions)]) == 2  # a file where the folder should be
    assert "is a file; choose a folder" in error_line(capsys)
    capsys.readouterr()
    assert main(["project", "info", str(project), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["lesions"] == 1 and info["grades"] == {"4": 1} and list(info["studies"]) == ["S1"]


def test_import_argument_errors(
    tmp_path: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p.hccdesk"
    Project.create(project).close()
    arterial = f"arterial={images['arterial']}"
    arterial_path = str(images["arterial"])
    cases = [
        (["import", str(project), "--patient", "P1", "--phase", arterial], "give --patient and --study"),
        (
            ["import", str(project), "--manifest", "m.csv", "--patient", "P1"],
            "--manifest imports a whole cohort",
        ),
        (
            ["import", str(project), "--patient", "P1", "--study", "S1", "--phase", "arterial"],
            "expected NAME=PATH",
        ),
        (["import", str(project), "--patient", "P1", "--study", "S1", "--phase", "late=x"], "unknown phase"),
        (["import", str(project), "--patient", "P1", "--study", "S1"], "give the images"),
        (
            ["import", str(tmp_path / "none.hccdesk"), "--patient", "P", "--study", "S", arterial_path],
            "does not exist",
        ),
        (
            ["import", str(project), "--patient", "P1", "--study", "S1", str(tmp_path / "nothing")],
            "no such file",
        ),
    ]
    for argv, fragment in cases:
        assert main(argv) == 2, argv
        assert fragment in error_line(capsys)
    # PATHs may come before or after the options
    assert (
        main(
            [
                "import",
                str(project),
                str(images["portal"]),
                "--patient",
                "P1",
                "--study",
                "S1",
                "--phase",
                arterial,
            ]
        )
        == 0
    )


def test_writers_are_refused_while_locked_readers_are_not(
    project_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lesions = tmp_path / "l.csv"
    lesions.write_text("lesion_id,study_id,z0,y0,x0,z1,y1,x1,grade,notes\n,S1,1,1,1,2,2,2,,\n")
    with Project.open(project_folder):
        assert main(["lesions", "import", str(project_folder), str(lesions)]) == 2
        assert "open in pid" in error_line(capsys)
        assert main(["lesions", "list", str(project_folder)]) == 0
        assert main(["export-masks", str(project_folder), str(tmp_path / "m")]) == 0


def test_unsaved_edits_of_a_crash_must_be_dealt_with_first(
    project_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Project.open(project_folder) as project:
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="unsaved")
    lesions = tmp_path / "l.csv"
    lesions.write_text("lesion_id,study_id,z0,y0,x0,z1,y1,x1,grade,notes\nL2,S1,1,1,1,2,2,2,,\n")
    assert main(["lesions", "import", str(project_folder), str(lesions)]) == 2
    assert "hccdesk project recover" in error_line(capsys)
    assert main(["project", "recover", str(project_folder)]) == 0
    assert "recovered and saved 1 unsaved edit(s)" in capsys.readouterr().out
    assert main(["lesions", "import", str(project_folder), str(lesions)]) == 0
    with Project.open(project_folder) as project:
        assert set(project.lesions) == {"unsaved", "L2"} and project.pending_recovery is None


def test_a_manifest_import_with_an_unreadable_study_imports_nothing(
    project_folder: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    broken = images["portal"].with_name("broken.nii.gz")
    broken.write_bytes(b"broken")
    manifest = images["arterial"].parent / "cohort.csv"
    manifest.write_text(
        "patient_id,study_id,phase,path\nP2,S2,arterial,arterial.nii.gz\nP2,S2,portal,portal.nii.gz\n"
        "P3,S3,arterial,arterial.nii.gz\nP3,S3,portal,broken.nii.gz\n"
    )
    before = snapshot(project_folder)
    assert main(["import", str(project_folder), "--manifest", str(manifest)]) == 2
    assert "line 4: study S3" in error_line(capsys)
    assert snapshot(project_folder) == before  # S2, which did read, was dropped with its image file


def test_a_real_process_exits_2_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hccdesk", "lesions", "list", str(tmp_path / "missing.hccdesk")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("hccdesk: error: ") and done.stderr.count("\n") == 1
