"""The app's assets (icons, window/level presets, stylesheet), found through :mod:`hccdesk.package_data` in a
checkout, a wheel or a bundle alike."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PySide6 import QtCore, QtGui

from hccdesk.package_data import package_data_dir

ICON_SIZES: tuple[int, ...] = (16, 22, 24, 32, 48, 64, 128, 256)


def assets_dir() -> Path:
    """The assets folder (checkout first, then the installed copy)."""
    return package_data_dir("assets")


def app_icon() -> QtGui.QIcon:
    """The application icon from the rendered PNG sizes, falling back to the SVG itself."""
    icons = assets_dir() / "icons"
    icon = QtGui.QIcon()
    for size in ICON_SIZES:
        png = icons / f"hccdesk-{size}.png"
        if png.exists():
            icon.addFile(str(png), QtCore.QSize(size, size))
    if icon.isNull():
        icon.addFile(str(icons / "hccdesk.svg"))
    return icon


def stylesheet() -> str:
    return (assets_dir() / "style.qss").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Preset:
    """A window/level preset: a percentile range of the phase volume (MR has no absolute intensity scale)."""

    name: str
    low_percentile: float
    high_percentile: float


@cache
def window_level_presets() -> tuple[tuple[Preset, ...], str]:
    """The presets from ``window_level_presets.json`` and the name of the one applied when a study opens."""
    data = json.loads((assets_dir() / "window_level_presets.json").read_text(encoding="utf-8"))
    presets = tuple(
        Preset(str(p["name"]), float(p["low_percentile"]), float(p["high_percentile"]))
        for p in data["presets"]
    )
    return presets, str(data["auto"])
