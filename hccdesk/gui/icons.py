"""Render the app icon's PNG sizes from ``assets/icons/hccdesk.svg`` (run ``python -m hccdesk.gui.icons``).

Desktops pick a bitmap per size (hicolor theme, window decorations, taskbars), and small sizes look better
rendered from the vector than scaled down from a big PNG.  QSvgRenderer ships with PySide6-Essentials.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6 import QtCore, QtGui, QtSvg

from hccdesk.gui.resources import ICON_SIZES, assets_dir


def render_icons(svg: Path, outdir: Path, sizes: tuple[int, ...] = ICON_SIZES) -> list[Path]:
    """Write ``hccdesk-<size>.png`` for each size; returns the paths."""
    renderer = QtSvg.QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG")
    written = []
    for size in sizes:
        image = QtGui.QImage(size, size, QtGui.QImage.Format.Format_ARGB32)
        image.fill(QtCore.Qt.GlobalColor.transparent)
        painter = QtGui.QPainter(image)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = outdir / f"hccdesk-{size}.png"
        if not image.save(str(path)):
            raise OSError(f"cannot write {path}")
        written.append(path)
    return written


if __name__ == "__main__":
    app = QtGui.QGuiApplication(sys.argv[:1])
    icons = assets_dir() / "icons"
    for written in render_icons(icons / "hccdesk.svg", icons):
        print(written)
