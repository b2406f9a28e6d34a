"""``hccdesk bench model``: the grading models side by side on several cohorts, on the same splits.

Each row is a variant with optional config overrides (the hand-feature logistic regression is the radiomics
variant on hand-measured features).  Every row of a cohort is cross-validated with the same folds, repeats
and seed, so :func:`hccdesk.evaluation.splits.make_splits` gives every row the same splits (checked, not
assumed); the Nadeau-Bengio corrected resampled t-test then pairs their folds.  Rows run through
:func:`hccdesk.jobs.runner.start_cv`, the same jobs and workers as ``hccdesk cv``, and are stored in the
cohort's project like any run; a finished run with the same row, protocol and data is reused, so a table can
be assembled from rows run at different times (e.g. slow network rows in the background).

Cohorts are the demo and two held-out phantom cohorts whose seeds and presets were fixed before any
measurement and never used for development (docs/developer/model-evaluation.md).  Under each phantom
cohort's models the table prints the cohort's ceiling (:mod:`hccdesk.jobs.phantom_ceiling`): what the
ground truth itself reaches on the reference row's splits, so a reader sees what a row's AUC means on
cohorts whose label noise and feature overlap cap every model of the images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hccdesk.errors import InputError, JobError

if TYPE_CHECKING:
    from hccdesk.store.project import Project
    from hccdesk.store.records import RunRecord

ALL_PHASES = ["pre", "arterial", "portal", "delayed"]


@dataclass(frozen=True)
class Row:
    """One row of the benchmark: a variant and the dotted config overrides that make it this row."""

    name: str
    variant: str
    overrides: dict[str, Any] = field(default_factory=dict)
    note: str = ""


ROWS: dict[str, Row] = {
    row.name: row
    for row in (
        Row("3d-cifa", "3d-cifa", note="the paper's fused model"),
        Row("3d-local", "3d-local", note="the paper's local branch alone"),
        Row("radiomics", "radiomics", note="IBSI features + logistic regression, not in the paper"),
        Row(
            "hand-lr",
            "radiomics",
            {"features.set": "hand", "region.phases": ALL_PHASES},
            "logistic regression on hand-measured image features, not in the paper",
        ),
        Row("radiomics-arterial", "radiomics", {"region.phases": ["arterial"]}, "radiomics, arterial only"),
        Row("radiomics-4phase", "radiomics", {"region.phases": ALL_PHASES}, "radiomics, all four phases"),
        Row("3d-cifa-4phase", "3d-cifa", {"patches.phases": ALL_PHASES}, "3d-cifa, all four phases"),
        Row("3d-local-4phase", "3d-local", {"patches.phases": ALL_PHASES}, "3d-local, all four phases"),
    )
}
"""The rows ``--row`` can name; the default table is :data:`DEFAULT_ROWS`."""
DEFAULT_ROWS = ("3d-cifa", "3d-local", "radiomics", "hand-lr")
REFERENCE_ROW = "3d-cifa"
"""The row every other row is tested against (the first row when the table has no 3d-cifa row)."""


@dataclass(frozen=True)
class Cohort:
    """A phantom cohort: ``lesions`` one-lesion patients rendered with ``seed`` on ``preset``'s grid."""

    name: str
    seed: int
    preset: str
    lesions: int


COHORTS: dict[str, Cohort] = {
    cohort.name: cohort
    for cohort in (
        Cohort("demo", 0, "clinical", 46),
        Cohort("heldout-7301", 7301, "clinical", 50),
        Cohort("heldout-7302", 7302, "thick", 54),
    )
}
"""The demo cohort and the two held-out cohorts fixed on 2026-12-01 before any measurement."""


def cohort_project(cohort: Cohort, folder: Path) -> Path:
    """The cohort's project under ``folder`` (the demo: the app's demo project), built once."""
    from hccdesk.phantom.demo import DEMO_NAME, build_demo, default_demo_dir

    if cohort.name == "demo":
        return build_demo(default_demo_dir() / DEMO_NAME)
    path = folder / f"{cohort.name}.hccdesk"
    return build_demo(path, lesions=cohort.lesions, preset=cohort.preset, seed=cohort.seed)


@dataclass(frozen=True)
class Protocol:
    folds: int = 4
    repeats: int = 3
    profile: str | None = "fast"
    iterations: int | None = None
    seed: int = 0


def _reusable(project: Project, row: Row, protocol: Protocol, snapshot_hash: str) -> RunRecord | None:
    from hccdesk.jobs.runner import resolve_iterations

    profile, iterations = resolve_iterations(protocol.profile, protocol.iterations)
    wanted = {
        "profile": profile,
        "iterations": iterations,
        "folds": protocol.folds,
        "repeats": protocol.repeats,
        "seed": protocol.seed,
        "snapshot_hash": snapshot_hash,
        "overrides": row.overrides,
    }
    candidates = [
        run
        for run in project.runs.values()
        if run.variant == row.variant
        and run.status == "done"
        and all(run.config.get(k) == v for k, v in wanted.items())
    ]
    return max(candidates, key=lambda run: run.created, default=None)


def run_row(
    project: Project, row: Row, protocol: Protocol, report: Any = None
) -> tuple[RunRecord, float | None]:
    """The row's finished run (reused when one matches) and the wall time it took here (None if reused)."""
    from hccdesk.jobs.bench import run_stored_cv
    from hccdesk.jobs.snapshot import build_snapshot

    reused = _reusable(project, row, protocol, build_snapshot(project)["hash"])
    if reused is not None:
        return reused, None
    return run_stored_cv(
        project,
        row.variant,
        protocol.folds,
        protocol.repeats,
        protocol.profile,
        protocol.iterations,
        protocol.seed,
        overrides=row.overrides,
        what=f"row {row.name}",
    )


def metric_figures(
    folds: list[dict[str, Any]], summary: dict[str, Any], reference: RunRecord | None
) -> dict[str, Any]:
    """Mean ± std over folds of each metric, the corrected t-test against ``reference`` (None: this is the
    reference row) and the fold times, for a run's or a ceiling row's folds."""
    from hccdesk.evaluation.metrics import compare_runs

    figures: dict[str, Any] = {}
    for name in ("accuracy", "sensitivity", "specificity", "auc"):
        figures[name] = {"mean": summary[name]["mean"], "std": summary[name]["std_folds"]}
    if reference is not None:
        figures["p_vs_reference"] = {m: compare_runs(reference.folds, folds, m) for m in ("accuracy", "auc")}
    seconds = [float(f["seconds"]) for f in folds]
    figures["fold_s"] = {"mean": sum(seconds) / len(seconds), "max": max(seconds)}
    figures["folds"] = len(folds)
    return figures


def row_figures(row: Row, run: RunRecord, wall_s: float | None, reference: RunRecord) -> dict[str, Any]:
    """A model row's figures (:func:`metric_figures`), its run and the wall time it took here."""
    if reference.id != run.id and reference.splits != run.splits:
        raise JobError(f"row {row.name} did not run on the reference row's splits")
    figures: dict[str, Any] = {"row": row.name, "variant": row.variant, "overrides": row.overrides}
    figures["run_id"] = run.id
    figures |= metric_figures(run.folds, run.summary, None if reference.id == run.id else reference)
    figures["wall_s"] = wall_s
    return figures


def ceiling_figures(project: Project, reference: RunRecord) -> tuple[list[dict[str, Any]], str | None]:
    """The cohort's ceiling rows on the reference run's splits (:mod:`hccdesk.jobs.phantom_ceiling`), each
    with its per-fold values, or no rows and why there is no ceiling."""
    from hccdesk.jobs.phantom_ceiling import CEILING_NOTE, NoCeiling, ceiling_rows

    try:
        rows = ceiling_rows(project, reference)
    except NoCeiling as reason:
        return [], str(reason)
    return [
        {
            "row": row.name,
            "note": CEILING_NOTE,
            "splits_of": reference.id,
            **metric_figures(row.folds, row.summary, reference),
            "wall_s": row.wall_s,
            "fold_rows": row.folds,
        }
        for row in rows
    ], None


def bench_model(
    cohorts: list[tuple[str, Path]],
    rows: list[Row],
    protocol: Protocol,
    report: Callable[[str], None] = lambda text: None,
    ceiling: bool = True,
) -> list[dict[str, Any]]:
    """Run (or reuse) every row on every cohort project; one dict per cohort with its rows' figures.

    ``report`` gets a line when a row starts and when it ends (a row can take hours on a CPU).  With
    ``ceiling``, a phantom cohort also gets its ground truth's rows (``ceiling``, computed in seconds on the
    reference row's splits) or the reason it has none (``no_ceiling``).
    """
    from hccdesk.store.project import Project

    if not rows:
        raise InputError("name at least one --row")
    results = []
    for name, folder in cohorts:
        with Project.open(folder) as project:
            runs = {}
            for row in rows:
                report(f"{name}: {row.name} ...")
                runs[row.name] = run_row(project, row, protocol)
                seconds = runs[row.name][1]
                report(f"{name}: {row.name} " + ("reused" if seconds is None else f"done in {seconds:.0f} s"))
            reference = REFERENCE_ROW if REFERENCE_ROW in runs else rows[0].name
            figures = [row_figures(row, *runs[row.name], reference=runs[reference][0]) for row in rows]
            if ceiling:
                ceiling_rows, no_ceiling = ceiling_figures(project, runs[reference][0])
            else:
                ceiling_rows, no_ceiling = [], "switched off (--no-ceiling)"
            results.append(
                {
                    "cohort": name,
                    "project": str(folder),
                    "n_lesions": len(project.lesions),
                    "reference": reference,
                    "rows": figures,
                    "ceiling": ceiling_rows,
                    "no_ceiling": no_ceiling,
                }
            )
    return results


def _cells(figures: dict[str, Any]) -> list[str]:
    from hccdesk.evaluation.run_tables import pct

    p = figures.get("p_vs_reference", {})
    auc = figures["auc"]
    return [
        figures["row"],
        *(pct(figures[m]["mean"], figures[m]["std"]) for m in ("accuracy", "sensitivity", "specificity")),
        f"{auc['mean']:.3f} ± {auc['std']:.3f}" if auc["mean"] is not None else "-",
        *(f"{p[m]:.3f}" if p.get(m) is not None else "-" for m in ("accuracy", "auc")),
        f"{figures['fold_s']['mean']:.0f}",
        f"{figures['wall_s']:.0f}" if figures["wall_s"] is not None else "reused",
    ]


def format_report(results: list[dict[str, Any]], protocol: Protocol) -> str:
    """One table per cohort: metrics mean ± std over folds (%), p-values against the reference row, mean
    wall time per fold (the worker's, feature extraction or patch cutting included) and of the whole row;
    under the models, the cohort's ceiling rows (ground truth, aligned with the models' columns) or why it
    has none."""
    from hccdesk.evaluation.run_tables import table
    from hccdesk.jobs.phantom_ceiling import CEILING_NOTE

    profile = protocol.profile if protocol.iterations is None else f"{protocol.iterations} iterations"
    lines = [
        f"{protocol.repeats} repeats x {protocol.folds} folds, profile {profile}, seed {protocol.seed}; "
        "synthetic phantom cohorts; mean ± std over folds (%); p: Nadeau-Bengio corrected t-test vs the "
        "reference row"
    ]
    if any(cohort.get("ceiling") for cohort in results):
        lines.append(
            f"ceiling rows ({CEILING_NOTE}, on the reference row's splits): oracle-lr = logistic regression "
            "on the phantom's true traits, z = its hidden aggressiveness as the score (accuracy at the "
            "training fold's best cut)"
        )
    header = ["row", "accuracy", "sensitivity", "specificity", "AUC", "p acc", "p AUC", "s/fold", "wall s"]
    for cohort in results:
        models = [_cells(r) for r in cohort["rows"]]
        ceiling = [_cells(r) for r in cohort.get("ceiling", [])]
        text = table(header, models + ceiling).split("\n")
        if ceiling:
            text.insert(2 + len(models), f"ceiling of this cohort ({CEILING_NOTE}):")
        elif cohort.get("no_ceiling"):
            text.append(f"no ceiling: {cohort['no_ceiling']}")
        lines += [
            "",
            f"{cohort['cohort']} ({cohort['n_lesions']} lesions, {cohort['project']}; "
            f"reference row {cohort['reference']})",
            *text,
        ]
    return "\n".join(lines)
