"""``hccdesk desktop-install [--uninstall]``: put HCC Desk in the user's application menu, or take it out.

Everything goes where freedesktop.org's specifications say a user's own data go, under ``$XDG_DATA_HOME``
(``~/.local/share`` when unset, empty or relative, as the Base Directory specification requires):

* ``applications/hccdesk.desktop``: the menu entry (Desktop Entry specification).  ``Exec`` and ``TryExec``
  name the absolute path of the ``hccdesk`` that runs this command, so the entry works for a virtual
  environment or a bundle that is not on the menu's ``PATH``;
* ``icons/hicolor/<N>x<N>/apps/hccdesk.png`` for every rendered size and ``icons/hicolor/scalable/apps/
  hccdesk.svg`` (Icon Theme specification: the fallback theme every desktop reads);
* ``mime/packages/hccdesk.xml``: the ``inode/x-hccdesk-project`` type for ``*.hccdesk`` project folders
  (shared-mime-info specification), so the menu entry can be offered for them.

The databases are refreshed with ``update-mime-database`` and ``update-desktop-database`` when they are
installed (desktops without them rescan by themselves).  The icon cache is left alone:
``gtk-update-icon-cache`` would add a file that is not ours, and an outdated cache is ignored anyway.
``--uninstall`` removes exactly the files the install writes and refreshes the databases again; folders stay,
since other applications share them.
The source files are ``assets/icons`` and ``packaging/linux`` (shipped in the wheel as ``hccdesk/_data``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hccdesk.errors import HccdeskError
from hccdesk.package_data import package_data_dir

APP_ID = "hccdesk"
MIME_TYPE = "inode/x-hccdesk-project"


@dataclass(frozen=True)
class DesktopFile:
    """One file the install writes: where it comes from, where it goes (relative to the data home)."""

    source: Path
    target: Path


def data_home(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME`` if it is an absolute path, else ``~/.local/share`` (Base Directory spec)."""
    value = environ.get("XDG_DATA_HOME", "")
    if value and Path(value).is_absolute():
        return Path(value)
    return Path(environ.get("HOME") or Path.home()) / ".local" / "share"


def desktop_files() -> list[DesktopFile]:
    """Every file the install writes, in the order it writes them; the icon sizes are those rendered in
    ``assets/icons`` (``hccdesk-<N>.png``)."""
    icons = package_data_dir("assets") / "icons"
    linux = package_data_dir("linux")
    files = [DesktopFile(linux / f"{APP_ID}.desktop", Path("applications") / f"{APP_ID}.desktop")]
    for png in sorted(icons.glob(f"{APP_ID}-*.png"), key=lambda path: int(path.stem.rsplit("-", 1)[1])):
        size = png.stem.rsplit("-", 1)[1]
        files.append(DesktopFile(png, Path("icons/hicolor") / f"{size}x{size}" / "apps" / f"{APP_ID}.png"))
    files.append(DesktopFile(icons / f"{APP_ID}.svg", Path("icons/hicolor/scalable/apps") / f"{APP_ID}.svg"))
    files.append(DesktopFile(linux / f"{APP_ID}-mime.xml", Path("mime/packages") / f"{APP_ID}.xml"))
    return files


def launcher_command() -> list[str]:
    """The command that starts this HCC Desk: the bundle's executable, the ``hccdesk`` script beside this
    interpreter (a virtual environment), the one on ``PATH``, or ``python -m hccdesk`` as the last resort."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    beside = Path(sys.executable).parent / APP_ID
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    on_path = shutil.which(APP_ID)
    if on_path:
        return [str(Path(on_path).resolve())]
    return [sys.executable, "-m", APP_ID]


def _quote_exec_argument(argument: str) -> str:
    """Quote one ``Exec`` argument as the Desktop Entry specification requires (reserved characters)."""
    if not any(c in argument for c in " \t\n\"'\\><~|&;$*?#()`"):
        return argument
    escaped = argument.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def desktop_entry(template: str, command: list[str]) -> str:
    """The template with ``Exec``/``TryExec`` pointing at ``command`` (the ``%f`` field code is kept)."""
    exec_line = " ".join(_quote_exec_argument(part) for part in command)
    lines = []
    for line in template.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_line} %f"
        elif line.startswith("TryExec="):
            line = f"TryExec={command[0]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _refresh_databases(home: Path) -> list[str]:
    """Run the database tools that are installed; return the command lines that ran."""
    ran = []
    for tool, folder in (
        ("update-mime-database", home / "mime"),
        ("update-desktop-database", home / "applications"),
    ):
        executable = shutil.which(tool)
        if executable is None or not folder.is_dir():
            continue
        result = subprocess.run([executable, str(folder)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise HccdeskError(f"{tool} {folder} failed: {result.stderr.strip() or result.returncode}")
        ran.append(f"{tool} {folder}")
    return ran


def install(home: Path | None = None) -> tuple[list[Path], list[str]]:
    """Write the menu entry, icons and MIME type for this user; return the files written and the tools run."""
    home = data_home() if home is None else home
    written = []
    try:
        for item in desktop_files():
            target = home / item.target
            target.parent.mkdir(parents=True, exist_ok=True)
            if item.source.suffix == ".desktop":
                text = desktop_entry(item.source.read_text(encoding="utf-8"), launcher_command())
                target.write_text(text, encoding="utf-8")
                target.chmod(0o755)  # some desktops only launch entries that are marked executable
            else:
                shutil.copyfile(item.source, target)
            written.append(target)
    except OSError as error:
        raise HccdeskError(f"cannot install the desktop entry under {home}: {error}") from error
    return written, _refresh_databases(home)


def uninstall(home: Path | None = None) -> tuple[list[Path], list[str]]:
    """Remove exactly the files :func:`install` writes; return those that existed and the tools run."""
    home = data_home() if home is None else home
    removed = []
    try:
        for item in desktop_files():
            target = home / item.target
            if target.is_file():
                target.unlink()
                removed.append(target)
    except OSError as error:
        raise HccdeskError(f"cannot remove the desktop entry under {home}: {error}") from error
    return removed, _refresh_databases(home)


def _run(args: argparse.Namespace) -> int:
    paths, ran = uninstall() if args.uninstall else install()
    verb = "removed" if args.uninstall else "installed"
    for path in paths:
        print(f"{verb} {path}")
    for command in ran:
        print(f"ran {command}")
    if args.uninstall and not paths:
        print("nothing to remove: HCC Desk was not in this user's menu")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``desktop-install``."""
    parser = subparsers.add_parser(
        "desktop-install",
        help="add HCC Desk to this user's application menu (menu entry, icons, project MIME type)",
        description="Install the menu entry, the icons and the MIME type of .hccdesk project folders under "
        "$XDG_DATA_HOME (default ~/.local/share), as freedesktop.org's specifications say.",
    )
    parser.add_argument("--uninstall", action="store_true", help="remove exactly the files the install wrote")
    parser.set_defaults(handler=_run)
