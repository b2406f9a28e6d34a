"""Fold metrics, summaries, the AUC bootstrap and the corrected t-test (no TensorFlow)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from hccdesk.evaluation.metrics import bootstrap_auc_ci, corrected_resampled_ttest, fold_metrics, summarize


def test_fold_metrics_high_grade_is_positive() -> None:
    y = [1, 1, 1, 0, 0]
    p = [0.9, 0.6, 0.2, 0.4, 0.7]
    m = fold_metrics(y, p)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["sensitivity"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(1 / 2)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert m["auc"] == pytest.approx(roc_auc_score(y, p))


def test_single_class_fold_has_no_auc() -> None:
    m = fold_metrics([1, 1], [0.8, 0.3])
    assert m["auc"] is None and m["specificity"] is None
    assert m["sensitivity"] == pytest.approx(0.5)


def test_summary_labels_both_spreads() -> None:
    rng = np.random.default_rng(0)
    labels = {f"L{i}": i % 2 for i in range(12)}
    folds, oof = [], []
    for r in range(3):
        order = rng.permutation(12)
        for f in range(3):
            ids = [f"L{i}" for i in order[f * 4 : (f + 1) * 4]]
            y = [labels[i] for i in ids]
            while len(set(y)) < 2:  # keep both classes in every fold
                order = rng.permutation(12)
                ids = [f"L{i}" for i in order[f * 4 : (f + 1) * 4]]
                y = [labels[i] for i in ids]
            p = list(np.clip(np.array(y) * 0.5 + rng.normal(0.25, 0.25, 4), 0, 1))
            folds.append({"repeat": r, "fold": f, "n_train": 8, "n_test": 4, **fold_metrics(y, p)})
            oof += [{"lesion_id": i, "repeat": r, "p_high": q} for i, q in zip(ids, p, strict=True)]
    s = summarize(folds, oof, labels, n_folds=3)
    accs = [row["accuracy"] for row in folds]
    assert s["accuracy"]["mean"] == pytest.approx(np.mean(accs))
    assert s["accuracy"]["std_folds"] == pytest.approx(np.std(accs, ddof=1))
    # repetitions are incomplete (random folds overlap), but each repetition has 3 folds: pooled still defined
    assert s["accuracy"]["std_repeats"] is not None
    lo, hi = s["auc_ci95"]
    assert 0.0 <= lo <= hi <= 1.0


def test_incomplete_repetition_gives_no_pooled_estimate() -> None:
    labels = {"a": 1, "b": 0}
    folds = [{"repeat": 0, "fold": 0, **fold_metrics([1, 0], [0.8, 0.3])}]
    oof = [{"lesion_id": "a", "repeat": 0, "p_high": 0.8}, {"lesion_id": "b", "repeat": 0, "p_high": 0.3}]
    s = summarize(folds, oof, labels, n_folds=2)
    assert s["accuracy"]["std_folds"] is None and s["accuracy"]["std_repeats"] is None
    assert s["auc_ci95"] is None


def test_bootstrap_interval_brackets_the_auc_and_is_seeded() -> None:
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(25, int), np.zeros(21, int)]
    p = np.clip(y * 0.3 + rng.normal(0.35, 0.2, y.size), 0, 1)
    ci = bootstrap_auc_ci(y, p, seed=5)
    assert ci is not None
    assert ci[0] < roc_auc_score(y, p) < ci[1]
    assert ci == bootstrap_auc_ci(y, p, seed=5)
    # one resample: the vectorised AUC equals sklearn's on the same resampled lesions
    lo, hi = bootstrap_auc_ci(y, p, resamples=1, seed=2)
    rng2 = np.random.default_rng(2)
    w = rng2.multinomial(25, np.full(25, 1 / 25))
    v = rng2.multinomial(21, np.full(21, 1 / 21))
    pos, neg = np.repeat(p[y == 1], w), np.repeat(p[y == 0], v)
    expected = roc_auc_score(np.r_[np.ones(pos.size), np.zeros(neg.size)], np.r_[pos, neg])
    assert lo == pytest.approx(expected) and hi == pytest.approx(expected)


def test_corrected_ttest_matches_the_formula() -> None:
    d = np.array([0.05, 0.02, -0.01, 0.04, 0.03, 0.00, 0.06, 0.02])
    t, p = corrected_resampled_ttest(d, n_train=34, n_test=12)
    expected_t = d.mean() / math.sqrt((1 / d.size + 12 / 34) * d.var(ddof=1))
    assert t == pytest.approx(expected_t)
    assert p == pytest.approx(2 * stats.t.sf(abs(expected_t), d.size - 1))
    # the correction makes it more conservative than the naive paired t-test
    assert p > stats.ttest_1samp(d, 0.0).pvalue


def test_corrected_ttest_identical_scores() -> None:
    assert corrected_resampled_ttest([0.0, 0.0, 0.0], 30, 10) == (0.0, 1.0)
