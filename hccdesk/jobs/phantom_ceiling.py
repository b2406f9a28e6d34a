"""The ceiling a phantom cohort allows: its ground truth's own predictors, on a benchmark run's splits.

The phantom draws every lesion's image features from a hidden aggressiveness ``z`` (``N(0, 1)`` plus
``delta`` when truly high grade) and records the grade with label noise (docs/design/phantom.md,
:mod:`hccdesk.phantom.traits`).  No model of the images can know more about the recorded grade than ``z``
and the true traits do, so a model row's AUC only means something beside what they reach on the same
lesions and the same splits.  Two rows, computed on exactly the reference run's stored splits:

``oracle-lr``
    The radiomics model's fit (:func:`hccdesk.radiomics.model.fit_radiomics`: standard scaling, L2 logistic
    regression whose strength an inner stratified CV on the training fold chooses) on the true traits'
    :data:`~hccdesk.phantom.traits.ORACLE_FEATURES` (size, phase ratios, necrosis, heterogeneity: what an
    expert could measure with perfect instruments), every feature kept.
``z``
    The hidden variable itself as the score, nothing fitted, so its AUC is the best any score can reach
    through the features.  Accuracy needs a cut: the one that classifies the training fold best.

These rows are ground truth, not models of the images: they read ``<project stem>.truth.json``, which only a
phantom-built project has (:mod:`hccdesk.phantom.demo` keeps it beside the project).  Metrics go through
the project's own :mod:`hccdesk.evaluation.metrics`, so the rows are scored exactly like the models.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hccdesk.phantom.traits import ORACLE_FEATURES, LesionTraits
from hccdesk.store.companions import phantom_truth_path

if TYPE_CHECKING:
    from hccdesk.evaluation.splits import Split
    from hccdesk.store.project import Project
    from hccdesk.store.records import RunRecord

CEILING_NOTE = "ground truth, not a model of the images"


class NoCeiling(Exception):
    """Why a project has no ceiling (no truth file, an unreadable one, lesions that are not the truth's).

    Not an error: the benchmark says it under the cohort's table and goes on.
    """


@dataclass(frozen=True)
class TruthLesion:
    """One lesion of the phantom's ground truth: the recorded grade and the traits behind the images."""

    grade: int
    traits: LesionTraits


@dataclass(frozen=True)
class CeilingRow:
    """A ceiling row scored like a run: ``folds`` and ``oof`` in the ``hccdesk cv --json`` layout and the
    :func:`~hccdesk.evaluation.metrics.summarize` summary of them."""

    name: str
    folds: list[dict[str, Any]]
    oof: list[dict[str, Any]]
    summary: dict[str, Any]
    wall_s: float


def read_truth(path: Path) -> dict[str, TruthLesion]:
    """Lesion id -> its truth, from a phantom ``truth.json``.

    Raises
    ------
    NoCeiling
        The file is missing or not a phantom truth file.
    """
    if not path.is_file():
        raise NoCeiling(f"no ground-truth file {path.name} beside the project")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {
            str(lesion["lesion_id"]): TruthLesion(int(lesion["grade"]), LesionTraits(**lesion["traits"]))
            for study in data["studies"]
            for lesion in study["lesions"]
        }
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise NoCeiling(
            f"{path.name} is not a phantom ground truth ({type(error).__name__}: {error})"
        ) from error


def matched_truth(project: Project) -> dict[str, TruthLesion]:
    """The project's ground truth, checked to describe exactly the project's lesions and grades.

    Raises
    ------
    NoCeiling
        No truth file, or its lesion ids or grades differ from the project's (a lesion added, removed or
        regraded since the phantom built it: the truth no longer describes the labels the models learn).
    """
    truth = read_truth(phantom_truth_path(project.folder))
    if set(truth) != set(project.lesions):
        differ = sorted(set(truth) ^ set(project.lesions))
        raise NoCeiling(f"the truth file's lesions are not the project's ({', '.join(differ[:5])} differ)")
    regraded = sorted(i for i, lesion in project.lesions.items() if lesion.grade != truth[i].grade)
    if regraded:
        raise NoCeiling(f"the project's grades differ from the truth file's ({', '.join(regraded[:5])})")
    return truth


def best_cut(z: np.ndarray, y: np.ndarray) -> float:
    """The cut on ``z`` (high grade at or above it) that classifies the training lesions best.

    Candidates are the midpoints between consecutive distinct values and one beyond each end; among equally
    accurate cuts the middle one is taken, so the choice does not lean towards either class.
    """
    values = np.unique(z)
    cuts = np.concatenate([[values[0] - 1.0], (values[1:] + values[:-1]) / 2.0, [values[-1] + 1.0]])
    accuracy = ((z[None, :] >= cuts[:, None]) == (y[None, :] == 1)).mean(axis=1)
    best = np.flatnonzero(accuracy == accuracy.max())
    return float(cuts[best[len(best) // 2]])


def z_scores(z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray) -> np.ndarray:
    """The ``z`` row's P(high) stand-in: the logistic of ``z`` minus the training fold's best cut.

    Monotone in ``z``, so its AUC is ``z``'s own, and the metrics' fixed 0.5 threshold falls on the cut.
    """
    from scipy.special import expit

    return np.asarray(expit(z_test - best_cut(z_train, y_train)), dtype=np.float64)


def oracle_scores(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, seed: int) -> np.ndarray:
    """P(high) of the radiomics model's logistic regression fitted on the oracle features of the training
    fold (its penalty settings, every feature kept, the fold's training seed for the inner CV).

    BLAS runs on one thread: on a few dozen lesions x 7 features its threads only add overhead (measured on
    the 54-lesion held-out cohort, 12 folds, 2 loaded cores: 5 s of CPU on one thread, 21 s with the default
    pool).
    """
    from threadpoolctl import threadpool_limits

    from hccdesk.jobs.runner import variant_config
    from hccdesk.radiomics.model import fit_radiomics

    settings = variant_config("radiomics")["model"]
    config = {"model": {**settings, "select": len(ORACLE_FEATURES)}}
    with threadpool_limits(limits=1):
        return fit_radiomics(config, x_train, y_train, seed).predict_rows(x_test)


def _score_row(
    name: str,
    splits: list[Split],
    labels: dict[str, int],
    score: Callable[[Split, np.ndarray], np.ndarray],
    reference: RunRecord,
) -> CeilingRow:
    from hccdesk.evaluation.metrics import fold_metrics, summarize

    start = time.perf_counter()
    folds, oof = [], []
    for split in splits:
        fold_start = time.perf_counter()
        y_train = np.array([labels[i] for i in split.train_ids])
        p_high = score(split, y_train).tolist()
        y_test = [labels[i] for i in split.test_ids]
        folds.append(
            {
                "repeat": split.repeat,
                "fold": split.fold,
                "n_train": len(split.train_ids),
                "n_test": len(split.test_ids),
                **fold_metrics(y_test, p_high),
                "seconds": time.perf_counter() - fold_start,
            }
        )
        oof += [
            {"lesion_id": i, "repeat": split.repeat, "p_high": float(p)}
            for i, p in zip(split.test_ids, p_high, strict=True)
        ]
    config = reference.config
    summary = summarize(folds, oof, labels, int(config["folds"]), seed=int(config["seed"]))
    return CeilingRow(name, folds, oof, summary, time.perf_counter() - start)


def ceiling_rows(project: Project, reference: RunRecord) -> list[CeilingRow]:
    """The ``oracle-lr`` and ``z`` rows of ``project`` on ``reference``'s stored splits.

    Raises
    ------
    NoCeiling
        The project has no ground truth that matches its lesions (see :func:`matched_truth`).
    """
    from hccdesk.evaluation.splits import splits_from_records
    from hccdesk.jobs.runner import fold_seed

    truth = matched_truth(project)
    splits = splits_from_records(reference.splits, sorted(truth))
    labels = {i: int(project.lesions[i].label == "high") for s in splits for i in s.test_ids}
    seed = int(reference.config["seed"])

    def features(ids: tuple[str, ...]) -> np.ndarray:
        return np.stack([truth[i].traits.oracle_features() for i in ids])

    def z_values(ids: tuple[str, ...]) -> np.ndarray:
        return np.array([truth[i].traits.z for i in ids])

    def oracle(split: Split, y_train: np.ndarray) -> np.ndarray:
        fold_training_seed = fold_seed(seed, split.repeat, split.fold)
        return oracle_scores(features(split.train_ids), y_train, features(split.test_ids), fold_training_seed)

    def hidden(split: Split, y_train: np.ndarray) -> np.ndarray:
        return z_scores(z_values(split.train_ids), y_train, z_values(split.test_ids))

    return [
        _score_row("oracle-lr", splits, labels, oracle, reference),
        _score_row("z", splits, labels, hidden, reference),
    ]
