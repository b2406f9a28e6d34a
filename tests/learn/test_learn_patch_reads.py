"""One read of each phase per lesion: the patches and centres are bit for bit those of reading the resampling
region and the standardisation shell separately (the reference below), for every kind of variant config, on
the phantom studies and on hand-made edge cases (image borders, tiny boxes, anisotropic voxels, a shell
thinner than the resampling region)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import ndimage

from hccdesk.learn import patches
from hccdesk.learn.patches import ArrayImages, RegionReader, cut_lesion_patches
from hccdesk.learn.variants import load_variant, with_overrides
from hccdesk.store.images import StudyImages, write_images
from hccdesk.store.project import Project
from hccdesk.store.records import Box

FOUR = ["pre", "arterial", "portal", "delayed"]
CONFIGS = {
    f"{variant} {'four-phase' if len(phases) == 4 else 'arterial'} standardize={standardize}": with_overrides(
        load_variant(variant), {"patches.phases": phases, "patches.standardize": standardize}
    )
    for variant in ("3d-cifa", "2d-cifa")
    for phases in (["arterial"], FOUR)
    for standardize in (True, False)
}


class CountingReader:
    """A study reader that counts the reads of each phase."""

    def __init__(self, images: RegionReader) -> None:
        self.images, self.reads = images, {phase: 0 for phase in images.phases}
        self.phases, self.shape, self.spacing = images.phases, images.shape, images.spacing

    def read(self, phase: str, region: tuple[slice, slice, slice]) -> np.ndarray:
        self.reads[phase] += 1
        return self.images.read(phase, region)


def _reference_resampled(images: RegionReader, box: Box, settings: Mapping[str, Any]) -> np.ndarray:
    """The reference resampling: the box + margin (+ one voxel for interpolation) read on its own and
    resampled onto the target grid."""
    grid = patches.target_grid(images, box, settings)
    shape = np.asarray(images.shape)
    lo = np.clip(np.floor(grid.first).astype(int), 0, shape - 1)
    hi = np.clip(np.ceil(grid.to_study(grid.lengths - 1)).astype(int) + 1, lo + 1, shape)
    region = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    volumes = [
        ndimage.affine_transform(
            images.read(phase, region).astype(np.float32, copy=False),
            matrix=grid.step,
            offset=grid.first - lo,
            output_shape=tuple(int(n) for n in grid.lengths),
            order=1,
            mode="nearest",
        )
        for phase in settings["phases"]
    ]
    return np.stack(volumes).astype(np.float32, copy=False)


def _reference_shell_median(images: RegionReader, phase: str, box: Box, reference_mm: float) -> float:
    """The reference standardisation: a second read, the box grown by ``reference_mm``, and the median of
    the shell's voxels above a tenth of its 99th percentile."""
    shape, spacing = np.asarray(images.shape), np.asarray(images.spacing, dtype=float)
    grow = np.ceil(reference_mm / spacing).astype(int)
    lower = np.clip(np.asarray(box.lower) - grow, 0, shape)
    upper = np.clip(np.asarray(box.upper) + grow, 0, shape)
    region = tuple(slice(int(a), int(b)) for a, b in zip(lower, upper, strict=True))
    values = np.asarray(images.read(phase, region), dtype=np.float64)
    box_lower, box_upper = np.clip(box.lower, 0, shape), np.clip(box.upper, 0, shape)
    lesion = (slice(int(a - o), int(b - o)) for a, b, o in zip(box_lower, box_upper, lower, strict=True))
    keep = np.ones(values.shape, dtype=bool)
    keep[tuple(lesion)] = False
    shell = values[keep] if keep.any() else values.ravel()
    return float(np.median(shell[shell > 0.1 * np.percentile(shell, 99)]))


def _reference_standardized(images: RegionReader, box: Box, settings: Mapping[str, Any]) -> np.ndarray:
    volume = _reference_resampled(images, box, settings)
    for channel, phase in enumerate(settings["phases"]):
        volume[channel] /= _reference_shell_median(images, phase, box, float(settings["reference_mm"]))
    return volume


def _assert_one_read_equals_two(
    images: RegionReader, box: Box, config: Mapping[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = CountingReader(images)
    cut = cut_lesion_patches(counting, box, config)
    phases = config["patches"]["phases"]
    assert counting.reads == {phase: int(phase in phases) for phase in images.phases}
    with monkeypatch.context() as patched:  # the same patch grid, cut from the reference volume
        patched.setattr(patches, "resample_box", _reference_resampled)
        patched.setattr(patches, "_standardized_box", _reference_standardized)
        reference = cut_lesion_patches(images, box, config)
    assert cut.patches.dtype == reference.patches.dtype == np.float32
    assert np.array_equal(cut.patches, reference.patches)  # exact, not close
    assert np.array_equal(cut.centres, reference.centres)


@pytest.mark.parametrize("name", CONFIGS)
def test_phantom_lesions_cut_from_one_read_equal_two_reads(
    name: str, small_cohort_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Project.open(small_cohort_template, read_only=True) as project:
        for lesion in project.lesions.values():
            with project.images(lesion.study_id) as images:
                _assert_one_read_equals_two(images, lesion.box, CONFIGS[name], monkeypatch)


def _stored(tmp_path: Path, dtype: type, shape: tuple[int, int, int], spacing: tuple[float, ...]) -> Path:
    """A study file with four phases of textured tissue (zeros of air at one side), stored as ``dtype``."""
    rng = np.random.default_rng(7)
    k, j, i = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    tissue = 400.0 + 30.0 * np.sin(k / 3.0) * np.cos(j / 5.0) + 2.0 * i
    phases = {}
    for offset, phase in enumerate(FOUR):
        values = (tissue + 50.0 * offset + rng.normal(0.0, 40.0, shape)) * (j > 3)
        phases[phase] = values.astype(dtype)
    path = tmp_path / f"S-{np.dtype(dtype).name}.h5"
    write_images(path, path.stem, np.diag([*spacing[::-1], 1.0]), phases)
    return path


EDGE_BOXES = {
    "at the lower corner": Box(0, 0, 0, 3, 9, 7),
    "at the upper corner": Box(19, 50, 60, 24, 64, 72),
    "one voxel": Box(12, 30, 33, 13, 31, 34),
    "one voxel in the first slice": Box(0, 40, 40, 1, 41, 41),
    "flat, one slice thick": Box(8, 10, 10, 9, 50, 60),
    "larger than the image": Box(-3, -5, -5, 30, 70, 80),
}


@pytest.mark.parametrize(
    ("dtype", "spacing"),
    [(np.uint16, (4.0, 1.5, 1.5)), (np.int16, (2.5, 0.7, 0.9)), (np.float32, (1.5, 1.5, 1.5))],
)
def test_edge_boxes_cut_from_one_read_equal_two_reads(
    dtype: type, spacing: tuple[float, float, float], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    thin_shell = {"patches.reference_mm": 1.0}  # the resampling region reaches past the shell
    standardized = [c for c in CONFIGS.values() if c["patches"]["standardize"]]
    configs = [*CONFIGS.values(), *(with_overrides(c, thin_shell) for c in standardized)]
    with StudyImages.open(_stored(tmp_path, dtype, (24, 64, 72), spacing)) as images:
        for box in EDGE_BOXES.values():
            for config in configs:
                _assert_one_read_equals_two(images, box, config, monkeypatch)


def test_in_memory_images_cut_from_one_read_equal_two_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    arrays = {phase: rng.gamma(4.0, 50.0, (30, 40, 50)).astype(np.float32) for phase in FOUR}
    images = ArrayImages(arrays, (3.0, 0.8, 1.1))
    for box in (Box(5, 5, 5, 25, 35, 45), Box(0, 20, 49, 2, 22, 50), Box(29, 39, 0, 30, 40, 1)):
        for config in CONFIGS.values():
            _assert_one_read_equals_two(images, box, config, monkeypatch)
