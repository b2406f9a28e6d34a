"""The attention heat map of a non-local variant: one cell per key position, with or without subsampling."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from hccdesk.learn.explain import NONLOCAL_LAYER, Ensemble
from hccdesk.learn.models import build_model
from hccdesk.learn.patches import ArrayImages, Normalizer
from hccdesk.learn.training import TrainedModel
from hccdesk.learn.variants import load_variant, with_overrides
from hccdesk.store.records import Box


def _study() -> ArrayImages:
    """A textured volume (so the features, and the attention over them, vary inside a patch)."""
    rng = np.random.default_rng(3)
    volume = 100.0 + 40.0 * rng.random((40, 64, 64)).astype(np.float32)
    return ArrayImages({"arterial": volume}, (1.5, 1.5, 1.5))


@pytest.mark.parametrize(
    ("name", "overrides", "keys"),
    [
        ("3d-cifa", {}, (4, 4, 4)),  # the shipped config subsamples φ and g: 8³ queries, 4³ keys
        ("3d-nonlocal", {"nonlocal.subsample": False}, (8, 8, 8)),
        ("2d-cifa", {}, (4, 4)),
    ],
)
def test_the_attention_map_paints_the_key_grid_of_the_query_under_the_cursor(
    name: str, overrides: dict, keys: tuple[int, ...]
) -> None:
    config = with_overrides(load_variant(name), overrides)
    keras.utils.set_random_seed(0)
    member = TrainedModel(build_model(config), Normalizer(mean=(120.0,), std=(12.0,)), config)
    ensemble = Ensemble("model-0001", [member])
    images, box = _study(), Box(12, 20, 20, 28, 44, 44)
    voxel = (20, 32, 32)
    heat = ensemble.attention(images, box, voxel)
    assert heat is not None
    assert heat.values.ndim == 3 and np.isfinite(heat.values).all()
    block = member.inference_model.get_layer(NONLOCAL_LAYER)
    assert block.key_grid(tuple(8 for _ in keys)) == keys
    shown = np.unique(heat.values)
    assert shown.min() >= 0.0 and shown.max() <= 1.0
    # every key position is painted and nothing else (two far keys may underflow to one value)
    assert np.prod(keys) - 4 <= len(shown) <= np.prod(keys)
    if len(shown) == np.prod(keys):
        assert shown.sum() == pytest.approx(1.0, abs=1e-4)  # one softmax row over the keys
