"""A job that fails in its worker shows the CLI's one-line message in a dialog; the app carries on."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from hccdesk.jobs.messages import Finished
from tests.gui.conftest import put_unloadable_model

JOB_TIMEOUT_MS = 300_000


def test_grading_with_a_damaged_model_shows_one_line_in_a_dialog(
    window, qtbot: QtBot, dialogs, tensorflow_stays_out
) -> None:
    project = window.document.project
    put_unloadable_model(project, b"this is not a zip archive\n")
    window.jobs.grade([])
    with qtbot.waitSignal(window.jobs.job_finished, timeout=JOB_TIMEOUT_MS) as blocker:
        pass
    finished: Finished = blocker.args[0]
    assert finished.status == "failed"
    (text,) = dialogs.kinds("critical")
    assert text == finished.failure()  # the line `hccdesk grade` prints after "hccdesk: error: "
    assert "\n" not in text and "cannot load model" in text and "Traceback" not in text
    assert not project.predictions()
    assert not list((Path(project.folder) / "jobs").glob("*"))  # the failed grading left no job folder
    assert not tensorflow_stays_out.attempts
