"""CLI of the jobs area, the parsers: ``cv``, ``compare``, ``train``, ``grade``, ``runs``, ``bench cv``.

Each command opens the project as its single writer, starts a job (worker processes do the TensorFlow work),
prints progress on stderr, imports the results, saves, and prints a table on stdout (or JSON).  This module
only builds the argparse parsers; what the commands do is in :mod:`hccdesk.jobs.command_handlers`, their
progress display in :mod:`hccdesk.jobs.cli_progress` and their stdout in :mod:`hccdesk.jobs.command_output`.
Only argparse and stdlib (plus :mod:`hccdesk.learn.variants`, JSON only) are imported at module level.

Exit status: 0 done; 2 bad input or a failed job (the run is stored as failed with its reason, the project is
otherwise unchanged); 130 cancelled with Ctrl-C (finished folds are kept and the run is stored as cancelled).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hccdesk.jobs import command_handlers as handlers
from hccdesk.jobs.model_bench_cli import register_bench_model
from hccdesk.learn.variants import BASELINES, PROFILES, VARIANTS


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=None,
        help="training schedule: "
        + "; ".join(f"{name}: {profile['description']}" for name, profile in PROFILES.items())
        + " (default fast)",
    )
    group.add_argument("--iterations", type=int, default=None, metavar="N", help="training steps per model")


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        dest="overrides",
        default=[],
        metavar="KEY=VALUE",
        help="override a variant setting, e.g. training.learning_rate=0.001 (repeatable; stored with runs)",
    )


def _add_dispatch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes (default: 1 on CPU, 1 per GPU)",
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=None,
        help="run folds on a Dask cluster: a scheduler address (tcp://host:8786) or 'local' (needs the "
        "cluster extra; remote workers need the project folder at the same path)",
    )


def _add_cv_protocol(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--folds", type=int, default=4, help="folds per repetition (default 4, the paper's)")
    parser.add_argument("--repeats", type=int, default=10, help="repetitions (default 10, the paper's)")
    parser.add_argument("--seed", type=int, default=0, help="repetition r splits with seed + r (default 0)")


def register(subparsers: argparse._SubParsersAction) -> None:
    cv = subparsers.add_parser(
        "cv",
        help="cross-validate variants (4 folds × 10 repeats, patient-grouped) and store the runs",
        description="Repeated stratified k-fold cross-validation at lesion level, grouped by patient, on the "
        "project's graded lesions. Every variant uses the same splits, so they can be compared with the "
        "Nadeau-Bengio corrected resampled t-test. Ctrl-C cancels: finished folds are kept.",
    )
    cv.add_argument("project", type=Path, help="the project folder (NAME.hccdesk)")
    cv.add_argument(
        "--variant",
        action="append",
        dest="variants",
        choices=VARIANTS + BASELINES,
        metavar="V",
        help="a variant such as 3d-cifa (repeatable; with --replay, default: the replayed run's)",
    )
    cv.add_argument(
        "--replay",
        metavar="RUN",
        default=None,
        help="use a stored run's splits, folds, repeats, seed and (unless given) iterations again exactly",
    )
    _add_cv_protocol(cv)
    _add_training_options(cv)
    _add_overrides(cv)
    _add_dispatch_options(cv)
    cv.add_argument(
        "--json", metavar="OUT", default=None, help="also write the runs as JSON to OUT ('-': stdout)"
    )
    cv.set_defaults(handler=handlers.run_cv)

    compare = subparsers.add_parser(
        "compare",
        help="the paper's Table 1 or 2 on this project, beside the published numbers",
        description="Run (or reuse stored, finished runs with the same protocol and data of) the variants of "
        "the paper's Table 1 or 2 and print them in the paper's layout next to the published values.",
    )
    compare.add_argument("project", type=Path)
    compare.add_argument("--table", type=int, choices=(1, 2), required=True)
    _add_cv_protocol(compare)
    _add_training_options(compare)
    _add_dispatch_options(compare)
    compare.add_argument("--rerun", action="store_true", help="run every row again instead of reusing runs")
    compare.add_argument("--json", metavar="OUT", default=None, help="also write the runs as JSON to OUT")
    compare.set_defaults(handler=handlers.run_compare)

    train = subparsers.add_parser(
        "train", help="train a final model of a variant on all graded lesions and store it"
    )
    train.add_argument("project", type=Path)
    train.add_argument("--variant", required=True, choices=VARIANTS + BASELINES, metavar="V")
    train.add_argument("--seed", type=int, default=0)
    _add_training_options(train)
    _add_overrides(train)
    train.set_defaults(handler=handlers.run_train)

    grade = subparsers.add_parser(
        "grade",
        help="P(high grade) and its spread per lesion, from a run's fold ensemble or a final model",
        description="Grade lesions (default: all) with a run's fold models as an ensemble (P(high) is their "
        "mean, the spread their standard deviation) or with a final model; default: the newest finished run "
        "or model. Predictions are stored in the project with their source.",
    )
    grade.add_argument("project", type=Path)
    grade.add_argument("--lesion", action="append", dest="lesions", metavar="ID", help="repeatable")
    source = grade.add_mutually_exclusive_group()
    source.add_argument("--run", default=None, metavar="ID")
    source.add_argument("--model", default=None, metavar="ID")
    grade.add_argument("--json", action="store_true", help="print JSON instead of a table")
    grade.add_argument(
        "--order",
        choices=("id", "uncertain"),
        default="id",
        help="list lesions by id (default) or least sure first: largest ensemble spread, then P(high) "
        "nearest 0.5 (the app's Next uncertain lesion)",
    )
    grade.set_defaults(handler=handlers.run_grade)

    runs = subparsers.add_parser("runs", help="list or show stored cross-validation runs and models")
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="WHAT", required=True)
    runs_list = runs_sub.add_parser("list", help="every run and model of the project")
    runs_list.add_argument("project", type=Path)
    runs_list.add_argument("--json", action="store_true")
    runs_list.set_defaults(handler=handlers.run_runs_list)
    runs_show = runs_sub.add_parser("show", help="one run: protocol, both spreads, AUC interval, folds")
    runs_show.add_argument("project", type=Path)
    runs_show.add_argument("run", help="run id (see `hccdesk runs list`)")
    runs_show.add_argument("--json", action="store_true")
    runs_show.set_defaults(handler=handlers.run_runs_show)


def register_bench(bench_subparsers: argparse._SubParsersAction) -> None:
    register_bench_model(bench_subparsers)
    bench = bench_subparsers.add_parser(
        "cv",
        help="wall time of 3d-cifa CV with the fast profile, and its accuracy next to the paper profile's",
        description="Build (or reuse) the demo cohort, time 3d-cifa cross-validation with the fast profile, "
        "and run the paper profile on a subset of the repetitions for the accuracy comparison.",
    )
    bench.add_argument("--project", type=Path, default=None, help="cohort to use (default: the demo cohort)")
    bench.add_argument("--variant", default="3d-cifa", choices=VARIANTS, metavar="V")
    bench.add_argument("--folds", type=int, default=4)
    bench.add_argument(
        "--repeats", type=int, default=10, help="repetitions of the fast-profile run (default 10)"
    )
    bench.add_argument(
        "--paper-repeats", type=int, default=1, help="repetitions run with the paper profile (default 1)"
    )
    bench.add_argument(
        "--paper-iterations",
        type=int,
        default=None,
        help="iterations of the 'paper' run (default: the paper profile's 15 000); fewer is reported as such",
    )
    bench.add_argument(
        "--fast-iterations", type=int, default=None, help="replace the fast profile's length (a quick check)"
    )
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=handlers.run_bench_cv)
