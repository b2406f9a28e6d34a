"""``hccdesk screenshot OUTDIR``: render the main window in the states the README shows.

States: the demo open with a lesion selected (axial and coronal), cross-validation results with the per-fold
table and ROC curves, and the lesion table after Grade.  The project is copied to a temporary folder first, so
the smoke CV run made for the pictures never lands in the user's project.  ``QWidget.grab`` renders offscreen.
Nobody is there to answer a dialog, so a modal message box is answered "no" as it opens; an error box (a
failed job, a refused file) also ends the command with its text, instead of leaving an invisible window
waiting for ever.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from hccdesk.errors import HccdeskError

WINDOW_SIZE = (1600, 1000)
CV_TIMEOUT_MS = 900_000


DIALOG_POLL_MS = 200


class _DialogWatch(QtCore.QObject):
    """Answers any modal message box "no" shortly after it opens and keeps the text of error boxes."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self._close_dialog)
        self._timer.start(DIALOG_POLL_MS)

    def _close_dialog(self) -> None:
        dialog = QtWidgets.QApplication.activeModalWidget()
        if isinstance(dialog, QtWidgets.QMessageBox):
            if dialog.icon() == QtWidgets.QMessageBox.Icon.Critical:
                self.messages.append(f"{dialog.windowTitle()}: {dialog.text()}")
            dialog.reject()

    def raise_if_any(self) -> None:
        """Raise the first dialog's text as the command's one-line error."""
        if self.messages:
            raise HccdeskError("screenshot stopped at a dialog: " + " ".join(self.messages[0].split()))


def _wait(signal, timeout_ms: int) -> None:
    loop = QtCore.QEventLoop()
    signal.connect(loop.quit)
    QtCore.QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def _settle(app, rounds: int = 10) -> None:
    for _ in range(rounds):
        app.processEvents()


def take_screenshots(outdir: Path, project: Path | None = None, cv: str = "smoke") -> list[Path]:
    """Write the PNGs into ``outdir`` and return their paths (see the module docstring)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from hccdesk.gui.app import create_application
    from hccdesk.gui.main_window import MainWindow

    outdir.mkdir(parents=True, exist_ok=True)
    settings_before = os.environ.get("HCCDESK_SETTINGS")
    with tempfile.TemporaryDirectory(prefix="hccdesk-shots-") as scratch:
        os.environ["HCCDESK_SETTINGS"] = str(Path(scratch) / "settings.ini")  # the user's stay untouched
        copy = Path(scratch) / "demo.hccdesk"
        if project is None:
            from hccdesk.phantom.demo import build_demo

            build_demo(copy, lesions=16, preset="small", seed=1)
        else:
            shutil.copytree(project, copy, ignore=shutil.ignore_patterns("lock"))
        app = create_application()
        window = MainWindow(device=_device())
        window.resize(*WINDOW_SIZE)
        window.show()
        dialogs = _DialogWatch()
        window.files.open_path(copy)
        dialogs.raise_if_any()
        written = _viewer_shots(app, window, outdir)
        if cv == "smoke" and not any(r.status == "done" for r in window.document.project.runs.values()):
            _run_smoke_cv(window)
            dialogs.raise_if_any()
        written += _cv_shots(app, window, outdir)
        written += _graded_shot(app, window, outdir)
        dialogs.raise_if_any()
        window.document.save()  # the temporary copy: closing then asks nothing
        window.close()
    if settings_before is None:
        os.environ.pop("HCCDESK_SETTINGS", None)
    else:
        os.environ["HCCDESK_SETTINGS"] = settings_before
    return written


def _device() -> str:
    from hccdesk.device import describe_device

    return describe_device()


def _viewer_shots(app, window, outdir: Path) -> list[Path]:
    document = window.document
    lesions = sorted(
        document.project.lesions.values(), key=lambda lesion: lesion.box.size[1] * lesion.box.size[2]
    )
    if lesions:
        document.select(lesions[len(lesions) // 2].id)  # a typical lesion: the median in-plane size
    _settle(app)
    window.grid.hovered.emit(window.grid.cursor)
    paths = [outdir / "main-window.png", outdir / "coronal.png"]
    window.grab().save(str(paths[0]))
    window.axis_actions.actions()[1].trigger()
    _settle(app)
    window.grab().save(str(paths[1]))
    window.axis_actions.actions()[0].trigger()
    return paths


def _run_smoke_cv(window) -> None:
    panel = window.jobs
    panel.set_variants(["2d-local", "3d-cifa"])
    panel.folds_spin.setValue(4)
    panel.repeats_spin.setValue(1)
    panel.profile_combo.setCurrentText("smoke")
    panel.run_cv()
    _wait(panel.job_finished, CV_TIMEOUT_MS)


def _graded_shot(app, window, outdir: Path) -> list[Path]:
    """Grade every lesion with the newest run's fold ensemble and show the coloured P(high) column."""
    if not window.document.project.runs:
        return []
    window.browser.table.clearSelection()
    window.jobs.grade([])
    _wait(window.jobs.job_finished, CV_TIMEOUT_MS)
    window.resizeDocks([window.bottom_dock], [220], QtCore.Qt.Orientation.Vertical)
    window.resizeDocks([window.left_dock], [470], QtCore.Qt.Orientation.Horizontal)
    _settle(app)
    window.reset_zoom()
    _settle(app)
    path = outdir / "graded.png"
    window.grab().save(str(path))
    return [path]


def _cv_shots(app, window, outdir: Path) -> list[Path]:
    panel = window.jobs
    window.right_dock.hide()
    window.resizeDocks([window.bottom_dock], [560], QtCore.Qt.Orientation.Vertical)
    _settle(app)
    window.reset_zoom()
    panel.runs_list.selectAll()
    paths = []
    for tab, name in ((1, "cv-results.png"), (3, "cv-roc.png")):
        panel.results_tabs.setCurrentIndex(tab)
        _settle(app)
        path = outdir / name
        window.grab().save(str(path))
        paths.append(path)
    window.right_dock.show()
    return paths
