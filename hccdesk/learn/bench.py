"""``hccdesk bench train``: training throughput of each variant against the machine's dense matmul rate.

For each variant: the wall time of one training step (a compiled ``train_on_batch`` on a fixed batch at the
variant's default batch size, after warm-up steps), the FLOPs of that step counted from the layer shapes
(:mod:`hccdesk.learn.flops`), the achieved GFLOP/s, and the ratio to the dense float32 matmul rate measured in
the same process (``tf.matmul`` of square matrices) — the practical peak of this machine for the kind of work
a network step is.  Beside the model step it times the **fit-loop step**: :func:`hccdesk.learn.training.train`
on a cached array of synthetic patches, data pipeline, augmentation and callbacks included — what a user
waits for per step (the two once differed twelvefold, docs/design/model-review.md), as a mean over the
timed steps.  The model step and the matmul are best-of measurements (fastest step; fastest matmul,
re-measured after every variant): on a shared machine other processes only ever slow a measurement down, so
the minimum is the estimate least disturbed by them, and taking it on both sides keeps the ratio fair.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import keras
import numpy as np
import tensorflow as tf

from hccdesk.learn.flops import train_step_flops
from hccdesk.learn.models import build_model
from hccdesk.learn.training import compile_model, describe_device, seed_everything, train
from hccdesk.learn.variants import load_variant

MATMUL_SIZES: tuple[int, ...] = (2048, 4096)
"""Square matrix sizes for the peak measurement: large enough that the matmul is compute-bound."""


@dataclass(frozen=True)
class StepBench:
    """One variant's measured training step."""

    variant: str
    batch_size: int
    step_ms: float
    fit_step_ms: float
    gflop_per_step: float
    gflops: float
    ratio: float


def matmul_gflops(sizes: Sequence[int] = MATMUL_SIZES, repeats: int = 3) -> float:
    """Best dense float32 matmul rate (GFLOP/s) over ``sizes`` and ``repeats`` on TensorFlow's default device.

    Each product is reduced to a scalar inside the compiled function, so waiting for the result costs no copy.
    """
    best = 0.0
    product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    for n in sizes:
        a = tf.random.normal((n, n), seed=1)
        b = tf.random.normal((n, n), seed=2)
        product(a, b).numpy()
        for _ in range(repeats):
            start = time.perf_counter()
            product(a, b).numpy()
            best = max(best, 2.0 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def step_time(variant: str, steps: int, warmup: int, batch_size: int | None = None) -> tuple[float, int, int]:
    """Fastest seconds of a training step of ``variant``, its FLOPs, and the batch size used."""
    config = load_variant(variant)
    batch = int(batch_size or config["training"]["batch_size"])
    seed_everything(0)
    model = build_model(config)
    compile_model(model, config, warmup + steps)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *model.input_shape[1:])).astype(np.float32)
    y = rng.integers(0, 2, batch)
    for _ in range(warmup):
        model.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return min(times), train_step_flops(model, batch), batch


class _StepClock(keras.callbacks.Callback):
    """Wall-clock time at the end of every training step."""

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[float] = []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.ends.append(time.perf_counter())


def fit_step_time(variant: str, steps: int, warmup: int, batch_size: int | None = None) -> float:
    """Mean seconds per step of the real fit loop over ``steps`` steps after ``warmup`` (≥ 1) untimed ones, on
    40 synthetic lesions of 16 patches each (about a small cohort's training fold)."""
    config = load_variant(variant)
    if batch_size:
        config["training"]["batch_size"] = int(batch_size)
    size, dims = int(config["patches"]["size"]), int(config["dims"])
    lesions, per_lesion = 40, 16
    shape = (lesions * per_lesion, *(size,) * dims, len(config["patches"]["phases"]))
    patches = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    labels = np.repeat(np.arange(lesions) % 2, per_lesion)
    clock = _StepClock()
    train(config, patches, labels, np.repeat(np.arange(lesions), per_lesion), 0, warmup + steps, (clock,))
    return (clock.ends[-1] - clock.ends[warmup - 1]) / steps


def bench_train(
    variants: Sequence[str],
    steps: int = 10,
    warmup: int = 3,
    batch_size: int | None = None,
    matmul_sizes: Sequence[int] = MATMUL_SIZES,
) -> tuple[float, list[StepBench]]:
    """The matmul peak and one :class:`StepBench` per variant."""
    peak = matmul_gflops(matmul_sizes)
    measured = []
    for variant in variants:
        seconds, flops, batch = step_time(variant, steps, warmup, batch_size)
        fit_seconds = fit_step_time(variant, steps, max(warmup, 1), batch_size)
        measured.append((variant, batch, seconds, fit_seconds, flops))
        peak = max(peak, matmul_gflops(matmul_sizes))
    rows = [
        StepBench(
            variant,
            batch,
            seconds * 1e3,
            fit_seconds * 1e3,
            flops / 1e9,
            flops / seconds / 1e9,
            flops / seconds / 1e9 / peak,
        )
        for variant, batch, seconds, fit_seconds, flops in measured
    ]
    return peak, rows


def format_report(peak: float, rows: Sequence[StepBench]) -> str:
    """A plain-text table (also pasted into the README)."""
    lines = [
        f"device: {describe_device()}",
        f"dense float32 matmul: {peak:.1f} GFLOP/s",
        f"{'variant':<16}{'batch':>6}{'step ms':>10}{'fit ms':>9}{'GFLOP/step':>12}{'GFLOP/s':>10}"
        f"{'of matmul':>11}",
    ]
    for row in rows:
        lines.append(
            f"{row.variant:<16}{row.batch_size:>6}{row.step_ms:>10.1f}{row.fit_step_ms:>9.1f}{row.gflop_per_step:>12.2f}"
            f"{row.gflops:>10.1f}{row.ratio:>10.0%}"
        )
    return "\n".join(lines)


def as_json(peak: float, rows: Sequence[StepBench]) -> dict:
    """The report as JSON-serialisable data."""
    return {"device": describe_device(), "matmul_gflops": peak, "variants": [asdict(row) for row in rows]}
