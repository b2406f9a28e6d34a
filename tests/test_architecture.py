"""The rules of docs/design/architecture.md §1 that hold the house together, in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys

CORE_PACKAGES = [
    "hccdesk.cli",
    "hccdesk.errors",
    "hccdesk.device",
    "hccdesk.imaging",
    "hccdesk.store",
    "hccdesk.phantom",
    "hccdesk.learn",
    "hccdesk.jobs",
]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    return set(out.stdout.split())


def test_core_never_imports_qt() -> None:
    imports = "\n".join(f"import {name}" for name in CORE_PACKAGES)
    loaded = _modules_after(imports)
    assert not {m for m in loaded if m.startswith(("PySide6", "pyqtgraph", "hccdesk.gui"))}


def test_cli_parser_imports_nothing_heavy() -> None:
    loaded = _modules_after("from hccdesk.cli import build_parser\nbuild_parser()")
    heavy_roots = {"tensorflow", "keras", "PySide6", "pyqtgraph", "h5py", "scipy"}
    heavy = {m for m in loaded if m.split(".")[0] in heavy_roots}
    assert not heavy


def test_gui_process_never_imports_tensorflow() -> None:
    """Import every GUI module (what the app process loads) and check TensorFlow and Keras stayed out."""
    import pkgutil

    import hccdesk.gui

    names = [f"hccdesk.gui.{m.name}" for m in pkgutil.iter_modules(hccdesk.gui.__path__)]
    loaded = _modules_after("\n".join(f"import {name}" for name in names))
    assert "hccdesk.gui.main_window" in loaded
    assert not {m for m in loaded if m.split(".")[0] in {"tensorflow", "keras"}}


JOB_OWNER_MODULES = [
    "hccdesk.jobs.commands",
    "hccdesk.jobs.runner",
    "hccdesk.jobs.dispatch",
    "hccdesk.jobs.grading",
    "hccdesk.evaluation.run_tables",
    "hccdesk.jobs.snapshot",
    "hccdesk.jobs.spec",
    "hccdesk.evaluation.splits",
    "hccdesk.evaluation.metrics",
    "hccdesk.jobs.worker",
    "hccdesk.jobs.bench",
]


def test_job_owner_side_imports_neither_qt_nor_tensorflow() -> None:
    """The GUI process starts and imports jobs through these modules; TensorFlow loads only in workers."""
    loaded = _modules_after("\n".join(f"import {name}" for name in JOB_OWNER_MODULES))
    assert not {m.split(".")[0] for m in loaded} & {"PySide6", "pyqtgraph", "tensorflow", "keras"}


def test_worker_side_loads_keras_but_no_qt() -> None:
    loaded = {m.split(".")[0] for m in _modules_after("import hccdesk.jobs.callbacks, hccdesk.jobs.worker")}
    assert "keras" in loaded
    assert not loaded & {"PySide6", "pyqtgraph"}
