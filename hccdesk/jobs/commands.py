"""CLI of the jobs area: ``cv``, ``compare``, ``train``, ``grade``, ``runs list|show`` and ``bench cv``.

Each command opens the project as its single writer, starts a job (worker processes do the TensorFlow work),
prints progress on stderr, imports the results, saves, and prints a table on stdout (or JSON).  Only argparse
and stdlib (plus :mod:`hccdesk.learn.variants`, JSON only) are imported at module level.

Exit status: 0 done; 2 bad input or a failed job (the run is stored as failed with its reason, the project is
otherwise unchanged); 130 cancelled with Ctrl-C (finished folds are kept and the run is stored as cancelled).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from hccdesk.learn.variants import PROFILES, VARIANTS

EXIT_CANCELLED = 130


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=None,
        help="training length: paper (15 000 iterations), fast (1 500, the default) or smoke (a few steps)",
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


def _parse_overrides(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; VALUE is read as JSON when it parses (numbers, true, lists), else as text."""
    from hccdesk.errors import InputError

    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise InputError(f"--set {item!r}: expected KEY=VALUE, e.g. training.learning_rate=0.001")
        try:
            out[key] = json.loads(text)
        except json.JSONDecodeError:
            out[key] = text
    return out


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
        choices=VARIANTS,
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
    cv.set_defaults(handler=_run_cv)

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
    compare.set_defaults(handler=_run_compare)

    train = subparsers.add_parser(
        "train", help="train a final model of a variant on all graded lesions and store it"
    )
    train.add_argument("project", type=Path)
    train.add_argument("--variant", required=True, choices=VARIANTS, metavar="V")
    train.add_argument("--seed", type=int, default=0)
    _add_training_options(train)
    _add_overrides(train)
    train.set_defaults(handler=_run_train)

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
    grade.set_defaults(handler=_run_grade)

    runs = subparsers.add_parser("runs", help="list or show stored cross-validation runs and models")
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="WHAT", required=True)
    runs_list = runs_sub.add_parser("list", help="every run and model of the project")
    runs_list.add_argument("project", type=Path)
    runs_list.add_argument("--json", action="store_true")
    runs_list.set_defaults(handler=_run_runs_list)
    runs_show = runs_sub.add_parser("show", help="one run: protocol, both spreads, AUC interval, folds")
    runs_show.add_argument("project", type=Path)
    runs_show.add_argument("run", help="run id (see `hccdesk runs list`)")
    runs_show.add_argument("--json", action="store_true")
    runs_show.set_defaults(handler=_run_runs_show)


def register_bench(bench_subparsers: argparse._SubParsersAction) -> None:
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
    bench.set_defaults(handler=_run_bench_cv)


# ----------------------------------------------------------------------------------------------- helpers
def _open(folder: Path, read_only: bool = False) -> Any:
    from hccdesk.errors import InputError
    from hccdesk.store.project import Project

    if not folder.exists():
        raise InputError(f"{folder}: no such project folder")
    return Project.open(folder, read_only=read_only)


def _dispatcher(args: argparse.Namespace) -> Any:
    from hccdesk.jobs.dispatch import DaskPool, LocalPool

    return DaskPool(args.dask, args.workers) if args.dask else LocalPool(args.workers)


class _Progress:
    """Progress on stderr: a live line on a terminal, and one line per finished fold everywhere."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.finished = 0
        self.live = sys.stderr.isatty()
        self._width = 0

    def __call__(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "progress" and self.live:
            where = f"{message.get('variant', '')} r{message.get('repeat', '')}f{message.get('fold', '')}"
            loss = message.get("loss")
            text = (
                f"{where} step {message['step']}/{message['steps']}"
                + (f" loss {loss:.3f}" if loss is not None else "")
                + (f" eta {message['eta_s']:.0f}s" if message.get("eta_s") is not None else "")
                + f" [{self.finished}/{self.total}] {message.get('device', '')}"
            )
            self._write("\r" + text.ljust(self._width))
            self._width = len(text)
        elif kind == "fold_done":
            self.finished += 1
            self._clear()
            where = f" repeat {message['repeat']} fold {message['fold']}" if message["kind"] == "cv" else ""
            print(
                f"{message['run_id']} {message['variant']}{where} done in {message['seconds']:.1f} s "
                f"[{self.finished}/{self.total}]",
                file=sys.stderr,
            )
        elif kind in ("fold_failed", "grade_failed"):
            self._clear()
            print(f"failed: {message.get('reason', '')}", file=sys.stderr)
        elif kind == "finished":
            self._clear()

    def _write(self, text: str) -> None:
        sys.stderr.write(text)
        sys.stderr.flush()

    def _clear(self) -> None:
        if self.live and self._width:
            self._write("\r" + " " * self._width + "\r")
            self._width = 0


def _follow(project: Any, handle: Any, total: int) -> str:
    """Wait for the job, importing every result as it lands; save at the end; return the status."""
    from hccdesk.jobs.runner import import_results

    progress = _Progress(total)

    def on_message(message: dict[str, Any]) -> None:
        progress(message)
        import_results(project, message)

    status = handle.wait(on_message)
    import_results(project, handle)
    project.save()
    return status


def _finish_status(handle: Any, what: str) -> int:
    from hccdesk.errors import JobError

    if handle.status == "failed":
        raise JobError(f"{what} failed: {handle.reason}; it is stored as failed, nothing else changed")
    if handle.status == "cancelled":
        print(f"hccdesk: {what} cancelled; finished work was kept", file=sys.stderr)
        return EXIT_CANCELLED
    return 0


def _write_json(target: str | None, data: Any) -> None:
    if target is None:
        return
    text = json.dumps(data, indent=1)
    if target == "-":
        print(text)
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------- handlers
def _run_cv(args: argparse.Namespace) -> int:
    from hccdesk.errors import InputError
    from hccdesk.evaluation.run_tables import cv_json, runs_summary_table
    from hccdesk.jobs.runner import start_cv

    with _open(args.project) as project:
        variants, iterations = args.variants, args.iterations
        if args.replay is not None:
            original = project.runs.get(args.replay)
            if original is None:
                raise InputError(f"no run {args.replay!r} to replay; see `hccdesk runs list`")
            variants = variants or [original.variant]
            if iterations is None and args.profile is None:
                iterations = int(original.config["iterations"])
        if not variants:
            raise InputError("name at least one --variant (or --replay a stored run)")
        handle = start_cv(
            project,
            variants,
            args.folds,
            args.repeats,
            args.profile,
            args.seed,
            iterations,
            dispatcher=_dispatcher(args),
            overrides=_parse_overrides(args.overrides),
            replay=args.replay,
        )
        first = project.runs[handle.record_ids[0]].config
        _follow(project, handle, len(variants) * int(first["folds"]) * int(first["repeats"]))
        runs = [project.runs[i] for i in handle.record_ids]
        if args.json != "-":
            print(runs_summary_table(runs))
        _write_json(args.json, cv_json(runs))
        return _finish_status(handle, "cross-validation")


def _reusable(project: Any, variant: str, wanted: dict[str, Any]) -> Any:
    """The newest finished run of ``variant`` with the same protocol and data, or None."""
    candidates = [
        r
        for r in project.runs.values()
        if r.variant == variant
        and r.status == "done"
        and all(r.config.get(k) == v for k, v in wanted.items())
    ]
    return max(candidates, key=lambda r: r.created, default=None)


def _run_compare(args: argparse.Namespace) -> int:
    from hccdesk.evaluation.paper import TABLES
    from hccdesk.evaluation.run_tables import cohort_note, cv_json, paper_table
    from hccdesk.jobs.runner import resolve_iterations, start_cv
    from hccdesk.jobs.snapshot import build_snapshot

    profile, iterations = resolve_iterations(args.profile, args.iterations)
    variants = list(dict.fromkeys(row.variant for row in TABLES[args.table]))
    with _open(args.project) as project:
        wanted = {
            "profile": profile,
            "iterations": iterations,
            "folds": args.folds,
            "repeats": args.repeats,
            "seed": args.seed,
            "snapshot_hash": build_snapshot(project)["hash"],
        }
        runs = {} if args.rerun else {v: r for v in variants if (r := _reusable(project, v, wanted))}
        missing = [v for v in variants if v not in runs]
        status = 0
        if runs:
            print(
                f"reusing stored runs: {', '.join(f'{v} ({r.id})' for v, r in runs.items())}", file=sys.stderr
            )
        if missing:
            handle = start_cv(
                project,
                missing,
                args.folds,
                args.repeats,
                args.profile,
                args.seed,
                args.iterations,
                dispatcher=_dispatcher(args),
            )
            _follow(project, handle, len(missing) * args.folds * args.repeats)
            runs |= {project.runs[i].variant: project.runs[i] for i in handle.record_ids}
            status = _finish_status(handle, "cross-validation")
        protocol = f"{args.folds} folds × {args.repeats} repeats, profile {profile} ({iterations} iterations)"
        print(paper_table(args.table, runs, protocol, cohort_note(args.project)))
        _write_json(args.json, cv_json([runs[v] for v in variants if v in runs]))
        return status


def _run_train(args: argparse.Namespace) -> int:
    from hccdesk.jobs.runner import start_train

    with _open(args.project) as project:
        handle = start_train(
            project,
            args.variant,
            args.profile,
            args.seed,
            args.iterations,
            overrides=_parse_overrides(args.overrides),
        )
        _follow(project, handle, 1)
        code = _finish_status(handle, "training")
        if handle.status == "done":
            model = project.models[handle.record_ids[0]]
            print(
                f"model {model.id}: {model.variant} trained on {len(model.lesion_ids)} lesions "
                f"({model.provenance['iterations']} iterations, {model.provenance['device']}) -> {model.path}"
            )
        return code


def _run_grade(args: argparse.Namespace) -> int:
    from hccdesk.evaluation.run_tables import table
    from hccdesk.jobs.runner import start_grade

    with _open(args.project) as project:
        handle = start_grade(project, args.lesions, run_id=args.run, model_id=args.model)
        _follow(project, handle, 1)
        code = _finish_status(handle, "grading")
        if handle.status != "done":
            return code
        source = handle.record_ids[0]
        latest = {}
        for p in project.predictions():
            if p.model_id == source:
                latest.setdefault(p.lesion_id, p)
        ids = args.lesions or sorted(project.lesions)
        chosen = [latest[i] for i in ids if i in latest]
        if args.json:
            print(
                json.dumps(
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
                            for p in chosen
                        ],
                    },
                    indent=1,
                )
            )
            return code
        rows = []
        for p in chosen:
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
        print(f"graded with {source}")
        print(table(["lesion", "recorded grade", "P(high)", "spread (std)", "predicted", "members"], rows))
        return code


def _run_runs_list(args: argparse.Namespace) -> int:
    from hccdesk.evaluation.run_tables import pct, table

    with _open(args.project, read_only=True) as project:
        runs = sorted(project.runs.values(), key=lambda r: r.created)
        models = sorted(project.models.values(), key=lambda m: m.created)
        if args.json:
            print(
                json.dumps(
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
            )
            return 0
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
        print(
            table(["run", "variant", "status", "profile", "folds", "accuracy %", "AUC %", "created"], rows)
            if rows
            else "no runs"
        )
        if models:
            print()
            print(
                table(
                    ["model", "variant", "lesions", "iterations", "created"],
                    [
                        [
                            m.id,
                            m.variant,
                            str(len(m.lesion_ids)),
                            str(m.provenance.get("iterations", "")),
                            m.created,
                        ]
                        for m in models
                    ],
                )
            )
        return 0


def _run_runs_show(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from hccdesk.errors import InputError
    from hccdesk.evaluation.run_tables import run_detail

    with _open(args.project, read_only=True) as project:
        run = project.runs.get(args.run)
        if run is None:
            raise InputError(f"no run {args.run!r} in {args.project}; see `hccdesk runs list`")
        print(json.dumps(asdict(run), indent=1) if args.json else run_detail(run))
        return 0


def _run_bench_cv(args: argparse.Namespace) -> int:
    from hccdesk.jobs.bench import bench_cv, format_bench

    start = time.monotonic()
    result = bench_cv(
        project=args.project,
        variant=args.variant,
        folds=args.folds,
        repeats=args.repeats,
        paper_repeats=args.paper_repeats,
        paper_iterations=args.paper_iterations,
        seed=args.seed,
        fast_iterations=args.fast_iterations,
    )
    result["bench_seconds"] = time.monotonic() - start
    print(json.dumps(result, indent=1) if args.json else format_bench(result))
    return 0
