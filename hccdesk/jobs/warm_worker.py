"""The owner side of the warm inference worker: one long-lived spawn process per open project.

Starting a worker costs seconds (TensorFlow's import, then loading the models), so the owner (the GUI, or
``hccdesk bench grade``) keeps one running and sends it requests (:mod:`hccdesk.jobs.inference_worker`;
the messages are :mod:`hccdesk.jobs.inference_messages`).  Qt-free and non-blocking: :meth:`WarmWorker.load`,
:meth:`~WarmWorker.grade` and :meth:`~WarmWorker.explain` queue a request and return its id, :meth:`poll`
returns the replies that have arrived, so the GUI drains it from a timer and its event loop never waits.

Which ensemble answers is decided here, per request, with :func:`hccdesk.jobs.grading.ensemble_members`:
the newest finished run or final model unless one is named, so a newer default is used by the next request
without restarting anything.  A worker that dies (killed, out of memory) fails its pending requests with a
message saying so; the next request starts a fresh one.

The worker's native stderr (TensorFlow's start-up lines, see :mod:`hccdesk.jobs.inference_worker`) goes to
a log file in the temporary folder, one per process; the log is removed by :meth:`WarmWorker.close`, except
that of a worker that died with requests pending, which their failure names.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import tempfile
from pathlib import Path
from typing import Any

from hccdesk.errors import InputError
from hccdesk.jobs import grading
from hccdesk.jobs.dispatch import describe_exit
from hccdesk.jobs.inference_messages import (
    REPLIES,
    ExplainRequest,
    Failed,
    GradeRequest,
    InferenceReply,
    InferenceRequest,
    LesionBox,
    LoadRequest,
    from_dict,
    to_dict,
)
from hccdesk.store.records import Box

CLOSE_GRACE_S = 5.0
"""How long :meth:`WarmWorker.close` waits for the worker to stop by itself before terminating it."""


class WarmWorker:
    """A lazily started inference process for one project (see the module docstring)."""

    def __init__(self, project: Any) -> None:
        self.project = project
        self._ids = itertools.count(1)
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pending: dict[int, InferenceRequest] = {}
        self.log: Path | None = None
        """The running worker's stderr log."""
        self.starts = 0
        """How many processes were started (a restart after a crash counts)."""

    # --- lifecycle -------------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.alive and self._process is not None else None

    @property
    def busy(self) -> bool:
        """True while a request has no reply yet."""
        return bool(self._pending)

    @property
    def grading(self) -> bool:
        """True while a grade request has no reply yet (what :meth:`cancel` stops)."""
        return any(isinstance(request, GradeRequest) for request in self._pending.values())

    def _ensure_started(self) -> None:
        if self.alive:
            return
        from hccdesk.jobs.inference_worker import serve_inference

        if self._process is not None and self.log is not None:  # it died idle: nothing it logged was reported
            self.log.unlink(missing_ok=True)
        handle, log = tempfile.mkstemp(prefix="hccdesk-inference-", suffix=".log")
        os.close(handle)
        self.log = Path(log)
        ctx = multiprocessing.get_context("spawn")
        self._requests, self._replies = ctx.Queue(), ctx.Queue()
        self._cancelled_up_to = ctx.Value("q", 0)
        self._process = ctx.Process(
            target=serve_inference,
            args=(self._requests, self._replies, self._cancelled_up_to, log),
            name="hccdesk-inference",
            daemon=True,
        )
        self._process.start()
        self.starts += 1

    def close(self) -> None:
        """Stop the worker (the project is closing); pending requests are dropped."""
        process, self._process = self._process, None
        self._pending.clear()
        if process is None:
            return
        if process.is_alive():
            self._requests.put(None)
            process.join(timeout=CLOSE_GRACE_S)
        if process.is_alive():
            process.terminate()
            process.join(timeout=CLOSE_GRACE_S)
        for channel in (self._requests, self._replies):
            channel.close()
            channel.cancel_join_thread()
        if self.log is not None:  # nothing in it was reported: a dead worker's log was, and is kept
            self.log.unlink(missing_ok=True)

    # --- requests --------------------------------------------------------------------------------------
    def source(self, run_id: str | None = None, model_id: str | None = None) -> dict[str, Any]:
        """The ``source_id`` and ``model_paths`` that would answer now (raises InputError without one)."""
        source_id, paths = grading.ensemble_members(self.project, run_id, model_id)
        return {"source_id": source_id, "model_paths": tuple(str(p) for p in paths)}

    def load(self, run_id: str | None = None, model_id: str | None = None) -> int:
        """Start the worker and load the current source in the background."""
        return self._submit(LoadRequest(next(self._ids), **self.source(run_id, model_id)))

    def grade(
        self, lesions: dict[str, tuple[str, Box]], run_id: str | None = None, model_id: str | None = None
    ) -> int:
        """Grade boxes: ``{lesion_id: (study_id, box)}``, stored lesions or a box being drawn."""
        if not lesions:
            raise InputError("no lesions to grade")
        boxes = tuple(
            LesionBox(lesion_id, str(self.project.images_path(study_id)), box)
            for lesion_id, (study_id, box) in lesions.items()
        )
        return self._submit(GradeRequest(next(self._ids), lesions=boxes, **self.source(run_id, model_id)))

    def explain(
        self,
        study_id: str,
        box: Box,
        voxel: tuple[int, int, int] | None = None,
        run_id: str | None = None,
        model_id: str | None = None,
    ) -> int:
        """The heat map of ``box`` (and the attention under ``voxel`` for non-local variants)."""
        request = ExplainRequest(
            next(self._ids),
            images_path=str(self.project.images_path(study_id)),
            box=box,
            voxel=None if voxel is None else (int(voxel[0]), int(voxel[1]), int(voxel[2])),
            **self.source(run_id, model_id),
        )
        return self._submit(request)

    def _submit(self, request: InferenceRequest) -> int:
        """Queue ``request`` (starting the worker if needed) and return its id."""
        self._ensure_started()
        self._pending[request.id] = request
        self._requests.put(to_dict(request))
        return request.id

    def cancel(self) -> None:
        """Stop every grade sent so far, the one in progress between two lesions; each replies
        :class:`Cancelled`.  Later requests, and loads and explains, are not affected."""
        grades = [i for i, request in self._pending.items() if isinstance(request, GradeRequest)]
        if self.alive and grades:
            self._cancelled_up_to.value = max(grades)

    def poll(self) -> list[InferenceReply]:
        """Replies received since the last call, without blocking; :class:`Failed` ones for a dead worker."""
        if self._process is None:
            return []
        out = []
        while True:
            try:
                reply = from_dict(self._replies.get_nowait())
            except queue.Empty:
                break
            if isinstance(reply, REPLIES) and self._pending.pop(reply.id, None) is not None:
                out.append(reply)
        if self._pending and not self._process.is_alive():
            reason = (
                f"the inference {describe_exit(self._process.pid, self._process.exitcode)}; the next request "
                f"starts a new one (its log: {self.log})"
            )
            out += [Failed(request.id, request.type, reason) for request in self._pending.values()]
            self._pending.clear()
            self._process = None
        return out
