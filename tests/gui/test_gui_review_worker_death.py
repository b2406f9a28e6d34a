"""The warm worker killed while idle (the out-of-memory killer, a user's ``kill -9``): no request is pending,
so no reply would say so; the window tells the user once and loads a new worker at once, so the next live
grade does not wait for TensorFlow's import.  TensorFlow stays out of this process (the autouse fixture)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.gui.conftest import put_unloadable_model

WORKER_TIMEOUT_MS = 300_000
"""A worker imports TensorFlow before it answers: generous on a loaded 2-core machine."""


@pytest.mark.slow  # two workers import TensorFlow
def test_a_worker_killed_between_requests_is_reported_once_and_replaced_at_once(
    open_window, small_cohort_project: Path, qtbot: QtBot, dialogs
) -> None:
    window = open_window(small_cohort_project)
    worker = window.review.bridge.worker
    assert worker.starts == 0  # no run or model yet: nothing to warm
    put_unloadable_model(window.document.project, b"not a Keras archive\n")  # a model: the worker starts
    qtbot.waitUntil(lambda: worker.alive and not worker.busy, timeout=WORKER_TIMEOUT_MS)  # its load answered
    os.kill(worker.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: worker.starts == 2, timeout=WORKER_TIMEOUT_MS)
    message = window.statusBar().currentMessage()
    assert "killed by SIGKILL" in message and "starting a new one" in message, message
    assert worker.alive and worker.died_idle is None  # heard once
    assert not dialogs.calls  # a status line, not a dialog: nothing the user asked for failed
