"""``project.h5`` on disk: write it atomically, read it back, fall back to the backup when it is damaged.

Why this shape (see ``docs/design/engineering.md`` §5): HDF5 files that a process is writing when it dies
are often unreadable (14 of 25 with open-write-close per save), while *write a temp file, fsync, verify,
rename* left 25 of 25 readable.  So the project file is never opened for writing in place:
:func:`save_atomically` writes the whole (small) document to ``project.h5.tmp`` in the same folder, fsyncs
and re-reads it, keeps the current file as ``project.h5.bak`` through a hard link (so ``project.h5`` exists
at every instant), renames the temp file over ``project.h5`` and fsyncs the folder.  A kill at any point
leaves either the old or the new file, never a torn one. Reading opens the file read-only and closes it
before returning.

Silent corruption is a different failure: a file that reads but whose records changed after the save (a
hand edit, a flipped bit).  Since schema 2 the root attribute ``records_sha256`` holds a SHA-256 over the
records' JSON text, verified at every read; a mismatch raises :class:`RecordsAltered`, which is *not*
answered by falling back to the backup on the quiet (that would drop the last save without asking): the
open is refused, and the message offers the backup, which ``hccdesk project use-backup`` (:func:`use_backup`)
puts in place while keeping the refused file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from hccdesk.errors import ProjectError, SchemaTooNew
from hccdesk.store.codec import dumps
from hccdesk.store.fsutil import fsync_dir, fsync_file, publish, remove_if_exists
from hccdesk.store.migrations import FORMAT, Document, UnknownSchemaError, migrate, refuse_newer

PROJECT_FILE = "project.h5"
TEMP_FILE = "project.h5.tmp"
BACKUP_FILE = "project.h5.bak"

COLLECTIONS: dict[str, str] = {
    "study": "studies",
    "lesion": "lesions",
    "run": "runs",
    "model": "models",
    "prediction": "predictions",
}
"""Record kind -> the HDF5 group (and document key) that holds its records."""

_ENCODING = {"encoding-type": "json-records", "encoding-version": "1"}
CHECKSUM_ATTR = "records_sha256"
REJECTED_PREFIX = f"{PROJECT_FILE}.rejected-"


class RecordsAltered(ProjectError):
    """The file reads, but its records are not what HCC Desk saved (checksum) or cannot be true."""


def records_checksum(texts: dict[str, list[str]], id_counters: str) -> str:
    """SHA-256 over every group's record texts, in order, and the id counters (hex)."""
    digest = hashlib.sha256()
    for group in sorted(texts):
        digest.update(f"{group}\0{len(texts[group])}\0".encode())
        for text in texts[group]:
            digest.update(text.encode("utf-8") + b"\0")
    digest.update(id_counters.encode("utf-8"))
    return digest.hexdigest()


def write_document(path: Path, doc: Document) -> None:
    """Write ``doc`` as a new HDF5 file at ``path`` (never an existing one: ``"w"`` truncates first)."""
    texts = {group: [dumps(record) for record in doc["collections"][group]] for group in COLLECTIONS.values()}
    with h5py.File(path, "w", locking="best-effort") as f:
        for key, value in doc["attrs"].items():
            f.attrs[key] = value
        f.attrs[CHECKSUM_ATTR] = records_checksum(texts, str(doc["attrs"].get("id_counters", "")))
        for group_name, group_texts in texts.items():
            group = f.create_group(group_name)
            group.attrs.update(_ENCODING)
            data = np.array(group_texts, dtype=object)
            group.create_dataset("records", data=data, dtype=h5py.string_dtype())
        f.flush()


def _attr(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_document(path: Path) -> Document:
    """Read and migrate the document in ``path``; the file is open only during this call.

    Raises
    ------
    SchemaTooNew
        Written by a newer app.
    ProjectError
        Not a project file, or damaged.
    """
    try:
        with h5py.File(path, "r", locking="best-effort") as f:
            attrs = {key: _attr(value) for key, value in f.attrs.items()}
            if attrs.get("format") != FORMAT:
                raise ProjectError(f"{path} is not an HCC Desk project file (format {attrs.get('format')!r})")
            version = refuse_newer(attrs, str(path))
            texts = {}
            for name, group in f.items():
                if _attr(group.attrs.get("encoding-type")) != "json-records":
                    raise ProjectError(f"{path}: group {name!r} has an unknown encoding")
                texts[name] = list(group["records"].asstr()[()])
        if version >= 2:
            _check_records(path, texts, attrs)
        collections = {name: [json.loads(text) for text in group] for name, group in texts.items()}
    except ProjectError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise ProjectError(f"{path} cannot be read: {error}") from error
    return migrate({"attrs": attrs, "collections": collections}, str(path))


def _check_records(path: Path, texts: dict[str, list[str]], attrs: dict[str, object]) -> None:
    expected = records_checksum(texts, str(attrs.get("id_counters", "")))
    if attrs.get(CHECKSUM_ATTR) != expected:
        raise RecordsAltered(
            f"{path}: its records do not match their checksum (the file was edited or corrupted after "
            "HCC Desk saved it)"
        )


def _verify(path: Path, doc: Document) -> None:
    """Re-read a freshly written file and compare it with what was meant to be written."""
    back = read_document(path)
    same = back["attrs"].get("generation") == doc["attrs"]["generation"] and all(
        dumps(back["collections"].get(group)) == dumps(doc["collections"][group])
        for group in COLLECTIONS.values()
    )
    if not same:
        raise ProjectError(f"{path} did not read back as written; the saved project is unchanged")


def _keep_backup(current: Path, backup: Path) -> None:
    """Make ``backup`` a copy of ``current`` without ever removing ``current``.

    A hard link costs nothing and leaves ``current`` in place; where links are not supported (FAT, some
    network shares) the file is copied and fsync'd.  Either way the new backup appears by an atomic rename.
    """
    staging = backup.with_name(backup.name + ".tmp")
    remove_if_exists(staging)
    try:
        os.link(current, staging)
    except OSError:
        shutil.copyfile(current, staging)
        fsync_file(staging)
    os.replace(staging, backup)


def save_atomically(folder: Path, doc: Document) -> None:
    """Replace ``folder/project.h5`` with ``doc`` so that a crash at any point leaves a readable project."""
    tmp, main = folder / TEMP_FILE, folder / PROJECT_FILE
    remove_if_exists(tmp)
    try:
        write_document(tmp, doc)
        fsync_file(tmp)
        _verify(tmp, doc)
    except BaseException as error:  # failed, or interrupted (Ctrl-C): nothing is left beside the project
        remove_if_exists(tmp)
        if isinstance(error, OSError):
            raise ProjectError(f"could not write {tmp}: {error}; the saved project is unchanged") from error
        raise
    try:
        if main.exists():
            _keep_backup(main, folder / BACKUP_FILE)
        publish(tmp, main)
    except OSError as error:
        raise ProjectError(f"could not replace {main}: {error}; the previous save is still there") from error


@dataclass
class Loaded:
    """What :func:`load` found: the document, the file it came from, and what the user should be told."""

    doc: Document
    path: Path
    warnings: list[str] = field(default_factory=list)


def load(folder: Path, *, writable: bool) -> Loaded:
    """Read the project in ``folder``, falling back to ``project.h5.bak`` when ``project.h5`` is damaged.

    When the fallback happens and the project is opened for writing, the damaged file is renamed to
    ``project.h5.damaged-<time>`` (kept for inspection) so that the next save does not make it the backup.
    """
    main, backup = folder / PROJECT_FILE, folder / BACKUP_FILE
    if not main.exists() and not backup.exists():
        raise ProjectError(
            f"{folder} is not an HCC Desk project (no {PROJECT_FILE}); create one with "
            "`hccdesk project create`"
        )
    problem = f"{PROJECT_FILE} is missing"
    if main.exists():
        try:
            return Loaded(read_document(main), main)
        except (SchemaTooNew, UnknownSchemaError):
            raise
        except RecordsAltered as error:
            raise RecordsAltered(f"{error}; nothing was changed{backup_offer(folder, main)}") from None
        except ProjectError as error:
            if not backup.exists():
                raise ProjectError(f"{error}; there is no backup ({BACKUP_FILE}) to fall back to") from error
            problem = f"{PROJECT_FILE} is damaged ({error})"
    try:
        doc = read_document(backup)
    except (SchemaTooNew, UnknownSchemaError, RecordsAltered):
        raise
    except ProjectError as error:
        raise ProjectError(f"{problem}, and the backup cannot be read either ({error})") from error
    saved = doc["attrs"].get("saved", "an unknown time")
    message = f"{problem}; opened the backup {BACKUP_FILE} saved at {saved}"
    if writable and main.exists():
        damaged = main.with_name(f"{PROJECT_FILE}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
        os.replace(main, damaged)
        fsync_dir(folder)
        message += f" (the damaged file was kept as {damaged.name})"
    return Loaded(doc, backup, [message])


def backup_offer(folder: Path, refused: Path) -> str:
    """The end of a refusal message: how to go back to the backup, or that there is none to go back to."""
    backup = folder / BACKUP_FILE
    if refused.name != PROJECT_FILE or not backup.exists():
        return f"; there is no backup ({BACKUP_FILE}) to go back to"
    try:
        saved = read_document(backup)["attrs"].get("saved", "an unknown time")
    except ProjectError as error:
        return f"; its backup {BACKUP_FILE} cannot be used either ({error})"
    return (
        f"; its backup {BACKUP_FILE}, saved at {saved}, reads correctly: `hccdesk project use-backup "
        f"{folder}` makes it the project file (the last save is lost; the refused file is kept)"
    )


def use_backup(folder: Path) -> Path:
    """Make ``project.h5.bak`` the project file; returns where the refused ``project.h5`` was kept.

    The caller holds the project's lock and has checked that the backup opens.  ``project.h5`` is renamed
    aside first, so a crash in between leaves a project whose main file is missing: the next open then reads
    the backup, the same outcome.
    """
    main, backup = folder / PROJECT_FILE, folder / BACKUP_FILE
    if not backup.exists():
        raise ProjectError(f"{folder} has no backup ({BACKUP_FILE}) to go back to")
    kept = main.with_name(f"{REJECTED_PREFIX}{time.strftime('%Y%m%dT%H%M%S')}")
    try:
        if main.exists():
            os.replace(main, kept)
        _keep_backup(backup, main)
        fsync_dir(folder)
    except OSError as error:
        raise ProjectError(f"could not put {BACKUP_FILE} in place in {folder}: {error}") from error
    return kept
