"""Long work off the GUI thread: a cancellable background task with progress and a modal progress dialog.

Imports (scan, decode, resample, write ``images/*.h5``) and building the demo take seconds to minutes, so they
run in a QThread while a window-modal progress dialog keeps the user from editing the project underneath
(the project has one writer).  Cancel is honoured where the work calls :meth:`BackgroundTask.check`, or where
a store function polls :meth:`BackgroundTask.cancel_requested` (imports take it as ``cancelled=`` and report
through ``progress=task.report``), between steps: a step that writes (a study into the project) always
finishes, so nothing is left half-written, and what it wrote is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtWidgets

from hccdesk.errors import JobCancelled

Report = Callable[[int, int, str], None]
"""``report(done, total, text)``; ``total`` 0 means indeterminate."""


class TaskCancelledError(JobCancelled):
    """Raised by :meth:`BackgroundTask.check` inside a task's function when the user pressed Cancel."""

    def __init__(self) -> None:
        super().__init__("Cancelled")


class BackgroundTask(QtCore.QThread):
    """Runs ``function(task)`` in a thread; the function calls ``task.report(...)`` and ``task.check()``."""

    progressed = QtCore.Signal(int, int, str)
    succeeded = QtCore.Signal(object)
    failed = QtCore.Signal(object)  # the exception
    cancelled = QtCore.Signal(str)  # what was stopped and what was kept

    def __init__(
        self, function: Callable[[BackgroundTask], Any], parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._function = function
        self._cancel = threading.Event()

    def report(self, done: int, total: int, text: str) -> None:
        self.progressed.emit(done, total, text)

    def cancel(self) -> None:
        self._cancel.set()

    def cancel_requested(self) -> bool:
        """Whether the user pressed Cancel (for work that stops on its own, raising JobCancelled)."""
        return self._cancel.is_set()

    def check(self) -> None:
        """Stop here if the user cancelled (call it between steps)."""
        if self.cancel_requested():
            raise TaskCancelledError

    def run(self) -> None:
        try:
            result = self._function(self)
        except JobCancelled as stop:
            self.cancelled.emit(str(stop))
        except Exception as error:
            self.failed.emit(error)
        else:
            self.succeeded.emit(result)


def run_with_progress(
    parent: QtWidgets.QWidget,
    title: str,
    function: Callable[[BackgroundTask], Any],
    on_success: Callable[[Any], None],
    on_failure: Callable[[BaseException], None],
    on_finished: Callable[[], None] | None = None,
    on_cancelled: Callable[[str], None] | None = None,
) -> BackgroundTask:
    """Start ``function`` in a :class:`BackgroundTask` behind a window-modal progress dialog with Cancel.

    The callbacks run in the GUI thread (queued connections: a plain function connected to a signal emitted
    by the worker thread would otherwise run in that thread).  ``on_cancelled(message)`` runs when the work
    stopped on Cancel; ``on_finished`` runs last, after success, failure or cancel; the task object is
    deleted after it.
    """
    dialog = QtWidgets.QProgressDialog(title, "Cancel", 0, 0, parent)
    dialog.setWindowTitle(title)
    dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    task = BackgroundTask(function, parent)
    queued = QtCore.Qt.ConnectionType.QueuedConnection

    closed = threading.Event()

    def progressed(done: int, total: int, text: str) -> None:
        # Reports still queued when the task ends arrive after the dialog is gone; and setValue, last here,
        # runs the event loop (the dialog is modal), which may end the task and delete the dialog under it.
        if closed.is_set():
            return
        dialog.setLabelText(text)
        dialog.setMaximum(total)
        dialog.setValue(done)

    def finished() -> None:
        closed.set()
        dialog.canceled.disconnect(task.cancel)
        dialog.close()
        dialog.deleteLater()
        if on_finished is not None:
            on_finished()
        task.deleteLater()

    task.progressed.connect(progressed, queued)
    task.succeeded.connect(on_success, queued)
    task.failed.connect(on_failure, queued)
    if on_cancelled is not None:
        task.cancelled.connect(on_cancelled, queued)
    task.finished.connect(finished, queued)
    dialog.canceled.connect(task.cancel)
    dialog.show()
    task.start()
    return task
