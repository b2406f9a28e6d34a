"""``hccdesk bench cv``: what the ``fast`` profile costs and what it gives up against the ``paper`` profile.

Two cross-validation runs of one variant on one cohort, with the same seed and therefore the same splits:

* the ``fast`` profile over the full protocol (default 4 folds × 10 repeats): its wall time on this machine
  and its accuracy;
* the ``paper`` profile (15 000 iterations) over the first ``paper_repeats`` repetitions only, because the
  full protocol would take ten times as long; its accuracy is compared with the fast run's accuracy *on the
  same repetitions*, and its full-protocol wall time is extrapolated linearly from the subset (stated so).

The compute ratio is the ratio of training steps (the networks and batch sizes are the same), next to the
measured ratio of wall time per fold.  The runs are stored in the cohort's project like any other run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hccdesk.store.project import Project
    from hccdesk.store.records import RunRecord


def run_stored_cv(
    project: Project,
    variant: str,
    folds: int,
    repeats: int,
    profile: str | None,
    iterations: int | None,
    seed: int,
    overrides: dict[str, Any] | None = None,
    what: str = "benchmark run",
) -> tuple[RunRecord, float]:
    """Cross-validate one variant, store the run in ``project`` and return it with its wall time (raises
    JobError, naming ``what``, when the run did not finish)."""
    from hccdesk.errors import JobError
    from hccdesk.jobs.runner import import_results, start_cv

    start = time.monotonic()
    handle = start_cv(project, [variant], folds, repeats, profile, seed, iterations, overrides=overrides)
    status = handle.wait()
    seconds = time.monotonic() - start
    import_results(project, handle)
    project.save()
    if status != "done":
        raise JobError(f"{what}: cross-validation {status}: {handle.reason}")
    return project.runs[handle.record_ids[0]], seconds


def _accuracy(run: RunRecord, repeats: int | None = None) -> float:
    values = [f["accuracy"] for f in run.folds if repeats is None or f["repeat"] < repeats]
    return sum(values) / len(values)


def bench_cv(
    project: Path | None,
    variant: str = "3d-cifa",
    folds: int = 4,
    repeats: int = 10,
    paper_repeats: int = 1,
    paper_iterations: int | None = None,
    seed: int = 0,
    fast_iterations: int | None = None,
) -> dict[str, Any]:
    """Run both profiles and return the figures (seconds, accuracies, ratios) as a JSON-ready dict.

    ``fast_iterations`` and ``paper_iterations`` replace the profiles' lengths (for a quick check of the
    benchmark itself); the report then says the runs were truncated.
    """
    from hccdesk.errors import InputError
    from hccdesk.learn.variants import PROFILES
    from hccdesk.store.project import Project

    if not 1 <= paper_repeats <= repeats:
        raise InputError("--paper-repeats must be between 1 and --repeats")
    if project is None:
        from hccdesk.phantom.demo import DEMO_NAME, build_demo, default_demo_dir

        project = build_demo(default_demo_dir() / DEMO_NAME)
    fast_profile_iterations = int(PROFILES["fast"]["iterations"])
    paper_profile_iterations = int(PROFILES["paper"]["iterations"])
    quick_iterations = fast_iterations or fast_profile_iterations
    slow_iterations = paper_iterations or paper_profile_iterations
    with Project.open(project) as opened:
        fast, fast_seconds = run_stored_cv(opened, variant, folds, repeats, "fast", fast_iterations, seed)
        paper, paper_seconds = run_stored_cv(
            opened, variant, folds, paper_repeats, "paper", paper_iterations, seed
        )
        n_lesions = fast.config["n_lesions"]
    fast_subset = _accuracy(fast, paper_repeats)
    paper_accuracy = _accuracy(paper)
    return {
        "project": str(project),
        "variant": variant,
        "n_lesions": n_lesions,
        "device": fast.device,
        "fast": {
            "run": fast.id,
            "iterations": quick_iterations,
            "truncated": quick_iterations != fast_profile_iterations,
            "folds": folds,
            "repeats": repeats,
            "wall_seconds": fast_seconds,
            "seconds_per_fold": fast_seconds / (folds * repeats),
            "accuracy": _accuracy(fast),
            "accuracy_std_folds": fast.summary["accuracy"]["std_folds"],
            "accuracy_on_paper_subset": fast_subset,
        },
        "paper": {
            "run": paper.id,
            "iterations": slow_iterations,
            "truncated": slow_iterations != paper_profile_iterations,
            "folds": folds,
            "repeats": paper_repeats,
            "wall_seconds": paper_seconds,
            "seconds_per_fold": paper_seconds / (folds * paper_repeats),
            "extrapolated_full_wall_seconds": paper_seconds * repeats / paper_repeats,
            "accuracy": paper_accuracy,
        },
        "compute_ratio_steps": quick_iterations / slow_iterations,
        "compute_ratio_wall_per_fold": (fast_seconds / (folds * repeats))
        / (paper_seconds / (folds * paper_repeats)),
        "accuracy_gap_points": 100 * (paper_accuracy - fast_subset),
        "target": "fast within 2 points of paper accuracy at <= 1/10 of its compute",
    }


def format_bench(result: dict[str, Any]) -> str:
    from hccdesk.evaluation.run_tables import cohort_note

    fast, paper = result["fast"], result["paper"]
    paper_name = f"paper ({paper['iterations']} it" + (", TRUNCATED" if paper["truncated"] else "") + ")"
    fast_name = (
        f"fast ({fast['iterations']} it" + (", NOT the fast profile" if fast["truncated"] else "") + ")"
    )
    gap = result["accuracy_gap_points"]
    if fast["truncated"] or paper["truncated"]:
        verdict = "not assessed: the runs were shortened"
    else:
        verdict = "met" if gap <= 2.0 and result["compute_ratio_steps"] <= 0.1 else "NOT met"
    head = (
        f"bench cv: {result['variant']}, {cohort_note(Path(result['project']))}, "
        f"{result['n_lesions']} graded lesions, device {result['device']}"
    )
    fast_line = (
        f"  {fast_name}, {fast['folds']} folds × {fast['repeats']} repeats: "
        f"{fast['wall_seconds']:.0f} s wall ({fast['seconds_per_fold']:.1f} s/fold), accuracy "
        f"{100 * fast['accuracy']:.1f} ± {100 * (fast['accuracy_std_folds'] or 0):.1f} % (std over folds)"
    )
    paper_line = (
        f"  {paper_name}, first {paper['repeats']} repeat(s) × {paper['folds']} folds: "
        f"{paper['wall_seconds']:.0f} s wall ({paper['seconds_per_fold']:.1f} s/fold; full protocol "
        f"extrapolated {paper['extrapolated_full_wall_seconds']:.0f} s), "
        f"accuracy {100 * paper['accuracy']:.1f} %"
    )
    return "\n".join(
        [
            head,
            fast_line,
            paper_line,
            f"  fast on the same repeat(s): {100 * fast['accuracy_on_paper_subset']:.1f} % "
            f"-> gap {gap:+.1f} points",
            f"  compute ratio fast/paper: {result['compute_ratio_steps']:.3f} in training steps, "
            f"{result['compute_ratio_wall_per_fold']:.3f} in wall time per fold",
            f"  target ({result['target']}): {verdict}",
        ]
    )
