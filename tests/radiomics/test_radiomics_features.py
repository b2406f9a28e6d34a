"""Radiomics features of a boxed lesion: measured on the lesion, and blind to the scanner's gain."""

from __future__ import annotations

import numpy as np
import pytest

from hccdesk.learn.patches import ArrayImages
from hccdesk.learn.variants import load_variant, with_overrides
from hccdesk.radiomics.features import lesion_features
from hccdesk.radiomics.region import lesion_region
from hccdesk.store.records import Box

BOX = Box(6, 14, 14, 12, 26, 26)


def _images(gain: float, lesion_ratio: float = 1.5) -> ArrayImages:
    rng = np.random.default_rng(3)
    arrays = {}
    for phase in ("pre", "arterial", "portal", "delayed"):
        array = rng.normal(100.0, 8.0, (18, 40, 40)).astype(np.float32)
        array[BOX.slices] *= lesion_ratio if phase == "arterial" else 0.85
        arrays[phase] = gain * array
    return ArrayImages(arrays, (3.0, 2.0, 2.0))


def test_the_region_is_standardised_to_the_tissue_around_the_lesion() -> None:
    config = with_overrides(load_variant("radiomics"), {"region.phases": ["pre", "arterial"]})
    region = lesion_region(_images(gain=3.0), BOX, config["region"])
    assert set(region.volumes) == {"pre", "arterial"}
    arterial = region.volumes["arterial"]
    plain = lesion_region(_images(gain=1.0), BOX, config["region"]).volumes["arterial"]
    np.testing.assert_allclose(arterial, plain, rtol=1e-5)
    assert np.median(arterial[region.lesion]) == pytest.approx(1.5, abs=0.1)
    assert np.median(region.volumes["pre"][region.lesion]) == pytest.approx(0.85, abs=0.1)


@pytest.mark.parametrize("feature_set", ["hand", "ibsi"])
def test_a_study_gain_changes_no_feature(feature_set: str) -> None:
    config = with_overrides(
        load_variant("radiomics"), {"features.set": feature_set, "region.phases": ["arterial", "portal"]}
    )
    reference = lesion_features(_images(gain=1.0), BOX, config)
    assert len(reference) > (100 if feature_set == "ibsi" else 4)
    for gain in (0.5, 2.0):
        scaled = lesion_features(_images(gain=gain), BOX, config)
        assert list(scaled) == list(reference)
        np.testing.assert_allclose(list(scaled.values()), list(reference.values()), rtol=1e-4, atol=1e-6)


def test_hand_features_see_the_enhancement() -> None:
    config = with_overrides(load_variant("radiomics"), {"features.set": "hand"})
    bright = lesion_features(_images(gain=1.0, lesion_ratio=2.0), BOX, config)
    dull = lesion_features(_images(gain=1.0, lesion_ratio=1.1), BOX, config)
    assert bright["arterial:ratio"] == pytest.approx(2.0, abs=0.1)
    assert dull["arterial:ratio"] == pytest.approx(1.1, abs=0.1)
    assert bright["log_diameter_mm"] == dull["log_diameter_mm"]
