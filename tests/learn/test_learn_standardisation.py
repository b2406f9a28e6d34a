"""Per-study intensity standardisation: a lesion's grade does not depend on the scanner's gain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from hccdesk.learn.models import build_model  # noqa: E402
from hccdesk.learn.patches import (  # noqa: E402
    ArrayImages,
    cut_lesion_patches,
    fit_normalizer,
)
from hccdesk.learn.training import TrainedModel, seed_everything  # noqa: E402
from hccdesk.learn.variants import load_variant, with_overrides  # noqa: E402

FOUR_PHASES = {"patches.phases": ["pre", "arterial", "portal", "delayed"]}


def _studies(template: Path, count: int) -> list[tuple[ArrayImages, object]]:
    """(all phases in memory, lesion box) of the first ``count`` lesions of the phantom project."""
    from hccdesk.store.project import Project

    out = []
    with Project.open(template, read_only=True) as project:
        for lesion in list(project.lesions.values())[:count]:
            with project.images(lesion.study_id) as images:
                arrays = {phase: images.volume(phase).astype(np.float32) for phase in images.phases}
                out.append((ArrayImages(arrays, tuple(float(s) for s in images.spacing)), lesion.box))
    return out


def _scaled(images: ArrayImages, gain: float) -> ArrayImages:
    return ArrayImages({p: a * np.float32(gain) for p, a in images.arrays.items()}, images.spacing)


@pytest.mark.parametrize("variant", ["3d-cifa", "2d-local"])
def test_a_gain_on_every_phase_changes_no_untrained_prediction(
    variant: str, small_cohort_template: Path
) -> None:
    """Requirement of issue 9 item 1: all phases of a study × 0.5 or × 2 move no lesion's P(high) by more
    than 1e-3, even for an untrained network (so the invariance comes from the data path, not from
    learning)."""
    config = with_overrides(load_variant(variant), FOUR_PHASES)
    studies = _studies(small_cohort_template, 4)
    seed_everything(0)
    patches = [cut_lesion_patches(images, box, config).patches for images, box in studies]
    network = build_model(config)
    # the fusion heads start neutral (zero classifier): give the classifier random weights so the
    # untrained network's output depends on its input
    grade = network.get_layer("grade")
    grade.kernel.assign(np.random.default_rng(0).standard_normal(grade.kernel.shape).astype(np.float32))
    model = TrainedModel(network, fit_normalizer(np.concatenate(patches)), config)
    features = keras.Model(network.input, grade.input)

    def lesion_features(lesions: list[np.ndarray]) -> np.ndarray:
        return np.array([np.asarray(features(model.normalizer.apply(p))).mean(axis=0) for p in lesions])

    reference = model.predict_lesions(patches)
    reference_features = lesion_features(patches)
    # the features the classifier reads must differ between lesions, or the test proves nothing (an
    # untrained network's P(high) itself varies little between lesions: its features are normalised)
    spread = float(np.ptp(reference_features, axis=0).max())
    assert spread > 1e-2
    for gain in (0.5, 2.0):
        scaled = [cut_lesion_patches(_scaled(images, gain), box, config).patches for images, box in studies]
        np.testing.assert_allclose(model.predict_lesions(scaled), reference, rtol=0, atol=1e-3)
        np.testing.assert_allclose(lesion_features(scaled), reference_features, rtol=0, atol=1e-3 * spread)


def test_without_standardisation_the_gain_reaches_the_patches(small_cohort_template: Path) -> None:
    """The switch is real: raw patches scale with the gain, standardised ones do not."""
    ((images, box),) = _studies(small_cohort_template, 1)
    raw = with_overrides(load_variant("3d-local"), {"patches.standardize": False})
    np.testing.assert_allclose(
        cut_lesion_patches(_scaled(images, 2.0), box, raw).patches,
        2.0 * cut_lesion_patches(images, box, raw).patches,
        rtol=1e-5,
    )
    standard = load_variant("3d-local")
    np.testing.assert_allclose(
        cut_lesion_patches(_scaled(images, 2.0), box, standard).patches,
        cut_lesion_patches(images, box, standard).patches,
        rtol=1e-5,
    )
