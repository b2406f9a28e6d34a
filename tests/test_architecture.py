"""The house rules of docs/design/architecture.md §1 that hold the code together, checked two ways.

At run time: every module of every package is imported in a fresh interpreter and the modules that loaded are
inspected (the core loads no Qt, nothing outside :mod:`hccdesk.learn` loads TensorFlow or Keras).  Statically:
the import-linter contracts in pyproject.toml (layers, Qt only in the GUI, TensorFlow only in workers) pass on
this tree and break on a deliberately misplaced import, lazy (function-level) imports included.
docs/developer/rules.md explains both.
"""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import hccdesk

PACKAGE_DIR = Path(hccdesk.__file__).parent
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

QT_ROOTS = {"PySide6", "pyqtgraph"}
TENSORFLOW_ROOTS = {"tensorflow", "keras"}


def _all_modules() -> list[str]:
    """Every module and package under :mod:`hccdesk` (walking imports only the package ``__init__``s)."""
    return sorted(info.name for info in pkgutil.walk_packages(hccdesk.__path__, "hccdesk."))


def _is_in(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def _under(package: str, modules: list[str]) -> list[str]:
    return [name for name in modules if _is_in(name, package)]


def _modules_after(code: str) -> set[str]:
    """The names in ``sys.modules`` after running ``code`` in a fresh interpreter with a bare environment."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    return set(out.stdout.split())


def _roots_after_importing(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in _modules_after("\n".join(f"import {m}" for m in modules))}


def test_the_walk_finds_modules_in_every_package() -> None:
    """Guards the tests below: a walk that found only ``__init__``s would make them pass vacuously."""
    modules = _all_modules()
    for package in ("imaging", "store", "phantom", "learn", "evaluation", "jobs", "gui"):
        assert len(_under(f"hccdesk.{package}", modules)) > 2, package
    assert {"hccdesk.cli", "hccdesk.gui.main_window", "hccdesk.jobs.worker"} <= set(modules)


def test_core_modules_load_neither_qt_nor_tensorflow() -> None:
    """Everything but the GUI and the learn package: the CLI, the store, the job owner side, the workers.

    Worker modules are named as spawn targets by the owner, so their module level must not load TensorFlow
    either; they import :mod:`hccdesk.learn` inside the functions that run in the worker process.
    """
    modules = _all_modules()
    core = [name for name in modules if not _is_in(name, "hccdesk.gui") and not _is_in(name, "hccdesk.learn")]
    loaded = _modules_after("\n".join(f"import {name}" for name in core))
    assert not {m.split(".")[0] for m in loaded} & (QT_ROOTS | TENSORFLOW_ROOTS)
    assert not {m for m in loaded if m.startswith("hccdesk.gui")}


def test_gui_modules_load_no_tensorflow() -> None:
    roots = _roots_after_importing(_under("hccdesk.gui", _all_modules()))
    assert "PySide6" in roots
    assert not roots & TENSORFLOW_ROOTS


@pytest.mark.slow
def test_learn_loads_keras_but_no_qt() -> None:
    """The learn package is where Keras lives (so the checks above can fail), and it stays Qt-free."""
    roots = _roots_after_importing(_under("hccdesk.learn", _all_modules()))
    assert "keras" in roots
    assert not roots & QT_ROOTS


def test_cli_parser_imports_nothing_heavy() -> None:
    loaded = _modules_after("from hccdesk.cli import build_parser\nbuild_parser()")
    heavy_roots = {"tensorflow", "keras", "PySide6", "pyqtgraph", "h5py", "scipy", "numpy"}
    assert not {m for m in loaded if m.split(".")[0] in heavy_roots}


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter with this project's contracts on the ``hccdesk`` package found in ``root``."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; "
            f"sys.exit(lint_imports(config_filename={str(PYPROJECT)!r}, no_cache=True))",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


def test_import_contracts_hold() -> None:
    result = _lint_imports(PACKAGE_DIR.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout


MISPLACED_IMPORTS = {
    "layers": ("hccdesk/imaging/volume.py", "from hccdesk.store import project"),
    "qt-only-in-gui": ("hccdesk/store/fsutil.py", "from PySide6 import QtCore"),
    "tensorflow-only-in-workers": ("hccdesk/gui/planes.py", "import tensorflow"),
}
"""Contract name -> (module, an import that breaks it).  Each goes inside a function: lazy imports count."""


@pytest.mark.parametrize("contract", sorted(MISPLACED_IMPORTS))
def test_a_misplaced_lazy_import_breaks_its_contract(contract: str, tmp_path: Path) -> None:
    copy = tmp_path / "hccdesk"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "_data"))
    module, statement = MISPLACED_IMPORTS[contract]
    with (tmp_path / module).open("a", encoding="utf-8") as file:
        file.write(f"\n\ndef _misplaced() -> None:\n    {statement}\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line.split(" BROKEN")[0] for line in result.stdout.splitlines() if " BROKEN" in line]
    assert broken == [_contract_names()[contract]], result.stdout
    assert statement.split()[1] in result.stdout.split("Broken contracts", 1)[1]


def _contract_names() -> dict[str, str]:
    contracts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    return {contract["id"]: contract["name"] for contract in contracts}
