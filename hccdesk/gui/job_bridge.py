"""Follow a background job from the Qt event loop: a QTimer drains ``JobHandle.poll()`` and imports results.

The job runs in the jobs layer's spawn worker (TensorFlow never enters this process); the GUI, as the
project's single writer, imports each finished fold and the final state with
:func:`hccdesk.jobs.runner.import_results`, so a cancelled run keeps its finished folds.  Polling takes a few
microseconds when nothing arrived, which keeps the event loop free (docs/design/architecture.md §9:
stall p99 < 50 ms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtCore

from hccdesk.jobs.messages import Finished, TaskEnded

if TYPE_CHECKING:
    from hccdesk.jobs.runner import JobHandle
    from hccdesk.store.project import Project

POLL_MS = 100


class JobBridge(QtCore.QObject):
    """Emits every message of ``handle`` (a :mod:`hccdesk.jobs.messages` object); ``finished`` carries the
    final :class:`~hccdesk.jobs.messages.Finished`."""

    message = QtCore.Signal(object)
    finished = QtCore.Signal(object)
    import_failed = QtCore.Signal(object)  # exception raised while storing results

    def __init__(self, project: Project, handle: JobHandle, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.handle = handle
        self._timer = QtCore.QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._timer.start()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def cancel(self) -> None:
        self.handle.cancel()

    def poll(self) -> None:
        from hccdesk.jobs.runner import import_results

        for message in self.handle.poll():
            if isinstance(message, TaskEnded | Finished):
                try:
                    import_results(self.project, message)
                except Exception as error:  # shown by the owner; the job files stay
                    self.import_failed.emit(error)
            self.message.emit(message)
            if isinstance(message, Finished):
                self._timer.stop()
                self.finished.emit(message)

    def wait(self, timeout_s: float = 60.0) -> None:
        """Cancel and drain until the job has ended (the window is closing; workers must not outlive it)."""
        deadline = QtCore.QDeadlineTimer(int(timeout_s * 1000))
        if self.running:
            self.handle.cancel()
        while self.running and not deadline.hasExpired():
            self.poll()
            QtCore.QThread.msleep(50)
