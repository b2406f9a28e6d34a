"""Exports that could hurt: nothing is written inside a project folder, export-masks never overwrites
unasked, leaves nothing behind when it fails, blames the file that failed, and numbers any count of lesions.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from storekit import SHAPE, error_line, grid_affine, snapshot

from hccdesk.cli import main
from hccdesk.imaging.nifti import write_nifti
from hccdesk.imaging.volume import Volume
from hccdesk.store.masks import LABELS_FILE, label_map
from hccdesk.store.project import Project
from hccdesk.store.records import Box, Lesion, Study


@pytest.fixture
def with_lesion(project_folder: Path) -> Path:
    with Project.open(project_folder) as project:
        project.add_lesion("S1", Box(1, 2, 3, 5, 10, 12), grade=3, lesion_id="L1", notes="=1+1")
        project.save()
    return project_folder


def writes_inside(project: Path) -> dict[str, list[str]]:
    """Command lines, by name, whose output would land in ``project``'s own folder (one of its files, a new
    file or folder in it, or the folder itself)."""
    exports = {
        f"lesions export to {inside}": ["lesions", "export", str(project), str(project / inside)]
        for inside in ("project.h5", "project.h5.bak", "images/S1.h5", "new.csv", "autosave/x.csv", ".")
    }
    return {
        **exports,
        "export-masks": ["export-masks", str(project), str(project / "masks")],
        "project create": ["project", "create", str(project / "images" / "inner")],
    }


@pytest.mark.parametrize("command", list(writes_inside(Path("p"))))
def test_writing_into_the_project_folder_is_refused_and_changes_nothing(
    with_lesion: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    before = snapshot(with_lesion)
    assert main(writes_inside(with_lesion)[command]) == 2
    assert "is inside the project folder" in error_line(capsys)
    assert snapshot(with_lesion) == before


def test_export_masks_refuses_to_overwrite_unless_forced(
    with_lesion: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "masks"
    assert main(["export-masks", str(with_lesion), str(out)]) == 0
    (out / "mine.txt").write_text("the user's own file")
    (out / LABELS_FILE).write_text("edited by hand")
    before = snapshot(out)
    assert main(["export-masks", str(with_lesion), str(out)]) == 2
    assert "already holds S1_arterial.nii.gz and 2 more" in error_line(capsys) and snapshot(out) == before
    assert main(["export-masks", str(with_lesion), str(out), "--force"]) == 0
    assert (out / LABELS_FILE).read_text().splitlines()[1] == "S1,1,L1,3,high"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["S1_arterial.nii.gz", "S1_lesions.nii.gz", LABELS_FILE, "mine.txt"]
    )
    capsys.readouterr()


def test_an_unreadable_study_image_is_blamed_and_nothing_is_written(
    with_lesion: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Project.open(with_lesion) as project:
        project.add_study(
            "P2", "S2", {"arterial": Volume(np.ones(SHAPE, np.int16), grid_affine(), "arterial")}
        )
        project.save()
    (with_lesion / "images" / "S2.h5").write_bytes(b"not an HDF5 file")
    out = tmp_path / "masks"
    assert main(["export-masks", str(with_lesion), str(out)]) == 2
    assert "S2.h5" in error_line(capsys)
    assert not out.exists()  # S1's files, written first, were not left behind
    out.mkdir()
    assert main(["export-masks", str(with_lesion), str(out)]) == 2
    assert list(out.iterdir()) == []
    capsys.readouterr()


def test_more_than_65535_lesions_in_a_study_get_their_own_labels(tmp_path: Path) -> None:
    shape = (16, 64, 72)
    study = Study("S1", "P1", shape, tuple(map(tuple, grid_affine())), {})
    voxels = np.argwhere(np.ones(shape, bool))[:65_600]
    lesions = [Lesion(f"L{n}", "S1", "P1", Box(*v, *(v + 1))) for n, v in enumerate(voxels)]
    labels = label_map(study, lesions)
    assert labels.dtype == np.uint32 and labels.max() == 65_600
    assert labels[tuple(voxels[65_599])] == 65_600
    path = write_nifti(Volume(labels, grid_affine()), tmp_path / "labels.nii.gz")
    assert int(np.asarray(nib.load(path).dataobj).max()) == 65_600
