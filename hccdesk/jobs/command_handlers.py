"""What each jobs command does: open the project as its single writer, start the job, follow it, print.

The parsers live in :mod:`hccdesk.jobs.commands`, the progress display in :mod:`hccdesk.jobs.cli_progress`
and what is printed on stdout in :mod:`hccdesk.jobs.command_output`.  Everything heavy (numpy, h5py, the
store, rich) is imported inside the handlers, so building the parser stays cheap.

Exit status: 0 done; 2 bad input or a failed job (the run is stored as failed with its reason, the project is
otherwise unchanged); 130 cancelled with Ctrl-C (finished folds are kept and the run is stored as cancelled).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hccdesk.jobs.messages import JOB_NAMES

if TYPE_CHECKING:
    from hccdesk.jobs.dispatch import Dispatcher
    from hccdesk.jobs.messages import Finished, JobMessage
    from hccdesk.jobs.runner import JobHandle
    from hccdesk.store.project import Project
    from hccdesk.store.records import Prediction, RunRecord

EXIT_CANCELLED = 130


def parse_overrides(items: list[str]) -> dict[str, Any]:
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


def open_project(folder: Path, read_only: bool = False) -> Project:
    """The project at ``folder``, refused with a one-line error when the folder does not exist."""
    from hccdesk.errors import InputError
    from hccdesk.store.project import Project

    if not folder.exists():
        raise InputError(f"{folder}: no such project folder")
    return Project.open(folder, read_only=read_only)


def _dispatcher(args: argparse.Namespace) -> Dispatcher:
    from hccdesk.jobs.dispatch import DaskPool, LocalPool

    return DaskPool(args.dask, args.workers) if args.dask else LocalPool(args.workers)


def follow(project: Project, handle: JobHandle, total: int) -> Finished:
    """Wait for the job, importing every result as it lands; save if anything was stored; return its end.

    A job that stored nothing (a failed or cancelled grading or training) leaves ``project.h5`` untouched.
    Ctrl-C while waiting cancels the job (:meth:`~hccdesk.jobs.runner.JobHandle.wait`); while its end is saved
    it is ignored.
    """
    from hccdesk.jobs.cli_progress import CliProgress
    from hccdesk.jobs.messages import Finished
    from hccdesk.jobs.runner import import_results

    ends: list[Finished] = []
    with CliProgress(total) as progress:

        def on_message(message: JobMessage) -> None:
            progress.show(message)
            import_results(project, message)
            if isinstance(message, Finished):
                ends.append(message)

        handle.wait(on_message)
    with ctrl_c_ignored():
        import_results(project, handle)
        if project.dirty:
            project.save()
    return ends[-1]


@contextmanager
def ctrl_c_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while a job's end is stored: the first Ctrl-C cancelled the job, and a second one,
    pressed while the project is being saved, must not leave the project without the run its job folder
    holds."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def exit_status(finished: Finished) -> int:
    """The exit status of a followed job; a failed job raises its one-line reason."""
    from hccdesk.errors import JobError

    if finished.status == "failed":
        raise JobError(finished.failure())
    if finished.status == "cancelled":
        print(f"hccdesk: {JOB_NAMES[finished.kind]} cancelled; finished work was kept", file=sys.stderr)
        return EXIT_CANCELLED
    return 0


def run_cv(args: argparse.Namespace) -> int:
    from hccdesk.errors import InputError
    from hccdesk.evaluation.run_tables import cv_json, runs_summary_table
    from hccdesk.jobs.command_output import write_json
    from hccdesk.jobs.runner import start_cv

    with open_project(args.project) as project:
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
            overrides=parse_overrides(args.overrides),
            replay=args.replay,
        )
        first = project.runs[handle.record_ids[0]].config
        finished = follow(project, handle, len(variants) * int(first["folds"]) * int(first["repeats"]))
        runs = [project.runs[i] for i in handle.record_ids]
        if args.json != "-":
            print(runs_summary_table(runs))
        write_json(args.json, cv_json(runs))
        return exit_status(finished)


def _reusable(project: Project, variant: str, wanted: dict[str, Any]) -> RunRecord | None:
    """The newest finished run of ``variant`` with the same protocol and data, or None."""
    candidates = [
        r
        for r in project.runs.values()
        if r.variant == variant
        and r.status == "done"
        and all(r.config.get(k) == v for k, v in wanted.items())
    ]
    return max(candidates, key=lambda r: r.created, default=None)


def run_compare(args: argparse.Namespace) -> int:
    from hccdesk.evaluation.paper import BASELINE_ROWS, TABLES, BaselineRow, PaperRow
    from hccdesk.evaluation.run_tables import cohort_note, cv_json, paper_table
    from hccdesk.jobs.command_output import write_json
    from hccdesk.jobs.runner import resolve_iterations, start_cv
    from hccdesk.jobs.snapshot import build_snapshot

    profile, iterations = resolve_iterations(args.profile, args.iterations)
    rows: list[PaperRow | BaselineRow] = [*TABLES[args.table], *BASELINE_ROWS]
    variants = list(dict.fromkeys(row.variant for row in rows))
    with open_project(args.project) as project:
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
            finished = follow(project, handle, len(missing) * args.folds * args.repeats)
            runs |= {project.runs[i].variant: project.runs[i] for i in handle.record_ids}
            status = exit_status(finished)
        protocol = f"{args.folds} folds × {args.repeats} repeats, profile {profile} ({iterations} iterations)"
        print(paper_table(args.table, runs, protocol, cohort_note(args.project)))
        write_json(args.json, cv_json([runs[v] for v in variants if v in runs]))
        return status


def run_train(args: argparse.Namespace) -> int:
    from hccdesk.jobs.runner import start_train

    with open_project(args.project) as project:
        handle = start_train(
            project,
            args.variant,
            args.profile,
            args.seed,
            args.iterations,
            overrides=parse_overrides(args.overrides),
        )
        code = exit_status(follow(project, handle, 1))
        if handle.status == "done":
            model = project.models[handle.record_ids[0]]
            print(
                f"model {model.id}: {model.variant} trained on {len(model.lesion_ids)} lesions "
                f"({model.provenance['iterations']} iterations, {model.provenance['device']}) -> {model.path}"
            )
        return code


def run_grade(args: argparse.Namespace) -> int:
    from hccdesk.evaluation.review_order import uncertain_first
    from hccdesk.jobs.command_output import grade_json, grade_table
    from hccdesk.jobs.runner import start_grade

    with open_project(args.project) as project:
        handle = start_grade(project, args.lesions, run_id=args.run, model_id=args.model)
        code = exit_status(follow(project, handle, 1))
        if handle.status != "done":
            return code
        source = handle.record_ids[0]
        latest: dict[str, Prediction] = {}
        for p in project.predictions():
            if p.model_id == source:
                latest.setdefault(p.lesion_id, p)
        ids = args.lesions or sorted(project.lesions)
        if args.order == "uncertain":
            ids = uncertain_first(ids, latest)
        chosen = [latest[i] for i in ids if i in latest]
        print(grade_json(project, source, chosen) if args.json else grade_table(project, source, chosen))
        return code


def run_runs_list(args: argparse.Namespace) -> int:
    from hccdesk.jobs.command_output import runs_list_json, runs_list_tables

    with open_project(args.project, read_only=True) as project:
        runs = sorted(project.runs.values(), key=lambda r: r.created)
        models = sorted(project.models.values(), key=lambda m: m.created)
        print(runs_list_json(runs, models) if args.json else runs_list_tables(runs, models))
        return 0


def run_runs_show(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from hccdesk.errors import InputError
    from hccdesk.evaluation.run_tables import run_detail

    with open_project(args.project, read_only=True) as project:
        run = project.runs.get(args.run)
        if run is None:
            raise InputError(f"no run {args.run!r} in {args.project}; see `hccdesk runs list`")
        print(json.dumps(asdict(run), indent=1) if args.json else run_detail(run))
        return 0


def run_bench_cv(args: argparse.Namespace) -> int:
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
