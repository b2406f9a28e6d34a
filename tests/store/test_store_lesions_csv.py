"""Lesion CSV import/export: round trip, and every kind of bad row reported by line with nothing imported."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from hccdesk.errors import CsvError
from hccdesk.store.import_export import export_lesions_csv, import_lesions_csv
from hccdesk.store.project import Project
from hccdesk.store.records import Box

HEADER = "lesion_id,study_id,z0,y0,x0,z1,y1,x1,grade,notes\n"
GOOD_ROWS = [
    "L1,S1,1,2,3,5,10,12,3,arterial hyperenhancement",
    'L2,S1,0,0,0,4,4,4,,"washout, capsule"',
    ",S1,2,2,2,6,8,8,IV,",
    "L4,S1,7,30,40,12,40,48,1,",
]


def _write(tmp_path: Path, text: str, name: str = "lesions.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_then_export_round_trips(project: Project, tmp_path: Path) -> None:
    text = "\ufeff" + HEADER.upper() + "\n".join(GOOD_ROWS[:2]) + "\n\n" + "\n".join(GOOD_ROWS[2:]) + "\n"
    added = import_lesions_csv(project, _write(tmp_path, text))
    assert [x.id for x in added] == ["L1", "L2", "L0005", "L4"]  # numbered after the file's own L4
    assert added[2].grade == 4 and added[1].notes == "washout, capsule" and added[1].grade is None
    assert added[0].box == Box(1, 2, 3, 5, 10, 12) and added[0].patient_id == "P1"
    exported = export_lesions_csv(project, tmp_path / "out.csv")
    project.save()
    for lesion in list(project.lesions):
        project.delete_lesion(lesion)
    again = import_lesions_csv(project, exported)
    assert {x.id: (x.box, x.grade, x.notes) for x in again} == {
        x.id: (x.box, x.grade, x.notes) for x in added
    }


BAD = [
    ("L1,S1,1,2,3,5,10,12,5,", 2, "not an Edmondson grade"),
    ("L1,S1,1,2,x,5,10,12,3,", 2, "x0 'x' is not a whole voxel index"),
    ("L1,S1,1,2,3.5,5,10,12,3,", 2, "not a whole voxel index"),
    ("L1,S1,5,2,3,5,10,12,3,", 2, "empty"),
    ("L1,S1,1,2,3,5,10,49,3,", 2, "outside study S1"),
    ("L1,S1,-1,2,3,5,10,12,3,", 2, "outside study S1"),
    ("L1,S9,1,2,3,5,10,12,3,", 2, "study 'S9' is not in the project"),
    ("L1,S1,1,2,3,5,10,12,3", 2, "expected 10 fields"),
    ("L1,S1,1,2,3,5,10,12,3,,extra", 2, "expected 10 fields"),
    ("Jane Doe,S1,1,2,3,5,10,12,3,", 2, "not allowed"),
    ("L1,S1,1,2,3,5,10,12,3,\nL1,S1,1,2,3,5,10,12,2,", 3, "repeats line 2"),
    ("L1,S1,1,2,3,5,10,12,3,\n\nL2,S1,1,2,3,5,10,12,9,", 4, "not an Edmondson grade"),
    ('L1,S1,1,2,3,5,10,12,3,"two\nlines"\nL2,S1,1,2,3,5,10,12,0,', 4, "not an Edmondson grade"),
    ('L1,S1,1,2,3,5,10,12,3,"never closed', 2, "malformed CSV"),
]


@pytest.mark.parametrize(("rows", "line", "fragment"), BAD)
def test_bad_rows_are_reported_by_line_and_nothing_is_imported(
    project: Project, tmp_path: Path, rows: str, line: int, fragment: str
) -> None:
    project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="L0")
    before = dict(project.lesions)
    text = HEADER + rows + "\n" + GOOD_ROWS[3] + "\n"
    with pytest.raises(CsvError) as caught:
        import_lesions_csv(project, _write(tmp_path, text))
    assert any(n == line and fragment in message for n, message in caught.value.problems), (
        caught.value.problems
    )
    assert f"line {line}" in str(caught.value) and "nothing imported" in str(caught.value)
    assert dict(project.lesions) == before


def test_existing_id_header_and_encoding_problems(project: Project, tmp_path: Path) -> None:
    project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="L1")
    cases = {
        HEADER + GOOD_ROWS[0] + "\n": (2, "already in the project"),
        "lesion_id,study,z0,y0,x0,z1,y1,x1,grade,notes\n": (1, "missing column(s) study_id"),
        HEADER.replace("notes", "notes,colour") + "L5,S1,1,1,1,2,2,2,1,,red\n": (1, "unknown column"),
        "": (1, "the file is empty"),
    }
    for text, (line, fragment) in cases.items():
        with pytest.raises(CsvError) as caught:
            import_lesions_csv(project, _write(tmp_path, text))
        assert caught.value.problems[0][0] == line and fragment in caught.value.problems[0][1]
    latin1 = (HEADER + "L7,S1,1,1,1,2,2,2,1,ok\nL8,S1,1,1,1,2,2,2,1,Läsion\n").encode("latin-1")
    (tmp_path / "latin1.csv").write_bytes(latin1)
    with pytest.raises(CsvError, match="line 3: not UTF-8"):
        import_lesions_csv(project, tmp_path / "latin1.csv")
    assert set(project.lesions) == {"L1"}


JUNK = ["", "x", "-1", "3.5", "1e3", "999", "V", "S9", "0", "L1", "a b", "4", "II"]


def test_fuzzed_files_import_whole_or_report_lines(project: Project, tmp_path: Path) -> None:
    """Random damage to a good file: either every row imports, or lines are named and nothing changes."""
    rng = random.Random(7)
    refused = 0
    for case in range(60):
        rows = [row.split(",") for row in GOOD_ROWS]
        for _ in range(rng.randint(1, 3)):
            row = rng.choice(rows)
            action = rng.random()
            if action < 0.7:
                row[rng.randrange(len(row))] = rng.choice(JUNK)
            elif action < 0.85:
                row.pop(rng.randrange(len(row)))
            else:
                row.append(rng.choice(JUNK))
        text = HEADER + "\n".join(",".join(row) for row in rows) + "\n"
        before = dict(project.lesions)
        try:
            added = import_lesions_csv(project, _write(tmp_path, text, f"fuzz{case}.csv"))
        except CsvError as error:
            refused += 1
            assert error.problems and all(2 <= line <= len(rows) + 2 for line, _ in error.problems)
            assert dict(project.lesions) == before
        else:
            assert len(added) == len(rows)
            for lesion in added:
                project.delete_lesion(lesion.id)
    assert refused > 30
