"""Where exports may write: anywhere but inside a project folder.

A project folder is written only through the store (atomic saves, the journal, study image files), so an
export that lands inside one can destroy it: ``lesions export P P/project.h5`` once replaced the project file
with a CSV, and the next open fell back to the backup, losing the last save.  Every command and menu action
that writes a file or folder the user names checks it here first.
"""

from __future__ import annotations

from pathlib import Path

from hccdesk.errors import InputError
from hccdesk.store.projectfile import BACKUP_FILE, PROJECT_FILE

PROJECT_MARKERS = (PROJECT_FILE, BACKUP_FILE)
"""Files whose presence makes a folder a project folder (either one: a damaged project may lack the first)."""


def project_folder_holding(target: Path) -> Path | None:
    """The project folder that ``target`` (which need not exist yet) is or lies inside, else None."""
    resolved = target.expanduser().resolve()
    for folder in (resolved, *resolved.parents):
        if folder.is_dir() and any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return None


def refuse_inside_project(target: Path) -> None:
    """Raise InputError when writing ``target`` would write inside a project folder."""
    folder = project_folder_holding(target)
    if folder is not None:
        raise InputError(
            f"{target} is inside the project folder {folder}, which only HCC Desk's own saves may change; "
            "choose a place outside it"
        )
