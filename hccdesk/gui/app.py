"""Start the desktop app: `hccdesk`, `hccdesk PROJECT` and `hccdesk gui [PROJECT]` all end in :func:`run`.

Without a project the app reopens the last one (QSettings), or shows the welcome page that offers the demo.
The GUI process never imports TensorFlow (docs/design/architecture.md §1.2): the device jobs will use is read
from the driver.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from hccdesk.gui import settings
from hccdesk.gui.resources import app_icon, stylesheet

APP_ID = "hccdesk"
"""Desktop file name (``packaging/linux/hccdesk.desktop``): lets the window manager match windows and icon."""


def create_application(argv: list[str] | None = None) -> QtWidgets.QApplication:
    """The QApplication with the app's name, desktop id, icon and stylesheet (reused if one exists)."""
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(argv if argv is not None else sys.argv[:1])
    assert isinstance(app, QtWidgets.QApplication)
    app.setApplicationName("HCC Desk")
    app.setOrganizationName(APP_ID)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    app.setStyleSheet(stylesheet())
    return app


def create_window(project: Path | None = None, reopen_last: bool = True):
    """A shown main window that opens ``project`` (or the last one) once the event loop runs."""
    from hccdesk.device import describe_device
    from hccdesk.gui.main_window import MainWindow

    window = MainWindow()
    window.restore_geometry()
    window.show()
    target = project
    if target is None and reopen_last:
        last = settings.last_project()
        target = Path(last) if last and Path(last).is_dir() else None
    if target is not None:
        QtCore.QTimer.singleShot(0, lambda: window.files.open_path(Path(target)))
    QtCore.QTimer.singleShot(0, lambda: window.device_label.setText(f"Jobs run on {describe_device()}"))
    return window


def run(project: Path | None = None) -> int:
    """Run the app until its window closes; returns the exit status."""
    app = create_application()
    window = create_window(project)
    status = app.exec()
    del window
    return int(status)
