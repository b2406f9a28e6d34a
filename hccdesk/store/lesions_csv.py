"""The lesion CSV: ``lesion_id,study_id,z0,y0,x0,z1,y1,x1,grade,notes``.

The box is half-open voxel indices on the study's reference (arterial) grid in array order (slice, row,
column), the same numbers the app shows; ``grade`` is the Edmondson grade 1-4 (roman numerals I-IV are
accepted too) or empty when unknown; an empty ``lesion_id`` gets a fresh id.  Import checks every row
against the project first and adds nothing unless all rows are good, so a file is never half-imported.

Numbers are plain ASCII digits: Python's ``int`` would also read ``1_0`` as 10 and Arabic-Indic digits as
numbers, which turns a typo into a silently different box.  Notes are kept verbatim (no stripping) and every
cell is escaped against spreadsheet formulas (:mod:`hccdesk.store.csvtable`), so an export imports back
unchanged; notes are at most :data:`~hccdesk.store.records.MAX_NOTES_CHARS` characters, below the CSV
reader's field limit, so every note that can be stored can also be exported and imported again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hccdesk.errors import CsvError, HccdeskError
from hccdesk.store.csvtable import Row, read_table, write_table
from hccdesk.store.records import Box, Lesion, Study, check_notes
from hccdesk.store.studies import check_id

BOX_COLUMNS: tuple[str, ...] = ("z0", "y0", "x0", "z1", "y1", "x1")
COLUMNS: tuple[str, ...] = ("lesion_id", "study_id", *BOX_COLUMNS, "grade", "notes")
_GRADES = {"1": 1, "2": 2, "3": 3, "4": 4, "i": 1, "ii": 2, "iii": 3, "iv": 4}
_VOXEL_INDEX = re.compile(r"-?[0-9]{1,9}")


@dataclass(frozen=True)
class LesionRow:
    """A validated row, ready to become a lesion (``lesion_id`` None: make a fresh one)."""

    line: int
    lesion_id: str | None
    study_id: str
    box: Box
    grade: int | None
    notes: str


def _parse_row(row: Row, studies: Mapping[str, Study]) -> LesionRow:
    """One row checked against the project's studies; raises ValueError with the reason."""
    v = row.values
    lesion_id = check_id(v["lesion_id"], "lesion") if v["lesion_id"] else None
    study = studies.get(v["study_id"])
    if study is None:
        raise ValueError(f"study {v['study_id']!r} is not in the project (import it first)")
    corners = []
    for name in BOX_COLUMNS:
        if not _VOXEL_INDEX.fullmatch(v[name]):
            raise ValueError(f"{name} {v[name]!r} is not a whole voxel index (ASCII digits 0-9 only)")
        corners.append(int(v[name]))
    box = Box(*corners)
    if not box.fits(study.shape):
        raise ValueError(f"box {box.as_tuple()} lies outside study {study.id}, whose grid is {study.shape}")
    grade_text = v["grade"].lower()
    if grade_text and grade_text not in _GRADES:
        raise ValueError(f"grade {v['grade']!r} is not an Edmondson grade 1-4 (or empty when unknown)")
    check_notes(v["notes"])
    return LesionRow(row.line, lesion_id, study.id, box, _GRADES.get(grade_text), v["notes"])


def read_lesions(path: Path, studies: Mapping[str, Study], existing_ids: Sequence[str]) -> list[LesionRow]:
    """Every row of the lesion CSV ``path``, validated; CsvError lists all bad rows with their lines."""
    rows = read_table(path, COLUMNS, verbatim=("notes",))
    parsed: list[LesionRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    taken = set(existing_ids)
    for row in rows:
        try:
            lesion = _parse_row(row, studies)
        except (ValueError, HccdeskError) as error:
            problems.append((row.line, str(error)))
            continue
        if lesion.lesion_id in taken:
            problems.append((row.line, f"lesion {lesion.lesion_id} is already in the project"))
        elif lesion.lesion_id in seen:
            problems.append((row.line, f"lesion id {lesion.lesion_id} repeats line {seen[lesion.lesion_id]}"))
        else:
            if lesion.lesion_id is not None:
                seen[lesion.lesion_id] = row.line
            parsed.append(lesion)
    if problems:
        raise CsvError(str(path), problems)
    return parsed


def lesions_to_csv(lesions: Sequence[Lesion]) -> str:
    """CSV text of ``lesions`` in the import format (so an export imports back unchanged)."""
    rows = (
        [
            lesion.id,
            lesion.study_id,
            *lesion.box.as_tuple(),
            "" if lesion.grade is None else lesion.grade,
            lesion.notes,
        ]
        for lesion in lesions
    )
    return write_table(COLUMNS, rows)
