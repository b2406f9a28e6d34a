"""Getting studies and lesions into a project and out of it: the functions behind the CLI and the GUI's menus.

``import_study`` and ``import_manifest`` read DICOM and NIfTI through :func:`hccdesk.imaging.scan.scan_paths`
(phases identified automatically, overridable per phase); ``import_lesions_csv`` / ``export_lesions_csv`` move
lesion boxes and grades in the CSV format of :mod:`hccdesk.store.lesions_csv`; ``export_masks`` writes NIfTI
label maps (:mod:`hccdesk.store.masks`).  Every import is all-or-nothing per study or per file.

The two image imports take optional ``progress(done, total, text)`` and ``cancelled()`` callables (see
:mod:`hccdesk.store.progress`): one step per phase volume read and one per study written, with a cancel
honoured between steps, so a cancelled import never leaves part of a study behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hccdesk.errors import HccdeskError, ImportRefused, InputError, JobCancelled
from hccdesk.imaging.messages import one_line
from hccdesk.imaging.scan import ScanResult, scan_paths
from hccdesk.imaging.volume import PHASES, Volume
from hccdesk.store.export_target import refuse_inside_project
from hccdesk.store.fsutil import write_text_atomically
from hccdesk.store.lesions_csv import lesions_to_csv, read_lesions
from hccdesk.store.manifest import ImportCancelled, ManifestImportError, ManifestStudy, read_manifest
from hccdesk.store.masks import export_masks
from hccdesk.store.progress import Cancelled, Progress, Steps
from hccdesk.store.records import Lesion, Study
from hccdesk.store.studies import REFERENCE_PHASE

if TYPE_CHECKING:
    from hccdesk.store.project import Project

__all__ = [
    "export_lesions_csv",
    "export_masks",
    "import_lesions_csv",
    "import_manifest",
    "import_study",
]


class _Scans:
    """``scan_paths`` per path, remembered: a study's rows that name one dynamic series share one read."""

    def __init__(self) -> None:
        self._results: dict[Path, ScanResult] = {}

    def __call__(self, path: Path) -> ScanResult:
        key = path.resolve()
        if key not in self._results:
            self._results[key] = scan_paths([path])
        return self._results[key]

    def one_volume(self, path: Path, phase: str) -> Volume:
        """The single volume at ``path``, or the one identified as ``phase`` when it holds several."""
        result = self(path)
        volumes = result.volumes
        if len(volumes) > 1:
            volumes = [v for v in volumes if v.phase == phase]
        if len(volumes) == 1:
            return volumes[0]
        if not result.volumes:
            if result.rejected:
                refusal = result.rejected[0]
                raise ImportRefused(refusal.reason, refusal.message, refusal.series_uid, refusal.paths)
            raise InputError(
                one_line(f"{path} holds no image volume ({len(result.skipped)} file(s) that are not images)")
            )
        found = ", ".join(
            f"{v.source.series_description or v.id} ({v.phase or 'phase unknown'})" for v in result.volumes
        )
        raise InputError(
            one_line(
                f"{path} holds {len(result.volumes)} volumes ({found}); point the {phase} phase at one series"
            )
        )


def _describe(volume: Volume) -> str:
    where = volume.source.paths[0] if volume.source.paths else "in memory"
    return one_line(f"{volume.source.series_description or volume.id} ({where})")


def collect_phases(
    paths: Sequence[str | Path],
    phase_overrides: Mapping[str, str | Path],
    notes: list[str] | None = None,
    before_read: Callable[[str], None] | None = None,
) -> dict[str, Volume]:
    """Phase name -> volume for one study: the overrides, plus the volumes found in ``paths`` by their phase.

    Series whose phase cannot be identified, and series that were refused, are left out with a note (a whole
    exam folder holds localizers and diffusion series that are not part of the study); two series claiming the
    same phase are an error, since guessing would silently pick the wrong contrast.  ``before_read(text)`` is
    called before each read (one per override, one for all of ``paths``, which are scanned together because
    phases are told apart by comparing a study's series); it may raise to stop.
    """
    notes = [] if notes is None else notes
    scans = _Scans()
    chosen: dict[str, Volume] = {}
    for phase, path in phase_overrides.items():
        if phase not in PHASES:
            raise InputError(f"unknown phase {phase!r} in --phase; use one of {', '.join(PHASES)}")
        if before_read is not None:
            before_read(f"reading the {phase} phase ({Path(path).name})")
        chosen[phase] = scans.one_volume(Path(path), phase)
    claimed = {v.source.paths for v in chosen.values()}
    if paths and before_read is not None:
        before_read(f"reading {len(paths)} path(s)")
    result = scan_paths(list(paths)) if paths else ScanResult()
    found: dict[str, Volume] = {}
    for volume in result.volumes:
        if volume.phase in chosen or volume.source.paths in claimed:
            continue
        if volume.phase is None:
            notes.append(
                f"left out {_describe(volume)}: its phase is unknown (name it with --phase NAME=PATH)"
            )
        elif volume.phase in found:
            raise InputError(
                f"two series look like the {volume.phase} phase: {_describe(found[volume.phase])} and "
                f"{_describe(volume)}; choose one with --phase {volume.phase}=PATH"
            )
        else:
            found[volume.phase] = volume
    notes += [f"left out a series: {r.message}" for r in result.rejected]
    volumes = {**chosen, **found}
    for name, volume in volumes.items():
        notes += [f"{name}: {warning}" for warning in volume.warnings]
    return volumes


def import_study(
    project: Project,
    patient_id: str,
    study_id: str,
    paths: Sequence[str | Path],
    phase_overrides: Mapping[str, str | Path] | None = None,
    notes: list[str] | None = None,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Study:
    """Add one examination from DICOM folders/files or NIfTI files; the arterial phase is the reference grid.

    ``notes`` (when given) collects what the user should know: series left out, reader warnings.

    Raises
    ------
    JobCancelled
        ``cancelled()`` became True before the study was written; the project is unchanged.
    """
    notes = [] if notes is None else notes
    overrides = phase_overrides or {}
    steps = Steps(len(overrides) + (1 if paths else 0) + 1, progress, cancelled)

    def begin(text: str) -> None:
        try:
            steps.begin(f"Study {study_id}: {text}")
        except JobCancelled:
            raise JobCancelled(
                f"import of study {study_id} cancelled before {text}; nothing was added to the project"
            ) from None

    volumes = collect_phases(paths, overrides, notes, begin)
    if REFERENCE_PHASE not in volumes:
        found = ", ".join(volumes) or "no usable series"
        details = f" ({'; '.join(notes)})" if notes else ""
        raise InputError(
            f"study {study_id}: no arterial phase (found {found}); name it with --phase arterial=PATH"
            + details
        )
    begin("writing its images")
    study = project.add_study(patient_id, study_id, volumes)
    steps.finish(f"Imported study {study_id}")
    return study


def import_manifest(
    project: Project,
    csv_path: str | Path,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> list[Study]:
    """Import every study of a cohort manifest (``patient_id,study_id,phase,path``).

    Raises
    ------
    CsvError
        The manifest itself has problems; nothing was imported.
    ManifestImportError
        Some studies' images could not be read; those studies were left out whole, the rest imported
        (``error.imported``).  Save the project to keep them.
    ImportCancelled
        ``cancelled()`` became True: the study being read was not added, the studies before it were
        (``error.imported``).
    """
    csv_path = Path(csv_path)
    studies = read_manifest(csv_path, set(project.studies))
    steps = Steps(sum(len(entry.rows) + 1 for entry in studies), progress, cancelled)
    imported: list[Study] = []
    problems: list[tuple[int, str]] = []
    for number, entry in enumerate(studies, 1):
        where = f"Study {number} of {len(studies)} ({entry.study_id})"
        end = steps.done + len(entry.rows) + 1
        try:
            imported.append(_import_manifest_study(project, entry, steps, where))
        except JobCancelled:
            raise ImportCancelled(csv_path, entry, imported, problems, len(studies)) from None
        except HccdeskError as error:
            problems.append((entry.rows[0].line, f"study {entry.study_id} ({entry.lines}): {error}"))
        steps.skip_to(end)
    steps.finish(f"Imported {len(imported)} of {len(studies)} studies")
    if problems:
        raise ManifestImportError(csv_path, imported, problems, len(studies))
    return imported


def _import_manifest_study(project: Project, entry: ManifestStudy, steps: Steps, where: str) -> Study:
    """Read one manifest study's phase volumes and add the study to ``project``.

    Only one study's images are in memory at a time (a cohort's would not fit): the scans are per study
    (rows that share a dynamic series or a 4D file still share one read), the volumes found at its paths
    that no row names are dropped before the images are written, and the rest go when this returns.
    """
    scans = _Scans()
    volumes: dict[str, Volume] = {}
    for row in entry.rows:
        steps.begin(f"{where}: reading the {row.phase} phase")
        volumes[row.phase] = scans.one_volume(row.path, row.phase)
    del scans
    steps.begin(f"{where}: writing its images")
    return project.add_study(entry.patient_id, entry.study_id, volumes)


def import_lesions_csv(project: Project, csv_path: str | Path) -> list[Lesion]:
    """Add every lesion of a lesion CSV, in file order; CsvError (nothing added) when any row is bad.

    The rows are added in one :meth:`~hccdesk.store.project.Project.transaction`: one journal line and one
    fsync for the whole file, and an interruption part-way leaves none of them.
    """
    rows = read_lesions(Path(csv_path), project.studies, list(project.lesions))
    # Rows with their own ids go first, so a fresh id made for an id-less row never takes one of theirs.
    added: dict[int, Lesion] = {}
    with project.transaction():
        for row in sorted(rows, key=lambda r: r.lesion_id is None):
            added[row.line] = project.add_lesion(
                row.study_id, row.box, row.grade, row.notes, lesion_id=row.lesion_id
            )
    return [added[row.line] for row in rows]


def export_lesions_csv(project: Project, out_path: str | Path) -> Path:
    """Write every lesion to ``out_path`` in the import format, ordered by study and lesion id.

    Cells that a spreadsheet would run as formulas are escaped (the import undoes it); a path inside a
    project folder is refused (only the store writes there).
    """
    out_path = Path(out_path)
    refuse_inside_project(out_path)
    lesions = sorted(project.lesions.values(), key=lambda x: (x.study_id, x.id))
    try:
        write_text_atomically(out_path, lesions_to_csv(lesions))
    except OSError as error:
        raise InputError(f"cannot write {out_path}: {error.strerror or error}") from error
    return out_path
