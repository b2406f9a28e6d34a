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
