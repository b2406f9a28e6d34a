"""export-masks: the NIfTI label map puts each box at the same world millimetres as the lesion box."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from hccdesk.imaging.volume import LPS_TO_RAS
from hccdesk.store.masks import LABELS_FILE, export_masks
from hccdesk.store.project import Project
from hccdesk.store.records import Box


def _label_box_lps(image: nib.Nifti1Image, label: int) -> np.ndarray:
    """Outer-face corners (LPS mm) of the voxels holding ``label``, from the file's own affine."""
    ijk = np.argwhere(np.asarray(image.dataobj) == label)
    faces = np.array([ijk.min(axis=0) - 0.5, ijk.max(axis=0) + 0.5])
    ras = faces @ image.affine[:3, :3].T + image.affine[:3, 3]
    return np.sort(ras @ LPS_TO_RAS[:3, :3].T, axis=0)


def test_label_maps_match_the_boxes_in_world_space(project: Project, tmp_path: Path) -> None:
    project.add_lesion("S1", Box(2, 5, 7, 6, 15, 20), grade=2, lesion_id="A")
    project.add_lesion("S1", Box(8, 20, 30, 12, 40, 48), grade=4, lesion_id="B")
    written = export_masks(project, tmp_path / "masks")
    assert {p.name for p in written} == {"S1_arterial.nii.gz", "S1_lesions.nii.gz", LABELS_FILE}
    labels = nib.load(tmp_path / "masks" / "S1_lesions.nii.gz")
    reference = nib.load(tmp_path / "masks" / "S1_arterial.nii.gz")
    assert np.allclose(labels.affine, reference.affine) and labels.header.get_sform(coded=True)[1] == 1
    affine = project.studies["S1"].affine_array
    for number, lesion_id in enumerate(["A", "B"], start=1):
        expected = np.sort(project.lesions[lesion_id].box.world_corners(affine), axis=0)
        assert np.allclose(_label_box_lps(labels, number), expected)
        assert int((np.asarray(labels.dataobj) == number).sum()) == np.prod(
            project.lesions[lesion_id].box.size
        )
    with project.images("S1") as images:
        stored = images.volume("arterial")
    assert reference.get_data_dtype() == np.int16
    assert np.array_equal(np.transpose(np.asarray(reference.dataobj), (2, 1, 0)), stored)
    rows = (tmp_path / "masks" / LABELS_FILE).read_text().splitlines()
    assert rows[1:] == ["S1,1,A,2,low", "S1,2,B,4,high"]
