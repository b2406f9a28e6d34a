"""Training and prediction: seeded, deterministic on CPU, with progress and cancel callbacks.

Schedule (paper 2.5): Adam, learning rate 1e-4 decayed by 0.99 every ``decay_steps`` steps (staircase), the
profile's number of iterations.  Batches are drawn by a :class:`BatchSequence` whose batch ``i`` depends
only on ``(seed, i)``, so a run is reproducible whatever order Keras asks for batches in.  Lesion-level
P(high) is the mean of its patches' P(high); class 1 = high grade is the positive class.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
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
from hccdesk.learn.models import build_model
from hccdesk.learn.patches import Normalizer, augment, fit_normalizer

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


class ProgressCallback(keras.callbacks.Callback):
    """Calls ``report`` every ``every_n`` steps (and at the last) with step, total, loss, accuracy, ETA,
    device."""

    def __init__(self, report: Callable[[dict[str, Any]], None], every_n: int = 10) -> None:
        super().__init__()
        self.report = report
        self.every_n = max(1, int(every_n))
        self.device = describe_device()
        self._start = 0.0
        self._step = 0

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self._start = time.monotonic()
        self._step = 0

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._step += 1
        total = int(self.params.get("steps") or self._step)
        if self._step % self.every_n and self._step != total:
            return
        logs = dict(logs or {})
        elapsed = time.monotonic() - self._start
        self.report(
            {
                "step": self._step,
                "total": total,
                "loss": float(logs.get("loss", float("nan"))),
                "accuracy": float(logs.get("accuracy", float("nan"))),
                "eta_s": elapsed / self._step * (total - self._step),
                "device": self.device,
            }
        )


class CancelCallback(keras.callbacks.Callback):
    """Stops training (and any evaluation) within one step once ``event`` is set; ``cancelled`` says if it
    did."""

    def __init__(self, event: threading.Event) -> None:
        super().__init__()
        self.event = event
        self.cancelled = False

    def _check(self) -> None:
        if self.event.is_set():
            self.cancelled = True
            self.model.stop_training = True
            self.model.stop_evaluating = True

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._check()

    def on_test_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._check()


def sampling_probabilities(labels: np.ndarray, lesion_index: np.ndarray, balanced: bool) -> np.ndarray:
    """Per-patch sampling probabilities.

    Balanced: each grade gets half of the draws and, within a grade, every lesion the same share however many
    patches it has; otherwise uniform over patches.
    """
    n = len(labels)
    if not balanced:
        return np.full(n, 1.0 / n)
    weights = np.zeros(n)
    classes = np.unique(labels)
    for label in classes:
        in_class = labels == label
        lesions, counts = np.unique(lesion_index[in_class], return_counts=True)
        per_patch = dict(zip(lesions.tolist(), (1.0 / (len(lesions) * counts)).tolist(), strict=True))
        weights[in_class] = [per_patch[i] for i in lesion_index[in_class].tolist()]
    return weights / weights.sum()


class BatchSequence(keras.utils.PyDataset):
    """``iterations`` augmented training batches; batch ``i`` is drawn with ``default_rng([seed, i])``.

    ``draws`` counts how often each training patch went into a batch: the audit trail that shows which patches
    (and so which lesions) training saw.
    """

    def __init__(
        self,
        patches: np.ndarray,
        labels: np.ndarray,
        probabilities: np.ndarray,
        batch_size: int,
        iterations: int,
        seed: int,
        augmentation: Mapping[str, Any],
    ) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.patches = patches
        self.labels = labels
        self.probabilities = probabilities
        self.batch_size = int(batch_size)
        self.iterations = int(iterations)
        self.seed = int(seed)
        self.augmentation = augmentation
        self._drawn: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.iterations

    @property
    def draws(self) -> np.ndarray:
        """Per training patch, the number of times it went into one of the batches fetched so far."""
        drawn = list(self._drawn.values())
        return (
            np.bincount(np.concatenate(drawn), minlength=len(self.labels))
            if drawn
            else np.zeros(len(self.labels), dtype=np.int64)
        )

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        chosen = np.random.default_rng([self.seed, index]).choice(
            len(self.labels), size=self.batch_size, p=self.probabilities
        )
        self._drawn[index] = chosen  # Keras may fetch a batch twice (it peeks at the first): count it once
        rng = np.random.default_rng([self.seed, index, 1])
        return augment(self.patches[chosen], rng, self.augmentation), self.labels[chosen]


def compile_model(model: keras.Model, config: Mapping[str, Any]) -> None:
    """Adam with the paper's decayed learning rate; sparse cross-entropy on (low, high)."""
    settings = config["training"]
    schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=float(settings["learning_rate"]),
        decay_steps=int(settings["decay_steps"]),
        decay_rate=float(settings["decay_rate"]),
        staircase=True,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
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

    def predict_patches(self, patches: np.ndarray) -> np.ndarray:
        """P(high) of each patch (inference mode: frozen BN statistics and fusion bases)."""
        x = self.normalizer.apply(patches)
        out = [
            keras.ops.convert_to_numpy(self.model(x[i : i + PREDICT_BATCH], training=False))[:, 1]
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
        return cls(
            model=model, normalizer=Normalizer.from_dict(metadata["normalizer"]), config=metadata["config"]
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
        Keras callbacks, e.g. :class:`ProgressCallback` and :class:`CancelCallback`.  A cancel returns the
        model as trained so far; the caller decides whether to keep it.
    """
    patches = np.asarray(patches, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    lesion_index = np.asarray(lesion_index)
    if not (len(patches) == len(labels) == len(lesion_index)) or len(patches) == 0:
        raise InputError("train needs the same positive number of patches, labels and lesion indices")
    if not set(np.unique(labels).tolist()) <= {0, 1}:
        raise InputError("labels must be 0 (low grade) or 1 (high grade)")
    configure_device()
    seed_everything(seed)
    normalizer = fit_normalizer(patches)
    settings = config["training"]
    sequence = BatchSequence(
        normalizer.apply(patches),
        labels,
        sampling_probabilities(labels, lesion_index, bool(settings["balanced"])),
        int(settings["batch_size"]),
        int(iterations),
        seed,
        settings["augment"],
    )
    model = build_model(config)
    compile_model(model, config)
    model.fit(sequence, epochs=1, verbose=0, shuffle=False, callbacks=list(callbacks))
    return TrainedModel(model=model, normalizer=normalizer, config=dict(config), draws=sequence.draws)
