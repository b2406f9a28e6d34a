"""Persistent preferences: recent projects, the last project, window geometry (QSettings).

``HCCDESK_SETTINGS`` names an INI file to use instead of the user's settings, so tests, benchmarks and the
screenshot command never read or change the real ones.
"""

from __future__ import annotations

import os

from PySide6 import QtCore

RECENT_LIMIT = 10


def app_settings() -> QtCore.QSettings:
    path = os.environ.get("HCCDESK_SETTINGS")
    if path:
        return QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat)
    return QtCore.QSettings("hccdesk", "hccdesk")


def recent_projects() -> list[str]:
    value = app_settings().value("recent", [])
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value or []]


def remember_project(path: str) -> None:
    """Put ``path`` first in the recent list and make it the project reopened at the next start."""
    settings = app_settings()
    recent = [path, *[p for p in recent_projects() if p != path]][:RECENT_LIMIT]
    settings.setValue("recent", recent)
    settings.setValue("last_project", path)


def last_project() -> str | None:
    value = app_settings().value("last_project")
    return str(value) if value else None
