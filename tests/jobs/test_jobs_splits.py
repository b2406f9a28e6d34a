"""Patient-grouped, stratified, seeded splits (no TensorFlow)."""

from __future__ import annotations

import pytest

from hccdesk.errors import InputError
from hccdesk.evaluation.splits import make_splits, splits_from_records


def _cohort() -> tuple[list[str], list[int], list[str]]:
    # 24 lesions of 16 patients; some patients have two or three lesions of the same grade.
    ids, labels, groups = [], [], []
    for p in range(16):
        for k in range(1 + (p % 3 == 0) + (p % 5 == 0)):
            ids.append(f"L{p:02d}{k}")
            labels.append(p % 2)
            groups.append(f"P{p:02d}")
    return ids, labels, groups


def test_no_patient_on_both_sides_and_every_lesion_tested_once_per_repeat() -> None:
    ids, labels, groups = _cohort()
    patient = dict(zip(ids, groups, strict=True))
    splits = make_splits(ids, labels, groups, folds=4, repeats=3, seed=7)
    assert len(splits) == 12
    for s in splits:
        assert not {patient[i] for i in s.train_ids} & {patient[i] for i in s.test_ids}
        assert set(s.train_ids) | set(s.test_ids) == set(ids)
    for r in range(3):
        tested = [i for s in splits if s.repeat == r for i in s.test_ids]
        assert sorted(tested) == sorted(ids)


def test_each_test_fold_holds_both_classes() -> None:
    ids, labels, groups = _cohort()
    label = dict(zip(ids, labels, strict=True))
    for s in make_splits(ids, labels, groups, folds=4, repeats=2, seed=0):
        assert {label[i] for i in s.test_ids} == {0, 1}


def test_seed_replays_and_repetitions_differ() -> None:
    ids, labels, groups = _cohort()
    a = make_splits(ids, labels, groups, folds=4, repeats=2, seed=3)
    b = make_splits(ids, labels, groups, folds=4, repeats=2, seed=3)
    assert a == b
    assert [s.test_ids for s in a if s.repeat == 0] != [s.test_ids for s in a if s.repeat == 1]
    # repetition r uses seed + r, so seed 4's first repetition is seed 3's second
    c = make_splits(ids, labels, groups, folds=4, repeats=1, seed=4)
    assert [s.test_ids for s in c] == [s.test_ids for s in a if s.repeat == 1]


def test_stored_records_replay_the_splits() -> None:
    ids, labels, groups = _cohort()
    splits = make_splits(ids, labels, groups, folds=3, repeats=2, seed=1)
    assert splits_from_records([s.to_record() for s in splits], ids) == splits


def test_too_few_patients_in_a_class_is_a_clear_error() -> None:
    ids = ["a", "b", "c", "d", "e"]
    labels = [1, 1, 1, 0, 0]
    groups = ["p1", "p2", "p3", "p4", "p4"]  # one low-grade patient only
    with pytest.raises(InputError, match="low-grade"):
        make_splits(ids, labels, groups, folds=2, repeats=1, seed=0)
