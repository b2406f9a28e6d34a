"""Fixtures for the GUI tests: offscreen Qt, private settings, recorded message boxes, an open main window."""

from __future__ import annotations

import importlib.abc
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GUI_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder ``gui`` (``-m "not gui"`` runs the suite without Qt widgets)."""
    for item in items:
        if GUI_TESTS in Path(item.fspath).parents:
            item.add_marker(pytest.mark.gui)


FORBIDDEN = ("tensorflow", "keras")
"""Top-level packages the GUI process must never import (docs/design/architecture.md §1.2)."""


class ImportBlocker(importlib.abc.MetaPathFinder):
    """Refuses and records imports of :data:`FORBIDDEN` packages."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            self.attempts.append(name)
            raise ImportError(f"the GUI process must not import {name} (docs/design/architecture.md §1.2)")
        return None


@pytest.fixture(autouse=True)
def tensorflow_stays_out() -> Iterator[ImportBlocker]:
    """Every GUI test runs with TensorFlow and Keras unimportable, even when other areas' tests loaded them
    into this pytest process first: they are hidden from ``sys.modules`` and put back afterwards."""
    hidden = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] in FORBIDDEN}
    blocker = ImportBlocker()
    sys.meta_path.insert(0, blocker)
    try:
        yield blocker
    finally:
        sys.meta_path.remove(blocker)
        loaded = [name for name in sys.modules if name.split(".")[0] in FORBIDDEN]
        sys.modules.update(hidden)
    assert not blocker.attempts and not loaded, f"the GUI imported {blocker.attempts or loaded}"


class DialogRecorder:
    """Stands in for QMessageBox's static functions: records each call, answers with ``answer``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.answer = None

    def kinds(self, kind: str) -> list[str]:
        return [text for k, _title, text in self.calls if k == kind]


@pytest.fixture(autouse=True)
def private_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read or write the user's settings (recent projects, geometry)."""
    monkeypatch.setenv("HCCDESK_SETTINGS", str(tmp_path / "settings.ini"))


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> DialogRecorder:
    """Message boxes record instead of blocking; ``question`` answers Yes unless ``answer`` says otherwise."""
    from PySide6 import QtWidgets

    recorder = DialogRecorder()
    box = QtWidgets.QMessageBox

    def make(kind: str, default: QtWidgets.QMessageBox.StandardButton):
        def record(_parent, title, text, *_args, **_kwargs):
            recorder.calls.append((kind, title, text))
            return recorder.answer if recorder.answer is not None and kind == "question" else default

        return staticmethod(record)

    monkeypatch.setattr(box, "critical", make("critical", box.StandardButton.Ok))
    monkeypatch.setattr(box, "warning", make("warning", box.StandardButton.Ok))
    monkeypatch.setattr(box, "information", make("information", box.StandardButton.Ok))
    monkeypatch.setattr(box, "question", make("question", box.StandardButton.Yes))
    return recorder


@pytest.fixture
def open_window(qtbot, dialogs: DialogRecorder) -> Iterator[Callable[[Path], Any]]:
    """Opens a project folder in a new, shown main window; every window it opened is closed (unsaved edits
    discarded) afterwards.  One set-up for the window on any project: the small cohort, one with a model."""
    from PySide6 import QtWidgets

    from hccdesk.gui.app import create_application
    from hccdesk.gui.main_window import MainWindow

    opened = []

    def open_folder(folder: Path):
        create_application()
        main = MainWindow(device="CPU: test")
        qtbot.addWidget(main)
        main.show()
        qtbot.waitExposed(main)
        main.files.open_path(folder)
        assert main.document is not None, dialogs.calls
        opened.append(main)
        return main

    yield open_folder
    dialogs.answer = QtWidgets.QMessageBox.StandardButton.Discard
    for main in opened:
        main.close()


@pytest.fixture
def window(open_window: Callable[[Path], Any], small_cohort_project: Path):
    """The main window with the small phantom project open."""
    return open_window(small_cohort_project)


def put_unloadable_model(project: Any, content: bytes) -> Path:
    """Give ``project`` a final model (``model-0001``, 3d-cifa) whose file holds ``content`` instead of a
    Keras archive, so a worker asked to grade with it fails (or is killed first); returns the file."""
    from hccdesk.store.records import ModelRecord

    path = Path(project.folder) / "models" / "unloadable.keras"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    record = ModelRecord(
        id="model-0001", variant="3d-cifa", config={}, path="models/unloadable.keras", lesion_ids=[]
    )
    project.put_model(record)
    return path
