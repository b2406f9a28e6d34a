"""The real patch path: lesion boxes of an imported phantom project, read through StudyImages, into training.

The phantom's grade cues are deliberately weak (an oracle on measured features reaches about 80 %), and 16
lesions cannot show a learning effect reliably, so these tests check the pipeline end to end (patches from the
project's image files, training, held-out prediction, save/load) rather than accuracy; learning itself is
checked on the synthetic cohort in ``test_learn_training.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from hccdesk.learn.patches import extract_lesion_patches  # noqa: E402
from hccdesk.learn.training import TrainedModel, train  # noqa: E402
from hccdesk.learn.variants import VARIANTS, load_variant  # noqa: E402


def _split_patches(folder: Path, config: dict) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """Patches of the project's lesions: every other patient trains, the rest are held out."""
    from hccdesk.evaluation.splits import make_splits
    from hccdesk.store.project import Project

    with Project.open(folder, read_only=True) as project:
        lesions = sorted(project.lesions.values(), key=lambda lesion: lesion.id)
        patches = {}
        for lesion in lesions:
            with project.images(lesion.study_id) as images:
                patches[lesion.id] = extract_lesion_patches(images, lesion.box, config)
    labels = {lesion.id: int(lesion.label == "high") for lesion in lesions}
    split = make_splits(
        [lesion.id for lesion in lesions],
        [labels[lesion.id] for lesion in lesions],
        [lesion.patient_id for lesion in lesions],
        folds=2,
        repeats=1,
        seed=0,
    )[0]
    train_patches = [patches[i] for i in split.train_ids]
    train_labels = np.array([labels[i] for i in split.train_ids])
    return train_patches, train_labels, [patches[i] for i in split.test_ids]


def _train_and_check(folder: Path, variant: str, iterations: int, tmp_path: Path) -> None:
    config = load_variant(variant)
    train_patches, train_labels, test_patches = _split_patches(folder, config)
    x = np.concatenate(train_patches)
    y = np.concatenate([np.full(len(p), g) for p, g in zip(train_patches, train_labels, strict=True)])
    index = np.concatenate([np.full(len(p), k) for k, p in enumerate(train_patches)])
    model = train(config, x, y, index, seed=0, iterations=iterations)
    p_high = model.predict_lesions(test_patches)
    assert p_high.shape == (len(test_patches),)
    assert np.all((p_high > 0.0) & (p_high < 1.0))
    path = tmp_path / f"{variant}.keras"
    model.save(path)
    np.testing.assert_array_equal(TrainedModel.load(path).predict_lesions(test_patches), p_high)


def test_real_patch_path_trains_and_predicts(small_cohort_template: Path, tmp_path: Path) -> None:
    _train_and_check(small_cohort_template, "2d-cifa", 10, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_on_the_phantom_cohort(
    small_cohort_template: Path, tmp_path: Path, variant: str
) -> None:
    _train_and_check(small_cohort_template, variant, 60, tmp_path)
