"""What the jobs commands print on stdout: the JSON documents other tools read, and the tables people read.

The JSON shapes are contracts (``grade --json``, ``runs list --json``): scripts parse them, so keys are only
ever added.  The tables are built with :func:`hccdesk.evaluation.run_tables.table`, like every other table of
the CLI.  Nothing here opens a project or starts a job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hccdesk.evaluation.run_tables import pct, table

if TYPE_CHECKING:
    from hccdesk.store.project import Project
    from hccdesk.store.records import ModelRecord, Prediction, RunRecord


def write_json(target: str | None, data: Any) -> None:
    """Write ``data`` to ``target`` (``'-'``: stdout; None: nowhere), for the ``--json OUT`` options."""
    if target is None:
        return
    text = json.dumps(data, indent=1)
    if target == "-":
        print(text)
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")


def grade_json(project: Project, source: str, predictions: Sequence[Prediction]) -> str:
    """``grade --json``: the source and one entry per graded lesion, with its recorded grade."""
    return json.dumps(
        {
            "source": source,
            "predictions": [
                {
                    "lesion_id": p.lesion_id,
                    "p_high": p.p_high,
                    "spread": p.spread,
                    "n_members": p.n_members,
                    "label": p.label,
                    "grade": project.lesions[p.lesion_id].grade,
                    "created": p.created,
                }
                for p in predictions
            ],
        },
        indent=1,
    )


def grade_table(project: Project, source: str, predictions: Sequence[Prediction]) -> str:
    """``grade``: a heading naming the source, then one row per lesion."""
    rows = []
    for p in predictions:
        grade = project.lesions[p.lesion_id].grade
        rows.append(
            [
                p.lesion_id,
                "-" if grade is None else str(grade),
                f"{p.p_high:.3f}",
                f"{p.spread:.3f}",
                p.label,
                str(p.n_members),
            ]
        )
    heading = f"graded with {source}"
    return (
        heading
        + "\n"
        + table(["lesion", "recorded grade", "P(high)", "spread (std)", "predicted", "members"], rows)
    )


def runs_list_json(runs: Sequence[RunRecord], models: Sequence[ModelRecord]) -> str:
    """``runs list --json``: every run (with its summary) and every final model."""
    return json.dumps(
        {
            "runs": [
                {
                    "id": r.id,
                    "variant": r.variant,
                    "status": r.status,
                    "reason": r.reason,
                    "created": r.created,
                    "folds_done": len(r.folds),
                    "summary": r.summary,
                }
                for r in runs
            ],
            "models": [
                {
                    "id": m.id,
                    "variant": m.variant,
                    "path": m.path,
                    "created": m.created,
                    "n_lesions": len(m.lesion_ids),
                }
                for m in models
            ],
        },
        indent=1,
    )


def runs_list_tables(runs: Sequence[RunRecord], models: Sequence[ModelRecord]) -> str:
    """``runs list``: a table of runs (or ``no runs``) and, when there are any, a table of models."""
    rows = []
    for r in runs:
        acc = r.summary.get("accuracy") or {}
        auc = r.summary.get("auc") or {}
        rows.append(
            [
                r.id,
                r.variant,
                r.status,
                str(r.config.get("profile", "")),
                f"{len(r.folds)}/{r.config.get('folds', 0) * r.config.get('repeats', 0)}",
                pct(acc.get("mean"), acc.get("std_folds")),
                pct(auc.get("mean"), auc.get("std_folds")),
                r.created,
            ]
        )
    text = (
        table(["run", "variant", "status", "profile", "folds", "accuracy %", "AUC %", "created"], rows)
        if rows
        else "no runs"
    )
    if not models:
        return text
    model_rows = [
        [m.id, m.variant, str(len(m.lesion_ids)), str(m.provenance.get("iterations", "")), m.created]
        for m in models
    ]
    return text + "\n\n" + table(["model", "variant", "lesions", "iterations", "created"], model_rows)
