"""Never freeze, never lose: a broken import is a dialog, the app and the project carry on; no TensorFlow."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from pytestqt.qtbot import QtBot

from hccdesk.gui.import_task import BackgroundTask


def test_importing_a_broken_file_shows_the_error_and_the_app_continues(
    window, qtbot: QtBot, dialogs, tmp_path: Path
) -> None:
    broken = tmp_path / "arterial.nii.gz"
    broken.write_bytes(b"this is not a NIfTI file at all")
    project = window.document.project
    studies, lesions = dict(project.studies), dict(project.lesions)
    window.files.import_study([str(broken)], "P-broken", "S-broken")
    qtbot.waitUntil(lambda: not window.files.busy, timeout=30_000)
    assert len(dialogs.kinds("critical")) == 1, dialogs.calls
    assert dict(project.studies) == studies and dict(project.lesions) == lesions
    before = window.grid.slice_index
    window.grid.step(-1)  # still responsive, same project open
    assert window.grid.slice_index == before - 1 and window.document.project is project


def test_errors_from_actions_become_dialogs(window, dialogs, tmp_path: Path) -> None:
    window.files.open_path(tmp_path / "no-such.hccdesk")
    (message,) = dialogs.kinds("critical")
    assert "no-such.hccdesk" in message
    assert window.document is not None  # the open project stays open


def test_the_gui_modules_do_not_import_tensorflow() -> None:
    code = (
        "import hccdesk.gui.main_window, hccdesk.gui.job_panel, hccdesk.gui.app, hccdesk.jobs.runner\n"
        "import sys\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.stdout.strip() == "[]"


def test_a_background_task_stops_at_its_next_step_when_cancelled(qtbot: QtBot) -> None:
    steps: list[int] = []
    release = threading.Event()

    def work(task: BackgroundTask) -> str:
        for step in range(100):
            task.check()
            steps.append(step)
            task.report(step, 100, f"step {step}")
            release.wait(5)
        return "finished"

    task = BackgroundTask(work)
    results: list[object] = []
    task.succeeded.connect(results.append)
    with qtbot.waitSignal(task.cancelled, timeout=10_000):
        task.start()
        task.cancel()
        release.set()
    task.wait()
    assert not results and len(steps) < 100
