"""The warm inference worker's process: load an ensemble once, then answer grade and explain requests.

Qt-free, and TensorFlow-free at import: the owner names :func:`serve_inference` as a spawn target without
loading TensorFlow; the answering functions import :mod:`hccdesk.learn.explain` when they first run.  A
source without a patch model (the radiomics baseline) grades through its learner and has no heat map.  The
owner side is :class:`hccdesk.jobs.warm_worker.WarmWorker`.

Requests and replies are plain dicts (numpy arrays inside explain replies) with an ``id`` chosen by the
owner; every request gets exactly one reply:

``{"type": "load", "source_id", "model_paths"}``
    Load the members (the next grade loads them anyway); reply ``loaded`` with ``seconds``.
``{"type": "grade", "source_id", "model_paths", "lesions": [{"lesion_id", "images_path", "box"}]}``
    Reply ``graded``: ``lesion_ids`` and ``p_high`` (members × lesions), the grade job's result format, so
    :func:`hccdesk.jobs.grading.ensemble_predictions` reduces both alike.  A cancel between lesions gives
    ``cancelled``.
``{"type": "explain", "source_id", "model_paths", "images_path", "box", "voxel"}``
    Reply ``explained``: the heat map (``origin``, ``values``), the patch ``centres`` and ``patch_p_high``,
    the lesion's ``p_high`` per member, and, when ``voxel`` is given and the variant has a non-local branch,
    the ``attention`` map (``attention_origin``, ``attention``) of the patch position under it.

A request naming a source other than the loaded one reloads first, so a newer default run or model is
picked up by the next request.  An exception becomes a ``failed`` reply with a one-line ``reason`` and the
worker keeps serving.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

from hccdesk.errors import HccdeskError, ModelError
from hccdesk.store.records import Box

_loaded: dict[str, Any] = {}
"""The one ensemble this process holds: ``{"source_id": ..., "ensemble": Ensemble}``."""


def serve_inference(requests: Queue, replies: Queue, cancel: Event) -> None:
    """Answer requests until ``None``; ``cancel`` stops the grade in progress (and is then cleared)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the owner, which closes this worker
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    while True:
        request = requests.get()
        if request is None:
            return
        replies.put(answer(request, cancel.is_set))
        cancel.clear()


def answer(request: dict[str, Any], cancelled: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """The reply to one request (``failed`` with a reason instead of raising)."""
    identity: dict[str, Any] = {"id": request.get("id"), "request": request.get("type")}
    reply: dict[str, Any]
    try:
        start = time.perf_counter()
        ensemble = _ensemble(request["source_id"], request["model_paths"])
        if request["type"] == "load":
            reply = {"type": "loaded"}
        elif request["type"] == "grade":
            reply = _grade(ensemble, request, cancelled)
        elif request["type"] == "explain":
            reply = _explain(ensemble, request)
        else:
            raise ValueError(f"unknown request {request['type']!r}")
        reply |= {"source_id": ensemble.source_id, "seconds": time.perf_counter() - start}
    except HccdeskError as error:  # an expected refusal: its message says it all
        reply = {"type": "failed", "reason": str(error).splitlines()[0]}
    except Exception as error:  # reported to the owner (traceback on stderr); the worker keeps serving
        traceback.print_exc()
        reply = {"type": "failed", "reason": f"{type(error).__name__}: {error}".splitlines()[0]}
    return {**identity, **reply}


class LesionLevelModels:
    """Members without patches (the radiomics baseline): a lesion-level P(high) per member and nothing
    inside the box to show, so they grade but have no heat map."""

    has_attention = False

    def __init__(self, source_id: str, model_paths: list[str]) -> None:
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


def _ensemble(source_id: str, model_paths: list[str]) -> Any:
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


def _grade(ensemble: Any, request: dict[str, Any], cancelled: Callable[[], bool]) -> dict[str, Any]:
    from hccdesk.store.images import StudyImages

    votes = []
    for lesion in request["lesions"]:
        if cancelled():
            return {"type": "cancelled"}
        with StudyImages.open(lesion["images_path"]) as images:
            votes.append(ensemble.member_p_high(images, Box(*lesion["box"])))
    return {
        "type": "graded",
        "lesion_ids": [lesion["lesion_id"] for lesion in request["lesions"]],
        "p_high": [list(member) for member in zip(*votes, strict=True)],
        "members": list(request["model_paths"]),
    }


def _explain(ensemble: Any, request: dict[str, Any]) -> dict[str, Any]:
    from hccdesk.store.images import StudyImages

    if isinstance(ensemble, LesionLevelModels):
        name = ensemble.config.get("name", "this variant")
        raise ModelError(f"{name} has no patch model, so it has no heat map (it grades whole lesions)")

    box = Box(*request["box"])
    with StudyImages.open(request["images_path"]) as images:
        reading = ensemble.read(images, box)
        heat = reading.heat_map(tuple(images.shape))
        reply: dict[str, Any] = {
            "type": "explained",
            "origin": heat.origin,
            "values": heat.values,
            "centres": reading.centres,
            "patch_p_high": reading.patch_p_high,
            "p_high": [float(p) for p in reading.member_p_high],
            "has_attention": ensemble.has_attention,
        }
        voxel = request.get("voxel")
        if voxel is not None and ensemble.has_attention:
            attention = ensemble.attention(images, box, tuple(voxel))
            if attention is not None:
                reply |= {"attention_origin": attention.origin, "attention": attention.values}
    return reply
