"""The custom layers against direct numpy evaluations of the paper's equations."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from hccdesk.learn.layers import CommonIndividual, NonLocal, total_correlation  # noqa: E402


def _softmax_rows(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _max_pool_2(x: np.ndarray) -> np.ndarray:
    """2-per-axis max pooling of a channels-last map (batch first), spatial sizes even."""
    spatial = x.shape[1:-1]
    shape = [x.shape[0]]
    for n in spatial:
        shape += [n // 2, 2]
    pooled = x.reshape(*shape, x.shape[-1])
    return pooled.max(axis=tuple(range(2, 2 + 2 * len(spatial), 2)))


@pytest.mark.parametrize("spatial", [(6, 5), (4, 3, 5)], ids=["2d", "3d"])
def test_nonlocal_equals_equation_2(spatial: tuple[int, ...]) -> None:
    """y = softmax(xᵀW_θᵀW_φx)·W_g x, softmax over key positions j, no residual."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, *spatial, 8)).astype(np.float32)
    layer = NonLocal(channels=64)
    y = keras.ops.convert_to_numpy(layer(x))
    w_theta, w_phi, w_g = (np.asarray(d.kernel, dtype=np.float64) for d in (layer.theta, layer.phi, layer.g))
    assert y.shape == (2, *spatial, 64)
    for b in range(2):
        xb = x[b].reshape(-1, 8).astype(np.float64).T  # (C, N): columns are positions, as in the paper
        affinity = _softmax_rows(xb.T @ w_theta @ w_phi.T @ xb)  # (N, N), row i sums to 1 over j
        expected = affinity @ (xb.T @ w_g)  # (N, 64)
        np.testing.assert_allclose(y[b].reshape(-1, 64), expected, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("spatial", [(4, 6), (4, 2, 6)], ids=["2d", "3d"])
def test_nonlocal_switches_subsample_and_scale(spatial: tuple[int, ...]) -> None:
    """subsample max-pools φ and g by 2 per axis; scale multiplies the logits by 1/√channels, logit_scale by
    itself."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, *spatial, 4)).astype(np.float32)
    layer = NonLocal(channels=16, subsample=True, scale=True, logit_scale=3.0)
    y = keras.ops.convert_to_numpy(layer(x))
    w_theta, w_phi, w_g = (np.asarray(d.kernel, dtype=np.float64) for d in (layer.theta, layer.phi, layer.g))
    x64 = x.astype(np.float64)
    theta = (x64 @ w_theta).reshape(-1, 16)
    phi = _max_pool_2(x64 @ w_phi).reshape(-1, 16)
    g = _max_pool_2(x64 @ w_g).reshape(-1, 16)
    expected = _softmax_rows(3.0 * theta @ phi.T / 4.0) @ g
    np.testing.assert_allclose(y.reshape(-1, 16), expected, rtol=2e-4, atol=2e-5)


def test_nonlocal_tracks_its_attention_entropy() -> None:
    """In training calls the layer records the mean row entropy of its attention; its maximum is log N'."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 4, 4, 8)).astype(np.float32)
    layer = NonLocal(channels=8, subsample=True)
    layer(x, training=True)
    weights = keras.ops.convert_to_numpy(layer.attention(x)[0]).astype(np.float64)
    expected = float(np.mean(-np.sum(weights * np.log(weights), axis=-1)))
    assert float(layer.entropy) == pytest.approx(expected, rel=1e-4)
    assert float(layer.max_entropy) == pytest.approx(np.log(8))
    sharper = NonLocal(channels=8, subsample=True, logit_scale=10.0)
    sharper(x, training=True)
    sharper.set_weights(layer.get_weights()[:3] + sharper.get_weights()[3:])
    sharper(x, training=True)
    assert float(sharper.entropy) < float(layer.entropy)


def _numpy_total_correlation(h1: np.ndarray, h2: np.ndarray, ridge: float) -> float:
    """Sum of canonical correlations: singular values of Σ₁₁^{-½}Σ₁₂Σ₂₂^{-½} (symmetric inverse roots)."""
    h1 = h1 - h1.mean(axis=0)
    h2 = h2 - h2.mean(axis=0)
    n = len(h1)

    def inv_sqrt(a: np.ndarray) -> np.ndarray:
        sigma = a.T @ a / (n - 1)
        sigma = sigma + (ridge * np.trace(sigma) / len(sigma) + 1e-12) * np.eye(len(sigma))
        w, v = np.linalg.eigh(sigma)
        return v @ np.diag(w**-0.5) @ v.T

    t = inv_sqrt(h1) @ (h1.T @ h2 / (n - 1)) @ inv_sqrt(h2)
    return float(np.linalg.svd(t, compute_uv=False).sum())


def test_dcca_objective_is_total_canonical_correlation() -> None:
    rng = np.random.default_rng(2)
    shared = rng.standard_normal((200, 3))
    h1 = np.hstack([shared, rng.standard_normal((200, 3))]) @ rng.standard_normal((6, 6))
    h2 = np.hstack([shared + 0.5 * rng.standard_normal((200, 3)), rng.standard_normal((200, 3))])
    h2 = h2 @ rng.standard_normal((6, 6))
    got = float(total_correlation(tf.constant(h1), tf.constant(h2), ridge=1e-3))
    want = _numpy_total_correlation(h1, h2, ridge=1e-3)
    assert got == pytest.approx(want, rel=1e-5)
    assert 2.0 < want < 3.0  # three shared directions, partly corrupted; the rest independent


def test_dcca_gradient_is_finite_with_repeated_correlations() -> None:
    """Identical views give repeated canonical correlations (all ≈ 1): eigvalsh keeps the gradient finite."""
    h = tf.constant(np.random.default_rng(3).standard_normal((64, 4)))
    with tf.GradientTape() as tape:
        tape.watch(h)
        corr = total_correlation(h, h)
    grad = tape.gradient(corr, h).numpy()
    assert np.all(np.isfinite(grad))


def _fusion_model(seed: int, **fusion_settings) -> tuple[keras.Model, CommonIndividual]:
    """Two small linear 'branches' feeding the fusion layer, so the test isolates its behaviour."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((20,))
    y1 = keras.layers.LayerNormalization()(keras.layers.Dense(32, name="b1")(inputs))
    y2 = keras.layers.LayerNormalization()(keras.layers.Dense(40, name="b2")(inputs))
    fusion = CommonIndividual(common=4, name="cifa", **fusion_settings)
    outputs = keras.layers.Dense(2, activation="softmax")(fusion([y1, y2]))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    return model, fusion


def _cohort(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 20)).astype(np.float32)
    x[:, :3] += 1.5 * labels[:, None]
    return x, labels


def test_fusion_splits_each_feature_into_common_plus_individual() -> None:
    """y = J + A exactly, A lies in V's orthogonal complement (V Qᵀ = 0) and J ⟂ A row by row, even for a V
    that is not orthonormal (after training steps)."""
    rng = np.random.default_rng(4)
    x, labels = _cohort(rng, 256)
    model, fusion = _fusion_model(0)
    for start in range(0, 256, 64):
        model.train_on_batch(x[start : start + 64], labels[start : start + 64])
    features = keras.Model(model.input, fusion.input)
    for index, y in enumerate(features(x[:50], training=False)):
        y = keras.ops.cast(y, "float64")
        c, common, individual = (keras.ops.convert_to_numpy(t) for t in fusion.parts(y, index))
        y = keras.ops.convert_to_numpy(y)
        v = np.asarray(fusion.v[index], dtype=np.float64)
        np.testing.assert_allclose(common + individual, y, atol=1e-9)
        np.testing.assert_allclose(individual @ v.T, 0.0, atol=1e-9)
        np.testing.assert_allclose(np.sum(common * individual, axis=1), 0.0, atol=1e-9)
        np.testing.assert_allclose(c, y @ v.T, atol=1e-9)
        assert np.linalg.norm(individual) > 0.1 * np.linalg.norm(y)


def test_fusion_auxiliary_loss_ramps_in_and_falls() -> None:
    rng = np.random.default_rng(4)
    x, labels = _cohort(rng, 512)
    model, fusion = _fusion_model(0, lambda_corr=0.1, ramp_start=10, ramp_steps=20)
    features = keras.Model(model.input, fusion.input)
    probe = x[:256]

    def corr() -> float:
        y1, y2 = features(probe, training=False)
        return float(fusion.decomposition_losses(y1, y2)["corr"])

    before = corr()
    weights = []
    for step in range(150):
        weights.append(float(fusion.corr_weight()))
        start = (step * 64) % 512
        model.train_on_batch(x[start : start + 64], labels[start : start + 64])
    assert (
        weights[:11] == [0.0] * 11
        and weights[20] == pytest.approx(0.05)
        and weights[-1] == pytest.approx(0.1)
    )
    assert corr() < 0.7 * before
    v = [np.asarray(v_i) for v_i in fusion.v]
    assert all(np.abs(v_i @ v_i.T - np.eye(4)).max() < 0.05 for v_i in v)


def test_fusion_centred_correlation_ignores_offsets() -> None:
    """Constant offsets of the common coordinates are not agreement: L_corr is computed on centred ones."""
    _, fusion = _fusion_model(0)
    rng = np.random.default_rng(6)
    y1 = rng.standard_normal((64, 32)).astype(np.float32)
    y2 = rng.standard_normal((64, 40)).astype(np.float32)
    shifted = y1 + 5.0 * rng.standard_normal(32).astype(np.float32)
    base = float(fusion.decomposition_losses(y1, y2)["corr"])
    assert float(fusion.decomposition_losses(shifted, y2)["corr"]) == pytest.approx(base, rel=1e-4)


def test_fusion_prediction_does_not_depend_on_the_batch() -> None:
    """No batch statistics at inference: a lesion alone or among others scores the same."""
    rng = np.random.default_rng(5)
    x, labels = _cohort(rng, 256)
    model, _ = _fusion_model(1)
    for start in range(0, 256, 64):
        model.train_on_batch(x[start : start + 64], labels[start : start + 64])
    lesion = x[:5]
    alone = keras.ops.convert_to_numpy(model(lesion, training=False))
    crowd = np.concatenate([lesion, 10.0 * rng.standard_normal((60, 20)).astype(np.float32)])
    together = keras.ops.convert_to_numpy(model(crowd, training=False))[:5]
    np.testing.assert_allclose(alone, together, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", [NonLocal, CommonIndividual])
def test_rewritten_layers_use_keras_ops_only(layer: type) -> None:
    """Issue 9 item 9: no TensorFlow call inside these layers, so the network also runs on the JAX backend."""
    import inspect

    source = inspect.getsource(layer)
    assert "tf." not in source and "tensorflow" not in source
