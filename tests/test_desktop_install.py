"""``hccdesk desktop-install``: the menu entry, icons and MIME type land where freedesktop.org's specs say,
are valid, and ``--uninstall`` removes exactly them.  All under a temporary ``XDG_DATA_HOME``."""

from __future__ import annotations

import configparser
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hccdesk.desktop_install import MIME_TYPE, data_home, desktop_entry, desktop_files, install, uninstall

MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def _tree(folder: Path) -> set[Path]:
    return {path.relative_to(folder) for path in folder.rglob("*") if path.is_file()}


def _fake_tools(folder: Path, log: Path) -> dict[str, str]:
    """``update-mime-database`` and ``update-desktop-database`` stand-ins that record their arguments."""
    folder.mkdir()
    for tool in ("update-mime-database", "update-desktop-database"):
        script = folder / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        script.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def _desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive in the Desktop Entry specification
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_data_home_follows_the_base_directory_spec(tmp_path: Path) -> None:
    assert data_home({"XDG_DATA_HOME": str(tmp_path), "HOME": "/home/u"}) == tmp_path
    assert data_home({"XDG_DATA_HOME": "", "HOME": "/home/u"}) == Path("/home/u/.local/share")
    assert data_home({"XDG_DATA_HOME": "relative/dir", "HOME": "/home/u"}) == Path("/home/u/.local/share")


def test_install_writes_valid_files_where_the_specs_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "share"
    log = tmp_path / "tools.log"
    for key, value in _fake_tools(tmp_path / "bin", log).items():
        monkeypatch.setenv(key, value)

    written, ran = install(home)

    expected = {Path("applications/hccdesk.desktop"), Path("mime/packages/hccdesk.xml")}
    expected |= {Path("icons/hicolor/scalable/apps/hccdesk.svg")}
    sizes = (16, 22, 24, 32, 48, 64, 128, 256)
    expected |= {Path(f"icons/hicolor/{n}x{n}/apps/hccdesk.png") for n in sizes}
    assert {path.relative_to(home) for path in written} == expected == _tree(home)

    entry = _desktop_entry(home / "applications/hccdesk.desktop")
    assert entry["Type"] == "Application" and entry["Icon"] == "hccdesk" and entry["Name"] == "HCC Desk"
    command = entry["Exec"].removesuffix(" %f")
    assert entry["Exec"].endswith(" %f") and Path(command.split()[0]).is_absolute()
    assert os.access(entry["TryExec"], os.X_OK)
    assert MIME_TYPE in entry["MimeType"].split(";")
    for n in sizes:
        assert _png_size(home / f"icons/hicolor/{n}x{n}/apps/hccdesk.png") == (n, n)
    assert ET.parse(home / "icons/hicolor/scalable/apps/hccdesk.svg").getroot().tag.endswith("svg")

    mime = ET.parse(home / "mime/packages/hccdesk.xml").getroot()
    assert mime.tag == f"{MIME_NS}mime-info"
    mime_type = mime.find(f"{MIME_NS}mime-type")
    assert mime_type is not None and mime_type.get("type") == MIME_TYPE
    assert [g.get("pattern") for g in mime_type.iter(f"{MIME_NS}glob")] == ["*.hccdesk"]

    assert ran == [
        f"update-mime-database {home / 'mime'}",
        f"update-desktop-database {home / 'applications'}",
    ]
    assert log.read_text().splitlines() == ran


def test_uninstall_removes_exactly_what_install_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "share"
    for key, value in _fake_tools(tmp_path / "bin", tmp_path / "tools.log").items():
        monkeypatch.setenv(key, value)
    theirs = [home / "applications/other.desktop", home / "icons/hicolor/48x48/apps/other.png"]
    for path in theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("another application's file")
    before = _tree(home)

    written, _ = install(home)
    removed, ran = uninstall(home)

    assert sorted(removed) == sorted(written)
    assert _tree(home) == before
    assert len(ran) == 2
    assert uninstall(home)[0] == []


def test_exec_line_quotes_paths_with_spaces() -> None:
    template = "[Desktop Entry]\nExec=hccdesk %f\nTryExec=hccdesk\nName=HCC Desk\n"
    text = desktop_entry(template, ["/opt/HCC Desk/bin/hccdesk"])
    assert 'Exec="/opt/HCC Desk/bin/hccdesk" %f' in text
    assert "TryExec=/opt/HCC Desk/bin/hccdesk" in text


def test_every_source_file_ships() -> None:
    for item in desktop_files():
        assert item.source.is_file(), item.source


@pytest.mark.skipif(shutil.which("update-mime-database") is None, reason="shared-mime-info is not installed")
def test_the_real_mime_database_learns_and_forgets_the_project_type(tmp_path: Path) -> None:
    home = tmp_path / "share"
    install(home)
    assert f"{MIME_TYPE}:*.hccdesk" in (home / "mime/globs2").read_text()
    uninstall(home)
    assert MIME_TYPE not in (home / "mime/globs2").read_text()


def test_cli_twin_installs_and_uninstalls(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    command = [sys.executable, "-m", "hccdesk", "desktop-install"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert f"installed {tmp_path / 'share' / 'applications' / 'hccdesk.desktop'}" in done.stdout
    done = subprocess.run([*command, "--uninstall"], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.count("removed ") == len(desktop_files())
    assert not (tmp_path / "share" / "applications" / "hccdesk.desktop").exists()
