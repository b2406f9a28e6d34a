"""The GUI's handle on the project's warm inference worker: requests out, replies back as Qt signals.

The worker (:class:`hccdesk.jobs.warm_worker.WarmWorker`) is a spawn process, so TensorFlow never enters
the GUI.  A timer drains its replies only while a request is outstanding; a drain costs microseconds, so the
event loop stays free while the worker computes (the stall budget of docs/design/architecture.md §9).  The
bridge is started when a project opens (the worker loads the newest run or model in the background) and
closed with the project.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore

from hccdesk.errors import InputError
from hccdesk.jobs.inference_messages import Failed
from hccdesk.jobs.warm_worker import WarmWorker
from hccdesk.store.records import Box

POLL_MS = 10
"""Drain interval while a request is outstanding: well under a frame, far from busy-waiting."""


class InferenceBridge(QtCore.QObject):
    """Emits ``replied(reply)`` for every reply, a :mod:`hccdesk.jobs.inference_messages` reply
    (:class:`~hccdesk.jobs.inference_messages.Failed` ones included, with a ``reason``)."""

    replied = QtCore.Signal(object)

    def __init__(self, project: Any, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = WarmWorker(project)
        self._timer = QtCore.QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self.poll)
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
        self._timer.stop()
        self.worker.close()

    def _track(self, request_id: int) -> int:
        if not self._timer.isActive():
            self._timer.start()
        return request_id

    def poll(self) -> None:
        for reply in self.worker.poll():
            if isinstance(reply, Failed) and reply.request == "load":
                self.loaded_source = None
            self.replied.emit(reply)
        if not self.worker.busy:
            self._timer.stop()
