"""The inference bridge hears the warm worker through its reply descriptor, not a timer: nothing polls while
the worker computes, and a worker killed mid-request fails the request at once through the same descriptor
(its end of file), after which the bridge watches nothing until the next request."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from hccdesk.store.project import Project
from tests.gui.conftest import put_unloadable_model

REPLY_TIMEOUT_MS = 120_000
QUIET_MS = 300
"""How long the event loop runs while the worker computes: a 10 ms polling timer would tick 30 times."""


def test_a_killed_worker_is_heard_through_its_reply_descriptor_without_polling(
    small_cohort_project: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tensorflow_stays_out
) -> None:
    from hccdesk.gui.inference_bridge import InferenceBridge
    from hccdesk.jobs.inference_messages import Failed

    with Project.open(small_cohort_project) as project:
        put_unloadable_model(project, b"the worker is killed before it reads this\n")
        bridge = InferenceBridge(project)
        worker = bridge.worker
        polls = []
        poll = worker.poll
        monkeypatch.setattr(worker, "poll", lambda: polls.append(1) or poll())
        try:
            load = bridge.warm_up()
            assert load is not None and worker.reply_fileno() is not None
            qtbot.wait(QUIET_MS)  # the worker is importing TensorFlow: it writes nothing
            assert polls == []
            assert worker.pid is not None
            log = worker.log
            with qtbot.waitSignal(bridge.replied, timeout=REPLY_TIMEOUT_MS) as blocker:
                os.kill(worker.pid, signal.SIGKILL)
            (failed,) = blocker.args
            assert isinstance(failed, Failed) and failed.id == load and failed.request == "load"
            assert "killed by SIGKILL" in failed.reason and "next request starts a new one" in failed.reason
            assert bridge.loaded_source is None and not worker.busy and worker.reply_fileno() is None
            heard = len(polls)
            qtbot.wait(QUIET_MS)  # the pipe's end of file is no longer watched: no poll after poll
            assert len(polls) == heard <= 2
            assert log is not None and str(log) in failed.reason
            log.unlink()
        finally:
            bridge.close()
        assert not tensorflow_stays_out.attempts
