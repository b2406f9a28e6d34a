"""Start jobs for a project, follow them, and import their results: the owner's side of the job protocol.

The owner (the GUI or a CLI command) is the project's single writer.  ``start_cv``, ``start_train`` and
``start_grade`` write a job folder ``<project>/jobs/<job id>/`` holding ``snapshot.json`` (the data the
job sees) and ``job.json`` (the plan: runs, their configs and splits, the specs), hand the specs to a
dispatcher and return a :class:`JobHandle`.  The GUI drains ``handle.poll()`` from a timer and passes each
message to :func:`import_results`; the CLI does the same in :meth:`JobHandle.wait`.

Import is idempotent and rebuilds a run from the result files in the job folder, so it gives the same record
whether it is called per message or once at the end.  A run is stored as ``running`` when the job starts and
ends ``done``, ``cancelled`` (finished folds kept) or ``failed`` with the reason (a worker killed or crashed,
a fold that raised).  Nothing but the run, model and prediction records changes in the project.

Nothing is left behind by a job that does not start: a refusal (bad input, too few patients for the folds, a
dispatcher that cannot start) removes the job folder again and stores no record.  A training or grading that
ends without ``done`` stores nothing either, so its folder is removed when it ends; a cross-validation's
folder stays, because its run record (failed or cancelled, with the finished folds) points into it.  The job
files hold paths relative to the project folder only (:mod:`hccdesk.jobs.spec`).
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hccdesk import __version__
from hccdesk.errors import InputError
from hccdesk.evaluation.metrics import summarize
from hccdesk.evaluation.splits import fold_key, make_splits, splits_from_records
from hccdesk.jobs import grading
from hccdesk.jobs.dispatch import Dispatcher, LocalPool
from hccdesk.jobs.messages import Finished, JobKind, JobMessage, JobStatus, TaskEnded
from hccdesk.jobs.snapshot import read_snapshot, write_snapshot
from hccdesk.jobs.spec import FoldSpec, GradeSpec, Spec, read_json, stored_dict, to_dict, write_json
from hccdesk.store.records import ModelRecord, RunRecord, now_iso

if TYPE_CHECKING:
    from hccdesk.store.project import Project

JOBS_FOLDER = "jobs"
POLL_INTERVAL_S = 0.1


def resolve_iterations(profile: str | None, iterations: int | None) -> tuple[str, int]:
    """The profile name stored with a run and its iteration count (``iterations`` overrides the profile)."""
    from hccdesk.learn.variants import PROFILES

    if iterations is not None:
        if iterations < 1:
            raise InputError(f"--iterations must be at least 1, got {iterations}")
        return "custom", int(iterations)
    name = profile or "fast"
    if name not in PROFILES:
        raise InputError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}")
    return name, int(PROFILES[name]["iterations"])


def variant_config(
    variant: str, overrides: Mapping[str, Any] | None = None, profile: str = "custom"
) -> dict[str, Any]:
    """The variant's shipped config with the profile's training settings, then the dotted ``overrides``,
    applied (raises ModelError for unknown ones)."""
    from hccdesk.learn.variants import apply_profile, load_variant, with_overrides

    return with_overrides(apply_profile(load_variant(variant), profile), dict(overrides or {}))


def fold_seed(seed: int, repeat: int, fold: int) -> int:
    """Training seed of a fold: distinct per (repeat, fold), the same for every variant of a comparison."""
    return (seed + repeat) * 1000 + fold


class JobHandle:
    """A running job as the owner sees it.

    ``poll()`` returns the messages that arrived since the last call (never blocks) and, once, a final
    :class:`~hccdesk.jobs.messages.Finished` message; after that ``is_alive()`` is False and ``status`` is
    ``done``, ``cancelled`` or ``failed``.
    """

    def __init__(
        self, kind: JobKind, job_dir: Path, dispatcher: Dispatcher, expected: int, record_ids: list[str]
    ) -> None:
        self.kind: JobKind = kind
        self.job_dir = job_dir
        self.record_ids = record_ids
        self.status: JobStatus = "running"
        self.reason = ""
        self._dispatcher = dispatcher
        self._expected = expected
        self._ended: list[TaskEnded] = []
        self._cancel_requested = False
        self._finished = False

    @property
    def dispatcher(self) -> Dispatcher:
        return self._dispatcher

    def _note(self, message: JobMessage) -> None:
        if not isinstance(message, TaskEnded):
            return
        self._ended.append(message)
        if message.outcome == "failed" and not self.reason:
            where = message.task.where()
            self.reason = (f"{where}: " if where else "") + message.reason
            self._dispatcher.cancel()

    def poll(self) -> list[JobMessage]:
        if self._finished:
            return []
        messages = self._dispatcher.drain()
        for message in messages:
            self._note(message)
        lost = self._dispatcher.lost()
        if lost and not self.reason:
            self.reason = lost
            self._dispatcher.cancel()
        if len(self._ended) >= self._expected or not self._dispatcher.running():
            late = self._dispatcher.drain()
            for message in late:
                self._note(message)
            messages += late
            messages.append(self._finish())
        return messages

    def _finish(self) -> Finished:
        done = sum(1 for m in self._ended if m.outcome == "done")
        if self.reason:
            self.status = "failed"
        elif done == self._expected:
            self.status = "done"
        elif self._cancel_requested:
            self.status = "cancelled"
        else:
            self.status = "failed"
            self.reason = f"the workers stopped after {done} of {self._expected} tasks"
        self._finished = True
        self._dispatcher.close()
        if self.kind != "cv" and self.status != "done" and not any(m.log for m in self._ended):
            shutil.rmtree(self.job_dir, ignore_errors=True)  # nothing was stored that points into it
        return Finished(
            kind=self.kind,
            job_dir=str(self.job_dir),
            status=self.status,
            reason=self.reason,
            record_ids=tuple(self.record_ids),
        )

    def cancel(self) -> None:
        """Ask the workers to stop: the task in progress stops within about a second, finished ones stay."""
        self._cancel_requested = True
        self._dispatcher.cancel()

    def is_alive(self) -> bool:
        return not self._finished

    def wait(self, on_message: Callable[[JobMessage], None] | None = None) -> str:
        """Poll until the job ends, passing each message to ``on_message``; returns the final status.

        A ``KeyboardInterrupt`` (Ctrl-C) while waiting cancels the job and keeps waiting for it to wind down.
        """
        while self.is_alive():
            try:
                for message in self.poll():
                    if on_message is not None:
                        on_message(message)
                time.sleep(POLL_INTERVAL_S)
            except KeyboardInterrupt:
                self.cancel()
        return self.status


@contextmanager
def _job_folder(project: Project) -> Iterator[Path]:
    """A new ``jobs/<stamp>-<random>/`` folder, removed again (with ``jobs/`` if it was new) on a refusal."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    job_dir = Path(project.folder).resolve() / JOBS_FOLDER / f"{stamp}-{uuid.uuid4().hex[:6]}"
    job_dir.mkdir(parents=True)
    try:
        yield job_dir
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        with suppress(OSError):
            job_dir.parent.rmdir()  # only when empty: earlier jobs stay
        raise


def _writable(project: Project) -> None:
    """Refuse before any job file is written when the project cannot take the job's records."""
    if project.read_only:
        raise InputError("the project is open read-only; close the other HCC Desk instance to run jobs")
    if getattr(project, "pending_recovery", None) is not None:
        raise InputError("the project has unsaved edits of an earlier session: recover or discard them first")


def _start(
    kind: JobKind,
    job_dir: Path,
    manifest: dict[str, Any],
    specs: Sequence[Spec],
    dispatcher: Dispatcher | None,
    record_ids: list[str],
) -> JobHandle:
    stored = {"kind": kind, "created": now_iso(), "hccdesk": __version__, **manifest}
    write_json(job_dir / "job.json", {**stored, "specs": [stored_dict(spec) for spec in specs]})
    dispatcher = dispatcher or LocalPool()
    dispatcher.start([to_dict(spec) for spec in specs])
    return JobHandle(kind, job_dir, dispatcher, len(specs), record_ids)


def _in_project(project: Project, path: Path) -> str:
    """``path`` relative to the project folder, the only form a path takes in the project's files."""
    return _relative(project, path.resolve())


def start_cv(
    project: Project,
    variants: Sequence[str],
    folds: int = 4,
    repeats: int = 10,
    profile: str | None = "fast",
    seed: int = 0,
    iterations: int | None = None,
    dispatcher: Dispatcher | None = None,
    overrides: Mapping[str, Any] | None = None,
    replay: str | None = None,
) -> JobHandle:
    """Cross-validate each variant on the project's graded lesions, every variant on the same splits.

    ``overrides`` are dotted config settings applied to every variant (``{"training.learning_rate": 1e-3}``);
    they are stored in the run's config.  ``replay`` names a stored run whose splits (and folds, repeats and
    seed) are used again exactly.  The runs are stored as ``running`` once the workers start (the caller
    saves when it likes); results arrive through :func:`import_results`.
    """

    _writable(project)
    if not variants:
        raise InputError("name at least one --variant")
    if len(set(variants)) != len(variants):
        raise InputError("each --variant may be named once")
    profile_name, n_iterations = resolve_iterations(profile, iterations)
    configs = {v: variant_config(v, overrides, profile_name) for v in variants}
    original = None
    if replay is not None:
        original = project.runs.get(replay)
        if original is None:
            raise InputError(f"no run {replay!r} to replay; see `hccdesk runs list`")
    with _job_folder(project) as job_dir:
        snapshot = write_snapshot(project, job_dir / "snapshot.json")
        ids = sorted(snapshot.labels())
        if original is not None:
            folds, repeats, seed = (int(original.config[k]) for k in ("folds", "repeats", "seed"))
            splits = splits_from_records(original.splits, ids)
            ids = sorted({i for s in splits for i in s.test_ids})
        else:
            labels = [snapshot.lesions[i].y for i in ids]
            patients = [snapshot.lesions[i].patient_id for i in ids]
            splits = make_splits(ids, labels, patients, folds, repeats, seed)
        records: list[RunRecord] = []
        specs: list[Spec] = []
        for variant in variants:
            config = {
                "variant": variant,
                "variant_config": configs[variant],
                "profile": profile_name,
                "iterations": n_iterations,
                "folds": folds,
                "repeats": repeats,
                "seed": seed,
                "n_lesions": len(ids),
                "snapshot_hash": snapshot.hash,
                "job": job_dir.name,
                "dispatch": type(dispatcher).__name__ if dispatcher else "LocalPool",
                "threshold": 0.5,
                "overrides": dict(overrides or {}),
                "replay_of": replay or "",
            }
            record = RunRecord(
                id=project.new_id("run"),
                variant=variant,
                config=config,
                splits=[s.to_record() for s in splits],
            )
            records.append(record)
            specs += [
                FoldSpec(
                    kind="cv",
                    project_folder=str(Path(project.folder).resolve()),
                    job_dir=_in_project(project, job_dir),
                    run_id=record.id,
                    variant=variant,
                    config=configs[variant],
                    iterations=n_iterations,
                    seed=fold_seed(seed, split.repeat, split.fold),
                    repeat=split.repeat,
                    fold=split.fold,
                    train_ids=list(split.train_ids),
                    test_ids=list(split.test_ids),
                    snapshot=_in_project(project, job_dir / "snapshot.json"),
                )
                for split in splits
            ]
        plans = [
            {"run_id": r.id, "variant": r.variant, "config": r.config, "splits": r.splits} for r in records
        ]
        handle = _start("cv", job_dir, {"runs": plans}, specs, dispatcher, [r.id for r in records])
    for record in records:
        project.put_run(record)
    return handle


def start_train(
    project: Project,
    variant: str,
    profile: str | None = "fast",
    seed: int = 0,
    iterations: int | None = None,
    dispatcher: Dispatcher | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> JobHandle:
    """Train a final model of ``variant`` on every graded lesion (stored as a ModelRecord when done)."""
    _writable(project)
    profile_name, n_iterations = resolve_iterations(profile, iterations)
    config = variant_config(variant, overrides, profile_name)
    with _job_folder(project) as job_dir:
        snapshot = write_snapshot(project, job_dir / "snapshot.json")
        ids = sorted(snapshot.labels())
        if len({snapshot.lesions[i].y for i in ids}) < 2:
            raise InputError("training needs graded lesions of both classes (low: I-II, high: III-IV)")
        model_id = project.new_id("model")
        spec = FoldSpec(
            kind="train",
            project_folder=str(Path(project.folder).resolve()),
            job_dir=_in_project(project, job_dir),
            run_id=model_id,
            variant=variant,
            config=config,
            iterations=n_iterations,
            seed=seed,
            repeat=0,
            fold=0,
            train_ids=ids,
            test_ids=[],
            snapshot=_in_project(project, job_dir / "snapshot.json"),
        )
        plan = {
            "model_id": model_id,
            "variant": variant,
            "profile": profile_name,
            "snapshot_hash": snapshot.hash,
        }
        return _start("train", job_dir, plan, [spec], dispatcher, [model_id])


def start_grade(
    project: Project,
    lesion_ids: Sequence[str] | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dispatcher: Dispatcher | None = None,
) -> JobHandle:
    """Grade lesions (default: all) with a run's fold ensemble or a final model (default: the newest)."""
    _writable(project)
    ids = list(lesion_ids) if lesion_ids else sorted(project.lesions)
    unknown = [i for i in ids if i not in project.lesions]
    if unknown:
        raise InputError(f"no lesion {unknown[0]!r} in this project")
    if not ids:
        raise InputError("the project has no lesions to grade")
    source, members = grading.ensemble_members(project, run_id, model_id)
    with _job_folder(project) as job_dir:
        write_snapshot(project, job_dir / "snapshot.json", ids)
        spec = GradeSpec(
            project_folder=str(Path(project.folder).resolve()),
            job_dir=_in_project(project, job_dir),
            source_id=source,
            model_paths=[_in_project(project, p) for p in members],
            lesion_ids=ids,
            snapshot=_in_project(project, job_dir / "snapshot.json"),
        )
        return _start("grade", job_dir, {"source_id": source}, [spec], dispatcher, [source])


def import_results(project: Project, source: JobHandle | JobMessage) -> list[str]:
    """Store what a job has produced so far in ``project``; returns the ids of the records written.

    ``source`` is a handle (everything so far, with its status once finished) or one message from
    ``poll()``: a task that ended ``done`` updates its run, :class:`~hccdesk.jobs.messages.Finished` stores
    the final state; other messages are ignored.  Calling it again with the same input changes nothing.
    """
    kind: JobKind
    status: JobStatus
    if isinstance(source, JobHandle):
        kind, job_dir = source.kind, source.job_dir
        status, reason = (source.status, source.reason) if not source.is_alive() else ("running", "")
    elif isinstance(source, Finished):
        kind, job_dir, status, reason = source.kind, Path(source.job_dir), source.status, source.reason
    elif isinstance(source, TaskEnded) and source.outcome == "done":
        kind, job_dir, status, reason = source.task.kind, Path(source.task.job_dir), "running", ""
    else:
        return []
    if kind != "cv" and status != "done":
        return []  # a training or grading stores its record only once it is done
    manifest = read_json(job_dir / "job.json")
    if kind == "cv":
        return [_import_run(project, job_dir, plan, status, reason) for plan in manifest["runs"]]
    if kind == "train":
        return [_import_model(project, job_dir, manifest)]
    return _import_grades(project, job_dir)


def _relative(project: Project, path: Path) -> str:
    try:
        return str(path.relative_to(Path(project.folder).resolve()))
    except ValueError:
        return str(path)


def _import_run(project: Project, job_dir: Path, plan: dict[str, Any], status: str, reason: str) -> str:
    run_dir = job_dir / plan["run_id"]
    results = []
    for split in plan["splits"]:
        path = run_dir / f"{fold_key(split['repeat'], split['fold'])}.json"
        if path.is_file():
            results.append(read_json(path))
    labels = read_snapshot(job_dir / "snapshot.json", Path(project.folder)).labels()
    fold_fields = ("n_train", "n_test", "accuracy", "sensitivity", "specificity", "auc", "balanced_accuracy")
    folds = [
        {"repeat": r["repeat"], "fold": r["fold"], **{k: r[k] for k in fold_fields}, "seconds": r["seconds"]}
        for r in results
    ]
    oof = [
        {"lesion_id": o["lesion_id"], "repeat": r["repeat"], "p_high": o["p_high"]}
        for r in results
        for o in r["oof"]
    ]
    config = dict(plan["config"])
    if results:
        config["software"] = results[0]["software"]
    existing = project.runs.get(plan["run_id"])
    record = RunRecord(
        id=plan["run_id"],
        variant=plan["variant"],
        config=config,
        status=status,
        reason=reason,
        device=results[0]["device"] if results else "",
        folds=folds,
        summary=summarize(folds, oof, labels, int(config["folds"]), seed=int(config["seed"]))
        if folds
        else {},
        oof=oof,
        splits=plan["splits"],
        model_files={
            fold_key(r["repeat"], r["fold"]): _relative(project, (run_dir / r["model"]).resolve())
            for r in results
        },
        created=existing.created if existing is not None else now_iso(),
        finished=now_iso() if status != "running" else "",
    )
    project.put_run(record)
    return record.id


def _import_model(project: Project, job_dir: Path, manifest: dict[str, Any]) -> str:
    model_id = manifest["model_id"]
    result = read_json(job_dir / model_id / "model.json")
    spec = manifest["specs"][0]
    record = ModelRecord(
        id=model_id,
        variant=manifest["variant"],
        config=spec["config"],
        path=_relative(project, (job_dir / model_id / result["model"]).resolve()),
        lesion_ids=list(spec["train_ids"]),
        metrics={"train_loss": result["train_loss"], "train_accuracy": result["train_accuracy"]},
        provenance={
            "job": job_dir.name,
            "profile": manifest["profile"],
            "iterations": result["iterations"],
            "seed": result["seed"],
            "snapshot_hash": manifest["snapshot_hash"],
            "device": result["device"],
            "software": result["software"],
            "seconds": result["seconds"],
        },
        created=manifest["created"],
    )
    project.put_model(record)
    return record.id


def _import_grades(project: Project, job_dir: Path) -> list[str]:
    result = read_json(job_dir / "grades.json")
    predictions = grading.ensemble_predictions(result, result["created"])
    held = {(p.lesion_id, p.model_id, p.created) for p in project.predictions()}
    new = [p for p in predictions if (p.lesion_id, p.model_id, p.created) not in held]
    if new:
        project.add_predictions(new)
    return [p.lesion_id for p in new]
