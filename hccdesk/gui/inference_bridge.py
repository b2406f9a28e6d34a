"""The GUI's handle on the project's warm inference worker: requests out, replies back as Qt signals.

The worker (:class:`hccdesk.jobs.warm_worker.WarmWorker`) is a spawn process, so TensorFlow never enters
the GUI.  Its replies arrive on a pipe (:mod:`hccdesk.jobs.reply_pipe`) whose descriptor a
``QSocketNotifier`` watches: the event loop reads a reply the moment the worker writes it (no timer tick to
wait for, which cost 5 ms of a 100 ms grade on average) and does nothing at all while the worker computes
(the stall budget of docs/design/architecture.md §9).  A worker that dies closes its end of the pipe, which
the notifier sees too: its pending requests fail at once, with no liveness timer.  The bridge is started
when a project opens (the worker loads the newest run or model in the background) and closed with the
project.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore

from hccdesk.errors import InputError
from hccdesk.jobs.inference_messages import Failed
from hccdesk.jobs.warm_worker import WarmWorker
from hccdesk.store.records import Box


class InferenceBridge(QtCore.QObject):
    """Emits ``replied(reply)`` for every reply, a :mod:`hccdesk.jobs.inference_messages` reply
    (:class:`~hccdesk.jobs.inference_messages.Failed` ones included, with a ``reason``), and
    ``died_idle(how)`` when the worker ended with no request pending (no reply would say so)."""

    replied = QtCore.Signal(object)
    died_idle = QtCore.Signal(str)  # how a worker with no request pending ended ("... killed by SIGKILL")

    def __init__(self, project: Any, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = WarmWorker(project)
        self._notifier: QtCore.QSocketNotifier | None = None
        self._watched: tuple[int, int] | None = None  # (worker start, descriptor) the notifier watches
        self.loaded_source: str | None = None

    @property
    def has_source(self) -> bool:
        """True when the project has a finished run or a final model to grade with."""
        try:
            self.worker.source()
        except InputError:
            return False
        return True

    def warm_up(self) -> int | None:
        """Start the worker and load the newest source; returns the load request's id, or None when that
        source is loaded already or the project has none."""
        if not self.has_source:
            return None
        source = self.worker.source()["source_id"]
        if source == self.loaded_source and self.worker.alive:
            return None
        self.loaded_source = source
        return self._track(self.worker.load())

    def grade(self, lesions: dict[str, tuple[str, Box]]) -> int:
        """Grade boxes ``{lesion_id: (study_id, box)}`` with the newest source; returns the request id."""
        return self._track(self.worker.grade(lesions))

    def explain(self, study_id: str, box: Box, voxel: tuple[int, int, int] | None = None) -> int:
        return self._track(self.worker.explain(study_id, box, voxel))

    def cancel(self) -> None:
        """Stop the grades in progress (see :meth:`WarmWorker.cancel`); each replies ``Cancelled``."""
        self.worker.cancel()

    def close(self) -> None:
        self._stop_watching()
        self.worker.close()

    def _track(self, request_id: int) -> int:
        self._watch_replies()  # the request may have started a worker
        return request_id

    def _watch_replies(self) -> None:
        """Watch the running worker's reply descriptor: a new one after a (re)start, none once it ended
        (a closed pipe would read as end of file forever)."""
        descriptor = self.worker.reply_fileno()
        watched = None if descriptor is None else (self.worker.starts, descriptor)
        if watched == self._watched:
            return
        self._stop_watching()
        if descriptor is not None:
            self._notifier = QtCore.QSocketNotifier(descriptor, QtCore.QSocketNotifier.Type.Read, self)
            self._notifier.activated.connect(self.poll)
            self._watched = watched

    def _stop_watching(self) -> None:
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
        self._notifier, self._watched = None, None

    def poll(self) -> None:
        """Emit the replies that have arrived (the notifier calls this when the worker writes or ends)."""
        replies = self.worker.poll()
        self._watch_replies()  # before the replies' slots run: one may start a new worker
        for reply in replies:
            if isinstance(reply, Failed) and reply.request == "load":
                self.loaded_source = None
            self.replied.emit(reply)
        how, self.worker.died_idle = self.worker.died_idle, None
        if how is not None:
            self.loaded_source = None
            self.died_idle.emit(how)
