"""The owner side of the warm inference worker: one long-lived spawn process per open project.

Starting a worker costs seconds (TensorFlow's import, then loading the models), so the owner (the GUI, or
``hccdesk bench grade``) keeps one running and sends it requests (:mod:`hccdesk.jobs.inference_worker`).
Qt-free and non-blocking: :meth:`WarmWorker.submit` queues a request and returns its id, :meth:`poll` returns
the replies that have arrived, so the GUI drains it from a timer and its event loop never waits.

Which ensemble answers is decided here, per request, with :func:`hccdesk.jobs.grading.ensemble_members`:
the newest finished run or final model unless one is named, so a newer default is used by the next request
without restarting anything.  A worker that dies (killed, out of memory) fails its pending requests with a
message saying so; the next request starts a fresh one.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
from typing import Any

from hccdesk.errors import InputError
from hccdesk.jobs import grading
from hccdesk.jobs.dispatch import describe_exit
from hccdesk.store.records import Box

CLOSE_GRACE_S = 5.0
"""How long :meth:`WarmWorker.close` waits for the worker to stop by itself before terminating it."""


class WarmWorker:
    """A lazily started inference process for one project (see the module docstring)."""

    def __init__(self, project: Any) -> None:
        self.project = project
        self._ids = itertools.count(1)
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pending: dict[int, dict[str, Any]] = {}
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

    def _ensure_started(self) -> None:
        if self.alive:
            return
        from hccdesk.jobs.inference_worker import serve_inference

        ctx = multiprocessing.get_context("spawn")
        self._requests, self._replies, self._cancel = ctx.Queue(), ctx.Queue(), ctx.Event()
        self._process = ctx.Process(
            target=serve_inference,
            args=(self._requests, self._replies, self._cancel),
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

    # --- requests --------------------------------------------------------------------------------------
    def source(self, run_id: str | None = None, model_id: str | None = None) -> dict[str, Any]:
        """The ``source_id`` and ``model_paths`` that would answer now (raises InputError without one)."""
        source_id, paths = grading.ensemble_members(self.project, run_id, model_id)
        return {"source_id": source_id, "model_paths": [str(p) for p in paths]}

    def load(self, run_id: str | None = None, model_id: str | None = None) -> int:
        """Start the worker and load the current source in the background."""
        return self.submit({"type": "load", **self.source(run_id, model_id)})

    def grade(
        self, lesions: dict[str, tuple[str, Box]], run_id: str | None = None, model_id: str | None = None
    ) -> int:
        """Grade boxes: ``{lesion_id: (study_id, box)}``, stored lesions or a box being drawn."""
        if not lesions:
            raise InputError("no lesions to grade")
        items = [
            {
                "lesion_id": lesion_id,
                "images_path": str(self.project.images_path(study_id)),
                "box": list(box.as_tuple()),
            }
            for lesion_id, (study_id, box) in lesions.items()
        ]
        return self.submit({"type": "grade", "lesions": items, **self.source(run_id, model_id)})

    def explain(
        self,
        study_id: str,
        box: Box,
        voxel: tuple[int, int, int] | None = None,
        run_id: str | None = None,
        model_id: str | None = None,
    ) -> int:
        """The heat map of ``box`` (and the attention under ``voxel`` for non-local variants)."""
        request = {
            "type": "explain",
            "images_path": str(self.project.images_path(study_id)),
            "box": list(box.as_tuple()),
            "voxel": None if voxel is None else [int(v) for v in voxel],
        }
        return self.submit(request | self.source(run_id, model_id))

    def submit(self, request: dict[str, Any]) -> int:
        """Queue ``request`` (starting the worker if needed) and return its id."""
        self._ensure_started()
        request_id = next(self._ids)
        self._pending[request_id] = request
        self._requests.put({**request, "id": request_id})
        return request_id

    def cancel(self) -> None:
        """Stop a grade in progress between lesions; its reply is ``cancelled``."""
        if self.alive and self._pending:
            self._cancel.set()

    def poll(self) -> list[dict[str, Any]]:
        """Replies received since the last call, without blocking; ``failed`` ones for a dead worker."""
        if self._process is None:
            return []
        out = []
        while True:
            try:
                reply = self._replies.get_nowait()
            except queue.Empty:
                break
            if self._pending.pop(reply.get("id"), None) is not None:
                out.append(reply)
        if self._pending and not self._process.is_alive():
            reason = describe_exit(self._process.pid, self._process.exitcode)
            out += [
                {
                    "type": "failed",
                    "id": request_id,
                    "request": request["type"],
                    "reason": f"the inference {reason}; the next request starts a new one",
                }
                for request_id, request in self._pending.items()
            ]
            self._pending.clear()
            self._process = None
        return out
