"""The warm inference worker's process: load an ensemble once, then answer grade and explain requests.

Qt-free, and TensorFlow-free at import: the owner names :func:`serve_inference` as a spawn target without
loading TensorFlow; the answering functions import :mod:`hccdesk.learn.explain` when they first run.  A
source without a patch model (the radiomics baseline) grades through its learner and has no heat map.  The
owner side is :class:`hccdesk.jobs.warm_worker.WarmWorker`; the messages are
:mod:`hccdesk.jobs.inference_messages` (a load answers :class:`Loaded`, a grade :class:`Graded` or, cancelled
between boxes, :class:`Cancelled`, an explain :class:`Explained`).

A request naming a source other than the loaded one reloads first, so a newer default run or model is
picked up by the next request.  An exception becomes a :class:`Failed` reply with a one-line ``reason`` and
the worker keeps serving.

The study file last read stays open between requests (:class:`hccdesk.store.images.LastStudy`), so a live
grade that re-grades the box being edited reads its chunks from the open file's cache; the file is reopened
when it changed on disk or another study is asked for, and closed when the worker ends.

TensorFlow 2.21 writes start-up lines (``WARNING: All log messages before absl::InitializeLog() ...``,
``I0000 ... oneDNN custom operations are on ...``) straight to file descriptor 2 from a static initialiser of
its native library, before ``TF_CPP_MIN_LOG_LEVEL`` is consulted, so no setting silences them.  The worker
therefore points its descriptor 2 at a log file the owner names before anything imports TensorFlow, as the
job workers do (:mod:`hccdesk.jobs.worker`), and writes only what the user must see, the traceback of a real
failure, to the terminal's stderr it was started with.
"""

from __future__ import annotations

import os
import queue
import signal
import time
import traceback
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any, TextIO

from hccdesk.errors import HccdeskError, ModelError
from hccdesk.jobs.inference_messages import (
    REQUESTS,
    Cancelled,
    Explained,
    ExplainRequest,
    Failed,
    Graded,
    GradeRequest,
    InferenceReply,
    InferenceRequest,
    Loaded,
    LoadRequest,
    from_dict,
    to_dict,
)
from hccdesk.jobs.reply_pipe import ReplyWriter
from hccdesk.jobs.worker import owner_gone
from hccdesk.store.images import LastStudy
from hccdesk.store.records import Box

OWNER_CHECK_S = 1.0
"""How often an idle worker checks that its owner still runs.  An owner killed outright (SIGKILL, a crash)
never sends the ``None`` that ends the worker, and the orphan held TensorFlow and the demo's ensemble
(1.1 GB resident) for nobody until killed by hand; a check a second costs nothing measurable."""

_loaded: dict[str, Any] = {}
"""The one ensemble this process holds: ``{"source_id": ..., "ensemble": Ensemble}``."""
_study = LastStudy()
"""The study image file last read, kept open: a live grade re-reads the same study at every edit of a box."""


def serve_inference(
    requests: Queue, replies: ReplyWriter, cancelled_up_to: Synchronized[int], log: str
) -> None:
    """Answer requests until ``None`` or the owner's death; a grade request whose id is at most
    ``cancelled_up_to`` stops before its next box (the owner's Cancel; an id, not a flag, so a cancel never
    reaches a later request).

    ``log`` takes this process's descriptor 2 (see the module docstring); tracebacks go to the stderr this
    process was started with.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the owner, which closes this worker
    terminal = _stderr_to_log(Path(log))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    owner = os.getppid()
    try:
        while True:
            try:
                data = requests.get(timeout=OWNER_CHECK_S)
            except queue.Empty:
                if owner_gone(owner):
                    return
                continue
            if data is None:
                return
            replies.put(to_dict(_reply_to(data, cancelled_up_to, terminal)))
    finally:
        _study.close()


def _reply_to(data: dict[str, Any], cancelled_up_to: Synchronized[int], errors: TextIO) -> InferenceReply:
    """The reply to one request as the owner sent it (refused with :class:`Failed` when it does not read)."""
    try:
        request = from_dict(data)
        if not isinstance(request, REQUESTS):
            raise ValueError(f"not a request: {request.type}")
    except ValueError as error:  # an owner of another version: refuse, keep serving
        return Failed(data.get("id", 0), data.get("type", "load"), str(error))
    return answer(request, lambda: request.id <= cancelled_up_to.value, errors)


def _stderr_to_log(log: Path) -> TextIO:
    """Point descriptor 2 (the native libraries' and Python's stderr) at ``log``; return a stream on the
    stderr this process started with, for what the user must see."""
    terminal = os.fdopen(os.dup(2), "w", buffering=1)
    with log.open("ab") as sink:
        os.dup2(sink.fileno(), 2)
    return terminal


def answer(request: InferenceRequest, cancelled: Callable[[], bool], errors: TextIO) -> InferenceReply:
    """The reply to one request (:class:`Failed` with a reason instead of raising); ``cancelled`` says
    whether a grade should stop, and an unexpected error's traceback is printed on ``errors``."""
    try:
        start = time.perf_counter()
        ensemble = _ensemble(request.source_id, request.model_paths)
        reply: InferenceReply
        match request:
            case LoadRequest():
                seconds = time.perf_counter() - start
                reply = Loaded(request.id, ensemble.source_id, seconds, ensemble.precision)
            case GradeRequest():
                reply = _grade(ensemble, request, cancelled, start)
            case ExplainRequest():
                reply = _explain(ensemble, request, start)
        return reply
    except HccdeskError as error:  # an expected refusal: its message says it all
        reason = str(error).splitlines()[0]
    except Exception as error:  # a bug: the traceback on the terminal, the worker keeps serving
        traceback.print_exc(file=errors)
        reason = f"{type(error).__name__}: {error}".splitlines()[0]
    return Failed(request.id, request.type, reason)


class LesionLevelModels:
    """Members without patches (the radiomics baseline): a lesion-level P(high) per member and nothing
    inside the box to show, so they grade but have no heat map."""

    has_attention = False
    precision = "float64"

    def __init__(self, source_id: str, model_paths: tuple[str, ...]) -> None:
        from hccdesk.jobs.learners import learner_for_model

        self.source_id = source_id
        self.learner = learner_for_model(model_paths[0])
        self.members = [self.learner.load(path) for path in model_paths]
        self.config = self.members[0].config

    def warm_up(self) -> None:
        """Nothing to trace: the models are closed-form."""

    def member_p_high(self, images: Any, box: Box) -> list[float]:
        inputs = self.learner.lesion_inputs(images, box, self.config)
        return [float(member.predict_lesions([inputs])[0]) for member in self.members]


def _ensemble(source_id: str, model_paths: tuple[str, ...]) -> Any:
    from hccdesk.jobs.learners import NetworkLearner, learner_for_model
    from hccdesk.learn.explain import Ensemble

    if _loaded.get("source_id") != source_id:
        _loaded.clear()
        ensemble: Ensemble | LesionLevelModels
        if isinstance(learner_for_model(model_paths[0]), NetworkLearner):
            ensemble = Ensemble.load(source_id, model_paths)
        else:
            ensemble = LesionLevelModels(source_id, model_paths)
        ensemble.warm_up()
        _loaded.update(source_id=source_id, ensemble=ensemble)
    return _loaded["ensemble"]


def _grade(
    ensemble: Any, request: GradeRequest, cancelled: Callable[[], bool], start: float
) -> Graded | Cancelled:
    votes = []
    for lesion in request.lesions:
        if cancelled():
            return Cancelled(request.id)
        votes.append(ensemble.member_p_high(_study.images(lesion.images_path), lesion.box))
    return Graded(
        id=request.id,
        source_id=ensemble.source_id,
        seconds=time.perf_counter() - start,
        lesion_ids=tuple(lesion.lesion_id for lesion in request.lesions),
        p_high=tuple(tuple(member) for member in zip(*votes, strict=True)),
        members=request.model_paths,
    )


def _explain(ensemble: Any, request: ExplainRequest, start: float) -> Explained:
    if isinstance(ensemble, LesionLevelModels):
        name = ensemble.config.get("name", "this variant")
        raise ModelError(f"{name} has no patch model, so it has no heat map (it grades whole lesions)")

    images = _study.images(request.images_path)
    reading = ensemble.read(images, request.box)
    attention = None
    if request.voxel is not None and ensemble.has_attention:
        attention = ensemble.attention(images, request.box, request.voxel)
    return Explained(
        id=request.id,
        source_id=ensemble.source_id,
        seconds=time.perf_counter() - start,
        heat=reading.heat_map(tuple(images.shape)),
        centres=reading.centres,
        patch_p_high=reading.patch_p_high,
        member_p_high=tuple(float(p) for p in reading.member_p_high),
        has_attention=ensemble.has_attention,
        attention=attention,
    )
