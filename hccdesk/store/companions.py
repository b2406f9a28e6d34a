"""Files kept beside a project folder, not inside it: ``<name>.truth.json`` and ``<name>.lesions.csv``.

A project built from the phantom (the demo, the benchmark cohorts) keeps the phantom's ground truth and its
lesion list next to the project folder: inside it they would be project content (imported, checksummed,
copied with the project), and the ground truth must never reach a model.  Several layers ask for them (the
demo builder writes them, reports label results on such projects as synthetic, ``bench model`` reads the
truth for its ceiling rows), so their names are made here once.
"""

from __future__ import annotations

from pathlib import Path

COMPANIONS = ("truth.json", "lesions.csv")
"""The phantom files a project built from it keeps beside itself."""


def companion_path(project_folder: str | Path, name: str) -> Path:
    """``<parent>/<project stem>.<name>``, e.g. ``demo.truth.json`` beside ``demo.hccdesk``."""
    folder = Path(project_folder)
    return folder.parent / f"{folder.stem}.{name}"


def phantom_truth_path(project_folder: str | Path) -> Path:
    """The phantom's ground truth beside a project it built (it exists only for such projects)."""
    return companion_path(project_folder, "truth.json")
