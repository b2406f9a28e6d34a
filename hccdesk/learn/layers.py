"""Custom Keras layers of the paper: the non-local operation, the common/individual fusion, the DCCA head.

Every layer is registered as Keras-serializable (package ``hccdesk``) and holds only plain config values, so a
``.keras`` file loads with ``safe_mode=True`` (no lambdas, no pickled Python).  Choices the paper leaves
open are taken from ``docs/design/methods.md`` (sections cited per layer) and are switches in each layer's
config.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

_PACKAGE = "hccdesk"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class NonLocal(keras.layers.Layer):
    """Embedded-Gaussian non-local operation, Eq. (2) of the paper: ``y = softmax(xᵀW_θᵀW_φx) W_g x``.

    Works on channels-last 2D ``(B, H, W, C)`` or 3D ``(B, D, H, W, C)`` maps.  θ, φ and g are 1×1(×1)
    convolutions, implemented as one matrix product over the channel axis (the same operator, without the
    im2col overhead).  The softmax runs over the key positions j, so every output position is a convex
    combination of g(x_j).  As the paper states, there is **no residual** (and hence no W_z/BN: without the
    skip they would only rescale y, docs/design/methods.md §1.4).

    Parameters
    ----------
    channels
        Width of θ, φ and g (the paper sets 64).
    subsample
        Max-pool φ(x) and g(x) by 2 along every spatial axis (Wang et al.'s memory saver; off as in the
        paper).
    scale
        Multiply the logits by ``channels**-0.5`` (official non-local code; not in the paper's Eq. 2; off).
    use_bias
        Biases on θ, φ, g; Eq. (2) has none, so off by default.
    """

    def __init__(
        self,
        channels: int = 64,
        subsample: bool = False,
        scale: bool = False,
        use_bias: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.subsample = bool(subsample)
        self.scale = bool(scale)
        self.use_bias = bool(use_bias)
        self.theta = keras.layers.Dense(self.channels, use_bias=self.use_bias, name="theta")
        self.phi = keras.layers.Dense(self.channels, use_bias=self.use_bias, name="phi")
        self.g = keras.layers.Dense(self.channels, use_bias=self.use_bias, name="g")

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        if len(input_shape) not in (4, 5):
            raise ValueError(f"NonLocal expects a 2D or 3D channels-last map, got shape {input_shape}")
        for dense in (self.theta, self.phi, self.g):
            dense.build(input_shape)
        self._pool = None
        if self.subsample:
            pool_cls = keras.layers.MaxPooling3D if len(input_shape) == 5 else keras.layers.MaxPooling2D
            self._pool = pool_cls(pool_size=2, name="pool")

    def attention(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The row-stochastic affinity ``softmax_j(θ(x_i)ᵀφ(x_j))`` (B, N, N') and the values g (B, N', C)."""
        batch = ops.shape(x)[0]
        theta = ops.reshape(self.theta(x), (batch, -1, self.channels))
        phi, g = self.phi(x), self.g(x)
        if self._pool is not None:
            phi, g = self._pool(phi), self._pool(g)
        phi = ops.reshape(phi, (batch, -1, self.channels))
        g = ops.reshape(g, (batch, -1, self.channels))
        logits = ops.matmul(theta, ops.transpose(phi, (0, 2, 1)))
        if self.scale:
            logits = logits * (self.channels**-0.5)
        return ops.softmax(logits, axis=-1), g

    def call(self, x: tf.Tensor) -> tf.Tensor:
        weights, g = self.attention(x)
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
        }


def _complement_projector(v: tf.Tensor) -> tf.Tensor:
    """``I − Vᵀ(VVᵀ)⁻¹V``: the exact projector onto the orthogonal complement of V's row space (float64)."""
    d = tf.shape(v)[1]
    gram = tf.matmul(v, v, transpose_b=True)
    return tf.eye(d, dtype=v.dtype) - tf.matmul(v, tf.linalg.solve(gram, v), transpose_a=True)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CommonIndividual(keras.layers.Layer):
    """Common-and-individual feature analysis (paper 2.3, Eqs. 3–6) as a differentiable layer
    (docs/design/methods.md §2.4–2.5).

    Inputs are the local and non-local feature rows ``y₁ (n×d₁)``, ``y₂ (n×d₂)`` (batch-normalised upstream so
    they cannot shrink to zero to satisfy the correlation term).  The layer returns the concatenation
    ``[c₁, c₂, a₁, a₂]`` of the common coordinates ``c_i = y_iV_iᵀ`` (k each) and the individual coordinates
    ``a_i = y_iQ_iᵀ`` (m each); the head picks what it classifies on (``common``: c, ``individual``: a,
    ``cifa``: both — the paper's "common and individual components are concatenated").

    * ``V_i`` (k×d_i) are learned (paper: "we first learn the mapping matrices V_i").
    * ``Q_i`` (m×d_i) are not trained: they are the top-m eigenvectors of a running covariance of the residual
      ``(y_i − J_i)`` projected onto the orthogonal complement of V_i's row space (paper: "use SVD to
      construct the orthogonal basis Q_i"; JIVE's step 2 moved to feature space).  They are recomputed under
      stop-gradient in training steps only and frozen at inference, so a lesion's prediction never depends on
      the rest of its batch and no test statistics leak into the model.  ``m < d − k`` keeps a residual R_i.
      Q is refreshed in the forward pass, so it lags V by one optimiser step: ‖V_iQ_iᵀ‖ stays of the order of
      one step's change of V (tiny at lr 1e-4) and L_orth pulls it back.  Within the new subspace the basis
      closest to the previous Q is kept, so the individual coordinates do not flip sign or order between
      steps.
    * Auxiliary losses (added with ``add_loss`` in training), named after the paper's Lagrangian (Eq. 6):
      ``λ_corr·L_corr`` (scale-invariant ‖V₁Y₁ − V₂Y₂‖², which cannot be minimised by V → 0),
      ``λ_rec·L_rec`` (reconstruction Y = J + A + R with small R), ``λ_vorth·L_vorth`` (‖V_iV_iᵀ − I‖²: V
      orthonormal as Eq. 4's projector assumes) and ``λ_orth·L_orth`` (‖V_iQ_iᵀ‖²: the paper's "V_iᵀQ_i = 0",
      read as orthogonal row spaces — zero by construction here, kept as a penalty and monitor).

    Parameters
    ----------
    common, individual
        k and m (docs/design/methods.md §2.4 default 16 each, ≤ d/4).
    momentum
        ρ of the running residual covariance (0.9).
    lambda_corr, lambda_rec, lambda_vorth, lambda_orth
        Fixed a priori (0.1, 0.1, 1.0, 1.0): 46 lesions cannot support tuning them on test folds.
    epsilon
        Guards the L_corr denominator.
    """

    def __init__(
        self,
        common: int = 16,
        individual: int = 16,
        momentum: float = 0.9,
        lambda_corr: float = 0.1,
        lambda_rec: float = 0.1,
        lambda_vorth: float = 1.0,
        lambda_orth: float = 1.0,
        epsilon: float = 1e-6,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.common = int(common)
        self.individual = int(individual)
        self.momentum = float(momentum)
        self.lambda_corr = float(lambda_corr)
        self.lambda_rec = float(lambda_rec)
        self.lambda_vorth = float(lambda_vorth)
        self.lambda_orth = float(lambda_orth)
        self.epsilon = float(epsilon)

    def build(self, input_shape: list[tuple[int | None, ...]]) -> None:
        dims = [int(shape[-1]) for shape in input_shape]
        for d in dims:
            if self.common + self.individual >= d:
                raise ValueError(
                    f"common ({self.common}) + individual ({self.individual}) must stay below the feature "
                    f"width {d} so the residual R is not forced to zero (docs/design/methods.md §2.5 item 2)"
                )
        self.v = [
            self.add_weight(shape=(self.common, d), initializer="orthogonal", name=f"v{i + 1}")
            for i, d in enumerate(dims)
        ]
        self.q = [
            self.add_weight(
                shape=(self.individual, d), initializer="zeros", trainable=False, name=f"q{i + 1}"
            )
            for i, d in enumerate(dims)
        ]
        self.cov = [
            self.add_weight(shape=(d, d), initializer="zeros", trainable=False, name=f"cov{i + 1}")
            for i, d in enumerate(dims)
        ]

    def _update_q(self, index: int, y: tf.Tensor) -> None:
        """Refresh Q_i from the running covariance of the residual in V_i's orthogonal complement (no
        gradient)."""
        y = tf.stop_gradient(tf.cast(y, tf.float64))
        v = tf.stop_gradient(tf.cast(self.v[index], tf.float64))
        projector = _complement_projector(v)
        residual = tf.matmul(y - tf.matmul(tf.matmul(y, v, transpose_b=True), v), projector)
        n = tf.cast(tf.shape(y)[0], tf.float64)
        batch_cov = tf.matmul(residual, residual, transpose_a=True) / n
        cov = self.momentum * tf.cast(self.cov[index], tf.float64) + (1.0 - self.momentum) * batch_cov
        self.cov[index].assign(tf.cast(cov, self.cov[index].dtype))
        # Re-project onto the *current* complement (V moved since older batches were added) and add a tiny
        # isotropic term there, so that even a rank-deficient covariance (n < m) yields eigenvectors that lie
        # in the complement and never in V's row space.
        scale = tf.linalg.trace(cov) / tf.cast(tf.shape(cov)[0], tf.float64) + 1e-12
        target = tf.matmul(projector, tf.matmul(cov, projector)) + 1e-6 * scale * projector
        _, vectors = tf.linalg.eigh(0.5 * (target + tf.transpose(target)))
        top = tf.transpose(vectors[:, -self.individual :])
        # Eigenvectors come with arbitrary signs and order (and rotate freely among close eigenvalues), which
        # would scramble the coordinates the classifier reads from one step to the next.  Keep the new
        # subspace but choose the basis in it closest to the previous Q (orthogonal Procrustes).
        previous = tf.cast(self.q[index], tf.float64)
        _, u, w = tf.linalg.svd(tf.matmul(previous, top, transpose_b=True))
        aligned = tf.matmul(tf.matmul(u, w, transpose_b=True), top)
        self.q[index].assign(tf.cast(aligned, self.q[index].dtype))

    def decomposition_losses(self, y1: tf.Tensor, y2: tf.Tensor) -> dict[str, tf.Tensor]:
        """The four unweighted auxiliary terms for a batch of features, with the current V and Q."""
        ys = (y1, y2)
        cs = [ops.matmul(y, ops.transpose(v)) for y, v in zip(ys, self.v, strict=True)]
        n = ops.cast(ops.shape(y1)[0], y1.dtype)
        spread = 0.5 * (ops.sum(ops.square(cs[0])) + ops.sum(ops.square(cs[1]))) / n
        corr = ops.sum(ops.square(cs[0] - cs[1])) / n / (spread + self.epsilon)
        rec = 0.0
        vorth = 0.0
        orth = 0.0
        eye = ops.eye(self.common, dtype=y1.dtype)
        for y, c, v, q in zip(ys, cs, self.v, self.q, strict=True):
            a = ops.matmul(y, ops.transpose(q))
            residual = y - ops.matmul(c, v) - ops.matmul(a, q)
            rec = rec + ops.sum(ops.square(residual)) / n / ops.cast(ops.shape(y)[-1], y.dtype)
            vorth = vorth + ops.sum(ops.square(ops.matmul(v, ops.transpose(v)) - eye))
            orth = orth + ops.sum(ops.square(ops.matmul(v, ops.transpose(q))))
        return {"corr": corr, "rec": rec, "vorth": vorth, "orth": orth}

    def call(self, inputs: list[tf.Tensor], training: bool | None = None) -> tf.Tensor:
        y1, y2 = inputs
        if training:
            self._update_q(0, y1)
            self._update_q(1, y2)
            terms = self.decomposition_losses(y1, y2)
            self.add_loss(
                self.lambda_corr * terms["corr"]
                + self.lambda_rec * terms["rec"]
                + self.lambda_vorth * terms["vorth"]
                + self.lambda_orth * terms["orth"]
            )
        parts = [ops.matmul(y, ops.transpose(v)) for y, v in zip((y1, y2), self.v, strict=True)]
        parts += [ops.matmul(y, ops.transpose(q)) for y, q in zip((y1, y2), self.q, strict=True)]
        return ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape: list[tuple[int | None, ...]]) -> tuple[int | None, ...]:
        return (input_shape[0][0], 2 * (self.common + self.individual))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "common": self.common,
            "individual": self.individual,
            "momentum": self.momentum,
            "lambda_corr": self.lambda_corr,
            "lambda_rec": self.lambda_rec,
            "lambda_vorth": self.lambda_vorth,
            "lambda_orth": self.lambda_orth,
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
