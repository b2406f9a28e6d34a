"""The radiomics classifier: scaling, univariate feature selection and a penalised logistic regression,
fitted on the training lesions only and stored as JSON (no pickle).

Fitting uses scikit-learn; prediction is the fitted affine maps written out (means, scales, selected
columns, coefficients), so a saved model predicts with numpy alone and its file can be read by a person.
Features that are not finite in some training lesion are dropped (MIRP returns NaN where a texture matrix
is degenerate, e.g. a lesion of one grey level); a test lesion's non-finite value is replaced by the
training mean, i.e. it contributes nothing.  The penalty strength is chosen by an inner stratified CV on the
training lesions (log-loss), so nothing about the test fold reaches any fitted number.  The penalty is L2:
radiomics features come in strongly correlated families (e.g. the GLCM and GLRLM views of one texture), which
a ridge penalty shrinks together instead of picking one at random as L1 does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hccdesk.errors import InputError, ModelError

MODEL_FORMAT = "hccdesk-radiomics-model"
MODEL_VERSION = 1


@dataclass(frozen=True)
class RadiomicsModel:
    """A fitted radiomics model.  ``columns`` index the finite training features, ``mean``/``scale`` are
    the scaler on them, ``selected`` indexes the scaled columns kept by the selection, and ``coef`` and
    ``intercept`` are the logistic regression on those (class 1 = high grade)."""

    config: dict[str, Any]
    n_features: int
    columns: list[int]
    mean: list[float]
    scale: list[float]
    selected: list[int]
    coef: list[float]
    intercept: float
    penalty_c: float
    train_accuracy: float
    train_loss: float

    def predict_rows(self, x: np.ndarray) -> np.ndarray:
        """P(high) of each feature row of ``x`` (``(n, n_features)``)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ModelError(
                f"the model was fitted on {self.n_features} features per lesion, got an array of {x.shape}"
            )
        kept = x[:, self.columns]
        mean = np.asarray(self.mean)
        kept = np.where(np.isfinite(kept), kept, mean)
        z = ((kept - mean) / np.asarray(self.scale))[:, self.selected]
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.coef) + self.intercept)))

    def predict_lesions(self, lesions: Sequence[np.ndarray]) -> np.ndarray:
        """P(high) per lesion, each given as its ``(1, n_features)`` row (the worker's lesion inputs)."""
        if not lesions:
            return np.zeros(0)
        return self.predict_rows(np.concatenate([np.atleast_2d(rows) for rows in lesions]))

    def save(self, path: str | Path) -> None:
        data = {"format": MODEL_FORMAT, "version": MODEL_VERSION, **asdict(self)}
        Path(path).write_text(json.dumps(data, indent=1, allow_nan=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> RadiomicsModel:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ModelError(f"cannot read radiomics model {path}: {error}") from error
        if data.pop("format", None) != MODEL_FORMAT or data.pop("version", None) != MODEL_VERSION:
            raise ModelError(f"{path} is not an HCC Desk radiomics model (version {MODEL_VERSION})")
        return cls(**data)


def fit_radiomics(config: Mapping[str, Any], x: np.ndarray, y: np.ndarray, seed: int) -> RadiomicsModel:
    """Fit scaler, selection and penalised logistic regression on the training rows ``x`` (one per lesion)
    with labels ``y`` (1 = high grade), as ``config["model"]`` says.

    Raises
    ------
    InputError
        When the training lesions are not of both classes or no feature is finite in all of them.
    """
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    settings = config["model"]
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        raise InputError("the radiomics model needs training lesions of both grades")
    columns = np.flatnonzero(np.all(np.isfinite(x), axis=0) & (np.ptp(x, axis=0) > 0.0))
    if columns.size == 0:
        raise InputError("no radiomics feature is finite and varying over the training lesions")
    scaler = StandardScaler().fit(x[:, columns])
    z = scaler.transform(x[:, columns])
    k = min(int(settings["select"]), columns.size)
    selector = SelectKBest(f_classif, k=k).fit(z, y)
    selected = np.flatnonzero(selector.get_support())
    folds = min(int(settings["inner_folds"]), int(np.bincount(y).min()))
    inner = StratifiedKFold(n_splits=max(folds, 2), shuffle=True, random_state=seed)
    classifier = LogisticRegressionCV(
        Cs=list(settings["cs"]),
        cv=inner,
        l1_ratios=(0.0,),
        scoring="neg_log_loss",
        max_iter=1000,
        use_legacy_attributes=False,
    ).fit(z[:, selected], y)
    p = classifier.predict_proba(z[:, selected])[:, 1]
    eps = 1e-12
    loss = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
    return RadiomicsModel(
        config=dict(config),
        n_features=int(x.shape[1]),
        columns=[int(c) for c in columns],
        mean=[float(v) for v in scaler.mean_],
        scale=[float(v) for v in scaler.scale_],
        selected=[int(s) for s in selected],
        coef=[float(c) for c in classifier.coef_[0]],
        intercept=float(classifier.intercept_[0]),
        penalty_c=float(np.ravel(classifier.C_)[0]),
        train_accuracy=float(np.mean((p >= 0.5) == y)),
        train_loss=float(loss),
    )
