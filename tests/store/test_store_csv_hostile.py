"""Hostile CSV cells: spreadsheet formulas are escaped on export and restored on import, numbers are plain
ASCII digits, notes come back exactly (generated cases with Hypothesis) and over-long notes are refused."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from storekit import error_line, snapshot

from hccdesk.cli import main
from hccdesk.store.csvtable import FORMULA_TRIGGERS, neutralise, restore
from hccdesk.store.lesions_csv import lesions_to_csv, read_lesions
from hccdesk.store.project import Project
from hccdesk.store.records import MAX_NOTES_CHARS, Box, Lesion

HEADER = "lesion_id,study_id,z0,y0,x0,z1,y1,x1,grade,notes\n"
FORMULAS = ['=HYPERLINK("http://x","y")', "+SUM(1+1)", "-2+3", "@SUM(A1)", "\tx", "\r=1", "'=1", "''+a"]


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_formula_notes_are_escaped_in_the_export_and_import_back_unchanged(
    project_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = shutil.copytree(project_folder, tmp_path / "other.hccdesk")
    with Project.open(project_folder) as project:
        for lesion in _lesions(FORMULAS):
            project.add_lesion("S1", lesion.box, notes=lesion.notes, lesion_id=lesion.id)
        project.save()
    out = tmp_path / "out.csv"
    assert main(["lesions", "export", str(project_folder), str(out)]) == 0
    exported = _cells(out.read_bytes().decode("utf-8"))
    assert all(not cell or cell[0] not in FORMULA_TRIGGERS for row in exported for cell in row)
    assert [row[-1] for row in exported[1:]] == [f"'{notes}" for notes in FORMULAS]
    assert main(["lesions", "import", str(other), str(out)]) == 0
    with Project.open(other) as project:
        assert [project.lesions[f"L{n}"].notes for n in range(len(FORMULAS))] == FORMULAS
    capsys.readouterr()


def _lesions(notes: list[str]) -> list[Lesion]:
    return [Lesion(f"L{n}", "S1", "P1", Box(1, 1, 1, 2, 2, 2), notes=text) for n, text in enumerate(notes)]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_neutralise_is_undone_by_restore_and_leaves_no_formula(cell: str) -> None:
    written = neutralise(cell)
    assert restore(written) == cell
    assert not written or written[0] not in FORMULA_TRIGGERS


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=4))
def test_any_notes_round_trip_through_the_csv_exactly(tmp_path_factory, notes: list[str]) -> None:
    from storekit import SHAPE

    from hccdesk.store.records import Study

    study = Study("S1", "P1", SHAPE, tuple(tuple(float(i == j) for j in range(4)) for i in range(4)), {})
    path = tmp_path_factory.mktemp("csv") / "lesions.csv"
    path.write_text(lesions_to_csv(_lesions(notes)), encoding="utf-8", newline="")
    assert [row.notes for row in read_lesions(path, {"S1": study}, [])] == notes


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1_0", "z0 '1_0' is not a whole voxel index"),
        ("\u0661", "is not a whole voxel index"),  # ARABIC-INDIC DIGIT ONE
        ("\uff11", "is not a whole voxel index"),  # FULLWIDTH DIGIT ONE
        ("1.0", "is not a whole voxel index"),
        ("1e1", "is not a whole voxel index"),
        ("99999999999999999999", "is not a whole voxel index"),
    ],
)
def test_lenient_numbers_are_refused_with_one_line(
    project_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], cell: str, expected: str
) -> None:
    path = tmp_path / "lesions.csv"
    path.write_text(HEADER + f"L1,S1,{cell},2,3,5,10,12,3,\n", encoding="utf-8")
    before = snapshot(project_folder)
    assert main(["lesions", "import", str(project_folder), str(path)]) == 2
    assert expected in error_line(capsys)
    assert snapshot(project_folder) == before


def test_notes_longer_than_the_limit_are_refused_and_the_longest_allowed_round_trip(
    project_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    longest = "n" * MAX_NOTES_CHARS
    path = tmp_path / "lesions.csv"
    path.write_text(HEADER + f"L1,S1,1,1,1,2,2,2,,{longest}x\n", encoding="utf-8")
    assert main(["lesions", "import", str(project_folder), str(path)]) == 2
    assert f"longer than the limit of {MAX_NOTES_CHARS}" in error_line(capsys)
    path.write_text(HEADER + f"L1,S1,1,1,1,2,2,2,,{longest}\n", encoding="utf-8")
    assert main(["lesions", "import", str(project_folder), str(path)]) == 0
    out = tmp_path / "out.csv"
    assert main(["lesions", "export", str(project_folder), str(out)]) == 0
    assert out.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    with Project.open(project_folder) as project, pytest.raises(Exception, match="longer than the limit"):
        project.update_lesion("L1", notes=longest + "x")
    capsys.readouterr()
