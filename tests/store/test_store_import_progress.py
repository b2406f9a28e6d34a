"""Imports report progress step by step and stop between steps on cancel, leaving nothing of a study."""

from __future__ import annotations

from pathlib import Path

import pytest
from storekit import study_volumes

from hccdesk.errors import JobCancelled
from hccdesk.imaging.nifti import write_nifti
from hccdesk.store.import_export import import_manifest, import_study
from hccdesk.store.manifest import ImportCancelled, ManifestImportError
from hccdesk.store.project import Project

Report = tuple[int, int, str]


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    """Studies S2 and S3 (arterial + portal NIfTI each) and their manifest ``cohort.csv``."""
    folder = tmp_path / "cohort"
    rows = []
    for seed, study in enumerate(["S2", "S3"]):
        for phase, volume in study_volumes(seed).items():
            write_nifti(volume, folder / f"{study}_{phase}.nii.gz")
            rows.append(f"P{study[1:]},{study},{phase},{study}_{phase}.nii.gz")
    (folder / "cohort.csv").write_text("patient_id,study_id,phase,path\n" + "\n".join(rows) + "\n")
    return folder


def _assert_steady(reports: list[Report], total: int) -> None:
    """Same total throughout, ``done`` never going back, from 0 to the total."""
    assert reports, "no progress reported"
    assert {t for _d, t, _text in reports} == {total}
    done = [d for d, _t, _text in reports]
    assert done == sorted(done) and done[0] == 0 and done[-1] == total


def test_manifest_progress_is_monotonic_and_reaches_the_total(project: Project, cohort: Path) -> None:
    reports: list[Report] = []
    studies = import_manifest(project, cohort / "cohort.csv", progress=lambda *r: reports.append(r))
    assert [s.id for s in studies] == ["S2", "S3"]
    _assert_steady(reports, 6)  # per study: two phases read, one images file written
    assert len(reports) == 7 and "Study 2 of 2 (S3): reading the arterial phase" in reports[3][2]


def test_progress_reaches_the_total_when_a_study_fails_part_way(project: Project, cohort: Path) -> None:
    (cohort / "S2_arterial.nii.gz").write_bytes(b"not a nifti file")
    reports: list[Report] = []
    with pytest.raises(ManifestImportError):
        import_manifest(project, cohort / "cohort.csv", progress=lambda *r: reports.append(r))
    _assert_steady(reports, 6)
    assert set(project.studies) == {"S1", "S3"}


@pytest.mark.parametrize(
    "stop_after",
    ["Study 1 of 2 (S2): writing its images", "Study 2 of 2 (S3): reading the arterial phase"],
    ids=["between-studies", "between-volumes"],
)
def test_cancel_keeps_the_finished_study_and_nothing_of_the_current_one(
    project: Project, cohort: Path, stop_after: str
) -> None:
    reports: list[Report] = []
    with pytest.raises(ImportCancelled) as caught:
        import_manifest(
            project,
            cohort / "cohort.csv",
            progress=lambda *r: reports.append(r),
            cancelled=lambda: any(text == stop_after for _d, _t, text in reports),
        )
    assert isinstance(caught.value, JobCancelled)
    assert "cancelled at study S3 (lines 4, 5), which was not added" in str(caught.value)
    assert "the 1 of 2 studies imported before it were kept" in str(caught.value)
    assert [s.id for s in caught.value.imported] == ["S2"]
    assert set(project.studies) == {"S1", "S2"} and not project.images_path("S3").exists()
    assert reports[-1][2] == stop_after  # nothing ran after the cancel
    project.save()
    folder = project.folder
    project.close()
    with Project.open(folder) as reopened:
        assert set(reopened.studies) == {"S1", "S2"}


def test_import_study_reports_its_steps(project: Project, cohort: Path) -> None:
    reports: list[Report] = []
    paths = [cohort / "S2_portal.nii.gz"]
    study = import_study(
        project,
        "P2",
        "S2",
        paths,
        {"arterial": cohort / "S2_arterial.nii.gz"},
        progress=lambda *r: reports.append(r),
    )
    assert list(study.phases) == ["arterial", "portal"]
    _assert_steady(reports, 3)  # the override, the paths, the images file
    assert [text for _d, _t, text in reports[:3]] == [
        "Study S2: reading the arterial phase (S2_arterial.nii.gz)",
        "Study S2: reading 1 path(s)",
        "Study S2: writing its images",
    ]


def test_cancelled_import_study_adds_nothing(project: Project, cohort: Path) -> None:
    reports: list[Report] = []
    paths = [cohort / "S2_arterial.nii.gz", cohort / "S2_portal.nii.gz"]
    with pytest.raises(JobCancelled, match="import of study S2 cancelled before writing its images"):
        import_study(
            project,
            "P2",
            "S2",
            paths,
            progress=lambda *r: reports.append(r),
            cancelled=lambda: bool(reports),  # Cancel pressed while the files were being read
        )
    assert reports == [(0, 2, "Study S2: reading 2 path(s)")]
    assert set(project.studies) == {"S1"} and not project.images_path("S2").exists() and not project.dirty
