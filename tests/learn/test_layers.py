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
    """subsample max-pools φ and g by 2 per axis; scale multiplies the logits by 1/√channels."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, *spatial, 4)).astype(np.float32)
    layer = NonLocal(channels=16, subsample=True, scale=True)
    y = keras.ops.convert_to_numpy(layer(x))
    w_theta, w_phi, w_g = (np.asarray(d.kernel, dtype=np.float64) for d in (layer.theta, layer.phi, layer.g))
    x64 = x.astype(np.float64)
    theta = (x64 @ w_theta).reshape(-1, 16)
    phi = _max_pool_2(x64 @ w_phi).reshape(-1, 16)
    g = _max_pool_2(x64 @ w_g).reshape(-1, 16)
    expected = _softmax_rows(theta @ phi.T / 4.0) @ g
    np.testing.assert_allclose(y.reshape(-1, 16), expected, rtol=2e-4, atol=2e-5)


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


def _fusion_model(seed: int) -> tuple[keras.Model, CommonIndividual]:
    """Two small linear 'branches' feeding the fusion layer, so the test isolates its behaviour."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((20,))
    y1 = keras.layers.Dense(32, name="b1")(inputs)
    y2 = keras.layers.Dense(40, name="b2")(inputs)
    y1 = keras.layers.BatchNormalization(scale=False, momentum=0.9)(y1)
    y2 = keras.layers.BatchNormalization(scale=False, momentum=0.9)(y2)
    fusion = CommonIndividual(common=4, individual=4, name="cifa")
    outputs = keras.layers.Dense(2, activation="softmax")(fusion([y1, y2]))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    return model, fusion


def _cohort(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 20)).astype(np.float32)
    x[:, :3] += 1.5 * labels[:, None]
    return x, labels


def test_fusion_keeps_v_orthogonal_to_q_and_auxiliary_losses_fall() -> None:
    rng = np.random.default_rng(4)
    x, labels = _cohort(rng, 512)
    model, fusion = _fusion_model(0)
    features = keras.Model(model.input, fusion.input)
    probe = x[:256]

    def aux() -> dict[str, float]:
        y1, y2 = features(probe, training=False)
        return {k: float(v) for k, v in fusion.decomposition_losses(y1, y2).items()}

    model.train_on_batch(x[:64], labels[:64])
    before = aux()
    for step in range(150):
        start = (step * 64) % 512
        model.train_on_batch(x[start : start + 64], labels[start : start + 64])
        for v_i, q_i in zip(fusion.v, fusion.q, strict=True):
            v_i, q_i = np.asarray(v_i), np.asarray(q_i)
            cosine = np.abs(v_i @ q_i.T) / np.outer(np.linalg.norm(v_i, axis=1), np.linalg.norm(q_i, axis=1))
            assert cosine.max() < 1e-2, f"step {step}: a row of Q leans into V's row space"
    after = aux()
    weighted = {"corr": 0.1, "rec": 0.1, "vorth": 1.0, "orth": 1.0}
    total_before = sum(weighted[k] * before[k] for k in weighted)
    total_after = sum(weighted[k] * after[k] for k in weighted)
    assert total_after < 0.7 * total_before, (before, after)
    assert after["corr"] < before["corr"]


def test_fusion_prediction_does_not_depend_on_the_batch() -> None:
    """Q and the BN statistics are frozen at inference: a lesion alone or among others scores the same."""
    rng = np.random.default_rng(5)
    x, labels = _cohort(rng, 256)
    model, fusion = _fusion_model(1)
    for start in range(0, 256, 64):
        model.train_on_batch(x[start : start + 64], labels[start : start + 64])
    q_before = [np.asarray(q).copy() for q in fusion.q]
    lesion = x[:5]
    alone = keras.ops.convert_to_numpy(model(lesion, training=False))
    crowd = np.concatenate([lesion, 10.0 * rng.standard_normal((60, 20)).astype(np.float32)])
    together = keras.ops.convert_to_numpy(model(crowd, training=False))[:5]
    np.testing.assert_allclose(alone, together, rtol=1e-5, atol=1e-6)
    for q, q0 in zip(fusion.q, q_before, strict=True):
        np.testing.assert_array_equal(np.asarray(q), q0)
