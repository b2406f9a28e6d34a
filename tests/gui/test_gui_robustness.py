"""Never freeze, never lose: a broken import is a dialog, the app and the project carry on; no TensorFlow."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
from pytestqt.qtbot import QtBot

from hccdesk.gui.background_task import BackgroundTask
from hccdesk.imaging.nifti import write_nifti
from hccdesk.imaging.volume import Volume


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


def test_a_manifest_import_moves_the_progress_bar_and_cancel_keeps_the_finished_study(
    window, qtbot: QtBot, dialogs, tmp_path: Path, monkeypatch
) -> None:
    from PySide6 import QtCore, QtWidgets

    rows = []
    for number, study in enumerate(["G1", "G2"]):
        for phase in ("arterial", "portal"):
            # the phases differ: one image given as two phases is refused (issue 11, class 2)
            array = np.full((6, 16, 16), 100 * number + (phase == "portal"), dtype=np.int16)
            write_nifti(
                Volume(array, np.diag([1.5, 1.5, 3.0, 1.0]), phase), tmp_path / f"{study}_{phase}.nii"
            )
            rows.append(f"PG{number},{study},{phase},{study}_{phase}.nii")
    manifest = tmp_path / "cohort.csv"
    manifest.write_text("patient_id,study_id,phase,path\n" + "\n".join(rows) + "\n")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(manifest), ""))
    task = window.files.import_manifest()
    bar = window.findChild(QtWidgets.QProgressDialog).findChild(QtWidgets.QProgressBar)
    shown: list[tuple[int, int]] = []
    bar.valueChanged.connect(lambda value: shown.append((value, bar.maximum())))

    def press_cancel_while_reading_study_2(_done: int, _total: int, text: str) -> None:
        if text.startswith("Study 2 of 2 (G2): reading the arterial"):
            task.cancel()  # in the worker thread, so the stop comes at the very next step

    task.progressed.connect(press_cancel_while_reading_study_2, QtCore.Qt.ConnectionType.DirectConnection)
    qtbot.waitUntil(lambda: not window.files.busy, timeout=60_000)
    project = window.document.project
    assert "G1" in project.studies and "G2" not in project.studies
    assert not project.images_path("G2").exists() and not dialogs.kinds("critical"), dialogs.calls
    values = [value for value, _maximum in shown]
    assert values == sorted(values) and values[-1] == 3 and {m for _v, m in shown} == {6}
    assert "cancelled at study G2" in window.statusBar().currentMessage()
