"""CLI wiring of the review tools: ``hccdesk explain``, ``hccdesk report`` and ``hccdesk bench grade``.

They sit with the GUI's commands because ``bench grade`` measures the GUI's own path (a Qt event loop
driving the warm worker); ``explain`` and ``report`` are the twins of View > Heat map and File > Export
report and call the same core functions (:mod:`hccdesk.jobs.explanation`, :mod:`hccdesk.jobs.report`).
Only argparse and the standard library at import time.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hccdesk.device import PRECISION_VARIABLE, PRECISIONS


def _open(folder: Path, read_only: bool) -> Any:
    from hccdesk.errors import InputError
    from hccdesk.store.project import Project

    if not folder.is_dir():
        raise InputError(f"{folder}: no such project folder")
    return Project.open(folder, read_only=read_only)


def _run_explain(args: argparse.Namespace) -> int:
    from hccdesk.errors import InputError
    from hccdesk.jobs.explanation import explain, write_explanation
    from hccdesk.jobs.warm_worker import WarmWorker

    with _open(args.project, read_only=True) as project:
        lesion = project.lesions.get(args.lesion)
        if lesion is None:
            raise InputError(f"no lesion {args.lesion!r} in this project")
        worker = WarmWorker(project)
        try:
            explanation = explain(worker, lesion, args.run, args.model)
        finally:
            worker.close()
        for path in write_explanation(project, explanation, args.out):
            print(path)
        if explanation.attention is None:
            print(f"no attention map: {explanation.source_id} has no non-local branch")
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from hccdesk.jobs.report import build_report

    with _open(args.project, read_only=True) as project:
        print(build_report(project, args.out, args.run, args.model))
    return 0


def _run_bench_grade(args: argparse.Namespace) -> int:
    from hccdesk.gui.grade_bench import bench_grade, format_report

    result = bench_grade(args.project, rounds=args.rounds, precision=args.precision)
    print(json.dumps(result, indent=1) if args.json else format_report(result))
    return 0


def _add_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--run", default=None, metavar="ID", help="a run's fold ensemble (default: newest)")
    source.add_argument("--model", default=None, metavar="ID", help="a final model (default: newest)")


def register(subparsers: argparse._SubParsersAction) -> None:
    explain = subparsers.add_parser(
        "explain",
        help="heat maps of what the model saw in a lesion (NIfTI on the study grid, a PNG per phase)",
        description="Write the lesion's patch-level P(high) map (<lesion>_p_high.nii.gz) and, for variants "
        "with a non-local branch, the attention of the patch position at the box centre "
        "(<lesion>_attention.nii.gz) on the study's reference grid (the grid of export-masks' reference "
        "volume), a PNG per phase and the patch table (<lesion>_patches.csv).",
    )
    explain.add_argument("project", type=Path)
    explain.add_argument("--lesion", required=True, metavar="ID")
    _add_source(explain)
    explain.add_argument("--out", type=Path, required=True, metavar="DIR")
    explain.set_defaults(handler=_run_explain)

    report = subparsers.add_parser(
        "report",
        help="one self-contained HTML report: every lesion's phases, grade, P(high) and heat map; model card",
        description="Write an HTML file with images embedded: per lesion the four phases' middle slice with "
        "the box, the recorded grade, the latest P(high) with its spread and source and the heat map; for "
        "the project the model card and the cross-validation metrics with their confidence interval. "
        "Synthetic (phantom) studies are labelled; no patient identity is included.",
    )
    report.add_argument("project", type=Path)
    _add_source(report)
    report.add_argument("--out", type=Path, required=True, metavar="FILE.html")
    report.set_defaults(handler=_run_report)


def register_bench(bench_subparsers: argparse._SubParsersAction) -> None:
    bench = bench_subparsers.add_parser(
        "grade",
        help="warm-worker grading latency through the GUI's path, and the event-loop stall meanwhile",
    )
    bench.add_argument("project", type=Path, help="a project with a finished run or final model")
    bench.add_argument("--rounds", type=int, default=3, help="grade every lesion this many times (default 3)")
    bench.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help=f"the networks' number format in the worker (default: ${PRECISION_VARIABLE}, else auto: "
        "bfloat16 deep convolutions on a CPU with AMX-BF16, else float32)",
    )
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=_run_bench_grade)
