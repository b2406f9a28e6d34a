"""The worker side of a job: train a fold, a final model, or grade lesions with an ensemble.

Qt-free.  The module itself imports no TensorFlow, so the owner process can name :func:`serve` as the target
of a spawn process without loading TensorFlow; the functions import :mod:`hccdesk.learn` when they run.
Every unit of work ends with exactly one :class:`~hccdesk.jobs.messages.TaskEnded` message naming its task,
so the owner can account for every spec; :class:`~hccdesk.jobs.messages.Started` and
:class:`~hccdesk.jobs.messages.Progress` messages come before it (the protocol: :mod:`hccdesk.jobs.messages`).
A failure's reason is one line.  A local worker's stderr (TensorFlow's start-up chatter, a bug's traceback)
goes to ``<job folder>/worker-<n>.log`` rather than the user's terminal; a bug's reason names that log, and
a job whose task failed that way keeps its folder for the diagnosis.  Results are files in the job folder
(written atomically), so a worker killed half-way leaves no half-written result behind.

Leakage rules (docs/design/methods.md §5.6): the worker hands :func:`hccdesk.learn.training.train` the raw
patches of the training lesions only; it fits the intensity normaliser on them and stores it (and the variant
config) inside the ``.keras`` file, which applies it to whatever it predicts.  The test lesions are only
predicted.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event, Lock
from pathlib import Path
from typing import Any

import numpy as np

from hccdesk.errors import HccdeskError
from hccdesk.jobs.learners import LesionModel, TrainingData, learner_for, learner_for_model
from hccdesk.jobs.messages import JobMessage, Progress, Started, TaskEnded, TaskRef, to_dict
from hccdesk.jobs.snapshot import Snapshot, read_snapshot
from hccdesk.jobs.spec import FoldSpec, GradeSpec, from_dict, write_json
from hccdesk.store.records import now_iso

Report = Callable[[JobMessage], None]
Cancelled = Callable[[], bool]

NOT_SHARED: AbstractContextManager[Any] = nullcontext()
"""The ``writing`` lock of a worker whose owner never terminates it (a Dask task, a test)."""

_patch_cache: dict[tuple[str, str, str], np.ndarray] = {}
"""(snapshot hash, patch settings, lesion id) -> raw patches; the folds of a run share lesions and settings"""


def serve(
    tasks: Queue,
    messages: Queue,
    cancel: Event,
    writing: Lock,
    gpu: int | None = None,
    log: tuple[str, str] | None = None,
) -> None:
    """Entry point of a local spawn worker: run spec dicts from ``tasks`` until ``None`` or a cancel.

    Messages go onto ``messages`` as :func:`~hccdesk.jobs.messages.to_dict` dicts.  ``writing`` is held while
    a task writes its result files: the owner terminates a worker that does not stop by itself soon after a
    cancel, but only while it can take this lock, so never in the middle of a file.  ``gpu`` pins the process
    to one GPU (set before TensorFlow is imported), so a pool with one worker per GPU spreads folds over the
    cards.  ``log`` is ``(absolute path, the name a reason shows)`` of the file that takes this process's
    stderr.  The process ends with :func:`end_process`.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal reaches the owner, which cancels
    if log is not None:
        _redirect_stderr(Path(log[0]))
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    owner = os.getppid()
    log_name = log[1] if log else ""

    def cancelled() -> bool:
        return cancel.is_set() or owner_gone(owner)

    def report(message: JobMessage) -> None:
        messages.put(to_dict(message))

    while not cancelled():
        data = tasks.get()
        if data is None:
            break
        ended = run_spec(data, report, cancelled, log_name, writing)
        if ended.outcome == "failed":
            break
    end_process(messages, owner_gone(owner))


def owner_gone(owner: int) -> bool:
    """True once the process that started this worker has died (killed with SIGTERM or SIGKILL, it could not
    cancel): the worker is then an orphan adopted by another process, and stops as if cancelled instead of
    training on for nobody."""
    return os.getppid() != owner


def end_process(messages: Queue, orphan: bool) -> None:
    """End this worker process at once, after flushing stderr and the messages to the owner.

    ``os._exit`` skips the interpreter's finalisation, which garbage-collects TensorFlow's objects and took
    5 to 8 s under load (docs/developer/jobs.md, "How fast a cancel stops"): a cancelled worker would not be
    gone until then.  Nothing of a worker needs the finalisation: its results are closed files and its
    message queue is flushed first, unless it is an ``orphan``, whose messages nobody reads (waiting for them
    to drain could block forever).
    """
    sys.stderr.flush()
    if not orphan:
        messages.close()
        messages.join_thread()
    os._exit(0)


def _redirect_stderr(path: Path) -> None:
    """Point file descriptor 2 (Python's and the native libraries' stderr) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)


def run_spec(
    data: dict[str, Any],
    report: Report,
    cancelled: Cancelled,
    log_name: str = "",
    writing: AbstractContextManager[Any] = NOT_SHARED,
) -> TaskEnded:
    """Run one spec, report its progress and its end, and return the end; ``writing`` is held while the
    result files are written.

    Any exception becomes a ``failed`` end with a one-line reason, so a bug in one fold is reported as such
    instead of leaving the owner waiting.  Only a bug (not an :class:`~hccdesk.errors.HccdeskError`) also
    prints its traceback on stderr, and its reason names ``log_name``, where that stderr goes.
    """
    spec = from_dict(data)
    task = task_ref(spec)
    try:
        ended = (
            _grade(spec, task, report, cancelled, writing)
            if isinstance(spec, GradeSpec)
            else _fold(spec, task, report, cancelled, writing)
        )
    except HccdeskError as error:
        ended = TaskEnded(task, "failed", reason=_reason(str(error), spec.project_folder))
    except Exception as error:  # a bug: reported to the owner, which marks the run failed
        traceback.print_exc()
        sys.stderr.flush()
        reason = _reason(f"{type(error).__name__}: {error}", spec.project_folder)
        ended = TaskEnded(
            task, "failed", reason=reason + (f" (traceback in {log_name})" if log_name else ""), log=log_name
        )
    report(ended)
    return ended


def _reason(text: str, project_folder: str) -> str:
    """The first line of an error, with paths inside the project written relative to it: a run record
    keeps its reason, and the project stores no absolute path of the user's disk."""
    lines = text.strip().splitlines()
    first = lines[0] if lines else "the worker failed without a reason"
    return first.replace(str(Path(project_folder)) + os.sep, "")


def task_ref(spec: FoldSpec | GradeSpec) -> TaskRef:
    """The task a spec describes, as its messages name it."""
    if isinstance(spec, GradeSpec):
        return TaskRef(job_dir=str(spec.job_path), kind="grade", record_id=spec.source_id)
    return TaskRef(
        job_dir=str(spec.job_path),
        kind=spec.kind,
        record_id=spec.run_id,
        variant=spec.variant,
        repeat=spec.repeat,
        fold=spec.fold,
    )


def _progress_from_callback(task: TaskRef, device: str, data: dict[str, Any]) -> Progress:
    """The training callback's plain dict (learn does not know the job protocol) as a Progress message."""
    figures = ("loss", "accuracy", "eta_s", "attention_entropy", "attention_entropy_max")
    return Progress(
        task,
        step=int(data["step"]),
        steps=int(data["steps"]),
        device=device,
        **{name: None if data.get(name) is None else float(data[name]) for name in figures},
    )


def _lesion_patches(
    snapshot: Snapshot, ids: Sequence[str], config: dict[str, Any], cancelled: Cancelled
) -> list[np.ndarray] | None:
    """Each lesion's inputs (a network's raw patches, the radiomics feature row), read from the study images
    (read-only) and cached per process; None once ``cancelled()``, which is read before every lesion because
    a lesion can take seconds (resampling, or MIRP's features) and a cancel must take effect at once."""
    from hccdesk.store.images import StudyImages

    config_key = json.dumps(config.get("patches", config), sort_keys=True)
    out = []
    for lesion_id in ids:
        if cancelled():
            return None
        key = (snapshot.hash, config_key, lesion_id)
        if key not in _patch_cache:
            lesion = snapshot.lesions[lesion_id]
            with StudyImages.open(snapshot.images_path(lesion.study_id)) as images:
                _patch_cache[key] = learner_for(config).lesion_inputs(images, lesion.box, config)
        out.append(_patch_cache[key])
    return out


def _fold(
    spec: FoldSpec, task: TaskRef, report: Report, cancelled: Cancelled, writing: AbstractContextManager[Any]
) -> TaskEnded:
    """Train on ``spec.train_ids``; for a CV fold, predict and score ``spec.test_ids``."""
    start = time.monotonic()
    if cancelled():
        return TaskEnded(task, "cancelled")
    from hccdesk.evaluation.metrics import fold_metrics

    learner = learner_for(spec.config)
    device = learner.describe_device()
    report(Started(task, device))
    snapshot = read_snapshot(spec.snapshot_path, Path(spec.project_folder))
    train_patches = _lesion_patches(snapshot, spec.train_ids, spec.config, cancelled)
    if train_patches is None:
        return TaskEnded(task, "cancelled")
    data = TrainingData(
        x=np.concatenate(train_patches),
        y=np.concatenate(
            [
                np.full(len(p), snapshot.lesions[i].y)
                for i, p in zip(spec.train_ids, train_patches, strict=True)
            ]
        ),
        lesion_index=np.concatenate([np.full(len(p), k) for k, p in enumerate(train_patches)]),
    )
    fitted = learner.fit(
        spec.config,
        data,
        spec.seed,
        spec.iterations,
        lambda progress: report(_progress_from_callback(task, device, progress)),
        cancelled,
    )
    if fitted is None:
        return TaskEnded(task, "cancelled")
    model = fitted.model
    model_path = spec.out_dir / f"{spec.key}{learner.model_suffix}"
    result: dict[str, Any] = {
        "run_id": spec.run_id,
        "kind": spec.kind,
        "repeat": spec.repeat,
        "fold": spec.fold,
        "n_train": len(spec.train_ids),
        "n_test": len(spec.test_ids),
        "seed": spec.seed,
        "iterations": spec.iterations,
        "device": device,
        "software": learner.software(),
        "model": model_path.name,
        "train_loss": fitted.train_loss,
        "train_accuracy": fitted.train_accuracy,
    }
    if spec.test_ids:
        test = _lesion_patches(snapshot, spec.test_ids, spec.config, cancelled)
        if test is None:
            return TaskEnded(task, "cancelled")
        p_high = [float(p) for p in model.predict_lesions(test)]
        result |= fold_metrics([snapshot.lesions[i].y for i in spec.test_ids], p_high)
        result["oof"] = [{"lesion_id": i, "p_high": p} for i, p in zip(spec.test_ids, p_high, strict=True)]
    result["seconds"] = time.monotonic() - start
    with writing:  # a cancel from here on keeps the finished fold
        _save_model(model, model_path)
        write_json(spec.result_path, result)
    return TaskEnded(task, "done", result=str(spec.result_path), seconds=result["seconds"])


def _save_model(model: LesionModel, path: Path) -> None:
    """Write the model under a temporary name, then rename it: a worker killed while saving (by a user or the
    system: its owner waits for ``writing``) leaves no file under the name a result points to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"partial-{path.name}")
    model.save(partial)
    partial.replace(path)


def _grade(
    spec: GradeSpec, task: TaskRef, report: Report, cancelled: Cancelled, writing: AbstractContextManager[Any]
) -> TaskEnded:
    """P(high) of every lesion from every ensemble member; the owner reduces them to mean and spread."""
    start = time.monotonic()
    device = learner_for_model(spec.member_paths[0]).describe_device()
    report(Started(task, device))
    snapshot = read_snapshot(spec.snapshot_path, Path(spec.project_folder))
    members: list[list[float]] = []
    for index, path in enumerate(spec.member_paths):
        if cancelled():
            return TaskEnded(task, "cancelled")
        model = learner_for_model(path).load(path)
        patches = _lesion_patches(snapshot, spec.lesion_ids, model.config, cancelled)
        if patches is None:
            return TaskEnded(task, "cancelled")
        members.append([float(p) for p in model.predict_lesions(patches)])
        report(Progress(task, step=index + 1, steps=len(spec.model_paths), device=device))
    with writing:
        write_json(
            spec.result_path,
            {
                "source_id": spec.source_id,
                "created": now_iso(),
                "device": device,
                "lesion_ids": spec.lesion_ids,
                "members": spec.model_paths,
                "p_high": members,
            },
        )
    return TaskEnded(task, "done", result=str(spec.result_path), seconds=time.monotonic() - start)
