"""Cross-validation results: the summary table beside the paper's numbers, the per-fold table, ROC curves.

Summary cells are mean ± std over folds (the paper's convention, in percent).  ROC curves pool each run's
out-of-fold P(high) over all repeats (every lesion once per repeat) against the lesions' recorded grades;
``sklearn.metrics.roc_curve`` is fine here: scikit-learn is not TensorFlow.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from hccdesk.store.records import RunRecord

SUMMARY_METRICS: tuple[str, ...] = ("accuracy", "sensitivity", "specificity", "auc")
SUMMARY_COLUMNS: tuple[str, ...] = (
    "Run",
    "Variant",
    "Status",
    "Folds",
    "Accuracy",
    "Sensitivity",
    "Specificity",
    "AUC",
    "Paper accuracy",
    "Paper sensitivity",
    "Paper specificity",
)
FOLD_COLUMNS: tuple[str, ...] = (
    "Repeat",
    "Fold",
    "Train",
    "Test",
    *(m.capitalize() for m in SUMMARY_METRICS),
    "s",
)
ROC_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def paper_numbers(variant: str) -> tuple[str, str, str]:
    """The paper's accuracy, sensitivity, specificity of ``variant`` as 'mean ± std' (its last table row)."""
    from hccdesk.evaluation.paper import TABLES

    rows = [row for table in TABLES.values() for row in table if row.variant == variant]
    if not rows:
        return "", "", ""
    row = rows[-1]
    return tuple(f"{m:.2f} ± {s:.2f}" for m, s in (row.accuracy, row.sensitivity, row.specificity))  # type: ignore[return-value]


def metric_text(summary: dict, name: str) -> str:
    value = summary.get(name)
    if not value or value.get("mean") is None:
        return ""
    std = value.get("std_folds") or 0.0
    return f"{100 * value['mean']:.2f} ± {100 * std:.2f}"


def summary_rows(runs: Sequence[RunRecord]) -> list[list[str]]:
    rows = []
    for run in runs:
        metrics = [metric_text(run.summary, name) for name in SUMMARY_METRICS]
        rows.append(
            [run.id, run.variant, run.status, str(len(run.folds)), *metrics, *paper_numbers(run.variant)]
        )
    return rows


def fold_rows(run: RunRecord) -> list[list[str]]:
    rows = []
    for fold in sorted(run.folds, key=lambda f: (f["repeat"], f["fold"])):
        metrics = [f"{100 * fold[m]:.1f}" if fold.get(m) is not None else "" for m in SUMMARY_METRICS]
        rows.append(
            [
                str(fold["repeat"]),
                str(fold["fold"]),
                str(fold["n_train"]),
                str(fold["n_test"]),
                *metrics,
                f"{fold.get('seconds', 0):.1f}",
            ]
        )
    return rows


def roc_points(run: RunRecord, labels: dict[str, int]) -> tuple[np.ndarray, np.ndarray, float] | None:
    """False/true positive rates and AUC of ``run``'s pooled out-of-fold predictions (None: one class)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    pairs = [(labels[o["lesion_id"]], o["p_high"]) for o in run.oof if o["lesion_id"] in labels]
    if len({y for y, _ in pairs}) < 2:
        return None
    y, p = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
    fpr, tpr, _ = roc_curve(y, p)
    return fpr, tpr, float(roc_auc_score(y, p))


def fill_table(table: QtWidgets.QTableWidget, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table.clear()
    table.setColumnCount(len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QtWidgets.QTableWidgetItem(text))
    table.resizeColumnsToContents()


def table_to_csv(table: QtWidgets.QTableWidget, path: str | Path) -> None:
    """Write a results table as CSV (the header row, then the cells as shown)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([table.horizontalHeaderItem(c).text() for c in range(table.columnCount())])
        for r in range(table.rowCount()):
            writer.writerow(
                [(table.item(r, c).text() if table.item(r, c) else "") for c in range(table.columnCount())]
            )


class RocPlot(pg.PlotWidget):
    """ROC curves of the selected runs, with the chance diagonal."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setLabel("bottom", "False positive rate (1 - specificity)")
        self.setLabel("left", "True positive rate (sensitivity)")
        self.setXRange(0, 1, padding=0.02)
        self.setYRange(0, 1, padding=0.02)
        self.setLimits(xMin=-0.05, xMax=1.05, yMin=-0.05, yMax=1.05)
        self.setMouseEnabled(x=False, y=False)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.addLegend(offset=(-10, -10), labelTextColor="k", brush=(255, 255, 255, 200))

    def show_runs(self, runs: Sequence[RunRecord], labels: dict[str, int]) -> int:
        """Plot every run that has out-of-fold predictions of both classes; returns how many were drawn."""
        self.clear()
        self.plot([0, 1], [0, 1], pen=pg.mkPen("#999999", style=pg.QtCore.Qt.PenStyle.DashLine))
        drawn = 0
        for run in runs:
            points = roc_points(run, labels)
            if points is None:
                continue
            fpr, tpr, auc = points
            colour = ROC_COLOURS[drawn % len(ROC_COLOURS)]
            self.plot(fpr, tpr, pen=pg.mkPen(colour, width=2), name=f"{run.variant} ({run.id}) AUC {auc:.3f}")
            drawn += 1
        return drawn
