"""Records that lie: a hand-edited or corrupted project.h5 or journal is refused with one line that offers the
backup, never accepted and never a crash later; ``project use-backup`` puts the backup in place."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from storekit import error_line, snapshot

from hccdesk.cli import main
from hccdesk.store.project import Project
from hccdesk.store.projectfile import BACKUP_FILE, PROJECT_FILE, read_document, write_document
from hccdesk.store.records import Box

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def two_saves(project_folder: Path) -> Path:
    """Lesion A saved (now in the backup), then lesion B saved (in project.h5 only)."""
    with Project.open(project_folder) as project:
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), grade=1, lesion_id="A")
        project.save()
        project.add_lesion("S1", Box(1, 1, 1, 3, 3, 3), grade=2, lesion_id="B")
        project.save()
    return project_folder


def _flip_grade_in_place(folder: Path) -> None:
    """Change lesion B's grade inside its JSON text, as a hex editor or a bad sector would (no checksum)."""
    with h5py.File(folder / PROJECT_FILE, "r+") as f:
        records = f["lesions"]["records"]
        texts = list(records.asstr()[()])
        texts[-1] = texts[-1].replace('"grade":2', '"grade":4')
        records[...] = np.array(texts, dtype=object)


def test_a_silently_changed_record_is_refused_and_the_backup_offered(
    two_saves: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _flip_grade_in_place(two_saves)
    before = snapshot(two_saves)
    for command in (["lesions", "list"], ["project", "info"], ["project", "recover"]):
        assert main([*command, str(two_saves)]) == 2
        err = error_line(capsys)
        assert "do not match their checksum" in err and f"project use-backup {two_saves}" in err
    assert snapshot(two_saves) == before
    assert main(["project", "use-backup", str(two_saves)]) == 0
    assert "is the project file now" in capsys.readouterr().out
    with Project.open(two_saves) as project:
        assert set(project.lesions) == {"A"}
    assert len(list(two_saves.glob(f"{PROJECT_FILE}.rejected-*"))) == 1


def _rewrite(folder: Path, edit: Edit, name: str = PROJECT_FILE) -> None:
    """Edit the records and write the file with a matching checksum: a careful hand edit, or a bug."""
    doc = read_document(folder / name)
    edit(doc["collections"])
    write_document(folder / name, doc)


def _lesion(collections: dict[str, Any], lesion_id: str = "B") -> dict[str, Any]:
    return next(r for r in collections["lesions"] if r["id"] == lesion_id)


LIES: dict[str, tuple[Edit, str]] = {
    "grade outside I-IV": (lambda c: _lesion(c).update(grade=7), "Edmondson grade must be 1-4, got 7"),
    "grade as text": (lambda c: _lesion(c).update(grade="3"), "got '3'"),
    "box beyond the volume": (lambda c: _lesion(c)["box"].update(x1=4000), "lies outside study S1"),
    "box of fractions": (lambda c: _lesion(c)["box"].update(x1=2.5), "is not whole voxel indices"),
    "missing study": (lambda c: _lesion(c).update(study_id="S9"), "its study 'S9' is not in the project"),
    "wrong patient": (lambda c: _lesion(c).update(patient_id="P7"), "its study belongs to 'P1'"),
    "repeated id": (lambda c: _lesion(c, "A").update(id="B"), "two lesion records have the id 'B'"),
    "missing field": (lambda c: _lesion(c).pop("box"), "a lesion record 'B' cannot be read"),
    "not a record": (lambda c: c["lesions"].append([1, 2]), "a lesion record '' cannot be read"),
    "study without arterial": (
        lambda c: c["studies"][0]["phases"].pop("arterial"),
        "it has no arterial (reference) phase",
    ),
    "probability over 1": (
        lambda c: c["predictions"].append(
            {"lesion_id": "B", "model_id": "m", "p_high": 1.5, "spread": 0.0, "n_members": 1, "created": ""}
        ),
        "P(high) 1.5 is not a probability",
    ),
    "model outside the folder": (
        lambda c: c["models"].append(
            {"id": "m", "variant": "v", "config": {}, "path": "../../etc/x.keras", "lesion_ids": []}
        ),
        "is not a path inside the project folder",
    ),
}


@pytest.mark.parametrize("lie", sorted(LIES))
def test_records_that_cannot_be_true_are_refused_with_one_line(
    two_saves: Path, capsys: pytest.CaptureFixture[str], lie: str
) -> None:
    edit, expected = LIES[lie]
    _rewrite(two_saves, edit)
    before = snapshot(two_saves)
    assert main(["lesions", "list", str(two_saves)]) == 2
    err = error_line(capsys)
    assert expected in err and "impossible record(s)" in err and "project use-backup" in err
    assert main(["lesions", "import", str(two_saves), str(two_saves / "x.csv")]) == 2
    assert snapshot(two_saves) == before


def test_without_a_usable_backup_the_refusal_says_so(
    two_saves: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _rewrite(two_saves, LIES["grade outside I-IV"][0])
    (two_saves / BACKUP_FILE).unlink()
    assert main(["lesions", "list", str(two_saves)]) == 2
    assert "there is no backup" in error_line(capsys)
    assert main(["project", "use-backup", str(two_saves)]) == 2
    assert "has no backup" in error_line(capsys)


def test_use_backup_refuses_a_backup_that_lies_too(
    two_saves: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _rewrite(two_saves, LIES["grade outside I-IV"][0])
    _rewrite(two_saves, lambda c: _lesion(c, "A").update(grade=0), BACKUP_FILE)
    before = snapshot(two_saves)
    assert main(["project", "use-backup", str(two_saves)]) == 2
    assert "Edmondson grade must be 1-4, got 0" in error_line(capsys)
    assert snapshot(two_saves) == before


JOURNAL_LIES = [
    {"op": "put", "kind": "patient", "record": {"id": "x"}},
    {"op": "explode", "kind": "lesion"},
    {"op": "put", "kind": "lesion", "record": {"id": "L9"}},
    {"op": "delete", "kind": "lesion", "id": ["L1"]},
    {"op": "add", "kind": "prediction", "records": [{"lesion_id": "A"}]},
    {"op": "batch", "edits": [{"op": "put", "kind": "run", "record": 3}]},
    [1, 2, 3],
]


@pytest.mark.parametrize("entry", JOURNAL_LIES, ids=range(len(JOURNAL_LIES)))
def test_a_journal_that_lies_is_refused_whole_and_can_be_discarded(
    two_saves: Path, capsys: pytest.CaptureFixture[str], entry: object
) -> None:
    project = Project.open(two_saves)
    project.add_lesion("S1", Box(2, 2, 2, 3, 3, 3), lesion_id="unsaved")
    project.close()
    with (two_saves / "autosave" / "journal.jsonl").open("a") as journal:
        journal.write(json.dumps(entry) + "\n")
    before = snapshot(two_saves)
    assert main(["project", "recover", str(two_saves)]) == 2
    err = error_line(capsys)
    assert "cannot read" in err and "nothing was recovered" in err and "--discard" in err
    assert snapshot(two_saves) == before
    assert main(["project", "recover", "--discard", str(two_saves)]) == 0
    with Project.open(two_saves) as again:
        assert set(again.lesions) == {"A", "B"} and again.pending_recovery is None
    capsys.readouterr()


def test_a_journaled_lesion_that_no_longer_fits_is_left_out_with_a_warning(
    two_saves: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = Project.open(two_saves)
    project.add_lesion("S1", Box(2, 2, 2, 3, 3, 3), lesion_id="fits")
    project.close()
    lie = {
        "op": "put",
        "kind": "lesion",
        "record": {**_lesion(read_document(two_saves / PROJECT_FILE)["collections"])},
    }
    lie["record"].update(id="huge", box={"z0": 0, "y0": 0, "x0": 0, "z1": 99, "y1": 99, "x1": 99})
    with (two_saves / "autosave" / "journal.jsonl").open("a") as journal:
        journal.write(json.dumps(lie) + "\n")
    assert main(["project", "recover", str(two_saves)]) == 0
    assert "left out lesion huge from the journal" in capsys.readouterr().err
    with Project.open(two_saves) as again:
        assert set(again.lesions) == {"A", "B", "fits"}


def test_records_the_next_open_would_refuse_are_refused_when_stored(project: Project) -> None:
    from hccdesk.errors import InputError
    from hccdesk.store.records import ModelRecord, Prediction, RunRecord

    with pytest.raises(InputError, match="outside the project folder"):
        project.put_run(
            RunRecord("r1", "3d-cifa", {}, status="done", model_files={"r0f0": "/home/x/m.keras"})
        )
    with pytest.raises(InputError, match="not a path inside the project folder"):
        project.put_model(ModelRecord("m1", "3d-cifa", {}, "../m.keras", []))
    with pytest.raises(InputError, match="is not a probability"):
        project.add_predictions([Prediction("L1", "m1", float("nan"), 0.0, 1)])
    assert not project.dirty and not project.runs and not project.models and not project.predictions()
