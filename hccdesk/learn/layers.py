"""Custom Keras layers of the paper: the non-local operation, the common/individual fusion, the DCCA head.

Every layer is registered as Keras-serializable (package ``hccdesk``) and holds only plain config values, so a
``.keras`` file loads with ``safe_mode=True`` (no lambdas, no pickled Python).  Choices the paper leaves
open are taken from ``docs/design/methods.md`` (sections cited per layer) and are switches in each layer's
config.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import tensorflow as tf
from keras import ops

_PACKAGE = "hccdesk"
Tensor = Any
"""A tensor of whichever Keras backend runs the layer (the layers below use ``keras.ops`` only)."""
ENTROPY_SAMPLES = 8
"""Patches of a training batch whose attention entropy is measured (a monitor; the first few suffice)."""


@keras.saving.register_keras_serializable(package=_PACKAGE)
class NonLocal(keras.layers.Layer):
    """Embedded-Gaussian non-local operation, Eq. (2) of the paper: ``y = softmax(xᵀW_θᵀW_φx) W_g x``.

    Works on channels-last 2D ``(B, H, W, C)`` or 3D ``(B, D, H, W, C)`` maps.  θ, φ and g are 1×1(×1)
    convolutions, implemented as one matrix product over the channel axis (the same operator, without the
    im2col overhead).  The softmax runs over the key positions j, so every output position is a convex
    combination of g(x_j).  As the paper states, there is **no residual** (and hence no W_z/BN: without the
    skip they would only rescale y, docs/design/methods.md §1.4).  Written with ``keras.ops`` only, so the
    same network runs on any Keras backend.

    Attention that is close to uniform makes the block a global average pool (entropy 6.227 of a maximum
    6.238 measured on demo patches, docs/design/model-review.md finding 4).  The layer therefore tracks the
    mean entropy of its attention rows over the last training batch (``entropy``, nats; ``max_entropy`` is
    the uniform value log N') for progress reports and model cards, and ``logit_scale`` multiplies the
    logits (an inverse softmax temperature: Eq. 2's affinity with a sharper softmax; 1 = the paper).

    Parameters
    ----------
    channels
        Width of θ, φ and g (the paper sets 64).
    subsample
        Max-pool φ(x) and g(x) by 2 along every spatial axis (Wang et al.'s switch: 8× fewer key positions,
        8× cheaper affinity).
    scale
        Multiply the logits by ``channels**-0.5`` (official non-local code; not in the paper's Eq. 2; off).
    use_bias
        Biases on θ, φ, g; Eq. (2) has none, so off by default.
    logit_scale
        Inverse temperature of the softmax (1.0 = Eq. 2 as printed).
    """

    def __init__(
        self,
        channels: int = 64,
        subsample: bool = False,
        scale: bool = False,
        use_bias: bool = False,
        logit_scale: float = 1.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.subsample = bool(subsample)
        self.scale = bool(scale)
        self.use_bias = bool(use_bias)
        self.logit_scale = float(logit_scale)
        self.theta = keras.layers.Dense(self.channels, use_bias=self.use_bias, name="theta")
        self.phi = keras.layers.Dense(self.channels, use_bias=self.use_bias, name="phi")
        self.g = keras.layers.Dense(self.channels, use_bias=self.use_bias, name="g")

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        if len(input_shape) not in (4, 5):
            raise ValueError(f"NonLocal expects a 2D or 3D channels-last map, got shape {input_shape}")
        for dense in (self.theta, self.phi, self.g):
            dense.build(input_shape)
        self._pool = None
        keys = math.prod(self.key_grid(tuple(int(n) for n in input_shape[1:-1])))
        if self.subsample:
            pool_cls = keras.layers.MaxPooling3D if len(input_shape) == 5 else keras.layers.MaxPooling2D
            self._pool = pool_cls(pool_size=2, name="pool")
        self.max_entropy = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(math.log(keys)),
            trainable=False,
            name="max_entropy",
        )
        self.entropy = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(math.log(keys)), trainable=False, name="entropy"
        )

    def key_grid(self, query_grid: tuple[int, ...]) -> tuple[int, ...]:
        """The grid of key positions j for a map whose positions i form ``query_grid``: the same grid, or
        every axis halved (max pooling by 2, remainder dropped) when φ and g are subsampled."""
        return tuple(n // 2 for n in query_grid) if self.subsample else tuple(query_grid)

    def attention(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The row-stochastic affinity ``softmax_j(θ(x_i)ᵀφ(x_j))`` (B, N, N') and the values g (B, N', C)."""
        batch = ops.shape(x)[0]
        theta = ops.reshape(self.theta(x), (batch, -1, self.channels))
        phi, g = self.phi(x), self.g(x)
        if self._pool is not None:
            phi, g = self._pool(phi), self._pool(g)
        phi = ops.reshape(phi, (batch, -1, self.channels))
        g = ops.reshape(g, (batch, -1, self.channels))
        logits = ops.matmul(theta, ops.transpose(phi, (0, 2, 1)))
        factor = self.logit_scale * (self.channels**-0.5 if self.scale else 1.0)
        if factor != 1.0:
            logits = logits * factor
        return ops.softmax(logits, axis=-1), g

    def call(self, x: Tensor, training: bool | None = None) -> Tensor:
        weights, g = self.attention(x)
        if training:
            sample = ops.stop_gradient(weights[:ENTROPY_SAMPLES])
            rows = -ops.sum(sample * ops.log(sample + 1e-12), axis=-1)
            self.entropy.assign(ops.cast(ops.mean(rows), self.entropy.dtype))
        y = ops.matmul(weights, g)
        return ops.reshape(y, (*ops.shape(x)[:-1], self.channels))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape[:-1], self.channels)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "channels": self.channels,
            "subsample": self.subsample,
            "scale": self.scale,
            "use_bias": self.use_bias,
            "logit_scale": self.logit_scale,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CommonIndividual(keras.layers.Layer):
    """Common-and-individual feature analysis (paper 2.3, Eqs. 3–6) as the paper defines it.

    Inputs are the local and non-local feature rows ``y₁ (n×d₁)``, ``y₂ (n×d₂)`` (layer-normalised upstream so
    they cannot shrink to zero to satisfy the correlation term).  Per branch:

    * ``V_i`` (k×d_i) is learned (paper: "we first learn the mapping matrices V_i") and kept orthonormal by
      ``λ_vorth·‖V_iV_iᵀ − I‖²``; the common coordinates are ``c_i = y_iV_iᵀ`` and the common part
      ``J_i = y_i·P_V`` with ``P_V = V_iᵀ(V_iV_iᵀ)⁻¹V_i`` the exact projector onto V_i's row space.
    * ``Q_i`` is "the orthogonal basis of V_i from SVD": the orthogonal complement, ``Q_iᵀQ_i = I − P_V``.
      The individual part is ``A_i = y_i(I − P_V)`` exactly, so ``y_i = J_i + A_i`` and ``V_iQ_iᵀ = 0`` hold
      by construction.  No basis of the complement is chosen (no eigh, no running covariance): a basis would
      be arbitrary up to rotation, and the classifier's dense layer on ``A_i`` is the same model as on its
      coordinates in any basis.  The reconstruction and orthogonality terms of the Lagrangian are then
      identically zero and are not computed.
    * ``L_corr`` is the paper's ‖V₁Y₁ − V₂Y₂‖² on **centred** common coordinates (so constant offsets do not
      count as agreement), divided by their spread (so it cannot be minimised by V → 0).  Its weight ramps
      linearly from 0 at step ``ramp_start`` to ``λ_corr`` at ``ramp_start + ramp_steps``: early on the
      features are random and agreement between them would be agreement on noise (or on brightness), so the
      classification loss leads first.  The layer counts its own training steps.

    The output is ``[c₁, c₂, A₁, A₂]`` (k + k + d₁ + d₂ columns); the head picks what it classifies on
    (``common``: c, ``individual``: A, ``cifa``: both — the paper's "common and individual components are
    concatenated").  Inference uses no batch statistics, so a lesion's score never depends on its batch.
    Written with ``keras.ops`` only (any Keras backend).

    Parameters
    ----------
    common
        k (docs/design/methods.md §2.4 default 16, ≤ d/4).
    lambda_corr, lambda_vorth
        Weights of L_corr and the orthonormality penalty, fixed a priori (0.1, 1.0): 46 lesions cannot
        support tuning them on test folds.
    ramp_start, ramp_steps
        The L_corr ramp, in training steps.
    epsilon
        Guards the L_corr denominator.
    """

    def __init__(
        self,
        common: int = 16,
        lambda_corr: float = 0.1,
        lambda_vorth: float = 1.0,
        ramp_start: int = 0,
        ramp_steps: int = 0,
        epsilon: float = 1e-6,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.common = int(common)
        self.lambda_corr = float(lambda_corr)
        self.lambda_vorth = float(lambda_vorth)
        self.ramp_start = int(ramp_start)
        self.ramp_steps = int(ramp_steps)
        self.epsilon = float(epsilon)

    def build(self, input_shape: list[tuple[int | None, ...]]) -> None:
        self.dims = [int(shape[-1]) for shape in input_shape]
        for d in self.dims:
            if self.common >= d:
                raise ValueError(f"common ({self.common}) must stay below the feature width {d}")
        self.v = [
            self.add_weight(shape=(self.common, d), initializer="orthogonal", name=f"v{i + 1}")
            for i, d in enumerate(self.dims)
        ]
        self.step = self.add_weight(shape=(), initializer="zeros", trainable=False, name="step")

    def _projector(self, v: Tensor) -> Tensor:
        """``V_iᵀ(V_iV_iᵀ)⁻¹V_i``: the exact projector onto V_i's row space (``d×d``)."""
        gram = ops.matmul(v, ops.transpose(v))
        return ops.matmul(ops.transpose(v), ops.solve(gram, v))

    def parts(self, y: Tensor, index: int) -> tuple[Tensor, Tensor, Tensor]:
        """``(c_i, J_i, A_i)`` of branch ``index`` for feature rows ``y``: coordinates, common and individual
        parts."""
        v = ops.cast(self.v[index], y.dtype)
        c = ops.matmul(y, ops.transpose(v))
        common = ops.matmul(y, self._projector(v))
        return c, common, y - common

    def decomposition_losses(self, y1: Tensor, y2: Tensor) -> dict[str, Tensor]:
        """The unweighted auxiliary terms for a batch of features: centred L_corr and ‖VVᵀ − I‖²."""
        c1, c2 = (
            ops.matmul(y, ops.transpose(ops.cast(v, y.dtype))) for y, v in zip((y1, y2), self.v, strict=True)
        )
        c1 = c1 - ops.mean(c1, axis=0, keepdims=True)
        c2 = c2 - ops.mean(c2, axis=0, keepdims=True)
        n = ops.cast(ops.shape(y1)[0], y1.dtype)
        spread = 0.5 * (ops.sum(ops.square(c1)) + ops.sum(ops.square(c2))) / n
        corr = ops.sum(ops.square(c1 - c2)) / n / (spread + self.epsilon)
        eye = ops.eye(self.common, dtype=y1.dtype)
        vorth = sum(ops.sum(ops.square(ops.matmul(v, ops.transpose(v)) - eye)) for v in self.v)
        return {"corr": corr, "vorth": ops.cast(vorth, y1.dtype)}

    def corr_weight(self) -> Tensor:
        """λ_corr times the ramp at the current step (a tensor)."""
        if self.ramp_steps <= 0:
            ramp = ops.cast(self.step >= self.ramp_start, "float32")
        else:
            ramp = ops.clip((self.step - self.ramp_start) / self.ramp_steps, 0.0, 1.0)
        return self.lambda_corr * ramp

    def call(self, inputs: list[Tensor], training: bool | None = None) -> Tensor:
        y1, y2 = inputs
        if training:
            terms = self.decomposition_losses(y1, y2)
            weight = ops.cast(self.corr_weight(), y1.dtype)
            self.add_loss(weight * terms["corr"] + self.lambda_vorth * terms["vorth"])
            self.step.assign(self.step + 1.0)
        (c1, _, a1), (c2, _, a2) = self.parts(y1, 0), self.parts(y2, 1)
        return ops.concatenate([c1, c2, a1, a2], axis=-1)

    def compute_output_shape(self, input_shape: list[tuple[int | None, ...]]) -> tuple[int | None, ...]:
        return (input_shape[0][0], 2 * self.common + int(input_shape[0][-1]) + int(input_shape[1][-1]))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "common": self.common,
            "lambda_corr": self.lambda_corr,
            "lambda_vorth": self.lambda_vorth,
            "ramp_start": self.ramp_start,
            "ramp_steps": self.ramp_steps,
            "epsilon": self.epsilon,
        }


def total_correlation(h1: tf.Tensor, h2: tf.Tensor, ridge: float = 1e-3) -> tf.Tensor:
    """Total canonical correlation of two views (rows = samples), the DCCA objective
    (docs/design/methods.md §3).

    Stable formulation: float64; centred covariances with a *relative* ridge ``r = ridge·trace(Σ_ii)/k`` (so
    the regulariser follows the feature scale); whitening with Cholesky factors (``T = L₁⁻¹Σ₁₂L₂⁻ᵀ`` has the
    same singular values as ``Σ₁₁^{-½}Σ₁₂Σ₂₂^{-½}``); the canonical correlations are ``√eigvalsh(TᵀT)`` —
    eigenvalue-only gradients avoid the 1/(λ_i − λ_j) terms that make eigenvector gradients NaN.
    """
    h1 = tf.cast(h1, tf.float64)
    h2 = tf.cast(h2, tf.float64)
    n = tf.cast(tf.shape(h1)[0], tf.float64)
    h1 = h1 - tf.reduce_mean(h1, axis=0, keepdims=True)
    h2 = h2 - tf.reduce_mean(h2, axis=0, keepdims=True)

    def _cov(a: tf.Tensor) -> tf.Tensor:
        k = tf.shape(a)[1]
        sigma = tf.matmul(a, a, transpose_a=True) / (n - 1.0)
        reg = ridge * tf.linalg.trace(sigma) / tf.cast(k, tf.float64) + 1e-12
        return sigma + reg * tf.eye(k, dtype=tf.float64)

    l1 = tf.linalg.cholesky(_cov(h1))
    l2 = tf.linalg.cholesky(_cov(h2))
    s12 = tf.matmul(h1, h2, transpose_a=True) / (n - 1.0)
    left = tf.linalg.triangular_solve(l1, s12, lower=True)
    t = tf.transpose(tf.linalg.triangular_solve(l2, tf.transpose(left), lower=True))
    eig = tf.linalg.eigvalsh(tf.matmul(t, t, transpose_a=True))
    return tf.reduce_sum(tf.sqrt(tf.maximum(eig, 0.0) + 1e-8))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class DeepCorrelation(keras.layers.Layer):
    """Deep correlation model head (Yao et al. 2017 via DCCA, docs/design/methods.md §3): maximise the total
    canonical correlation of the two views' projections while classifying on their concatenation.

    Trained jointly (loss ``CE − λ·corr``) rather than in DeepCorrSurv's two stages, so every variant gets the
    same optimiser and iteration budget; ``weight`` is λ.  The correlation is computed on each training batch
    (batch ≫ k is required: see the variant's batch size).  At inference the layer is a plain concatenation.
    """

    def __init__(self, weight: float = 0.1, ridge: float = 1e-3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.weight = float(weight)
        self.ridge = float(ridge)

    def call(self, inputs: list[tf.Tensor], training: bool | None = None) -> tf.Tensor:
        h1, h2 = inputs
        if training:
            corr = total_correlation(h1, h2, self.ridge)
            self.add_loss(tf.cast(-self.weight * corr, h1.dtype))
        return ops.concatenate([h1, h2], axis=-1)

    def compute_output_shape(self, input_shape: list[tuple[int | None, ...]]) -> tuple[int | None, ...]:
        return (input_shape[0][0], int(input_shape[0][-1]) + int(input_shape[1][-1]))

    def get_config(self) -> dict:
        return {**super().get_config(), "weight": self.weight, "ridge": self.ridge}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class SelectColumns(keras.layers.Layer):
    """Keep the columns ``[start, stop)`` of a 2D tensor (picks common or individual coordinates; no
    lambda)."""

    def __init__(self, start: int, stop: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.start = int(start)
        self.stop = int(stop)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return x[:, self.start : self.stop]

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (input_shape[0], self.stop - self.start)

    def get_config(self) -> dict:
        return {**super().get_config(), "start": self.start, "stop": self.stop}
