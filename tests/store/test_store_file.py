"""project.h5 on disk: backup fallback for a damaged file, schema versions, migrations, nothing left open."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import pytest

from hccdesk.errors import ProjectError, SchemaTooNew
from hccdesk.store import migrations
from hccdesk.store.project import Project
from hccdesk.store.projectfile import BACKUP_FILE, CHECKSUM_ATTR, PROJECT_FILE, TEMP_FILE, read_document
from hccdesk.store.records import Box


@pytest.fixture
def two_saves(project_folder: Path) -> Path:
    """Lesion A saved (now in the backup), then lesion B saved (in project.h5 only)."""
    with Project.open(project_folder) as project:
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="A")
        project.save()
        project.add_lesion("S1", Box(1, 1, 1, 3, 3, 3), lesion_id="B")
        project.save()
    return project_folder


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[: len(data) // 2] = b"\x00" * (len(data) // 2)
    path.write_bytes(bytes(data))


def test_damaged_project_file_falls_back_to_the_backup(two_saves: Path) -> None:
    _damage(two_saves / PROJECT_FILE)
    with Project.open(two_saves, read_only=True) as viewer:
        assert set(viewer.lesions) == {"A"}
        assert any("damaged" in w and BACKUP_FILE in w for w in viewer.warnings)
    assert (two_saves / PROJECT_FILE).exists()  # read-only leaves the files alone
    with Project.open(two_saves) as project:
        assert set(project.lesions) == {"A"} and "kept as project.h5.damaged-" in project.warnings[0]
        project.add_lesion("S1", Box(2, 2, 2, 3, 3, 3), lesion_id="C")
        project.save()
    assert list(two_saves.glob(f"{PROJECT_FILE}.damaged-*"))
    assert {r["id"] for r in read_document(two_saves / BACKUP_FILE)["collections"]["lesions"]} == {"A"}
    with Project.open(two_saves) as project:
        assert set(project.lesions) == {"A", "C"} and not project.warnings


def test_both_files_damaged_is_a_clear_error(two_saves: Path) -> None:
    _damage(two_saves / PROJECT_FILE)
    _damage(two_saves / BACKUP_FILE)
    with pytest.raises(ProjectError, match=r"damaged.*backup cannot be read either"):
        Project.open(two_saves)


def test_missing_project_file_uses_the_backup(two_saves: Path) -> None:
    (two_saves / PROJECT_FILE).unlink()
    with Project.open(two_saves) as project:
        assert set(project.lesions) == {"A"} and "missing" in project.warnings[0]


def test_newer_schema_is_refused_without_touching_anything(project_folder: Path) -> None:
    with h5py.File(project_folder / PROJECT_FILE, "r+") as f:
        f.attrs["schema_version"] = migrations.SCHEMA_VERSION + 1
        f.attrs["app_version"] = "9.0"
    for read_only in (False, True):
        with pytest.raises(SchemaTooNew, match=r"HCC Desk 9\.0.*update HCC Desk"):
            Project.open(project_folder, read_only=read_only)
    assert not list(project_folder.glob("*.damaged-*")) and not (project_folder / "lock").exists()


def test_older_schema_is_migrated_forward_and_saved_as_current(
    project_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Project.open(project_folder) as project:
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2), lesion_id="A", notes="old")
        project.save()

    def add_suffix(doc: migrations.Document) -> migrations.Document:
        for lesion in doc["collections"]["lesions"]:
            lesion["notes"] += " (next)"
        return doc

    # Pretend this app is one version ahead: the file on disk (the current version) needs one migration.
    current = migrations.SCHEMA_VERSION
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", current + 1)
    monkeypatch.setattr(migrations, "MIGRATIONS", {**migrations.MIGRATIONS, current: add_suffix})
    with Project.open(project_folder) as project:
        assert project.lesions["A"].notes == "old (next)"
        project.save()
    assert read_document(project_folder / PROJECT_FILE)["attrs"]["schema_version"] == current + 1
    with Project.open(project_folder) as project:
        assert project.lesions["A"].notes == "old (next)"  # migrated once, not again
    monkeypatch.setattr(migrations, "MIGRATIONS", {})
    with h5py.File(project_folder / PROJECT_FILE, "r+") as f:
        f.attrs["schema_version"] = current
    with pytest.raises(migrations.UnknownSchemaError, match="cannot migrate"):
        Project.open(project_folder)


def test_a_schema_1_file_without_checksum_opens_and_is_saved_with_one(project_folder: Path) -> None:
    with h5py.File(project_folder / PROJECT_FILE, "r+") as f:
        f.attrs["schema_version"] = 1
        del f.attrs[CHECKSUM_ATTR]
    with Project.open(project_folder) as project:
        assert set(project.studies) == {"S1"}
        project.save()
    with h5py.File(project_folder / PROJECT_FILE, "r") as f:
        assert f.attrs["schema_version"] == migrations.SCHEMA_VERSION and CHECKSUM_ATTR in f.attrs


def test_leftover_temp_file_is_harmless(project_folder: Path) -> None:
    (project_folder / TEMP_FILE).write_bytes(b"half a file")
    with Project.open(project_folder) as project:
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2))
        project.save()
    assert not (project_folder / TEMP_FILE).exists()


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to list open files")
def test_project_file_is_not_held_open(project: Project) -> None:
    project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2))
    project.save()
    with project.images("S1"):
        open_files = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}
    assert str((project.folder / PROJECT_FILE).resolve()) not in open_files
    assert str((project.folder / "images" / "S1.h5").resolve()) in open_files
