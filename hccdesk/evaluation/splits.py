"""Repeated stratified k-fold splits at lesion level, grouped by patient.

All lesions of a patient fall in the same fold (``StratifiedGroupKFold``), so no patient is ever on both
sides of a split (docs/design/methods.md §5.1).  Repetition ``r`` shuffles with ``random_state = seed + r``:
the repetitions differ from each other, and the same seed replays the same splits.  The test lesion ids of
every (repeat, fold) are stored with the run, which is enough to audit or replay it: the training side is
every other lesion of the snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hccdesk.errors import InputError


@dataclass(frozen=True)
class Split:
    """One fold of one repetition: which lesions train and which are held out."""

    repeat: int
    fold: int
    train_ids: tuple[str, ...]
    test_ids: tuple[str, ...]

    @property
    def key(self) -> str:
        """``"r{repeat}f{fold}"``: names the fold's files and its model in ``RunRecord.model_files``."""
        return fold_key(self.repeat, self.fold)

    def to_record(self) -> dict[str, object]:
        """The stored form: repeat, fold and the test lesion ids (the training side is the rest)."""
        return {"repeat": self.repeat, "fold": self.fold, "test": list(self.test_ids)}


def fold_key(repeat: int, fold: int) -> str:
    return f"r{repeat}f{fold}"


def check_cohort(labels: Sequence[int], groups: Sequence[str], folds: int) -> None:
    """Refuse a cohort that cannot be split into ``folds`` patient-disjoint, stratified folds.

    Each class needs at least ``folds`` distinct patients, otherwise some test fold has no lesion of that
    class and sensitivity or specificity is undefined there.
    """
    if folds < 2:
        raise InputError(f"--folds must be at least 2, got {folds}")
    if len(labels) != len(groups):
        raise ValueError("labels and groups must have the same length")
    for label, name in ((1, "high-grade"), (0, "low-grade")):
        patients = {g for y, g in zip(labels, groups, strict=True) if y == label}
        if len(patients) < folds:
            raise InputError(
                f"{folds}-fold cross-validation needs at least {folds} patients with {name} lesions, "
                f"the project has {len(patients)}: grade more lesions or use fewer folds"
            )


def make_splits(
    lesion_ids: Sequence[str],
    labels: Sequence[int],
    groups: Sequence[str],
    folds: int,
    repeats: int,
    seed: int,
) -> list[Split]:
    """``folds × repeats`` patient-grouped, label-stratified splits, repeat-major.

    Parameters
    ----------
    lesion_ids, labels, groups
        One entry per labelled lesion: its id, 1 for high grade (positive) or 0 for low grade, its patient.
    folds, repeats
        The paper's protocol is 4 folds × 10 repetitions.
    seed
        Repetition ``r`` uses ``random_state = seed + r``.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    if repeats < 1:
        raise InputError(f"--repeats must be at least 1, got {repeats}")
    check_cohort(labels, groups, folds)
    ids = list(lesion_ids)
    splits: list[Split] = []
    for repeat in range(repeats):
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed + repeat)
        for fold, (train, test) in enumerate(splitter.split(ids, list(labels), list(groups))):
            splits.append(
                Split(
                    repeat=repeat,
                    fold=fold,
                    train_ids=tuple(ids[i] for i in sorted(train)),
                    test_ids=tuple(ids[i] for i in sorted(test)),
                )
            )
    return splits


def splits_from_records(records: Sequence[dict[str, object]], lesion_ids: Sequence[str]) -> list[Split]:
    """Rebuild stored splits for a replay, exactly as they were.

    The training side of a fold is every other lesion tested in the same repetition (every lesion is tested
    once per repetition), so lesions graded since the run do not slip in.  ``lesion_ids`` are the lesions
    that can be used now; a stored split naming another one is refused.
    """
    usable = set(lesion_ids)
    tested: dict[int, list[str]] = {}
    for record in records:
        tested.setdefault(int(record["repeat"]), []).extend(str(i) for i in record["test"])  # type: ignore[call-overload, union-attr]
    missing = sorted({i for ids in tested.values() for i in ids} - usable)
    if missing:
        shown = ", ".join(missing[:5])
        raise InputError(f"the stored splits name lesions that are no longer graded: {shown}")
    splits = []
    for record in records:
        repeat = int(record["repeat"])  # type: ignore[call-overload]
        test = tuple(str(i) for i in record["test"])  # type: ignore[union-attr]
        test_set = set(test)
        splits.append(
            Split(
                repeat=repeat,
                fold=int(record["fold"]),  # type: ignore[call-overload]
                train_ids=tuple(sorted(i for i in tested[repeat] if i not in test_set)),
                test_ids=test,
            )
        )
    return splits
