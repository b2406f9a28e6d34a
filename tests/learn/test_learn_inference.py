"""Inference precision: which layers run in bfloat16, when, and that the numbers stay those of float32."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from hccdesk.errors import InputError
from hccdesk.learn import inference
from hccdesk.learn.inference import (
    PRECISION_VARIABLE,
    compile_forward,
    cpu_has_amx_bf16,
    deep_convolutions,
    for_inference,
    inference_precision,
    patch_shape,
)
from hccdesk.learn.models import build_model
from hccdesk.learn.patches import Normalizer
from hccdesk.learn.training import TrainedModel
from hccdesk.learn.variants import VARIANTS, load_variant


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 {flags}\n\n")
    return path


def test_amx_bf16_is_read_from_the_cpu_flags(tmp_path: Path) -> None:
    assert cpu_has_amx_bf16(_cpuinfo(tmp_path, "avx512f amx_bf16 amx_tile"))
    assert not cpu_has_amx_bf16(_cpuinfo(tmp_path, "avx512f avx512_bf16"))  # bf16 vector ops are not AMX
    assert not cpu_has_amx_bf16(tmp_path / "missing")


@pytest.mark.parametrize(
    ("setting", "amx", "expected"),
    [
        (None, True, "bfloat16"),
        (None, False, "float32"),
        ("auto", True, "bfloat16"),
        ("float32", True, "float32"),
        (" BFloat16 ", False, "bfloat16"),
    ],
)
def test_the_precision_follows_the_setting_then_the_cpu(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, amx: bool, expected: str
) -> None:
    if setting is None:
        monkeypatch.delenv(PRECISION_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(PRECISION_VARIABLE, setting)
    monkeypatch.setattr(inference, "cpu_has_amx_bf16", lambda: amx)
    monkeypatch.setattr(inference, "gpu_in_use", lambda: False)
    assert inference_precision() == expected


def test_a_gpu_keeps_float32_and_a_wrong_setting_says_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PRECISION_VARIABLE, raising=False)
    monkeypatch.setattr(inference, "cpu_has_amx_bf16", lambda: True)
    monkeypatch.setattr(inference, "gpu_in_use", lambda: True)
    assert inference_precision() == "float32"
    monkeypatch.setenv(PRECISION_VARIABLE, "half")
    with pytest.raises(InputError, match="auto, float32, bfloat16"):
        inference_precision()


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
