"""Floating-point operation counts of a built model, from its layer shapes.

Counted (multiply-add = 2 FLOPs): convolutions ``2·positions·kᵈ·C_in·C_out``, dense layers
``2·positions·d_in·d_out``, the non-local operation (θ, φ, g projections, the affinity ``θφᵀ`` and the
aggregation ``softmax·g``) and the fusion head's projections (the DCCA projections are dense layers).
Not counted: element-wise and memory-bound work (ReLU, pooling, batch norm, softmax, bias adds) and the
per-batch bookkeeping of the fusion/DCCA heads (the fusion's 16×16 solve for its projector, auxiliary losses,
Cholesky whitening), which together are well under 1 % of a step for the shipped configs.  A training step is
taken as 3× the forward count (backward ≈ 2× forward: one product for the input gradient, one for the weight
gradient).
"""

from __future__ import annotations

import math

import keras

from hccdesk.learn.layers import CommonIndividual, NonLocal

TRAIN_FACTOR = 3
"""Forward + backward ≈ 3 × forward (the usual convention for dense and convolutional layers)."""


def _positions(shape: tuple[int | None, ...]) -> int:
    """Number of positions of a channels-last activation shape, batch excluded."""
    return math.prod(int(n) for n in shape[1:-1])


def layer_flops(layer: keras.layers.Layer) -> int:
    """Forward FLOPs of one layer for one sample."""
    if isinstance(layer, keras.layers.Conv2D | keras.layers.Conv3D):
        c_in = int(layer.input.shape[-1])
        return 2 * _positions(layer.output.shape) * math.prod(layer.kernel_size) * c_in * layer.filters
    if isinstance(layer, keras.layers.Dense):
        shape = layer.input.shape
        return 2 * _positions(shape) * int(shape[-1]) * layer.units
    if isinstance(layer, NonLocal):
        shape = layer.input.shape
        n, c_in, c = _positions(shape), int(shape[-1]), layer.channels
        keys = n // 2 ** (len(shape) - 2) if layer.subsample else n
        projections = 2 * n * c_in * c + 2 * 2 * n * c_in * c
        return projections + 2 * (2 * n * keys * c)
    if isinstance(layer, CommonIndividual):
        widths = [int(tensor.shape[-1]) for tensor in layer.input]
        # common coordinates y·Vᵀ (d×k) and the common part y·P_V (d×d); A = y − J is element-wise
        return sum(2 * d * layer.common + 2 * d * d for d in widths)
    return 0


def forward_flops(model: keras.Model) -> int:
    """Forward FLOPs of the whole model for one sample."""
    return sum(layer_flops(layer) for layer in model.layers)


def train_step_flops(model: keras.Model, batch_size: int) -> int:
    """FLOPs of one training step at ``batch_size``: ``TRAIN_FACTOR × batch × forward``."""
    return TRAIN_FACTOR * int(batch_size) * forward_flops(model)
