"""The autosave journal: every edit appended to ``autosave/journal.jsonl`` as it happens.

A save rewrites ``project.h5`` as a whole, which is too much to do on every keystroke; the journal makes the
edits between saves survive a crash.  Each edit is one JSON line (a full record put, a delete, or new
predictions), written and fsync'd before the edit shows in the app, so a crash loses at most the edit being
made.  The first line is a header naming the *generation* of the ``project.h5`` the edits apply to; every
save bumps the generation and deletes the journal.  At the next open, a journal whose generation is at least
the loaded file's holds edits that no saved file has: they are offered for recovery.  A journal with an
older generation was already saved (the app died between the rename and the delete) and is removed.  A torn
last line (the crash hit mid-write) is ignored: its edit never completed.

A *batch* line (``{"op": "batch", "edits": [...]}``) holds the edits of one
:meth:`~hccdesk.store.project.Project.transaction`, such as a whole lesion import: one line and one fsync for
all of them, and a crash keeps the whole batch or (torn line) none of it.  Entries are checked before any is
replayed (:func:`journal_entry_problem`): a hand-edited or corrupted journal is refused, not half-applied.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from hccdesk.store.codec import dumps, from_dict
from hccdesk.store.fsutil import fsync_dir, remove_if_exists
from hccdesk.store.records import now_iso

AUTOSAVE_DIR = "autosave"
JOURNAL_FILE = "journal.jsonl"


@dataclass(frozen=True)
class PendingRecovery:
    """Unsaved edits of an earlier session, found at open.

    Attributes
    ----------
    edits
        The journal entries, oldest first.
    started, last_edit
        When that session made its first and last journaled edit (UTC, ISO-8601).
    generation
        The saved generation those edits were made on.
    """

    edits: tuple[dict[str, Any], ...]
    started: str
    last_edit: str
    generation: int

    def describe(self) -> str:
        """One line for the user: how many edits from when."""
        n = sum(len(expand_batch(entry)) for entry in self.edits)
        return f"{n} unsaved edit(s) from a session that ended without saving (last {self.last_edit})"


OPERATIONS = {"put": ("study", "lesion", "run", "model"), "delete": ("lesion",), "add": ("prediction",)}
"""Journal operation -> the record kinds it applies to."""


def expand_batch(entry: Any) -> list[Any]:
    """The edits of one journal line: the line itself, or the edits of a batch line."""
    if isinstance(entry, dict) and entry.get("op") == "batch" and isinstance(entry.get("edits"), list):
        return list(entry["edits"])
    return [entry]


def journal_entry_problem(entry: Any) -> str | None:
    """Why the journaled edit ``entry`` cannot be replayed as written, or None when it can."""
    if not isinstance(entry, dict):
        return f"a line holds {type(entry).__name__}, not an edit"
    op, kind = entry.get("op"), entry.get("kind")
    if not isinstance(op, str) or kind not in OPERATIONS.get(op, ()):
        return f"unknown edit {op!r} of record kind {kind!r}"
    try:
        if op == "put":
            from_dict(kind, entry["record"])
        elif op == "delete" and not isinstance(entry["id"], str):
            return f"a delete names {entry['id']!r}, not a record id"
        elif op == "add":
            for record in entry["records"]:
                from_dict(kind, record)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        return f"a {op} of a {kind} record cannot be read ({type(error).__name__}: {error})"
    return None


def _journal_path(folder: Path) -> Path:
    return folder / AUTOSAVE_DIR / JOURNAL_FILE


def read_pending(folder: Path, generation: int) -> PendingRecovery | None:
    """Edits in ``folder``'s journal that the loaded generation does not hold; None when there are none."""
    path = _journal_path(folder)
    try:
        lines = path.read_bytes().split(b"\n")
    except FileNotFoundError:
        return None
    entries: list[dict[str, Any]] = []
    for raw in lines:
        try:
            entry = json.loads(raw)
        except ValueError:
            break  # a torn line: the write of that edit never completed, and nothing after it exists
        if raw.strip():
            entries.append(entry)
    header = entries[0] if entries and isinstance(entries[0], dict) else {}
    if header.get("journal") != 1 or not isinstance(header.get("generation"), int):
        return None
    edits = entries[1:]
    if not edits or header["generation"] < generation:
        return None
    started = str(header.get("started", ""))
    last = edits[-1].get("time", started) if isinstance(edits[-1], dict) else started
    return PendingRecovery(tuple(edits), started, str(last), header["generation"])


class Journal:
    """The append side of the journal, owned by a writable open project."""

    def __init__(self, folder: Path, generation: int) -> None:
        self.folder = folder
        self.generation = generation
        self._file: IO[bytes] | None = None

    @property
    def path(self) -> Path:
        return _journal_path(self.folder)

    def append(self, entry: dict[str, Any]) -> str:
        """Write ``entry`` durably (the first edit after a save also writes the header); returns its JSON."""
        if self._file is None:
            self._open()
        assert self._file is not None
        text = dumps({**entry, "time": now_iso()})
        self._file.write(text.encode("utf-8") + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        return text

    def _open(self) -> None:
        self.path.parent.mkdir(exist_ok=True)
        new = not self.path.exists()
        self._file = open(self.path, "ab")  # noqa: SIM115 - held open between edits, closed in close()
        if new:
            header = {"journal": 1, "generation": self.generation, "started": now_iso(), "pid": os.getpid()}
            self._file.write(dumps(header).encode("utf-8") + b"\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            fsync_dir(self.path.parent)
        else:
            self._cut_torn_tail()

    def _cut_torn_tail(self) -> None:
        """Drop a partial last line left by a crash, so the next entry starts on a line of its own."""
        assert self._file is not None
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            self._file.truncate(end)

    def clear(self, generation: int) -> None:
        """Forget the journaled edits: they are in the file just saved as ``generation``."""
        self.close()
        remove_if_exists(self.path)
        fsync_dir(self.path.parent)
        self.generation = generation

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
