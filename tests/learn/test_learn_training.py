"""Training: every variant learns, runs are reproducible, models round-trip, test lesions stay unseen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from hccdesk.learn.progress import ProgressCallback  # noqa: E402
from hccdesk.learn.training import TrainedModel, train  # noqa: E402
from hccdesk.learn.variants import PROFILES, VARIANTS, load_variant, with_overrides  # noqa: E402

from .conftest import Cohort  # noqa: E402

TEST_TRAINING = {"training.batch_size": 32, "training.learning_rate": 1e-3}
"""Short runs for the default tests: a smaller batch and a 10× learning rate so 60 steps are enough to
learn the synthetic texture cue; everything else (architecture, schedule shape, sampling, augmentation) as
shipped."""


def _config(variant: str) -> dict:
    return with_overrides(load_variant(variant), TEST_TRAINING)


def _cohort(variant: str, request: pytest.FixtureRequest) -> Cohort:
    return request.getfixturevalue("cohort_3d" if variant.startswith("3d") else "cohort_2d")


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_beats_chance_on_held_out_lesions(variant: str, request: pytest.FixtureRequest) -> None:
    cohort = _cohort(variant, request)
    x, y, index = cohort.training_arrays()
    model = train(_config(variant), x, y, index, seed=0, iterations=60)
    p_high = model.predict_lesions([cohort.patches[i] for i in cohort.test])
    truth = cohort.grades[cohort.test]
    accuracy = float(((p_high >= 0.5) == truth).mean())
    assert _auc(truth, p_high) >= 0.9 and accuracy >= 0.75, (p_high.round(3), truth)


def test_save_load_and_same_seed_give_identical_predictions(cohort_2d: Cohort, tmp_path: Path) -> None:
    x, y, index = cohort_2d.training_arrays()
    test = [cohort_2d.patches[i] for i in cohort_2d.test]
    config = _config("2d-cifa")
    first = train(config, x, y, index, seed=3, iterations=12)
    second = train(config, x, y, index, seed=3, iterations=12)
    other = train(config, x, y, index, seed=4, iterations=12)
    p = first.predict_lesions(test)
    np.testing.assert_array_equal(p, second.predict_lesions(test))
    assert not np.array_equal(p, other.predict_lesions(test))
    path = tmp_path / "fold.keras"
    first.save(path)
    loaded = TrainedModel.load(path)
    np.testing.assert_array_equal(p, loaded.predict_lesions(test))
    assert loaded.normalizer == first.normalizer and loaded.config == first.config


def test_dcca_round_trips_through_a_keras_file(cohort_3d: Cohort, tmp_path: Path) -> None:
    x, y, index = cohort_3d.training_arrays()
    model = train(_config("3d-dcca"), x, y, index, seed=0, iterations=3)
    model.save(tmp_path / "dcca.keras")
    test = [cohort_3d.patches[i] for i in cohort_3d.test]
    loaded = TrainedModel.load(tmp_path / "dcca.keras")
    np.testing.assert_array_equal(model.predict_lesions(test), loaded.predict_lesions(test))


def test_a_model_from_an_older_version_is_refused_with_a_clear_message(
    cohort_2d: Cohort, tmp_path: Path
) -> None:
    """Patch settings added since a model was trained (e.g. standardisation) must not surface as KeyError."""
    import json
    import zipfile

    from hccdesk.errors import ModelError
    from hccdesk.learn.training import METADATA_ENTRY

    x, y, index = cohort_2d.training_arrays()
    model = train(_config("2d-local"), x, y, index, seed=0, iterations=2)
    del model.config["patches"]["standardize"]
    model.save(tmp_path / "old.keras")
    with zipfile.ZipFile(tmp_path / "old.keras") as archive:
        assert "standardize" not in json.loads(archive.read(METADATA_ENTRY))["config"]["patches"]
    with pytest.raises(ModelError, match=r"older HCC Desk.*standardize"):
        TrainedModel.load(tmp_path / "old.keras")


def test_no_patch_of_a_test_lesion_is_seen_in_training(cohort_2d: Cohort) -> None:
    """Split by lesion with the jobs area's patient-grouped splitter; audit every drawn patch index."""
    from hccdesk.evaluation.splits import make_splits

    lesion_ids = [f"L{i}" for i in range(len(cohort_2d.patches))]
    patients = [f"P{i // 2}" for i in range(len(lesion_ids))]  # two lesions per patient
    split = make_splits(lesion_ids, cohort_2d.grades.tolist(), patients, folds=3, repeats=1, seed=0)[0]
    train_lesions = [lesion_ids.index(i) for i in split.train_ids]
    test_lesions = {lesion_ids.index(i) for i in split.test_ids}
    x = np.concatenate([cohort_2d.patches[i] for i in train_lesions])
    y = np.concatenate([np.full(len(cohort_2d.patches[i]), cohort_2d.grades[i]) for i in train_lesions])
    index = np.concatenate([np.full(len(cohort_2d.patches[i]), i) for i in train_lesions])
    model = train(_config("2d-local"), x, y, index, seed=0, iterations=20)
    seen_lesions = set(index[model.draws > 0].tolist())
    assert model.draws.sum() == 20 * TEST_TRAINING["training.batch_size"]
    assert seen_lesions and not seen_lesions & test_lesions
    assert {patients[i] for i in seen_lesions}.isdisjoint({patients[i] for i in test_lesions})
    seen = {p.tobytes() for p in x[model.draws > 0]}
    assert not any(p.tobytes() in seen for i in test_lesions for p in cohort_2d.patches[i])


def test_balanced_sampling_draws_both_grades_equally(cohort_2d: Cohort) -> None:
    x, y, index = cohort_2d.training_arrays()
    keep = ~((y == 1) & (np.arange(len(y)) % 3 == 0))  # fewer high-grade patches than low-grade ones
    model = train(_config("2d-local"), x[keep], y[keep], index[keep], seed=0, iterations=40)
    share_high = model.draws[y[keep] == 1].sum() / model.draws.sum()
    assert 0.4 < share_high < 0.6


def test_progress_reports_and_cancel_stops_training(cohort_2d: Cohort) -> None:
    x, y, index = cohort_2d.training_arrays()
    reports: list[dict] = []
    total = PROFILES["paper"]["iterations"]
    callback = ProgressCallback(
        reports.append,
        lambda: bool(reports) and reports[-1]["step"] >= 10,
        total,
        {"fold": 3},
        report_interval_s=0.0,  # every step, so the cancel is seen right after step 10
        cancel_interval_s=0.0,
    )
    model = train(_config("2d-nonlocal"), x, y, index, seed=0, iterations=total, callbacks=(callback,))
    assert callback.was_cancelled
    assert [r["step"] for r in reports] == list(range(1, 11))
    first = reports[0]
    assert first["steps"] == total and first["fold"] == 3 and first["type"] == "progress"
    assert {"loss", "accuracy", "eta_s"} <= set(first) and first["eta_s"] > 0
    assert 0.0 < first["attention_entropy"] <= first["attention_entropy_max"] + 1e-6
    assert model.draws.sum() <= 11 * TEST_TRAINING["training.batch_size"]


def test_nonlocal_attends_after_training_on_a_spatial_cue() -> None:
    """High grade = a bright 4x4 square somewhere in the patch (same noise otherwise): after a short training
    the non-local block's attention is finite and clearly below its uniform maximum."""
    rng = np.random.default_rng(0)
    grades = np.tile([0, 1], 12)
    patches = rng.standard_normal((24, 8, 16, 16, 1)).astype(np.float32)
    for lesion in np.flatnonzero(grades):
        for patch in patches[lesion]:
            a, b = rng.integers(0, 12, 2)
            patch[a : a + 4, b : b + 4] += 3.0
    reports: list[dict] = []
    total = 60
    callback = ProgressCallback(reports.append, lambda: False, total, report_interval_s=0.0)
    train(
        _config("2d-nonlocal"),
        patches.reshape(-1, 16, 16, 1),
        np.repeat(grades, 8),
        np.repeat(np.arange(24), 8),
        seed=0,
        iterations=total,
        callbacks=(callback,),
    )
    entropy, maximum = reports[-1]["attention_entropy"], reports[-1]["attention_entropy_max"]
    assert np.isfinite(entropy) and entropy < 0.9 * maximum, (entropy, maximum)


def learning_rates(settings: dict, iterations: int) -> np.ndarray:
    from hccdesk.learn.training import learning_rate_schedule

    schedule = learning_rate_schedule(settings, iterations)
    return np.array([float(schedule(step)) for step in range(iterations + 1)])


def test_fast_schedule_warms_up_then_decays_to_zero_and_paper_keeps_its_decay() -> None:
    from hccdesk.learn.variants import apply_profile

    fast = apply_profile(load_variant("3d-cifa"), "fast")["training"]
    rates = learning_rates(fast, 200)
    warmup = round(fast["warmup_fraction"] * 200)
    assert rates[0] == 0.0 and rates[warmup] == pytest.approx(fast["learning_rate"])
    assert np.all(np.diff(rates[: warmup + 1]) > 0) and np.all(np.diff(rates[warmup:]) <= 1e-12)
    assert rates[-1] == pytest.approx(0.0, abs=1e-9)
    from hccdesk.learn.training import learning_rate_schedule

    schedule = learning_rate_schedule(load_variant("3d-cifa")["training"], 15000)
    paper = [float(schedule(0)), float(schedule(15000))]
    assert paper[0] == pytest.approx(1e-4, rel=1e-6)
    assert paper[-1] == pytest.approx(1e-4 * 0.99**150, rel=1e-5)


def test_bad_training_input_is_refused() -> None:
    from hccdesk.errors import InputError

    config = _config("2d-local")
    x = np.zeros((4, 16, 16, 1), np.float32)
    with pytest.raises(InputError, match="labels"):
        train(config, x, np.array([0, 1, 2, 1]), np.arange(4), seed=0, iterations=1)
    with pytest.raises(InputError):
        train(config, x, np.array([0, 1]), np.arange(4), seed=0, iterations=1)
