"""The owner side of jobs imports neither Qt nor TensorFlow (the GUI process runs it)."""

from __future__ import annotations

import subprocess
import sys

OWNER_MODULES = [
    "hccdesk.jobs.commands",
    "hccdesk.jobs.runner",
    "hccdesk.jobs.dispatch",
    "hccdesk.jobs.grading",
    "hccdesk.jobs.report",
    "hccdesk.jobs.snapshot",
    "hccdesk.jobs.spec",
    "hccdesk.jobs.splits",
    "hccdesk.jobs.metrics",
    "hccdesk.jobs.worker",
    "hccdesk.jobs.bench",
]


def _loaded(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return {m.split(".")[0] for m in out.stdout.split()}


def test_owner_modules_import_no_qt_and_no_tensorflow() -> None:
    loaded = _loaded("\n".join(f"import {name}" for name in OWNER_MODULES))
    assert not loaded & {"PySide6", "pyqtgraph", "tensorflow", "keras"}


def test_worker_side_imports_no_qt() -> None:
    loaded = _loaded("import hccdesk.jobs.callbacks, hccdesk.jobs.worker")
    assert "keras" in loaded
    assert not loaded & {"PySide6", "pyqtgraph"}
