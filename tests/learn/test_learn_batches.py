"""Training batches: lesion-balanced sampling, seeded draws and in-graph augmentation."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from hccdesk.learn.batches import (  # noqa: E402
    augment_batch,
    draw_batches,
    sampling_probabilities,
    training_dataset,
)

AUGMENT = {"flips": True, "rot90": True, "jitter_scale": 0.0, "jitter_shift": 0.0}


def _lesion_shares(probabilities: np.ndarray, index: np.ndarray) -> np.ndarray:
    return np.array([probabilities[index == i].sum() for i in np.unique(index)])


def test_sampling_balances_grades_and_does_not_favour_tiny_lesions() -> None:
    counts = [1, 64, 16, 4]  # low grade: lesions 0, 1; high grade: lesions 2, 3
    index = np.repeat(np.arange(4), counts)
    labels = np.repeat([0, 0, 1, 1], counts)
    for weight in ("equal", "sqrt", "patches"):
        p = sampling_probabilities(labels, index, True, weight)
        assert p.sum() == pytest.approx(1.0) and p[labels == 1].sum() == pytest.approx(0.5)
    equal = sampling_probabilities(labels, index, True, "equal")
    sqrt = sampling_probabilities(labels, index, True, "sqrt")
    # per patch, the one-patch lesion against the 64-patch lesion: 64x (equal) against 8x (sqrt)
    assert equal[0] / equal[1] == pytest.approx(64.0)
    assert sqrt[0] / sqrt[1] == pytest.approx(8.0)
    np.testing.assert_allclose(_lesion_shares(sqrt, index), [1 / 18, 8 / 18, 4 / 12, 2 / 12])
    np.testing.assert_allclose(sampling_probabilities(labels, index, False), 1 / len(labels))


def test_draws_depend_on_the_seed_only() -> None:
    p = np.full(10, 0.1)
    np.testing.assert_array_equal(draw_batches(p, 8, 5, seed=3), draw_batches(p, 8, 5, seed=3))
    assert not np.array_equal(draw_batches(p, 8, 5, seed=3), draw_batches(p, 8, 5, seed=4))
    assert draw_batches(p, 8, 5, seed=3).shape == (5, 8)


@pytest.mark.parametrize("spatial", [(16, 16), (16, 16, 16)], ids=["2d", "3d"])
def test_augmentation_is_seeded_and_only_permutes_voxels(spatial: tuple[int, ...]) -> None:
    batch = tf.constant(np.random.default_rng(2).standard_normal((8, *spatial, 1)).astype(np.float32))
    a = augment_batch(batch, tf.constant([3, 1]), AUGMENT).numpy()
    b = augment_batch(batch, tf.constant([3, 1]), AUGMENT).numpy()
    other = augment_batch(batch, tf.constant([3, 2]), AUGMENT).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, batch.numpy()) and not np.array_equal(a, other)
    flat = batch.numpy().reshape(8, -1)
    np.testing.assert_allclose(np.sort(a.reshape(8, -1), axis=1), np.sort(flat, axis=1))
    jitter = augment_batch(
        batch, tf.constant([3, 1]), {**AUGMENT, "jitter_scale": 0.05, "jitter_shift": 0.05}
    )
    ratio = jitter.numpy().reshape(8, -1).std(axis=1) / flat.std(axis=1)
    assert np.all(np.abs(ratio - 1.0) < 0.25) and not np.allclose(ratio, 1.0)


def test_rotations_are_the_four_in_plane_quarter_turns() -> None:
    """With flips off, every augmented patch is one of np.rot90's four turns of its source."""
    batch = np.random.default_rng(5).standard_normal((32, 16, 16, 1)).astype(np.float32)
    out = augment_batch(tf.constant(batch), tf.constant([0, 0]), {**AUGMENT, "flips": False}).numpy()
    turns_seen = set()
    for source, got in zip(batch, out, strict=True):
        matches = [k for k in range(4) if np.array_equal(np.rot90(source, k, axes=(0, 1)), got)]
        assert len(matches) == 1
        turns_seen.add(matches[0])
    assert turns_seen == {0, 1, 2, 3}


def test_dataset_yields_the_drawn_rows_in_order() -> None:
    patches = np.arange(6, dtype=np.float32)[:, None, None, None] * np.ones((6, 16, 16, 1), np.float32)
    labels = np.array([0, 1, 0, 1, 0, 1])
    batches = np.array([[0, 1], [5, 5], [2, 3]], dtype=np.int32)
    no_jitter = {**AUGMENT, "jitter_scale": 0.0}
    got = list(training_dataset(patches, labels, batches, seed=0, augmentation=no_jitter))
    assert len(got) == 3
    for (x, y), rows in zip(got, batches, strict=True):
        np.testing.assert_array_equal(x.numpy()[:, 0, 0, 0], rows.astype(np.float32))
        np.testing.assert_array_equal(y.numpy(), labels[rows])
