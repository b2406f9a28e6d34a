"""The demo project: a phantom cohort imported the way a user imports a cohort, built once and reused.

The demo must exercise what a user does (DICOM on disk -> ``import_manifest`` -> ``import_lesions_csv`` ->
save), so it goes through :mod:`hccdesk.store.import_export` rather than writing a project directly. The build
happens in a hidden temporary folder beside the target and is renamed into place only when complete, so an
interrupted build (Ctrl+C, a crash, a full disk) leaves no folder that could be mistaken for a finished demo;
the next call starts again. The phantom's own files (DICOM, CSVs) are temporary, except ``truth.json`` and
``lesions.csv``, which are kept next to the project as ``<name>.truth.json`` and ``<name>.lesions.csv``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hccdesk.errors import ProjectError

DEMO_NAME = "hccdesk-demo.hccdesk"


def default_demo_dir() -> Path:
    """``$HCCDESK_HOME/demo`` when HCCDESK_HOME is set, else ``~/.local/share/hccdesk/demo``."""
    home = os.environ.get("HCCDESK_HOME")
    base = Path(home) if home else Path.home() / ".local" / "share" / "hccdesk"
    return base / "demo"


def is_complete(folder: Path) -> bool:
    """True when ``folder`` is a finished demo project (it only ever appears complete, by rename)."""
    return (folder / "project.h5").is_file()


def build_demo(folder: str | Path, *, lesions: int = 46, preset: str = "clinical", seed: int = 0) -> Path:
    """Build the demo project at ``folder`` (a ``*.hccdesk`` path) unless it is already there; return it.

    46 lesions give the paper's cohort: 21 low grade (Edmondson I-II) and 25 high grade (III-IV).

    Raises
    ------
    ProjectError
        ``folder`` exists and is neither a finished demo nor empty (nothing of the user's is overwritten).
    """
    from hccdesk.phantom.build import write_cohort
    from hccdesk.store.companions import COMPANIONS, companion_path
    from hccdesk.store.import_export import import_lesions_csv, import_manifest
    from hccdesk.store.project import Project

    folder = Path(folder).expanduser().absolute()
    if is_complete(folder):
        return folder
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ProjectError(f"{folder} exists but is not a demo project; remove it or choose another folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{folder.name}.building-", dir=folder.parent) as scratch:
        work = Path(scratch)
        cohort = write_cohort(work / "phantom", lesions=lesions, seed=seed, preset=preset)
        staged = work / folder.name
        with Project.create(staged) as project:
            import_manifest(project, cohort.manifest)
            import_lesions_csv(project, cohort.lesions)
            project.save()
        for name in COMPANIONS:
            staged_companion = companion_path(work / folder.name, name)
            shutil.copyfile(cohort.folder / name, staged_companion)
            os.replace(staged_companion, companion_path(folder, name))
        if folder.exists():
            folder.rmdir()  # empty (checked above); os.replace cannot replace a directory on every platform
        os.replace(staged, folder)
    return folder
