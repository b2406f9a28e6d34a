"""What a worker trains and predicts with: the networks (:mod:`hccdesk.learn`, TensorFlow) or the radiomics
baseline (:mod:`hccdesk.radiomics`, scikit-learn, no TensorFlow).

Both look the same to the worker: per-lesion inputs read from the study images (a network's patch stack, or
the radiomics feature row as a one-row stack), a fit on the training lesions' inputs only that reports
progress and stops on cancel, a model file the worker saves and a grading loads, and the device and software
versions a result records.  The config's ``head`` chooses the learner for training; a model file's suffix
chooses it for grading.  Heavy libraries are imported only when a method runs, so the owner process can
import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hccdesk.store.records import Box


class LesionModel(Protocol):
    @property
    def config(self) -> dict[str, Any]: ...

    def predict_lesions(self, lesions: Sequence[np.ndarray]) -> np.ndarray: ...

    def save(self, path: str | Path) -> None: ...


@dataclass(frozen=True)
class Fitted:
    """A fitted model with its loss and accuracy on the training data (None where not measured)."""

    model: LesionModel
    train_loss: float | None
    train_accuracy: float | None


@dataclass(frozen=True)
class TrainingData:
    """The training lesions' inputs stacked (``x``), each row's grade ``y`` and lesion number."""

    x: np.ndarray
    y: np.ndarray
    lesion_index: np.ndarray


class Learner(Protocol):
    model_suffix: str

    def lesion_inputs(self, images: Any, box: Box, config: Mapping[str, Any]) -> np.ndarray: ...

    def fit(
        self,
        config: dict[str, Any],
        data: TrainingData,
        seed: int,
        iterations: int,
        progress: Callable[[dict[str, Any]], None],
        cancelled: Callable[[], bool],
    ) -> Fitted | None:
        """The fitted model, or None when ``cancelled()`` stopped the fit."""
        ...

    def load(self, path: str | Path) -> LesionModel: ...

    def describe_device(self) -> str: ...

    def software(self) -> dict[str, str]: ...


class NetworkLearner:
    """The paper's networks: patches in, a ``.keras`` model out (TensorFlow)."""

    model_suffix = ".keras"

    def lesion_inputs(self, images: Any, box: Box, config: Mapping[str, Any]) -> np.ndarray:
        from hccdesk.learn.patches import extract_lesion_patches

        return extract_lesion_patches(images, box, config)

    def fit(
        self,
        config: dict[str, Any],
        data: TrainingData,
        seed: int,
        iterations: int,
        progress: Callable[[dict[str, Any]], None],
        cancelled: Callable[[], bool],
    ) -> Fitted | None:
        from hccdesk.learn.progress import ProgressCallback
        from hccdesk.learn.training import train

        callback = ProgressCallback(progress, cancelled, iterations)
        model = train(config, data.x, data.y, data.lesion_index, seed, iterations, callbacks=(callback,))
        if callback.was_cancelled:
            return None
        return Fitted(model, callback.recent.get("loss"), callback.recent.get("accuracy"))

    def load(self, path: str | Path) -> LesionModel:
        from hccdesk.learn.training import TrainedModel

        return TrainedModel.load(path)

    def describe_device(self) -> str:
        from hccdesk.learn.training import describe_device

        return describe_device()

    def software(self) -> dict[str, str]:
        import keras
        import tensorflow as tf

        from hccdesk import __version__

        return {"hccdesk": __version__, "tensorflow": tf.__version__, "keras": keras.__version__}


class RadiomicsLearner:
    """The radiomics baseline: one feature row per lesion in, a JSON model out (CPU, no TensorFlow).

    The fit is closed-form and takes about a second, so it has no steps to report and nothing to cancel
    half-way; the slow part, feature extraction, happens in :meth:`lesion_inputs`, before it.
    """

    model_suffix = ".radiomics.json"

    def lesion_inputs(self, images: Any, box: Box, config: Mapping[str, Any]) -> np.ndarray:
        from hccdesk.radiomics.features import extract_lesion_features

        return extract_lesion_features(images, box, config)

    def fit(
        self,
        config: dict[str, Any],
        data: TrainingData,
        seed: int,
        iterations: int,
        progress: Callable[[dict[str, Any]], None],
        cancelled: Callable[[], bool],
    ) -> Fitted | None:
        from hccdesk.radiomics.model import fit_radiomics

        model = fit_radiomics(config, data.x, data.y, seed)
        progress({"step": 1, "steps": 1, "loss": model.train_loss, "accuracy": model.train_accuracy})
        return Fitted(model, model.train_loss, model.train_accuracy)

    def load(self, path: str | Path) -> LesionModel:
        from hccdesk.radiomics.model import RadiomicsModel

        return RadiomicsModel.load(path)

    def describe_device(self) -> str:
        from hccdesk.device import cpu_model

        return f"CPU: {cpu_model()}"

    def software(self) -> dict[str, str]:
        from importlib.metadata import version

        from hccdesk import __version__

        return {"hccdesk": __version__, "mirp": version("mirp"), "scikit-learn": version("scikit-learn")}


def learner_for(config: Mapping[str, Any]) -> Learner:
    """The learner that trains a variant config."""
    return RadiomicsLearner() if config.get("head") == "radiomics" else NetworkLearner()


def learner_for_model(path: str | Path) -> Learner:
    """The learner that reads a saved model, told by the file's suffix."""
    return RadiomicsLearner() if str(path).endswith(RadiomicsLearner.model_suffix) else NetworkLearner()
