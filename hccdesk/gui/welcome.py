"""The page shown when no project is open: open the demo, open or create a project, recent projects."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets


class WelcomePage(QtWidgets.QWidget):
    """Big buttons for the first minute: the demo is one click away."""

    demo_requested = QtCore.Signal()
    open_requested = QtCore.Signal()
    new_requested = QtCore.Signal()
    recent_requested = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QtWidgets.QVBoxLayout(self)
        outer.addStretch(1)
        title = QtWidgets.QLabel("HCC Desk")
        title.setObjectName("welcomeTitle")
        title.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(title)
        blurb = QtWidgets.QLabel(
            "Draw 3D boxes around liver lesions on multi-phase MR, record their Edmondson grade,\n"
            "and grade them with the local + non-local deep feature fusion network."
        )
        blurb.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(blurb)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        for text, signal in (
            ("Open the demo project", self.demo_requested),
            ("Open project…", self.open_requested),
            ("New project…", self.new_requested),
        ):
            button = QtWidgets.QPushButton(text)
            button.setMinimumHeight(36)
            button.clicked.connect(signal)
            buttons.addWidget(button)
        buttons.addStretch(1)
        outer.addLayout(buttons)
        self.recent = QtWidgets.QListWidget()
        self.recent.setMaximumWidth(600)
        self.recent.itemActivated.connect(lambda item: self.recent_requested.emit(item.text()))
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.recent)
        row.addStretch(1)
        outer.addWidget(QtWidgets.QLabel("Recent projects"), 0, QtCore.Qt.AlignmentFlag.AlignHCenter)
        outer.addLayout(row)
        outer.addStretch(2)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for path in paths:
            if Path(path).exists():
                self.recent.addItem(path)
