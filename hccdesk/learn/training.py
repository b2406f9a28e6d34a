"""Training and prediction: seeded, deterministic on CPU, with progress and cancel through one callback.

Schedule: Adam with the config's learning-rate schedule (:func:`learning_rate_schedule`: the paper's
exponential decay, or warm-up plus cosine for the short profiles).  Batches come from
:mod:`hccdesk.learn.batches` (a cached patch array through ``tf.data``; batch ``i`` depends only on
``(seed, i)``).  TensorFlow's thread pools are sized for the cores this process may use.  Lesion-level P(high)
is the mean of its patches' P(high); class 1 = high grade is the positive class.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from hccdesk.device import cpu_model
from hccdesk.errors import InputError, ModelError
from hccdesk.learn import layers  # noqa: F401  (registers the custom layers before any model is loaded)
from hccdesk.learn.batches import draw_batches, sampling_probabilities, training_dataset
from hccdesk.learn.inference import compile_forward, for_inference, patch_shape
from hccdesk.learn.models import build_model
from hccdesk.learn.patches import Normalizer, fit_normalizer
from hccdesk.learn.variants import load_variant

METADATA_ENTRY = "hccdesk.json"
"""Member of the ``.keras`` archive holding the variant config and the normaliser (JSON, no pickle)."""
PREDICT_BATCH = 256
"""Patches per inference call: large enough to keep the CPU busy, small enough for any lesion count."""


def configure_device() -> list[Any]:
    """Turn on memory growth for every visible GPU (so TensorFlow does not grab all memory) and return
    them."""
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        # Growth can only be set before the GPU is first used; if it already is, keep what is set.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
    return gpus


def describe_device() -> str:
    """``"GPU: <name>"`` when TensorFlow sees a GPU (Keras then places the model on it), else ``"CPU:
    <model>"``."""
    gpus = configure_device()
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)}"
    return f"CPU: {cpu_model()}"


def configure_threads() -> int:
    """Size TensorFlow's thread pools for the cores this process may use; returns that core count.

    One intra-op pool as wide as the cores (the convolutions parallelise inside each op) and two inter-op
    threads (the graph of one step is mostly a chain; a wider inter-op pool only oversubscribes the cores,
    which showed as a third of the CPU time spent in the kernel).  TensorFlow accepts this only before its
    first op; later calls keep what is set.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    with contextlib.suppress(RuntimeError):
        tf.config.threading.set_intra_op_parallelism_threads(cores)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, cores))
    return cores


def learning_rate_schedule(
    settings: Mapping[str, Any], iterations: int
) -> keras.optimizers.schedules.LearningRateSchedule:
    """The learning rate per step.

    ``exponential``: the paper's ``learning_rate·decay_rate^⌊step/decay_steps⌋``.  ``warmup_cosine``: a
    linear warm-up over ``warmup_fraction`` of the run to ``learning_rate``, then a cosine decay to zero at
    the last step; a short run needs a larger rate than the paper's to move at all and a decay to settle.
    """
    kind = str(settings["schedule"])
    if kind == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            initial_learning_rate=float(settings["learning_rate"]),
            decay_steps=int(settings["decay_steps"]),
            decay_rate=float(settings["decay_rate"]),
            staircase=True,
        )
    if kind == "warmup_cosine":
        warmup = max(1, round(float(settings["warmup_fraction"]) * iterations))
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0,
            decay_steps=max(1, iterations - warmup),
            warmup_target=float(settings["learning_rate"]),
            warmup_steps=warmup,
        )
    raise ModelError(f"unknown training.schedule {kind!r}; expected exponential or warmup_cosine")


def compile_model(model: keras.Model, config: Mapping[str, Any], iterations: int) -> None:
    """Adam with the config's learning-rate schedule; sparse cross-entropy on (low, high)."""
    settings = config["training"]
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate_schedule(settings, iterations)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=bool(settings["jit_compile"]),
    )


@dataclass
class TrainedModel:
    """A trained Keras model with the normaliser fitted on its training patches and its variant config."""

    model: keras.Model
    normalizer: Normalizer
    config: dict[str, Any]
    draws: np.ndarray | None = None
    """Per training patch, how many times it was drawn into a batch (None for a loaded model)."""

    @functools.cached_property
    def inference_model(self) -> keras.Model:
        """The network as every prediction runs it, in this machine's inference precision
        (:func:`hccdesk.learn.inference.for_inference`)."""
        return for_inference(self.model)

    @functools.cached_property
    def _forward(self) -> Callable[[np.ndarray], tf.Tensor]:
        return compile_forward([self.inference_model], [self.normalizer], patch_shape(self.config))

    def predict_patches(self, patches: np.ndarray) -> np.ndarray:
        """P(high) of each patch, through the same traced forward pass as the warm worker's ensemble."""
        x = np.asarray(patches, dtype=np.float32)
        out = [
            keras.ops.convert_to_numpy(self._forward(x[i : i + PREDICT_BATCH]))[0]
            for i in range(0, len(x), PREDICT_BATCH)
        ]
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)

    def predict_lesions(self, lesions: Sequence[np.ndarray]) -> np.ndarray:
        """Lesion-level P(high): the mean of each lesion's patch probabilities (one value per lesion)."""
        if not lesions:
            return np.zeros(0)
        counts = [len(p) for p in lesions]
        if min(counts) == 0:
            raise InputError("a lesion has no patches to predict from")
        per_patch = self.predict_patches(np.concatenate(lesions))
        bounds = np.cumsum([0, *counts])
        return np.array([per_patch[a:b].mean() for a, b in itertools.pairwise(bounds)])

    def save(self, path: str | Path) -> None:
        """Write a ``.keras`` archive with the config and normaliser as a JSON member (no pickle)."""
        path = Path(path)
        if path.suffix != ".keras":
            raise InputError(f"{path}: a model file must end in .keras")
        self.model.save(path)
        metadata = {"config": self.config, "normalizer": self.normalizer.to_dict()}
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(METADATA_ENTRY, json.dumps(metadata, indent=2))

    @classmethod
    def load(cls, path: str | Path) -> TrainedModel:
        """Read a model written by :meth:`save` (``safe_mode=True``: no code from the file is executed)."""
        path = Path(path)
        try:
            with zipfile.ZipFile(path) as archive:
                metadata = json.loads(archive.read(METADATA_ENTRY))
            model = keras.saving.load_model(path, safe_mode=True, compile=False)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
            raise ModelError(f"cannot load model {path}: {error}") from error
        _check_patch_settings(path, metadata["config"])
        return cls(
            model=model, normalizer=Normalizer.from_dict(metadata["normalizer"]), config=metadata["config"]
        )


def _check_patch_settings(path: Path, config: Mapping[str, Any]) -> None:
    """Refuse a model whose patch settings miss one the current patch cutter needs (a model trained by an
    older HCC Desk, e.g. before per-study standardisation): it would be fed patches it never saw."""
    try:
        wanted = set(load_variant(str(config["name"]))["patches"])
    except (KeyError, ModelError):
        return  # a variant this version does not ship: its own config is all there is to go by
    missing = sorted(wanted - set(config.get("patches", {})))
    if missing:
        raise ModelError(
            f"model {path.name} was trained by an older HCC Desk (its patch settings lack "
            f"{', '.join(missing)}); train it again with this version"
        )


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and TensorFlow and make TensorFlow ops deterministic (bit-identical reruns on
    CPU)."""
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def train(
    config: Mapping[str, Any],
    patches: np.ndarray,
    labels: np.ndarray,
    lesion_index: np.ndarray,
    seed: int,
    iterations: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> TrainedModel:
    """Train a variant from scratch.

    Parameters
    ----------
    config
        A variant config (:func:`hccdesk.learn.variants.load_variant`).
    patches
        Training patches ``(n, *spatial, C)`` of the training lesions only.  A normaliser is fitted on them
        here and stored with the model, which applies it to whatever it predicts on; callers that normalise
        beforehand simply get a (near-)identity normaliser.
    labels
        Per patch, 1 = high grade, 0 = low grade.
    lesion_index
        Per patch, the lesion it came from (any integers): used for lesion-balanced sampling.
    seed
        Seeds initial weights, batch sampling and augmentation.
    iterations
        Training steps (the profile's ``iterations``).
    callbacks
        Keras callbacks, e.g. :class:`hccdesk.learn.progress.ProgressCallback`.  A cancel returns the model
        as trained so far; the caller decides whether to keep it.
    """
    patches = np.asarray(patches, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    lesion_index = np.asarray(lesion_index)
    if not (len(patches) == len(labels) == len(lesion_index)) or len(patches) == 0:
        raise InputError("train needs the same positive number of patches, labels and lesion indices")
    if not set(np.unique(labels).tolist()) <= {0, 1}:
        raise InputError("labels must be 0 (low grade) or 1 (high grade)")
    configure_threads()
    configure_device()
    seed_everything(seed)
    normalizer = fit_normalizer(patches)
    settings = config["training"]
    probabilities = sampling_probabilities(
        labels, lesion_index, bool(settings["balanced"]), str(settings["lesion_weight"])
    )
    batches = draw_batches(probabilities, int(settings["batch_size"]), int(iterations), seed)
    dataset = training_dataset(normalizer.apply(patches), labels, batches, seed, settings["augment"])
    model = build_model(config)
    compile_model(model, config, int(iterations))
    model.fit(dataset, epochs=1, verbose=0, shuffle=False, callbacks=list(callbacks))
    steps_run = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    draws = np.bincount(batches[:steps_run].ravel(), minlength=len(labels))
    return TrainedModel(model=model, normalizer=normalizer, config=dict(config), draws=draws)
