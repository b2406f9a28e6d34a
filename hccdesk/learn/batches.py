"""Training batches drawn from a cached patch array and augmented inside TensorFlow's data pipeline.

Why this shape: a Python generator that gathered and augmented every batch kept the interpreter busy beside
TensorFlow's threads and made a fit-loop step about ten times slower than the network step it feeds
(docs/design/model-review.md, "Speed").  Here every batch's patch indices are drawn once, up front, with
numpy (``(iterations, batch)`` integers: cheap, and the audit trail of what training saw), and a
``tf.data`` pipeline gathers the rows from one in-memory tensor and augments them with stateless random
ops seeded by ``(seed, step)``.  Batch ``i`` therefore depends only on ``(seed, i)``, whatever the
parallelism, and no Python runs per step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

LESION_WEIGHTS: tuple[str, ...] = ("equal", "sqrt", "patches")
"""How the draws of one grade are shared among its lesions (see :func:`sampling_probabilities`)."""


def sampling_probabilities(
    labels: np.ndarray, lesion_index: np.ndarray, balanced: bool, lesion_weight: str = "sqrt"
) -> np.ndarray:
    """Per-patch sampling probabilities.

    Balanced: each grade gets half of the draws.  Within a grade a lesion with ``n`` patches gets a share
    proportional to ``1`` (``equal``), ``√n`` (``sqrt``) or ``n`` (``patches``).  ``equal`` showed a one-patch
    lesion 64 times more often per patch than a 64-patch one, so a few tiny lesions dominated; ``patches``
    lets the largest lesions dominate instead; ``√n`` is the compromise (a ratio of 8 at most).  Not balanced:
    uniform over patches.
    """
    n = len(labels)
    if not balanced:
        return np.full(n, 1.0 / n)
    if lesion_weight not in LESION_WEIGHTS:
        raise ValueError(f"lesion_weight must be one of {', '.join(LESION_WEIGHTS)}, got {lesion_weight!r}")
    exponent = {"equal": 0.0, "sqrt": 0.5, "patches": 1.0}[lesion_weight]
    weights = np.zeros(n)
    for label in np.unique(labels):
        in_class = labels == label
        _, inverse, counts = np.unique(lesion_index[in_class], return_inverse=True, return_counts=True)
        share = counts**exponent / np.sum(counts**exponent)
        weights[in_class] = (share / counts)[inverse]
    return weights / weights.sum()


def draw_batches(probabilities: np.ndarray, batch_size: int, iterations: int, seed: int) -> np.ndarray:
    """The patch indices of every training batch, ``(iterations, batch_size)`` int32, from ``seed`` alone."""
    rng = np.random.default_rng([int(seed), 0])
    rows = rng.choice(len(probabilities), size=(int(iterations), int(batch_size)), p=probabilities)
    return rows.astype(np.int32)


def augment_batch(batch: tf.Tensor, seed: tf.Tensor, settings: Mapping[str, Any]) -> tf.Tensor:
    """Random flips on every spatial axis, 90° in-plane rotations and mild intensity jitter, per patch.

    ``batch`` is ``(n, *spatial, C)`` with square in-plane axes (the last two spatial axes, y and x);
    ``seed`` a ``(2,)`` int tensor.  Every random choice is a stateless op of ``seed``, so the same seed gives
    the same batch.  The jitter is ``x·(1 + jitter_scale·ε₁) + jitter_shift·ε₂`` with one ε pair per patch
    and channel.
    """
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=4)
    n = tf.shape(batch)[0]
    rank = batch.shape.rank
    spatial = rank - 2
    per_patch = tf.concat([[n], tf.ones([rank - 1], tf.int32)], axis=0)
    if settings["flips"]:
        flips = tf.random.stateless_uniform([spatial, n], seeds[0]) < 0.5
        for axis in range(spatial):
            mask = tf.reshape(flips[axis], per_patch)
            batch = tf.where(mask, tf.reverse(batch, [axis + 1]), batch)
    if settings["rot90"]:
        y_axis, x_axis = spatial - 1, spatial
        swap = list(range(rank))
        swap[y_axis], swap[x_axis] = x_axis, y_axis
        quarter = tf.reverse(tf.transpose(batch, swap), [y_axis])
        turns = tf.stack(
            [batch, quarter, tf.reverse(batch, [y_axis, x_axis]), tf.reverse(quarter, [y_axis, x_axis])]
        )
        k = tf.random.stateless_uniform([n], seeds[1], minval=0, maxval=4, dtype=tf.int32)
        batch = tf.gather_nd(turns, tf.stack([k, tf.range(n)], axis=1))
    channels = tf.shape(batch)[-1]
    noise_shape = tf.concat([[n], tf.ones([spatial], tf.int32), [channels]], axis=0)
    scale = 1.0 + float(settings["jitter_scale"]) * tf.random.stateless_normal(noise_shape, seeds[2])
    shift = float(settings["jitter_shift"]) * tf.random.stateless_normal(noise_shape, seeds[3])
    return batch * scale + shift


def training_dataset(
    patches: np.ndarray, labels: np.ndarray, batches: np.ndarray, seed: int, augmentation: Mapping[str, Any]
) -> tf.data.Dataset:
    """``(x, y)`` batches: row ``i`` of ``batches`` gathered from ``patches``, augmented with ``(seed, i)``.

    The patch array is held once as a tensor; two batches are prepared ahead of the one being trained on.
    """
    x = tf.constant(np.asarray(patches, dtype=np.float32))
    y = tf.constant(np.asarray(labels, dtype=np.int32))
    steps = tf.range(len(batches), dtype=tf.int64)

    def make(step: tf.Tensor, rows: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        pair = tf.stack([tf.constant(int(seed), tf.int64), step])
        return augment_batch(tf.gather(x, rows), pair, augmentation), tf.gather(y, rows)

    dataset = tf.data.Dataset.from_tensor_slices((steps, batches))
    return dataset.map(make, num_parallel_calls=1, deterministic=True).prefetch(2)
