"""Builders for the paper's networks: two branches (local, non-local) and seven heads, in 2D and 3D.

A variant config (``models/<name>.json``, see :mod:`hccdesk.learn.variants`) fully determines the graph:
``dims`` (2 or 3), ``head`` (one of :data:`HEADS`), the branch widths under ``local`` and ``nonlocal`` and the
fusion settings under ``fusion``.  All models take channels-last patches and return softmax probabilities over
(low, high); class 1 = high grade is the positive class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from hccdesk.learn.layers import CommonIndividual, DeepCorrelation, NonLocal, SelectColumns
from hccdesk.learn.variants import HEADS

FUSION_HEADS: tuple[str, ...] = ("common", "individual", "cifa")
"""Heads built on :class:`CommonIndividual`."""


def _conv(dims: int, filters: int, kernel: int, name: str) -> keras.layers.Layer:
    cls = keras.layers.Conv3D if dims == 3 else keras.layers.Conv2D
    return cls(filters, kernel, padding="same", activation="relu", name=name)


def _pool(dims: int, size: int, name: str) -> keras.layers.Layer:
    cls = keras.layers.MaxPooling3D if dims == 3 else keras.layers.MaxPooling2D
    return cls(pool_size=size, name=name)


def local_branch(x: keras.KerasTensor, dims: int, settings: Mapping[str, Any]) -> keras.KerasTensor:
    """Paper 2.1/2.4: repeated conv (3×3×3) + ReLU + pooling, then one FC layer to the feature Y₁."""
    for index, filters in enumerate(settings["filters"]):
        x = _conv(dims, int(filters), int(settings["kernel"]), f"local_conv{index + 1}")(x)
        x = _pool(dims, int(settings["pool"]), f"local_pool{index + 1}")(x)
    x = keras.layers.Flatten(name="local_flatten")(x)
    return keras.layers.Dense(int(settings["features"]), activation="relu", name="local_feature")(x)


def nonlocal_branch(x: keras.KerasTensor, dims: int, settings: Mapping[str, Any]) -> keras.KerasTensor:
    """Paper 2.2: a conv + ReLU stem to 64 channels (on a 1-channel patch θ/φ would be scalars,
    docs/design/methods.md §1.4), pooling, the non-local operation without residual, pooling, then one FC
    layer to the feature Y₂."""
    x = _conv(dims, int(settings["stem_filters"]), int(settings["kernel"]), "nonlocal_stem")(x)
    x = _pool(dims, int(settings["pool"]), "nonlocal_stem_pool")(x)
    x = NonLocal(
        channels=int(settings["channels"]),
        subsample=bool(settings["subsample"]),
        scale=bool(settings["scale"]),
        logit_scale=float(settings["logit_scale"]),
        name="nonlocal",
    )(x)
    x = _pool(dims, int(settings["pool"]), "nonlocal_pool")(x)
    x = keras.layers.Flatten(name="nonlocal_flatten")(x)
    return keras.layers.Dense(int(settings["features"]), activation="relu", name="nonlocal_feature")(x)


def _fused(
    head: str, y1: keras.KerasTensor, y2: keras.KerasTensor, fusion: Mapping[str, Any]
) -> keras.KerasTensor:
    """The feature the classifier sees, for the two-branch heads."""
    if head == "concat":
        return keras.layers.Concatenate(name="concat")([y1, y2])
    if head == "dcca":
        h1 = keras.layers.Dense(int(fusion["dim"]), name="dcca_local")(y1)
        h2 = keras.layers.Dense(int(fusion["dim"]), name="dcca_nonlocal")(y2)
        return DeepCorrelation(weight=fusion["weight"], ridge=fusion["ridge"], name="dcca")([h1, h2])
    # common / individual / cifa: layer-normalise each feature row, so features cannot shrink to 0 to satisfy
    # the correlation term (docs/design/methods.md §2.4).  Batch-norm without scale gave each of 64
    # near-duplicate units unit variance and let one gain-driven branch dominate (docs/design/model-review.md
    # finding 3); a per-row norm with a learned scale does not inflate duplicates and uses no batch
    # statistics.
    y1 = keras.layers.LayerNormalization(name="local_norm")(y1)
    y2 = keras.layers.LayerNormalization(name="nonlocal_norm")(y2)
    k = int(fusion["common"])
    parts = CommonIndividual(
        common=k,
        lambda_corr=fusion["lambda_corr"],
        lambda_vorth=fusion["lambda_vorth"],
        ramp_start=fusion["ramp_start"],
        ramp_steps=fusion["ramp_steps"],
        name="cifa",
    )([y1, y2])
    if head == "common":
        return SelectColumns(0, 2 * k, name="common_part")(parts)
    if head == "individual":
        width = int(y1.shape[-1]) + int(y2.shape[-1])
        return SelectColumns(2 * k, 2 * k + width, name="individual_part")(parts)
    return parts


def build_model(config: Mapping[str, Any]) -> keras.Model:
    """Build the (uncompiled) Keras model of a variant config."""
    dims = int(config["dims"])
    head = str(config["head"])
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; expected one of {', '.join(HEADS)}")
    size = int(config["patches"]["size"])
    channels = len(config["patches"]["phases"])
    inputs = keras.Input(shape=(size,) * dims + (channels,), name="patch")
    if head == "local":
        feature = local_branch(inputs, dims, config["local"])
    elif head == "nonlocal":
        feature = nonlocal_branch(inputs, dims, config["nonlocal"])
    else:
        y1 = local_branch(inputs, dims, config["local"])
        y2 = nonlocal_branch(inputs, dims, config["nonlocal"])
        feature = _fused(head, y1, y2, config["fusion"])
    # The fusion heads start neutral (P = 0.5 for every patch, loss ln 2): their many inputs would otherwise
    # start with a random, confident decision (initial loss 0.97 measured, docs/design/model-review.md).
    initializer = "zeros" if head in FUSION_HEADS else "glorot_uniform"
    outputs = keras.layers.Dense(2, activation="softmax", kernel_initializer=initializer, name="grade")(
        feature
    )
    return keras.Model(inputs, outputs, name=str(config["name"]).replace("-", "_"))
