"""Patch extraction from a lesion box: the patch grid, centres, standardisation and normalisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hccdesk.errors import InputError
from hccdesk.learn.patches import (
    ArrayImages,
    Normalizer,
    cut_lesion_patches,
    extract_lesion_patches,
    fit_normalizer,
)
from hccdesk.learn.variants import load_variant, with_overrides
from hccdesk.store.records import Box

RAW = {"patches.standardize": False}
"""Raw intensities, for tests that read known values back out of the patches."""


class RecordingImages(ArrayImages):
    """Array-backed images that remember every region read, to prove that only the box is read."""

    def __init__(self, arrays: dict[str, np.ndarray], spacing: tuple[float, float, float]) -> None:
        super().__init__(arrays, spacing)
        object.__setattr__(self, "regions", [])

    def read(self, phase: str, region: tuple[slice, slice, slice]) -> np.ndarray:
        self.regions.append((phase, region))
        return super().read(phase, region)


def _study(shape: tuple[int, int, int] = (40, 120, 120)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        phase: rng.random(shape).astype(np.float32) + k
        for k, phase in enumerate(("pre", "arterial", "portal", "delayed"))
    }


def test_3d_patches_cover_the_box_and_read_only_its_neighbourhood() -> None:
    config = with_overrides(load_variant("3d-cifa"), {"patches.inside_lesion": False})
    images = RecordingImages(_study(), (4.0, 1.5, 1.5))
    box = Box(10, 30, 40, 20, 60, 70)  # 40 x 45 x 45 mm
    patches = extract_lesion_patches(images, box, config)
    # target grid at 1.5 mm: ceil((40 + 4) / 1.5) = 30 slices -> origins 0, 8, 14;
    # ceil((45 + 4) / 1.5) = 33 rows and columns -> origins 0, 8, 16, 17
    assert patches.shape == (3 * 4 * 4, 16, 16, 16, 1)
    assert patches.dtype == np.float32
    # one read: the standardisation shell, which holds the box + margin + interpolation voxel
    ((phase, shell),) = images.regions
    assert phase == "arterial"
    for axis, (lo, hi) in enumerate(zip(box.lower, box.upper, strict=True)):
        grow = int(np.ceil(config["patches"]["reference_mm"] / images.spacing[axis]))
        assert (shell[axis].start, shell[axis].stop) == (max(lo - grow, 0), hi + grow)
    # unstandardised, the read is the box + margin + interpolation voxel alone
    images.regions.clear()
    extract_lesion_patches(images, box, with_overrides(config, RAW))
    ((phase, region),) = images.regions
    for axis, (lo, hi) in enumerate(zip(box.lower, box.upper, strict=True)):
        assert lo - 2 <= region[axis].start <= lo and hi <= region[axis].stop <= hi + 2


def test_2d_patches_come_from_axial_slices_inside_the_box() -> None:
    config = with_overrides(load_variant("2d-local"), RAW)
    arrays = {
        "arterial": np.broadcast_to(np.arange(40, dtype=np.float32)[:, None, None], (40, 120, 120)).copy()
    }
    images = ArrayImages(arrays, (4.0, 1.5, 1.5))
    box = Box(10, 30, 40, 14, 50, 60)  # slices 10..13: 16 mm
    patches = extract_lesion_patches(images, box, config)
    assert patches.shape[1:] == (16, 16, 1)
    slice_values = np.unique(patches[..., 0].round(4))
    # intensity = slice index; every 2D patch is one axial plane of the box (no margin slices)
    assert slice_values.min() >= 10 - 0.5 and slice_values.max() <= 13 + 0.5
    assert all(np.ptp(p) < 1e-4 for p in patches)


@pytest.mark.parametrize("variant", ["3d-cifa", "2d-local"])
def test_patch_centres_are_study_voxel_coordinates(variant: str) -> None:
    """On a linear intensity ramp, trilinear resampling is exact, so a patch's mean is the ramp's value at the
    patch centre: the reported centre must be that point of the study grid."""
    weights = np.array([1.0, 0.01, 0.0001])
    k, j, i = np.meshgrid(*(np.arange(n, dtype=np.float64) for n in (40, 120, 120)), indexing="ij")
    ramp = (weights[0] * k + weights[1] * j + weights[2] * i).astype(np.float32)
    images = ArrayImages({"arterial": ramp}, (4.0, 1.5, 1.5))
    result = cut_lesion_patches(
        images, Box(10, 30, 40, 20, 60, 70), with_overrides(load_variant(variant), RAW)
    )
    assert result.centres.shape == (len(result), 3)
    np.testing.assert_allclose(
        result.patches.mean(axis=tuple(range(1, result.patches.ndim))), result.centres @ weights, atol=1e-4
    )
    # the box covers voxels 10..19, 30..59, 40..69, i.e. their centres ± half a voxel
    assert np.all(result.centres >= (9.5, 29.5, 39.5)) and np.all(result.centres <= (19.5, 59.5, 69.5))


def test_patch_centres_stay_in_the_ellipsoid_inscribed_in_the_box() -> None:
    images = ArrayImages(_study(), (4.0, 1.5, 1.5))
    box = Box(5, 20, 20, 35, 100, 100)
    config = with_overrides(load_variant("3d-cifa"), {"patches.max_patches": 1000})
    every = cut_lesion_patches(images, box, with_overrides(config, {"patches.inside_lesion": False}))
    kept = cut_lesion_patches(images, box, config)
    middle = (np.asarray(box.lower) + np.asarray(box.upper) - 1.0) / 2.0
    semi = (np.asarray(box.upper) - np.asarray(box.lower)) / 2.0
    radius = np.sum(((kept.centres - middle) / semi) ** 2, axis=1)
    assert 0 < len(kept) < len(every) and np.all(radius <= 1.0)
    every_radius = np.sum(((every.centres - middle) / semi) ** 2, axis=1)
    assert len(kept) == np.sum(every_radius <= 1.0)
    # a lesion narrower than the patch stride keeps its most central patch
    tiny = cut_lesion_patches(images, Box(15, 45, 55, 16, 47, 57), config)
    assert len(tiny) == 1


def test_small_lesion_at_the_image_edge_is_padded_to_one_patch() -> None:
    config = load_variant("3d-local")
    images = ArrayImages(_study((10, 30, 30)), (2.0, 2.0, 2.0))
    patches = extract_lesion_patches(images, Box(0, 0, 27, 2, 3, 30), config)
    assert patches.shape == (1, 16, 16, 16, 1)
    assert np.isfinite(patches).all()


def test_all_phases_as_channels_and_missing_phase() -> None:
    config = with_overrides(
        load_variant("3d-cifa"), {**RAW, "patches.phases": ["pre", "arterial", "portal", "delayed"]}
    )
    study = _study()
    patches = extract_lesion_patches(ArrayImages(study, (4.0, 1.5, 1.5)), Box(10, 30, 40, 16, 50, 60), config)
    assert patches.shape[-1] == 4
    # each channel keeps its phase's intensity level (offsets 0, 1, 2, 3)
    assert np.all(np.diff(patches.mean(axis=(0, 1, 2, 3))) > 0.5)
    del study["portal"]
    with pytest.raises(InputError, match="portal"):
        extract_lesion_patches(ArrayImages(study, (4.0, 1.5, 1.5)), Box(10, 30, 40, 16, 50, 60), config)


def test_patch_cap_keeps_large_lesions_bounded() -> None:
    config = load_variant("3d-local")
    images = ArrayImages(_study((60, 200, 200)), (1.5, 1.5, 1.5))
    patches = extract_lesion_patches(images, Box(0, 0, 0, 60, 150, 150), config)
    assert len(patches) == config["patches"]["max_patches"]


def test_normalizer_is_fitted_on_training_patches_and_round_trips() -> None:
    rng = np.random.default_rng(1)
    train = rng.normal([10.0, -3.0], [2.0, 0.5], size=(500, 4, 4, 2)).astype(np.float32)
    normalizer = fit_normalizer(train)
    z = normalizer.apply(train)
    np.testing.assert_allclose(z.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 1, 2)), 1.0, atol=1e-5)
    again = Normalizer.from_dict(normalizer.to_dict())
    assert again == normalizer
    constant = fit_normalizer(np.full((3, 4, 4, 1), 7.0))
    assert np.all(constant.apply(np.full((1, 4, 4, 1), 7.0)) == 0.0)
    with pytest.raises(InputError):
        fit_normalizer(np.zeros((0, 4, 4, 1)))


def test_real_study_images_from_the_phantom_project(small_cohort_template: Path) -> None:
    """The real path: lesion boxes of an imported phantom project, read through StudyImages."""
    from hccdesk.store.project import Project

    config = load_variant("3d-cifa")
    with Project.open(small_cohort_template, read_only=True) as project:
        lesion = next(iter(project.lesions.values()))
        with project.images(lesion.study_id) as images:
            patches = extract_lesion_patches(images, lesion.box, config)
    assert patches.ndim == 5 and patches.shape[1:] == (16, 16, 16, 1)
    assert 1 <= len(patches) <= config["patches"]["max_patches"]
    assert np.isfinite(patches).all() and patches.std() > 0
