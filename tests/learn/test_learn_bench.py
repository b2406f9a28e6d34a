"""FLOP counting from layer shapes and the ``hccdesk bench train`` command."""

from __future__ import annotations

import json

import pytest

keras = pytest.importorskip("keras")

from hccdesk.cli import main  # noqa: E402
from hccdesk.learn.flops import forward_flops, train_step_flops  # noqa: E402
from hccdesk.learn.models import build_model  # noqa: E402
from hccdesk.learn.variants import load_variant  # noqa: E402


def test_flops_of_3d_nonlocal_by_hand() -> None:
    model = build_model(load_variant("3d-nonlocal"))
    stem = 2 * 16**3 * 27 * 1 * 64  # conv 3x3x3, 1 -> 64 channels, 16^3 positions
    n = 8**3  # positions after the first pool
    keys = n // 8  # phi and g max-pooled by 2 per axis (Wang et al.'s subsampling, on)
    projections = 3 * 2 * n * 64 * 64  # theta, phi, g
    attention = 2 * (2 * n * keys * 64)  # theta phi^T and softmax . g
    feature = 2 * (4**3 * 64) * 64  # FC from the pooled 4^3 x 64 map
    classifier = 2 * 64 * 2
    expected = stem + projections + attention + feature + classifier
    assert forward_flops(model) == expected
    assert train_step_flops(model, 64) == 3 * 64 * expected


def test_fusion_head_adds_its_projections() -> None:
    concat = forward_flops(build_model(load_variant("2d-concat")))
    cifa = forward_flops(build_model(load_variant("2d-cifa")))
    # concat classifies 128 features; cifa projects each 64-d feature onto its 16 common directions and onto
    # their span (a 64x64 projector), then classifies 16 + 16 common coordinates and two 64-d individual parts
    assert cifa - concat == 2 * (2 * 64 * 16 + 2 * 64 * 64) + 2 * 160 * 2 - 2 * 128 * 2


def test_bench_train_prints_its_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--variant", "2d-local", "--steps", "1", "--warmup", "0", "--matmul-size", "512", "--json"]
    assert main(["bench", "train", *args]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["matmul_gflops"] > 0
    (row,) = report["variants"]
    assert row["variant"] == "2d-local" and row["batch_size"] == 64
    assert row["ratio"] == pytest.approx(row["gflops"] / report["matmul_gflops"])
    assert row["fit_step_ms"] > 0


def test_bench_train_refuses_unknown_variants(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "train", "--variant", "4d-cifa"]) == 2
    assert "unknown variant" in capsys.readouterr().err
