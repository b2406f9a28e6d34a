"""Where the files that ship beside the code live: in a source checkout and in an installed wheel or bundle.

A checkout keeps them at the top of the repository (``models/``, ``assets/``, ``packaging/linux/``); the wheel
force-includes the same folders as ``hccdesk/_data/<name>`` (``pyproject.toml``) and the PyInstaller bundle
copies them to the same place, so one lookup serves all three.  Qt-free, so the core can use it.
"""

from __future__ import annotations

from pathlib import Path

from hccdesk.errors import HccdeskError

_PACKAGE = Path(__file__).resolve().parent
CHECKOUT_FOLDERS: dict[str, str] = {"models": "models", "assets": "assets", "linux": "packaging/linux"}
"""Each shipped folder's place in a source checkout; installed, it is ``hccdesk/_data/<name>``."""


def package_data_dir(name: str) -> Path:
    """The folder ``name`` (a key of :data:`CHECKOUT_FOLDERS`): the checkout's copy, else the installed one.

    Raises
    ------
    HccdeskError
        Neither exists: the installation is incomplete, which the message says.
    """
    candidates = (_PACKAGE / "_data" / name,)
    if (_PACKAGE.parent / "pyproject.toml").is_file():  # a checkout; site-packages may hold a stray models/
        candidates = (_PACKAGE.parent / CHECKOUT_FOLDERS[name], *candidates)
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise HccdeskError(
        f"HCC Desk's {name} folder is missing (looked in {', '.join(map(str, candidates))}); "
        "reinstall HCC Desk"
    )
