"""Runs as machine output (the ``hccdesk cv --json`` layout) and as human tables (plain text, percent).

Percentages are shown as ``mean ± std`` with the std named in the header (over folds, the paper's layout),
and ``-`` where a value is undefined (a cancelled run's missing repetitions, a single fold's spread).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hccdesk.evaluation.metrics import compare_runs
from hccdesk.evaluation.paper import BASELINE_ROWS, CAPTIONS, TABLES
from hccdesk.store.companions import phantom_truth_path
from hccdesk.store.records import RunRecord

COMPARED_METRICS: tuple[str, ...] = ("accuracy", "auc")


def cohort_note(project_folder: Path) -> str:
    """Which cohort our numbers come from; a phantom-built project keeps ``<name>.truth.json`` beside it."""
    folder = Path(project_folder)
    if phantom_truth_path(folder).is_file():
        return f"{folder.name}: synthetic phantom cohort, not the paper's patients"
    return f"{folder.name}: this project's cohort, not the paper's patients"


def run_json(run: RunRecord) -> dict[str, Any]:
    """One run in the ``hccdesk cv --json`` layout."""
    return {
        "id": run.id,
        "variant": run.variant,
        "config": run.config,
        "device": run.device,
        "folds": run.folds,
        "summary": run.summary,
        "oof": run.oof,
    }


def same_splits(a: RunRecord, b: RunRecord) -> bool:
    return a.splits == b.splits and a.config.get("snapshot_hash") == b.config.get("snapshot_hash")


def comparisons(runs: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """Corrected resampled t-test p-values for every pair of runs evaluated on the same splits."""
    out = []
    for a, b in itertools.combinations(runs, 2):
        if not same_splits(a, b):
            continue
        for metric in COMPARED_METRICS:
            out.append(
                {"a": a.id, "b": b.id, "metric": metric, "p_value": compare_runs(a.folds, b.folds, metric)}
            )
    return out


def cv_json(runs: Sequence[RunRecord]) -> dict[str, Any]:
    return {"runs": [run_json(r) for r in runs], "comparisons": comparisons(runs)}


def pct(value: float | None, spread: float | None = None, digits: int = 1) -> str:
    if value is None:
        return "-"
    text = f"{100 * value:.{digits}f}"
    return f"{text} ± {100 * spread:.{digits}f}" if spread is not None else text


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table, first column left-aligned, the rest right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _metric(run: RunRecord, name: str, spread: str = "std_folds") -> str:
    entry = run.summary.get(name) or {}
    return pct(entry.get("mean"), entry.get(spread))


def runs_summary_table(runs: Sequence[RunRecord]) -> str:
    """Accuracy, sensitivity, specificity, AUC (mean ± std over folds) and the AUC interval of each run."""
    rows = []
    for run in runs:
        ci = run.summary.get("auc_ci95")
        rows.append(
            [
                f"{run.id} {run.variant}",
                run.status,
                f"{len(run.folds)}/{run.config.get('folds', 0) * run.config.get('repeats', 0)}",
                _metric(run, "accuracy"),
                _metric(run, "sensitivity"),
                _metric(run, "specificity"),
                _metric(run, "auc"),
                f"[{pct(ci[0])}, {pct(ci[1])}]" if ci else "-",
            ]
        )
    header = ["run", "status", "folds", "accuracy", "sensitivity", "specificity", "AUC", "AUC 95% CI"]
    return (
        table(header, rows)
        + "\n(% ; mean ± std over folds; AUC CI: stratified bootstrap, median over repeats)"
    )


def run_detail(run: RunRecord) -> str:
    """Everything a person wants to know about one run: config, status, both spreads, the folds."""
    config = run.config
    lines = [
        f"run {run.id}: {run.variant}, {run.status}" + (f" ({run.reason})" if run.reason else ""),
        f"  protocol  {config.get('folds')} folds × {config.get('repeats')} repeats, "
        f"seed {config.get('seed')}, profile {config.get('profile')} ({config.get('iterations')} iterations)",
        f"  data      {config.get('n_lesions')} graded lesions, "
        f"snapshot {str(config.get('snapshot_hash', ''))[:12]}",
        f"  device    {run.device or '-'}",
        f"  created   {run.created}   finished {run.finished or '-'}",
        "",
    ]
    rows = [
        [
            name,
            pct((run.summary.get(name) or {}).get("mean")),
            pct((run.summary.get(name) or {}).get("std_folds")),
            pct((run.summary.get(name) or {}).get("std_repeats")),
        ]
        for name in ("accuracy", "sensitivity", "specificity", "auc", "balanced_accuracy")
    ]
    lines.append(table(["metric (%)", "mean over folds", "std over folds", "std over repeats"], rows))
    ci = run.summary.get("auc_ci95")
    lines.append(
        "AUC 95% CI (stratified bootstrap, 2000, median over repeats): "
        + (f"[{pct(ci[0])}, {pct(ci[1])}]" if ci else "-")
    )
    lines.append("")
    fold_rows = [
        [
            f"r{f['repeat']} f{f['fold']}",
            str(f["n_train"]),
            str(f["n_test"]),
            pct(f["accuracy"]),
            pct(f["sensitivity"]),
            pct(f["specificity"]),
            pct(f["auc"]),
            f"{f['seconds']:.1f}",
        ]
        for f in run.folds
    ]
    lines.append(
        table(
            ["fold", "train", "test", "accuracy", "sensitivity", "specificity", "AUC", "seconds"], fold_rows
        )
    )
    return "\n".join(lines)


def paper_table(number: int, runs: dict[str, RunRecord], protocol: str, cohort: str) -> str:
    """Our runs beside the paper's published rows, in the paper's layout (mean ± std over folds, %)."""
    rows = []
    for row in TABLES[number]:
        run = runs.get(row.variant)
        cells = [row.label]
        for name in ("accuracy", "sensitivity", "specificity"):
            published = getattr(row, name)
            cells += [_metric(run, name) if run else "-", f"{published[0]:.2f} ± {published[1]:.2f}"]
        rows.append(cells)
    for baseline in BASELINE_ROWS:
        run = runs.get(baseline.variant)
        cells = [f"{baseline.label} (not in the paper)"]
        for name in ("accuracy", "sensitivity", "specificity"):
            cells += [_metric(run, name) if run else "-", "-"]
        rows.append(cells)
    header = ["", "Accuracy ours", "paper", "Sensitivity ours", "paper", "Specificity ours", "paper"]
    return "\n".join(
        [
            CAPTIONS[number],
            f"ours: {cohort}; {protocol}; mean ± std over folds",
            "paper: Dou et al. 2018, 46 HCCs of 46 patients, 4 folds × 10 repeats, as published",
            "",
            table(header, rows),
        ]
    )
