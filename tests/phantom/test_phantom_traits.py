"""The phantom's grade signal: oracle features separate the classes about as well as docs/design/phantom.md
asks, and not at all once the grade effect is switched off (sanity checks (a) and (b) of
docs/design/phantom.md)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hccdesk.errors import InputError
from hccdesk.phantom.cohort import allocate_grades, plan_cohort
from hccdesk.phantom.traits import BINARY, REFERENCE_DELTA, sample_traits

LESIONS = 1500


def _oracle(delta: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    plans = plan_cohort(LESIONS, seed, delta=delta)
    features = np.array([plan.lesions[0].traits.oracle_features() for plan in plans])
    labels = np.array([plan.lesions[0].grade >= 3 for plan in plans])
    return features, labels


def _cross_validated(model, features: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Accuracy and AUC of out-of-fold predictions (5-fold, stratified)."""
    from sklearn.metrics import roc_auc_score

    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    probability = cross_val_predict(model, features, labels, cv=folds, method="predict_proba")[:, 1]
    return float(np.mean((probability >= 0.5) == labels)), float(roc_auc_score(labels, probability))


def test_logistic_regression_on_oracle_features_lands_in_the_band() -> None:
    features, labels = _oracle(REFERENCE_DELTA, seed=11)
    accuracy, auc = _cross_validated(make_pipeline(StandardScaler(), LogisticRegression()), features, labels)
    assert 0.75 <= accuracy <= 0.90, accuracy
    assert auc < 0.95, "the classes must overlap"


@pytest.mark.parametrize(
    "model",
    [
        make_pipeline(StandardScaler(), LogisticRegression()),
        RandomForestClassifier(n_estimators=100, min_samples_leaf=5, random_state=0),
        make_pipeline(StandardScaler(), KNeighborsClassifier(25)),
    ],
    ids=["logistic", "forest", "knn"],
)
def test_without_grade_effect_every_classifier_is_at_chance(model) -> None:
    features, labels = _oracle(0.0, seed=12)
    prior = max(labels.mean(), 1 - labels.mean())
    accuracy, auc = _cross_validated(model, features, labels)
    assert accuracy <= prior + 0.04, (accuracy, prior)
    assert 0.44 <= auc <= 0.56, auc


def test_feature_frequencies_follow_the_literature_table() -> None:
    rng = np.random.default_rng(5)
    low = [sample_traits(rng, False) for _ in range(3000)]
    high = [sample_traits(rng, True) for _ in range(3000)]
    mapping = {"necrosis": "necrosis_fraction"}
    for name, (p_low, p_high) in BINARY.items():
        attribute = mapping.get(name, name)
        assert np.mean([bool(getattr(t, attribute)) for t in low]) == pytest.approx(p_low, abs=0.03), name
        assert np.mean([bool(getattr(t, attribute)) for t in high]) == pytest.approx(p_high, abs=0.03), name
    median_low = np.median([t.diameter_mm for t in low])
    median_high = np.median([t.diameter_mm for t in high])
    assert median_low == pytest.approx(28, rel=0.08) and median_high == pytest.approx(38, rel=0.08)
    assert np.mean([t.pre_ratio for t in high]) < np.mean([t.pre_ratio for t in low])
    washers_low = [t.delayed_ratio for t in low if t.washout]
    washers_high = [t.delayed_ratio for t in high if t.washout]
    assert np.mean(washers_low) == pytest.approx(0.88, abs=0.01)
    assert np.mean(washers_high) == pytest.approx(0.82, abs=0.01)


def test_grades_follow_the_paper_and_label_noise_flips_a_few() -> None:
    grades = allocate_grades(46)
    assert [grades.count(g) for g in (1, 2, 3, 4)] == [1, 20, 24, 1]
    assert sum(g >= 3 for g in allocate_grades(16)) == 9
    plans = plan_cohort(2000, seed=3)
    flipped = np.mean([(p.lesions[0].grade >= 3) != p.lesions[0].traits.truly_high for p in plans])
    assert 0.02 <= flipped <= 0.06
    assert len({p.patient_id for p in plans}) == 2000


def test_bad_cohort_requests_are_refused() -> None:
    with pytest.raises(InputError):
        plan_cohort(0, seed=1)
    with pytest.raises(InputError):
        plan_cohort(3, seed=-1)
