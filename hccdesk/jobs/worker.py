"""The worker side of a job: train a fold, a final model, or grade lesions with an ensemble.

Qt-free.  The module itself imports no TensorFlow, so the owner process can name :func:`serve` as the target
of a spawn process without loading TensorFlow; the functions import :mod:`hccdesk.learn` when they run.
Every unit of work ends with exactly one *final* message (``fold_done``, ``fold_cancelled``, ``fold_failed``,
``grade_done``, ``grade_cancelled``, ``grade_failed``) carrying ``job_dir`` and the spec's identity, so the
owner can account for every spec; progress messages come before it.  Results are files in the job folder
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
import time
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

import numpy as np

from hccdesk.jobs.snapshot import Snapshot, read_snapshot
from hccdesk.jobs.spec import FoldSpec, GradeSpec, from_dict, write_json
from hccdesk.store.records import now_iso

Report = Callable[[dict[str, Any]], None]
Cancelled = Callable[[], bool]

_patch_cache: dict[tuple[str, str, str], np.ndarray] = {}
"""(snapshot hash, patch settings, lesion id) -> raw patches; the folds of a run share lesions and settings"""


def serve(tasks: Queue, messages: Queue, cancel: Event, gpu: int | None = None) -> None:
    """Entry point of a local spawn worker: run spec dicts from ``tasks`` until ``None`` or a cancel.

    ``gpu`` pins the process to one GPU (set before TensorFlow is imported), so a pool with one worker per
    GPU spreads folds over the cards.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal reaches the owner, which cancels
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    while not cancel.is_set():
        data = tasks.get()
        if data is None:
            break
        final = run_spec(data, messages.put, cancel.is_set)
        if final["type"].endswith("_failed"):
            break


def run_spec(data: dict[str, Any], report: Report, cancelled: Cancelled) -> dict[str, Any]:
    """Run one spec, report its progress and its final message, and return the final message.

    Any exception becomes a ``*_failed`` message with a one-line reason (the traceback goes to stderr), so
    a bug in one fold is reported as such instead of leaving the owner waiting.
    """
    spec = from_dict(data)
    identity = _identity(spec)
    try:
        final = (
            _grade(spec, report, cancelled) if isinstance(spec, GradeSpec) else _fold(spec, report, cancelled)
        )
    except Exception as error:  # reported to the owner, which marks the run failed
        traceback.print_exc()
        failed = "grade_failed" if isinstance(spec, GradeSpec) else "fold_failed"
        final = {**identity, "type": failed, "reason": f"{type(error).__name__}: {error}".splitlines()[0]}
    final = {**identity, **final}
    report(final)
    return final


def _identity(spec: FoldSpec | GradeSpec) -> dict[str, Any]:
    if isinstance(spec, GradeSpec):
        return {"job_dir": spec.job_dir, "kind": "grade", "source_id": spec.source_id}
    return {
        "job_dir": spec.job_dir,
        "kind": spec.kind,
        "run_id": spec.run_id,
        "variant": spec.variant,
        "repeat": spec.repeat,
        "fold": spec.fold,
    }


def _lesion_patches(snapshot: Snapshot, ids: Sequence[str], config: dict[str, Any]) -> list[np.ndarray]:
    """Raw patches of each lesion, read from the study images (read-only) and cached per process."""
    from hccdesk.learn.patches import extract_lesion_patches
    from hccdesk.store.images import StudyImages

    config_key = json.dumps(config.get("patches", config), sort_keys=True)
    out = []
    for lesion_id in ids:
        key = (snapshot.hash, config_key, lesion_id)
        if key not in _patch_cache:
            lesion = snapshot.lesions[lesion_id]
            with StudyImages.open(snapshot.images_path(lesion.study_id)) as images:
                _patch_cache[key] = extract_lesion_patches(images, lesion.box, config)
        out.append(_patch_cache[key])
    return out


def software_versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    from hccdesk import __version__

    return {"hccdesk": __version__, "tensorflow": tf.__version__, "keras": keras.__version__}


def _fold(spec: FoldSpec, report: Report, cancelled: Cancelled) -> dict[str, Any]:
    """Train on ``spec.train_ids``; for a CV fold, predict and score ``spec.test_ids``."""
    start = time.monotonic()
    if cancelled():
        return {"type": "fold_cancelled"}
    from hccdesk.evaluation.metrics import fold_metrics
    from hccdesk.jobs.callbacks import JobCallback
    from hccdesk.learn.training import describe_device, train

    device = describe_device()
    context = {"job_dir": spec.job_dir, "run_id": spec.run_id, "variant": spec.variant}
    context |= {"repeat": spec.repeat, "fold": spec.fold, "device": device}
    report({**context, "type": "started"})
    snapshot = read_snapshot(spec.snapshot)
    train_patches = _lesion_patches(snapshot, spec.train_ids, spec.config)
    if cancelled():
        return {"type": "fold_cancelled"}
    x = np.concatenate(train_patches)
    y = np.concatenate(
        [np.full(len(p), snapshot.lesions[i].y) for i, p in zip(spec.train_ids, train_patches, strict=True)]
    )
    lesion_index = np.concatenate([np.full(len(p), k) for k, p in enumerate(train_patches)])
    callback = JobCallback(report, cancelled, spec.iterations, context)
    model = train(spec.config, x, y, lesion_index, spec.seed, spec.iterations, callbacks=(callback,))
    if callback.was_cancelled:
        return {"type": "fold_cancelled"}
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    model.save(spec.model_path)
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
        "software": software_versions(),
        "model": spec.model_path.name,
        "train_loss": callback.recent.get("loss"),
        "train_accuracy": callback.recent.get("accuracy"),
    }
    if spec.test_ids:
        test = _lesion_patches(snapshot, spec.test_ids, spec.config)
        p_high = [float(p) for p in model.predict_lesions(test)]
        result |= fold_metrics([snapshot.lesions[i].y for i in spec.test_ids], p_high)
        result["oof"] = [{"lesion_id": i, "p_high": p} for i, p in zip(spec.test_ids, p_high, strict=True)]
    result["seconds"] = time.monotonic() - start
    write_json(spec.result_path, result)
    return {"type": "fold_done", "result": str(spec.result_path), "seconds": result["seconds"]}


def _grade(spec: GradeSpec, report: Report, cancelled: Cancelled) -> dict[str, Any]:
    """P(high) of every lesion from every ensemble member; the owner reduces them to mean and spread."""
    from hccdesk.learn.training import TrainedModel, describe_device

    device = describe_device()
    snapshot = read_snapshot(spec.snapshot)
    members: list[list[float]] = []
    for index, path in enumerate(spec.model_paths):
        if cancelled():
            return {"type": "grade_cancelled"}
        model = TrainedModel.load(path)
        patches = _lesion_patches(snapshot, spec.lesion_ids, model.config)
        members.append([float(p) for p in model.predict_lesions(patches)])
        report(
            {
                "type": "progress",
                "job_dir": spec.job_dir,
                "step": index + 1,
                "steps": len(spec.model_paths),
                "device": device,
            }
        )
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
    return {"type": "grade_done", "result": str(spec.result_path)}
