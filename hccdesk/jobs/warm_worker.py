"""The owner side of the warm inference worker: one long-lived spawn process per open project.

Starting a worker costs seconds (TensorFlow's import, then loading the models), so the owner (the GUI, or
``hccdesk bench grade``) keeps one running and sends it requests (:mod:`hccdesk.jobs.inference_worker`;
the messages are :mod:`hccdesk.jobs.inference_messages`).  Qt-free and non-blocking: :meth:`WarmWorker.load`,
:meth:`~WarmWorker.grade` and :meth:`~WarmWorker.explain` queue a request and return its id, :meth:`poll`
returns the replies that have arrived.  Requests travel over a queue, replies over a pipe
(:mod:`hccdesk.jobs.reply_pipe`) whose descriptor (:meth:`~WarmWorker.reply_fileno`) becomes readable the
moment a reply is written or the worker dies: the GUI watches it with a ``QSocketNotifier`` and polls only
then, so a reply waits for no timer and the event loop never waits; a command-line caller blocks in
:meth:`~WarmWorker.wait`.

Which ensemble answers is decided here, per request, with :func:`hccdesk.jobs.grading.ensemble_members`:
the newest finished run or final model unless one is named, so a newer default is used by the next request
without restarting anything.  A worker that dies (killed, out of memory) closes its end of the reply pipe;
:meth:`~WarmWorker.poll` reads that end of file, fails the pending requests with a message saying so, and
the next request starts a fresh worker.

The worker's native stderr (TensorFlow's start-up lines, see :mod:`hccdesk.jobs.inference_worker`) goes to
a log file in the temporary folder, one per process; the log is removed by :meth:`WarmWorker.close`, except
that of a worker that died with requests pending, which their failure names.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import tempfile
import time
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
from hccdesk.jobs.reply_pipe import ReplyPipe
from hccdesk.store.records import Box

CLOSE_GRACE_S = 5.0
"""How long :meth:`WarmWorker.close` waits for the worker to stop by itself before terminating it, and how
long :meth:`WarmWorker.poll` waits for a worker whose reply pipe ended to exit."""


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
        self.died_idle: str | None = None
        """How the last worker ended when it died with no request pending ("worker process N was killed by
        SIGKILL"), for an owner that tells the user and starts a new one; None once the owner cleared it."""

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

        if self._process is not None:  # it died idle, unpolled: nothing it logged was reported
            self._close_channels()
            if self.log is not None:
                self.log.unlink(missing_ok=True)
        handle, log = tempfile.mkstemp(prefix="hccdesk-inference-", suffix=".log")
        os.close(handle)
        self.log = Path(log)
        ctx = multiprocessing.get_context("spawn")
        self._requests, self._replies = ctx.Queue(), ReplyPipe(ctx)
        self._cancelled_up_to = ctx.Value("q", 0)
        self._process = ctx.Process(
            target=serve_inference,
            args=(self._requests, self._replies.writer, self._cancelled_up_to, log),
            name="hccdesk-inference",
            daemon=True,
        )
        self._process.start()
        self._replies.started()
        self.starts += 1

    def close(self) -> None:
        """Stop the worker (the project is closing); pending requests are dropped."""
        process, self._process = self._process, None
        self._pending.clear()
        if process is None:
            return
        if process.is_alive():
            self._requests.put(None)
            deadline = time.monotonic() + CLOSE_GRACE_S
            while process.is_alive() and time.monotonic() < deadline:
                self._replies.receive()  # a worker blocked writing a large reply must finish it to stop
                process.join(timeout=0.05)
        if process.is_alive():
            process.terminate()
            process.join(timeout=CLOSE_GRACE_S)
        self._close_channels()
        if self.log is not None:  # nothing in it was reported: a dead worker's log was, and is kept
            self.log.unlink(missing_ok=True)

    def _close_channels(self) -> None:
        self._requests.close()
        self._requests.cancel_join_thread()
        self._replies.close()

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

    # --- replies ---------------------------------------------------------------------------------------
    def reply_fileno(self) -> int | None:
        """The descriptor that becomes readable when a reply arrives or the worker dies, for an owner with
        an event loop to watch (call :meth:`poll` then); None while no worker runs.  A restarted worker has
        a new one, so look again after each request and after a :meth:`poll` that reported a death."""
        return None if self._process is None else self._replies.fileno()

    def wait(self, timeout_s: float) -> None:
        """Block until :meth:`poll` has something to read (a reply, or the worker's death), at most
        ``timeout_s``; at once when no worker runs."""
        if self._process is not None:
            self._replies.wait(timeout_s)

    def poll(self) -> list[InferenceReply]:
        """Replies received since the last call, without blocking; :class:`Failed` ones for a dead worker."""
        if self._process is None:
            return []
        out = []
        for data in self._replies.receive():
            reply = from_dict(data)
            if isinstance(reply, REPLIES) and self._pending.pop(reply.id, None) is not None:
                out.append(reply)
        if self._replies.ended:
            out += self._ended(self._process)
        return out

    def _ended(self, process: multiprocessing.process.BaseProcess) -> list[InferenceReply]:
        """The worker ``process`` closed its end of the reply pipe, which it does only by exiting: reap it,
        fail what it left pending, and let the next request start a new one."""
        self._process = None
        process.join(timeout=CLOSE_GRACE_S)  # its descriptors close as it exits: its status follows at once
        if process.is_alive():  # it closed the pipe and lives on: it can answer nothing more
            process.terminate()
            process.join(timeout=CLOSE_GRACE_S)
        self._close_channels()
        if not self._pending:  # it died idle: no request fails, its owner may say so (died_idle)
            if self.log is not None:
                self.log.unlink(missing_ok=True)
            self.died_idle = describe_exit(process.pid, process.exitcode)
            return []
        reason = (
            f"the inference {describe_exit(process.pid, process.exitcode)}; the next request starts a new "
            f"one (its log: {self.log})"
        )
        failed: list[InferenceReply] = [Failed(r.id, r.type, reason) for r in self._pending.values()]
        self._pending.clear()
        return failed
