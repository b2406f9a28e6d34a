"""The CLI side of the app: routing and a clear error for a missing project, without starting Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_missing_project_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.hccdesk"
    out = subprocess.run(
        [sys.executable, "-m", "hccdesk", str(missing)],
        capture_output=True,
        text=True,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("hccdesk: error: no project folder at") and "Traceback" not in out.stderr


def test_gui_screenshot_and_bench_commands_are_registered() -> None:
    from hccdesk.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["gui", "x.hccdesk"]).project == "x.hccdesk"
    assert parser.parse_args(["screenshot", "out"]).outdir == "out"
    assert parser.parse_args(["bench", "gui", "--json"]).json


def test_screenshot_renders_the_viewer_and_results_states(
    qtbot, small_cohort_template: Path, tmp_path: Path
) -> None:
    from PySide6 import QtGui

    from hccdesk.gui.screenshot import take_screenshots

    saved = (small_cohort_template / "project.h5").stat().st_mtime_ns
    written = take_screenshots(tmp_path / "shots", small_cohort_template, cv="none")
    assert [p.name for p in written] == ["main-window.png", "coronal.png", "cv-results.png", "cv-roc.png"]
    for path in written:
        image = QtGui.QImage(str(path))
        assert (image.width(), image.height()) == (1600, 1000)
    assert (
        small_cohort_template / "project.h5"
    ).stat().st_mtime_ns == saved  # a copy was shown, not the project


def test_screenshot_answers_an_error_dialog_and_ends_with_its_text(qtbot) -> None:
    """Offscreen nobody can click: an error box (a failed job) must end the command, not wait for ever."""
    import pytest
    from PySide6 import QtCore

    from hccdesk.errors import HccdeskError
    from hccdesk.gui.dialogs import show_error
    from hccdesk.gui.screenshot import _DialogWatch

    watch = _DialogWatch()
    QtCore.QTimer.singleShot(0, lambda: show_error(None, "Job failed", "the worker stopped"))
    qtbot.waitUntil(lambda: bool(watch.messages), timeout=10_000)
    with pytest.raises(HccdeskError, match="Job failed: the worker stopped"):
        watch.raise_if_any()
