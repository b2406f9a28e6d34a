"""A fast synthetic patch cohort for the learn tests: texture heterogeneity carries the grade.

High-grade lesions get coarser, higher-variance texture than low-grade ones, and every lesion gets its own
intensity offset so that the mean intensity says nothing about the grade; a network has to look at texture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy import ndimage


@dataclass(frozen=True)
class Cohort:
    """Per-lesion raw patch arrays, grades (1 = high) and a fixed train/test split of lesions."""

    patches: list[np.ndarray]
    grades: np.ndarray
    train: np.ndarray
    test: np.ndarray

    def training_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(patches, labels, lesion_index) of the training lesions, as ``train`` takes them."""
        x = np.concatenate([self.patches[i] for i in self.train])
        y = np.concatenate([np.full(len(self.patches[i]), self.grades[i]) for i in self.train])
        index = np.concatenate([np.full(len(self.patches[i]), i) for i in self.train])
        return x, y, index


def synthetic_cohort(dims: int, lesions: int = 24, patches_per_lesion: int = 6, seed: int = 0) -> Cohort:
    rng = np.random.default_rng(seed)
    grades = np.tile([0, 1], lesions // 2)
    patches = []
    for grade in grades:
        sigma = rng.uniform(1.6, 2.0) if grade else rng.uniform(0.7, 1.0)
        noise = rng.standard_normal((patches_per_lesion, *(16,) * dims))
        smooth = ndimage.gaussian_filter(noise, sigma=(0,) + (0.6,) * dims)
        lesion = 100.0 + rng.normal(0.0, 3.0) + 10.0 * sigma * smooth / smooth.std()
        patches.append(lesion[..., None].astype(np.float32))
    order = rng.permutation(lesions)
    return Cohort(
        patches, grades, train=np.sort(order[: lesions * 2 // 3]), test=np.sort(order[lesions * 2 // 3 :])
    )


@pytest.fixture(scope="session")
def cohort_2d() -> Cohort:
    return synthetic_cohort(2)


@pytest.fixture(scope="session")
def cohort_3d() -> Cohort:
    return synthetic_cohort(3)
