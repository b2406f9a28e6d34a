"""The radiomics classifier: fitted on training rows only, saved as JSON, the same after loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hccdesk.errors import InputError, ModelError
from hccdesk.learn.variants import load_variant
from hccdesk.radiomics.model import RadiomicsModel, fit_radiomics


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` lesions, 30 features of which the first two carry the grade; feature 5 is NaN in one lesion."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.standard_normal((n, 30)) * np.linspace(1.0, 50.0, 30)
    x[:, :2] += 1.5 * y[:, None]
    x[0, 5] = np.nan
    return x, y


def test_json_round_trip_predicts_identically(tmp_path: Path) -> None:
    x, y = _rows(40, seed=0)
    model = fit_radiomics(load_variant("radiomics"), x, y, seed=0)
    path = tmp_path / "model.radiomics.json"
    model.save(path)
    assert json.loads(path.read_text())["format"] == "hccdesk-radiomics-model"
    loaded = RadiomicsModel.load(path)
    test, _ = _rows(10, seed=1)
    np.testing.assert_array_equal(loaded.predict_rows(test), model.predict_rows(test))
    assert np.all((model.predict_rows(test) > 0.0) & (model.predict_rows(test) < 1.0))


def test_scaling_and_selection_come_from_the_training_rows_only() -> None:
    x, y = _rows(40, seed=0)
    model = fit_radiomics(load_variant("radiomics"), x, y, seed=0)
    assert 5 not in model.columns  # not finite in a training lesion
    kept = x[:, model.columns]
    np.testing.assert_allclose(model.mean, kept.mean(axis=0))
    np.testing.assert_allclose(model.scale, kept.std(axis=0))
    assert {0, 1} <= {model.columns[s] for s in model.selected}
    # a test lesion never moves the fitted numbers: its prediction does not depend on its batch mates
    test, _ = _rows(10, seed=1)
    alone = np.array([model.predict_rows(test[i : i + 1])[0] for i in range(len(test))])
    np.testing.assert_allclose(alone, model.predict_rows(test))


def test_a_non_finite_test_value_counts_as_the_training_mean() -> None:
    x, y = _rows(40, seed=0)
    model = fit_radiomics(load_variant("radiomics"), x, y, seed=0)
    row = np.asarray(model.mean)
    full = np.zeros((1, x.shape[1]))
    full[0, model.columns] = row
    missing = full.copy()
    missing[0, model.columns[model.selected[0]]] = np.nan
    np.testing.assert_allclose(model.predict_rows(missing), model.predict_rows(full))


def test_refusals(tmp_path: Path) -> None:
    x, y = _rows(20, seed=0)
    with pytest.raises(InputError, match="both grades"):
        fit_radiomics(load_variant("radiomics"), x, np.zeros_like(y), seed=0)
    model = fit_radiomics(load_variant("radiomics"), x, y, seed=0)
    with pytest.raises(ModelError, match="30 features"):
        model.predict_rows(x[:, :10])
    other = tmp_path / "other.json"
    other.write_text('{"format": "something else"}')
    with pytest.raises(ModelError, match="not an HCC Desk radiomics model"):
        RadiomicsModel.load(other)
