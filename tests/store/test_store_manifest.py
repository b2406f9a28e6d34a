"""Cohort manifests: whole studies imported, bad ones refused by line, unreadable studies left out whole."""

from __future__ import annotations

import random
import weakref
from pathlib import Path

import numpy as np
import pytest
from storekit import study_volumes

from hccdesk.errors import CsvError
from hccdesk.imaging.dicom_writer import axial_positions, write_series
from hccdesk.imaging.nifti import write_nifti
from hccdesk.imaging.scan import scan_paths
from hccdesk.store import import_export
from hccdesk.store.import_export import import_manifest
from hccdesk.store.manifest import ManifestImportError
from hccdesk.store.project import Project

HEADER = "patient_id,study_id,phase,path\n"


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    """NIfTI files of three studies (arterial + portal each) under ``cohort/images``."""
    folder = tmp_path / "cohort"
    for seed, study in enumerate(["S2", "S3", "S4"]):
        for phase, volume in study_volumes(seed).items():
            write_nifti(volume, folder / "images" / f"{study}_{phase}.nii.gz")
    return folder


def _rows(studies: list[str], patients: dict[str, str] | None = None) -> list[str]:
    patients = patients or {}
    return [
        f"{patients.get(s, 'P' + s[1:])},{s},{phase},images/{s}_{phase}.nii.gz"
        for s in studies
        for phase in ("arterial", "portal")
    ]


def _manifest(folder: Path, rows: list[str], name: str = "cohort.csv") -> Path:
    path = folder / name
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_manifest_imports_every_study_with_paths_relative_to_it(
    project: Project, cohort: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # not the manifest's folder
    rows = [*_rows(["S2", "S3"]), f"P9,S4,arterial,{cohort / 'images' / 'S4_arterial.nii.gz'}"]
    studies = import_manifest(project, _manifest(cohort, rows))
    assert [s.id for s in studies] == ["S2", "S3", "S4"]
    assert list(project.studies["S2"].phases) == ["arterial", "portal"]
    assert project.studies["S4"].patient_id == "P9" and list(project.studies["S4"].phases) == ["arterial"]
    assert (project.folder / "images" / "S3.h5").exists()


BAD = [
    (["P2,S2,venous,images/S2_portal.nii.gz"], 2, "phase 'venous' is not one of"),
    (["P2,S2,arterial,images/missing.nii.gz"], 2, "does not exist"),
    (["P2,S2,arterial,"], 2, "the path is empty"),
    (
        ["P2,S2,arterial,images/S2_arterial.nii.gz", "P2,S2,arterial,images/S2_portal.nii.gz"],
        3,
        "already has",
    ),
    (["P2,S2,arterial,images/S2_arterial.nii.gz", "P7,S2,portal,images/S2_portal.nii.gz"], 3, "belongs to"),
    (["P2,S2,portal,images/S2_portal.nii.gz"], 2, "no arterial row"),
    (["P1,S1,arterial,images/S2_arterial.nii.gz"], 2, "already in the project"),
    (["Doe^John,S2,arterial,images/S2_arterial.nii.gz"], 2, "not allowed"),
    (["P2,S2,arterial"], 2, "expected 4 fields"),
]


@pytest.mark.parametrize(("rows", "line", "fragment"), BAD)
def test_bad_manifest_is_refused_by_line_before_anything_is_imported(
    project: Project, cohort: Path, rows: list[str], line: int, fragment: str
) -> None:
    good_first = _rows(["S3"])
    with pytest.raises(CsvError) as caught:
        import_manifest(project, _manifest(cohort, good_first + rows))
    shifted = line + len(good_first)
    assert any(n == shifted and fragment in text for n, text in caught.value.problems), caught.value.problems
    assert list(project.studies) == ["S1"] and not (project.folder / "images" / "S3.h5").exists()


def test_unreadable_study_is_left_out_whole_and_the_others_kept(project: Project, cohort: Path) -> None:
    (cohort / "images" / "S3_portal.nii.gz").write_bytes(b"not a nifti file")
    with pytest.raises(ManifestImportError) as caught:
        import_manifest(project, _manifest(cohort, _rows(["S2", "S3", "S4"])))
    assert [s.id for s in caught.value.imported] == ["S2", "S4"]
    assert "lines 4, 5" in str(caught.value) and "imported 2 of 3" in str(caught.value)
    assert set(project.studies) == {"S1", "S2", "S4"} and not (project.folder / "images" / "S3.h5").exists()


def test_fuzzed_manifests_import_whole_studies_or_name_lines(cohort: Path, tmp_path: Path) -> None:
    rng = random.Random(5)
    junk = ["", "x", "P2", "S2", "S3", "arterial", "portal", "late", "images/none.nii.gz", "images", "a b"]
    refused = 0
    for case in range(30):
        rows = [row.split(",") for row in _rows(["S2", "S3"])]
        row = rng.choice(rows)
        row[rng.randrange(4)] = rng.choice(junk)
        with Project.create(tmp_path / f"fuzz{case}.hccdesk") as project:
            try:
                studies = import_manifest(
                    project, _manifest(cohort, [",".join(r) for r in rows], f"m{case}.csv")
                )
            except (CsvError, ManifestImportError) as error:
                refused += 1
                assert all(2 <= line <= 5 for line, _ in error.problems)
                studies = getattr(error, "imported", [])
            assert set(project.studies) == {s.id for s in studies}
            for study in studies:  # every study that got in has every phase its rows named
                assert set(study.phases) == {r[2] for r in rows if r[1] == study.id}
    assert refused > 15


def test_rows_may_share_one_dynamic_series(project: Project, tmp_path: Path) -> None:
    """One DICOM series with four temporal positions: each row's phase picks its volume."""
    rng = np.random.default_rng(0)
    slices = (rng.random((4 * 6, 24, 20)) * 300).astype(np.int16)
    positions = np.concatenate([axial_positions(6, 3.0)] * 4)
    temporal = [t + 1 for t in range(4) for _ in range(6)]
    write_series(
        tmp_path / "dynamic", slices, positions, temporal_positions=temporal, description="t1_dynamic"
    )
    rows = [f"P5,S5,{phase},dynamic" for phase in ("pre", "arterial", "delayed")]
    (study,) = import_manifest(project, _manifest(tmp_path, rows))
    assert list(study.phases) == ["pre", "arterial", "delayed"]
    with project.images("S5") as images:
        assert np.array_equal(images.volume("delayed"), slices[18:24])
        assert np.array_equal(images.volume("pre"), slices[:6])


def test_a_study_is_read_only_after_the_images_of_the_previous_ones_are_released(
    project: Project, cohort: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cohort's images do not fit in memory: each study's arrays go once its images file is written."""
    read: list[tuple[str, weakref.ref[np.ndarray]]] = []
    held: list[str] = []

    def scan(paths: list[Path]) -> object:
        (path,) = paths
        study = Path(path).name.split("_")[0]
        held.extend(f"{earlier} while reading {study}" for earlier, ref in read if earlier != study and ref())
        result = scan_paths(paths)
        read.extend((study, weakref.ref(volume.array)) for volume in result.volumes)
        return result

    monkeypatch.setattr(import_export, "scan_paths", scan)
    studies = import_manifest(project, _manifest(cohort, _rows(["S2", "S3", "S4"])))
    assert [s.id for s in studies] == ["S2", "S3", "S4"] and len(read) == 6
    assert not held
