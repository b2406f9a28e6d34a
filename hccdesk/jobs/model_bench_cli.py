"""Parser and handler of ``hccdesk bench model`` (the benchmark itself: :mod:`hccdesk.jobs.model_bench`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hccdesk.jobs.model_bench import COHORTS, DEFAULT_ROWS, ROWS


def register_bench_model(bench_subparsers: argparse._SubParsersAction) -> None:
    bench = bench_subparsers.add_parser(
        "model",
        help="the grading models side by side on the demo and two held-out cohorts, same splits",
        description=(
            "Cross-validate each row (a variant, possibly with settings changed) on each cohort with the "
            "same splits, and print mean ± std of accuracy, sensitivity, specificity and AUC, the "
            "Nadeau-Bengio corrected t-test p-values against 3d-cifa and the wall time per fold. Finished "
            "runs with the same row, protocol and data are reused. Under a phantom cohort's models come its "
            "ceiling rows, ground truth and not models of the images, on the same splits: oracle-lr "
            "(logistic regression on the true traits) and z (the hidden aggressiveness as the score). Rows: "
            + "; ".join(f"{name} ({row.note})" for name, row in ROWS.items())
        ),
    )
    bench.add_argument(
        "--row",
        action="append",
        dest="rows",
        choices=tuple(ROWS),
        metavar="ROW",
        help=f"a row (repeatable; default {', '.join(DEFAULT_ROWS)})",
    )
    bench.add_argument(
        "--cohort",
        action="append",
        dest="cohorts",
        metavar="NAME|PATH",
        help=f"{', '.join(COHORTS)} or a project folder (repeatable; default the three named cohorts)",
    )
    bench.add_argument(
        "--cohorts-dir",
        type=Path,
        default=None,
        help="where the held-out cohort projects are built (default $HCCDESK_HOME/bench or "
        "~/.local/share/hccdesk/bench)",
    )
    bench.add_argument("--folds", type=int, default=4)
    bench.add_argument("--repeats", type=int, default=3, help="repetitions (default 3)")
    bench.add_argument(
        "--profile", default="fast", help="training profile of the network rows (default fast)"
    )
    bench.add_argument("--iterations", type=int, default=None, help="replace the profile's length")
    bench.add_argument("--seed", type=int, default=0, help="split and training seed (default 0)")
    bench.add_argument(
        "--no-ceiling",
        dest="ceiling",
        action="store_false",
        help="leave out the ceiling rows computed from a phantom cohort's <project>.truth.json",
    )
    bench.add_argument("--json", metavar="OUT", default=None, help="also write the figures as JSON to OUT")
    bench.set_defaults(handler=run_bench_model)


def run_bench_model(args: argparse.Namespace) -> int:
    from hccdesk.errors import InputError
    from hccdesk.jobs.model_bench import Protocol, bench_model, cohort_project, format_report
    from hccdesk.phantom.demo import default_demo_dir

    folder = args.cohorts_dir or default_demo_dir().parent / "bench"
    cohorts = []
    for name in args.cohorts or list(COHORTS):
        if name in COHORTS:
            cohorts.append((name, cohort_project(COHORTS[name], folder)))
        elif Path(name).is_dir():
            cohorts.append((Path(name).name, Path(name)))
        else:
            raise InputError(f"--cohort {name!r} is neither {', '.join(COHORTS)} nor a project folder")
    protocol = Protocol(args.folds, args.repeats, args.profile, args.iterations, args.seed)
    rows = [ROWS[name] for name in (args.rows or DEFAULT_ROWS)]

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    results = bench_model(cohorts, rows, protocol, progress, ceiling=args.ceiling)
    print(format_report(results, protocol))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0
