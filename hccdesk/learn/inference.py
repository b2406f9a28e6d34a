"""How a trained network predicts: one traced forward pass, in float32 or with bfloat16 deep convolutions.

Every prediction of a network goes through :func:`compile_forward` (cross-validation test folds and the
grade job through :meth:`hccdesk.learn.training.TrainedModel.predict_patches`, the warm worker and ``hccdesk
explain`` through :class:`hccdesk.learn.explain.Ensemble`), so the GUI's Grade and its CLI twin give the same
numbers.  Training is always float32.

**Precision.**  On a CPU that multiplies bfloat16 in hardware (Intel AMX-BF16: Sapphire Rapids and later) a
convolution whose input has many channels runs about three times faster in bfloat16 (3d-cifa ``local_conv2``,
32 → 64 channels on 8³ positions, 57 % of the forward FLOPs: 10.4 → 3.0 ms for a 27-patch lesion).  Only such
*deep* convolutions change (:func:`for_inference`):

* a convolution fed by the patch itself (1-4 channels) stays float32: AMX multiplies 32-deep tiles, so it
  gains nothing there, and that layer is bound by writing its full-resolution output (bfloat16 measured
  slower);
* everything else (pooling, the non-local operation, dense layers, normalisation, the fusion heads that solve
  small linear systems, the softmax) stays float32, and each bfloat16 convolution's output is cast back by the
  next layer, so the rounding stays inside one layer.

Measured on the demo's fast-profile 3d-cifa 4-fold ensemble (docs/developer/model-training.md, "Inference
precision"): the forward pass of a median lesion 87 → 69 ms, lesion P(high) changed by at most 0.0006.  Which
precision a process uses is decided by :func:`hccdesk.device.inference_precision` (bfloat16 only on a CPU with
AMX-BF16 and no GPU in use; ``HCCDESK_INFERENCE_PRECISION=float32`` reproduces float32 predictions anywhere).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from hccdesk import device
from hccdesk.learn.patches import Normalizer

DEEP_INPUT_CHANNELS = 16
"""A convolution with at least this many input channels is a deep one (bfloat16 candidates); the shipped
networks' first convolutions see 1 or 4 channels, their second ones 32 or more."""
_CONVOLUTIONS = (keras.layers.Conv2D, keras.layers.Conv3D)


def inference_precision() -> str:
    """``float32`` or ``bfloat16`` for this process (:func:`hccdesk.device.inference_precision`)."""
    return device.inference_precision(gpu_in_use())


def gpu_in_use() -> bool:
    """True when TensorFlow places work on a GPU (it then runs the networks in float32)."""
    return bool(tf.config.list_logical_devices("GPU"))


def deep_convolutions(model: keras.Model) -> list[str]:
    """Names of the convolutions that would run in bfloat16: those with many input channels."""
    return [
        layer.name
        for layer in model.layers
        if isinstance(layer, _CONVOLUTIONS) and int(layer.input.shape[-1]) >= DEEP_INPUT_CHANNELS
    ]


def for_inference(model: keras.Model, precision: str | None = None) -> keras.Model:
    """``model`` itself in float32, else a copy with the same weights whose deep convolutions compute in
    bfloat16 (weights kept in float32, cast per call; outputs cast back by the next layer)."""
    precision = precision or inference_precision()
    deep = set(deep_convolutions(model))
    if precision == "float32" or not deep:
        return model

    def rebuild(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        if layer.name in deep:
            config["dtype"] = "mixed_bfloat16"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=rebuild)
    for target, source in zip(copy.weights, model.weights, strict=True):
        target.assign(source)
    return copy


def patch_shape(config: Mapping[str, Any]) -> tuple[int, ...]:
    """One patch's array shape for a variant config: ``(16, 16, 16, C)`` or ``(16, 16, C)``."""
    settings = config["patches"]
    return (int(settings["size"]),) * int(config["dims"]) + (len(settings["phases"]),)


def compile_forward(
    networks: Sequence[keras.Model], normalizers: Sequence[Normalizer], shape: tuple[int, ...]
) -> Callable[[np.ndarray], tf.Tensor]:
    """Raw patches ``(n, *shape)`` -> P(high) ``(members, n)``: each member's normalisation and inference-mode
    pass (frozen statistics and fusion bases) in one traced graph.

    ``networks`` should come from :func:`for_inference`.  Traced once for any number of patches, so a call
    pays no Python dispatch per layer and member, which is most of an eager call's time on a small 3D network.
    """
    scaling = [(tf.constant(n.mean, tf.float32), tf.constant(n.std, tf.float32)) for n in normalizers]

    @tf.function(input_signature=[tf.TensorSpec((None, *shape), tf.float32)])
    def forward(patches: tf.Tensor) -> tf.Tensor:
        return tf.stack(
            [
                network((patches - mean) / std, training=False)[:, 1]
                for network, (mean, std) in zip(networks, scaling, strict=True)
            ]
        )

    return forward
