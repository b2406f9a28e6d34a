"""The cohort manifest: ``patient_id,study_id,phase,path``, one row per phase volume.

``path`` is a DICOM folder or file, or a NIfTI file, relative to the manifest's folder or absolute.  Several
rows may name the same path when one series holds several phases (a dynamic series with temporal positions, a
4D NIfTI): the row's phase then picks the volume identified as that phase.

Checking happens in two stages.  Everything that can be checked without reading images (header, IDs, phase
names, paths that exist, one patient per study, one row per phase, an arterial row, studies not yet in the
project) is checked for the whole file first, and any problem stops the import before anything changes
(:class:`~hccdesk.errors.CsvError`).  Then each study is imported all-or-nothing: a study whose images
cannot be read is left out and reported with its line numbers (:class:`ManifestImportError`), the others are
kept.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from hccdesk.errors import CsvError, HccdeskError, InputError, JobCancelled
from hccdesk.imaging.volume import PHASES
from hccdesk.store.csvtable import read_table
from hccdesk.store.records import Study
from hccdesk.store.studies import REFERENCE_PHASE, check_id

COLUMNS: tuple[str, ...] = ("patient_id", "study_id", "phase", "path")


@dataclass(frozen=True)
class PhaseRow:
    line: int
    phase: str
    path: Path


@dataclass
class ManifestStudy:
    """The rows of one study, in file order."""

    patient_id: str
    study_id: str
    rows: list[PhaseRow] = field(default_factory=list)

    @property
    def lines(self) -> str:
        numbers = [row.line for row in self.rows]
        return f"line {numbers[0]}" if len(numbers) == 1 else f"lines {', '.join(map(str, numbers))}"


class ManifestImportError(InputError):
    """Some studies of a manifest could not be imported; the others were (see ``imported``)."""

    def __init__(
        self, path: Path, imported: list[Study], problems: list[tuple[int, str]], total: int
    ) -> None:
        self.imported = imported
        self.problems = problems
        shown = "; ".join(f"line {line}: {text}" for line, text in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(
            f"{path}: imported {len(imported)} of {total} studies; these were left out whole: {shown}{more}"
        )


class ImportCancelled(JobCancelled):
    """The user cancelled a manifest import; the studies finished before it stay (see ``imported``)."""

    def __init__(
        self,
        path: Path,
        current: ManifestStudy,
        imported: list[Study],
        problems: list[tuple[int, str]],
        total: int,
    ) -> None:
        self.imported = imported
        self.problems = problems
        left_out = f"; {len(problems)} were left out: their images could not be read" if problems else ""
        super().__init__(
            f"{path}: import cancelled at study {current.study_id} ({current.lines}), which was not added; "
            f"the {len(imported)} of {total} studies imported before it were kept{left_out}"
        )


def read_manifest(path: Path, existing_studies: Collection[str]) -> list[ManifestStudy]:
    """The manifest's studies, every row checked; CsvError lists all problems with their lines."""
    problems: list[tuple[int, str]] = []
    studies: dict[str, ManifestStudy] = {}
    for row in read_table(path, COLUMNS):
        v = row.values
        try:
            patient_id = check_id(v["patient_id"], "patient")
            study_id = check_id(v["study_id"], "study")
        except HccdeskError as error:
            problems.append((row.line, str(error)))
            continue
        phase = v["phase"].lower()
        if phase not in PHASES:
            problems.append((row.line, f"phase {v['phase']!r} is not one of {', '.join(PHASES)}"))
            continue
        if not v["path"]:
            problems.append((row.line, "the path is empty"))
            continue
        target = Path(v["path"]).expanduser()
        target = target if target.is_absolute() else path.parent / target
        if not target.exists():
            problems.append((row.line, f"{v['path']} does not exist (looked for {target})"))
            continue
        study = studies.setdefault(study_id, ManifestStudy(patient_id, study_id))
        problems += _check_row(study, patient_id, phase, row.line, existing_studies)
        study.rows.append(PhaseRow(row.line, phase, target))
    for study in studies.values():
        if study.rows and all(r.phase != REFERENCE_PHASE for r in study.rows):
            problems.append(
                (study.rows[0].line, f"study {study.study_id} has no arterial row (the reference grid)")
            )
    if problems:
        raise CsvError(str(path), sorted(problems))
    return list(studies.values())


def _check_row(
    study: ManifestStudy, patient_id: str, phase: str, line: int, existing: Collection[str]
) -> list[tuple[int, str]]:
    problems = []
    if not study.rows and study.study_id in existing:
        problems.append((line, f"study {study.study_id} is already in the project"))
    if patient_id != study.patient_id:
        first = study.rows[0].line if study.rows else line
        problems.append(
            (line, f"study {study.study_id} belongs to patient {study.patient_id} on line {first}")
        )
    for earlier in study.rows:
        if earlier.phase == phase:
            problems.append(
                (line, f"study {study.study_id} already has a {phase} row on line {earlier.line}")
            )
    return problems
