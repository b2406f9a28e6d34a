"""Inference precision: which layers run in bfloat16, when, and that the numbers stay those of float32."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from hccdesk.device import PRECISION_VARIABLE, cpu_has_bfloat16
from hccdesk.learn.inference import compile_forward, deep_convolutions, for_inference, patch_shape
from hccdesk.learn.models import build_model
from hccdesk.learn.patches import Normalizer
from hccdesk.learn.training import TrainedModel
from hccdesk.learn.variants import VARIANTS, load_variant

needs_bfloat16 = pytest.mark.skipif(
    not cpu_has_bfloat16(), reason="this CPU cannot run a bfloat16 convolution (no AMX-BF16 nor AVX512-BF16)"
)
"""For the tests that run the bfloat16 copy: on such a CPU ``auto`` never makes one (float32 throughout)."""


@pytest.mark.parametrize("name", VARIANTS)
def test_only_convolutions_on_many_channels_are_deep(name: str) -> None:
    """The first convolution of each branch sees the patch (1 channel): never bfloat16."""
    model = build_model(load_variant(name))
    expected = [] if name.endswith("-nonlocal") else ["local_conv2"]
    assert deep_convolutions(model) == expected


def _random_weights(model: keras.Model) -> None:
    """A classifier that makes the output depend on the input (the fusion heads start with a zero one)."""
    grade = model.get_layer("grade")
    scale = 1.0 / np.sqrt(grade.kernel.shape[0])  # logits of order 1: P(high) neither 0 nor 1
    weights = scale * np.random.default_rng(0).standard_normal(grade.kernel.shape)
    grade.kernel.assign(weights.astype(np.float32))


@needs_bfloat16
@pytest.mark.parametrize("name", ["3d-cifa", "3d-dcca", "2d-local", "3d-nonlocal"])
def test_the_bfloat16_copy_shares_the_weights_and_predicts_within_bfloat16_rounding(name: str) -> None:
    config = load_variant(name)
    keras.utils.set_random_seed(0)
    model = build_model(config)
    _random_weights(model)
    assert for_inference(model, "float32") is model
    copy = for_inference(model, "bfloat16")
    deep = deep_convolutions(model)
    if not deep:
        assert copy is model
        return
    for layer in copy.layers:
        assert layer.compute_dtype == ("bfloat16" if layer.name in deep else "float32"), layer.name
        assert all(w.dtype == "float32" for w in layer.weights)
    for ours, theirs in zip(copy.weights, model.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    patches = np.random.default_rng(1).standard_normal((24, *patch_shape(config))).astype(np.float32)
    exact = np.asarray(model(patches, training=False))[:, 1]
    rounded = np.asarray(copy(patches, training=False))[:, 1]
    spread = np.ptp(exact)  # how much the inputs move the output: the scale the rounding is judged on
    assert spread > 1e-2
    assert 0.0 < np.abs(rounded - exact).max() < 0.1 * spread  # bfloat16 did run, and only rounded


@needs_bfloat16
def test_predictions_run_the_inference_copy_through_one_traced_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """predict_patches (test folds, grade job) and the ensemble's forward pass (warm worker) are one code."""
    monkeypatch.setenv(PRECISION_VARIABLE, "bfloat16")
    config = load_variant("3d-local")
    keras.utils.set_random_seed(0)
    model = build_model(config)
    _random_weights(model)
    trained = TrainedModel(model, Normalizer(mean=(0.5,), std=(2.0,)), config)
    patches = np.random.default_rng(2).standard_normal((300, *patch_shape(config))).astype(np.float32)
    forward = compile_forward([trained.inference_model], [trained.normalizer], patch_shape(config))
    expected = np.asarray(forward(patches))[0]
    np.testing.assert_allclose(trained.predict_patches(patches), expected, rtol=0, atol=1e-6)
    by_hand = np.asarray(trained.inference_model((patches - 0.5) / 2.0, training=False))[:, 1]
    np.testing.assert_allclose(expected, by_hand, rtol=0, atol=1e-2)
    assert trained.inference_model is not model
