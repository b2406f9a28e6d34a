"""Study image files: region reads equal the stored volume, chunked and compressed, open without a Project."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from storekit import SHAPE

from hccdesk.errors import InputError, ProjectError
from hccdesk.store.images import LastStudy, StudyImages, chunk_shape, write_images
from hccdesk.store.project import Project


def test_regions_and_slices_read_what_was_written(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    array = rng.integers(-500, 1500, size=(20, 70, 90)).astype(np.int16)
    affine = np.diag([0.7, 0.7, 2.5, 1.0])
    path = tmp_path / "S9.h5"
    write_images(path, "S9", affine, {"portal": array.astype(np.float32) / 3, "arterial": array})
    assert not list(tmp_path.glob("*.tmp"))
    with StudyImages.open(path) as images:
        assert images.phases == ("arterial", "portal") and images.shape == (20, 70, 90)
        assert np.allclose(images.spacing, [2.5, 0.7, 0.7]) and np.array_equal(images.affine, affine)
        region = (slice(3, 19), slice(10, 26), slice(70, 90))
        assert images.read("arterial", region).dtype == np.float32
        assert np.array_equal(images.read("arterial", region), array[region])
        assert np.array_equal(images.slice("arterial", 0, 7), array[7])
        assert np.array_equal(images.slice("arterial", 1, 33), array[:, 33])
        assert np.array_equal(images.slice("arterial", 2, 89), array[:, :, 89])
        assert np.allclose(images.volume("portal"), array / 3)
        dataset = images._dataset("arterial")
        assert dataset.chunks == chunk_shape(array.shape) and dataset.compression == "lzf" and dataset.shuffle
        with pytest.raises(InputError, match="no 'delayed' phase"):
            images.read("delayed", region)


def test_project_images_match_the_study(project: Project) -> None:
    with project.images("S1") as images:
        assert images.shape == SHAPE and images.study_id == "S1"
        assert np.allclose(images.affine, project.studies["S1"].affine_array)
    with pytest.raises(InputError, match="no study"):
        project.images("S7")


def test_a_file_that_is_not_a_study_image_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.h5").write_bytes(b"garbage")
    with pytest.raises(ProjectError, match="cannot read the study images"):
        StudyImages.open(tmp_path / "x.h5")


def test_the_last_study_is_reopened_only_when_its_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "S1.h5"
    write_images(path, "S1", np.eye(4), {"arterial": np.zeros((4, 8, 8), dtype=np.int16)})
    last = LastStudy()
    try:
        held = last.images(path)
        assert last.images(path) is held
        modified = path.stat().st_mtime_ns + 1_000_000
        os.utime(path, ns=(modified, modified))  # written in place by someone: same inode, new mtime
        changed = last.images(path)
        assert changed is not held and not held._file.id.valid and changed.study_id == "S1"
        path.unlink()
        with pytest.raises(ProjectError, match="cannot read the study images"):
            last.images(path)
        assert not changed._file.id.valid
    finally:
        last.close()
