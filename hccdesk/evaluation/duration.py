"""How long a cross-validation will take here, estimated from the folds this machine has already run.

A network fold's time is dominated by its training steps, so a finished fold gives a time per iteration
(data pipeline, patch cutting and prediction included: what the user waits for) that scales to another
profile's iteration count.  A radiomics fold has no iterations; its time is its feature extraction and fit.
Only folds run on the same device count: a GPU fold says nothing about the CPU.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from hccdesk.store.records import RunRecord


def _scales_with_iterations(run: RunRecord) -> bool:
    return run.config.get("variant_config", {}).get("head") != "radiomics"


def fold_seconds(runs: Iterable[RunRecord], variant: str, iterations: int, device: str) -> float | None:
    """Median seconds of one fold of ``variant`` at ``iterations`` on ``device``; None when no fold of it
    has run on that device yet."""
    samples = []
    for run in runs:
        if run.variant != variant or run.device != device or not run.folds:
            continue
        ran = int(run.config.get("iterations", 0))
        for fold in run.folds:
            seconds = float(fold["seconds"])
            if _scales_with_iterations(run):
                if ran < 1:
                    continue
                seconds *= iterations / ran
            samples.append(seconds)
    return statistics.median(samples) if samples else None


def cv_seconds(
    runs: Iterable[RunRecord], variants: Iterable[str], folds: int, repeats: int, iterations: int, device: str
) -> tuple[float, list[str]]:
    """Estimated seconds of a cross-validation of ``variants`` and the variants that have no timing yet
    (they are left out of the estimate)."""
    runs = list(runs)
    total, unknown = 0.0, []
    for variant in variants:
        seconds = fold_seconds(runs, variant, iterations, device)
        if seconds is None:
            unknown.append(variant)
        else:
            total += seconds * folds * repeats
    return total, unknown
