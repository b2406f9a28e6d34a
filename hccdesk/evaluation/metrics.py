"""Lesion-level metrics of a cross-validation run, their summaries, an AUC interval and variant comparisons.

High grade (Edmondson III-IV) is the positive class everywhere; a lesion is called high when its P(high) is
at least 0.5 (a fixed threshold, never tuned on a test fold: docs/design/methods.md §5.3).

Two kinds of spread are reported and labelled (docs/design/methods.md §5.4):

``std_folds``
    sample standard deviation of the per-fold values over all ``folds × repeats`` folds.  Dominated by the
    tiny test folds; this is what the paper's ``±`` most likely shows.
``std_repeats``
    sample standard deviation over the repetitions of the metric computed on each repetition's pooled
    out-of-fold predictions (every lesion once).  Much smaller, and it underestimates the true uncertainty.

``mean`` is the mean of the per-fold values.  The AUC's 95 % interval is a stratified percentile bootstrap
(2000 resamples, seeded, like pROC's ``ci.auc``) on each complete repetition's pooled predictions; the
reported bounds are the medians over the repetitions.  A value that is undefined (a fold with one class for
AUC, a spread from a single value) is ``None``, which JSON writes as ``null``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

METRICS: tuple[str, ...] = ("accuracy", "sensitivity", "specificity", "auc", "balanced_accuracy")
THRESHOLD = 0.5
BOOTSTRAP_RESAMPLES = 2000


def fold_metrics(y_true: Sequence[int], p_high: Sequence[float]) -> dict[str, float | None]:
    """Accuracy, sensitivity, specificity, AUC and balanced accuracy of one set of lesions.

    A metric that the set cannot define (sensitivity without high-grade lesions, AUC with one class) is None.
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score, roc_auc_score

    y = np.asarray(y_true, dtype=int)
    p = np.asarray(p_high, dtype=float)
    if y.size == 0:
        raise ValueError("no lesions to score")
    pred = (p >= THRESHOLD).astype(int)
    has_pos, has_neg = bool((y == 1).any()), bool((y == 0).any())
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "sensitivity": float(recall_score(y, pred, pos_label=1, zero_division=0)) if has_pos else None,
        "specificity": float(recall_score(y, pred, pos_label=0, zero_division=0)) if has_neg else None,
        "auc": float(roc_auc_score(y, p)) if has_pos and has_neg else None,
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)) if has_pos and has_neg else None,
    }


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def _std(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.std(kept, ddof=1)) if len(kept) >= 2 else None


def pooled_by_repeat(
    oof: Sequence[Mapping[str, Any]], labels: Mapping[str, int], complete: set[int] | None = None
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per repetition, the labels and P(high) of its pooled out-of-fold lesions (only ``complete`` ones)."""
    rows: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for row in oof:
        repeat = int(row["repeat"])
        if complete is None or repeat in complete:
            rows[repeat].append((labels[row["lesion_id"]], float(row["p_high"])))
    return {
        r: (np.array([y for y, _ in v], dtype=int), np.array([p for _, p in v], dtype=float))
        for r, v in sorted(rows.items())
    }


def bootstrap_auc_ci(
    y_true: Sequence[int], p_high: Sequence[float], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float] | None:
    """Stratified percentile bootstrap 95 % interval of the AUC (positives and negatives resampled apart).

    Exact and vectorised: with ``C[i, j]`` the Mann-Whitney score of positive ``i`` against negative ``j``
    (1, ½ on ties, 0) and ``w``, ``v`` the resampling counts, a resample's AUC is ``wᵀ C v / (n₊ n₋)``.
    """
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(p_high, dtype=float)
    pos, neg = p[y == 1], p[y == 0]
    if pos.size == 0 or neg.size == 0:
        return None
    scores = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    rng = np.random.default_rng(seed)
    w = rng.multinomial(pos.size, np.full(pos.size, 1.0 / pos.size), size=resamples)
    v = rng.multinomial(neg.size, np.full(neg.size, 1.0 / neg.size), size=resamples)
    aucs = np.einsum("bi,ij,bj->b", w, scores, v) / (pos.size * neg.size)
    lo, hi = np.percentile(aucs, [2.5, 97.5])
    return float(lo), float(hi)


def summarize(
    folds: Sequence[Mapping[str, Any]],
    oof: Sequence[Mapping[str, Any]],
    labels: Mapping[str, int],
    n_folds: int,
    seed: int = 0,
) -> dict[str, Any]:
    """The run's summary in the ``hccdesk cv --json`` layout.

    Parameters
    ----------
    folds
        Per-fold rows holding ``repeat`` and the :data:`METRICS`.
    oof
        Out-of-fold rows ``{"lesion_id", "repeat", "p_high"}``.
    labels
        Lesion id -> 1 (high grade) or 0.
    n_folds
        Folds per repetition: only repetitions with all their folds finished give pooled estimates (a
        cancelled run's partial repetition would score a subset of the lesions).
    seed
        Seed of the AUC bootstrap (repetition ``r`` uses ``seed + r``).
    """
    per_repeat_folds: dict[int, int] = defaultdict(int)
    for row in folds:
        per_repeat_folds[int(row["repeat"])] += 1
    complete = {r for r, n in per_repeat_folds.items() if n == n_folds}
    pooled = pooled_by_repeat(oof, labels, complete)
    repeat_values = {r: fold_metrics(y, p) for r, (y, p) in pooled.items()}
    summary: dict[str, Any] = {}
    for name in METRICS:
        summary[name] = {
            "mean": _mean(row[name] for row in folds),
            "std_folds": _std(row[name] for row in folds),
            "std_repeats": _std(values[name] for values in repeat_values.values()),
        }
    intervals = [bootstrap_auc_ci(y, p, seed=seed + r) for r, (y, p) in pooled.items()]
    kept = [ci for ci in intervals if ci is not None]
    summary["auc_ci95"] = (
        [float(np.median([lo for lo, _ in kept])), float(np.median([hi for _, hi in kept]))] if kept else None
    )
    return summary


def corrected_resampled_ttest(
    differences: Sequence[float], n_train: float, n_test: float
) -> tuple[float, float]:
    """Nadeau-Bengio corrected resampled t-test of paired per-fold differences; returns ``(t, p)``.

    The folds of repeated CV share training data, so the naive variance ``σ²/J`` is replaced by
    ``(1/J + n_test/n_train) σ²`` (Nadeau & Bengio 2003; Bouckaert & Frank 2004), with ``J - 1`` degrees of
    freedom and a two-sided p-value.  Identical scores give ``p = 1``.
    """
    from scipy.stats import t as student_t

    d = np.asarray(differences, dtype=float)
    if d.size < 2:
        raise ValueError("the corrected t-test needs at least two paired folds")
    mean = float(d.mean())
    variance = float(d.var(ddof=1))
    if variance == 0.0:
        return (0.0, 1.0) if mean == 0.0 else (math.copysign(math.inf, mean), 0.0)
    statistic = mean / math.sqrt((1.0 / d.size + n_test / n_train) * variance)
    p_value = 2.0 * float(student_t.sf(abs(statistic), df=d.size - 1))
    return statistic, p_value


def compare_runs(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]], metric: str) -> float | None:
    """Corrected t-test p-value of ``metric`` between two runs' folds, paired by (repeat, fold).

    The pairing is only meaningful when both runs used the same splits, which the caller checks.  Folds where
    either value is undefined are left out; None when fewer than two pairs remain.
    """
    by_key = {(int(r["repeat"]), int(r["fold"])): r for r in b}
    diffs, n_train, n_test = [], [], []
    for row in a:
        other = by_key.get((int(row["repeat"]), int(row["fold"])))
        if other is None or row[metric] is None or other[metric] is None:
            continue
        diffs.append(float(row[metric]) - float(other[metric]))
        n_train.append(float(row["n_train"]))
        n_test.append(float(row["n_test"]))
    if len(diffs) < 2:
        return None
    return corrected_resampled_ttest(diffs, float(np.mean(n_train)), float(np.mean(n_test)))[1]
