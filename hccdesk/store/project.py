"""The open project: an in-memory model of one ``NAME.hccdesk`` folder, its edits, and crash-safe saving.

The working state lives in memory; ``project.h5`` is opened only to load (read-only) and at save (a new file
renamed into place, see :mod:`hccdesk.store.projectfile`).  Every edit goes through one path,
:meth:`Project._commit`: it is journaled (fsync'd) first, then applied, then observers are told (``dirty`` is
already True when they are), so the GUI's undo stack, the autosave journal and the views all see the same
sequence of changes.  Records are immutable: an edit replaces a record, which makes undo a matter of putting
the old record back (:meth:`put_lesion`).

Observers are called as ``callback(kind, record_id)`` after each change, with ``kind`` one of ``"study"``,
``"lesion"``, ``"run"``, ``"model"``, ``"prediction"`` (``record_id`` is the lesion id) or ``"saved"``
(``record_id`` is empty).  A callback looks the record up; when it is gone, it was deleted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

from hccdesk import __version__
from hccdesk.errors import InputError, ProjectError
from hccdesk.imaging.volume import Volume
from hccdesk.store import migrations, projectfile
from hccdesk.store.codec import dumps, from_dict, to_dict
from hccdesk.store.export_target import refuse_inside_project
from hccdesk.store.fsutil import remove_if_exists
from hccdesk.store.images import StudyImages
from hccdesk.store.integrity import (
    duplicate_ids,
    lesion_problems,
    model_problems,
    prediction_problems,
    record_problems,
    run_problems,
    study_problems,
)
from hccdesk.store.journal import (
    AUTOSAVE_DIR,
    Journal,
    PendingRecovery,
    expand_batch,
    journal_entry_problem,
    read_pending,
)
from hccdesk.store.lock import ProjectLock
from hccdesk.store.records import Box, Lesion, ModelRecord, Prediction, RunRecord, Study, now_iso
from hccdesk.store.studies import build_study, check_id

IMAGES_DIR = "images"
LESION_PREFIX = "L"
"""New lesions are ``L0001``, ``L0002``, ...: the demo cohort's and manifests' form, so a box drawn in the
app and an imported one are named alike; the number continues after the highest ``L<number>`` in use."""
LESION_FIELDS = frozenset({"box", "grade", "notes"})

Observer = Callable[[str, str], None]


class RecordsInvalid(ProjectError):
    """A document's records cannot all be true; the message lists the first problems."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        super().__init__(f"{len(problems)} impossible record(s): {'; '.join(problems[:3])}{more}")


class Project:
    """One open project folder.  Use :meth:`create` or :meth:`open`, then ``with`` it or :meth:`close` it.

    Attributes
    ----------
    folder
        The project folder.
    read_only
        Opened without the write lock: edits and saves are refused.
    dirty
        There are edits since the last save (they are in the journal, not yet in ``project.h5``).
    warnings
        Things the user should be told after opening: a damaged file replaced by its backup, a stale lock
        taken over.
    pending_recovery
        Unsaved edits of a session that ended without saving, waiting for :meth:`recover` or
        :meth:`discard_recovery` (None when there are none).  While set, edits and saves are refused.
    """

    def __init__(self, folder: Path, doc: dict[str, Any], *, lock: ProjectLock | None) -> None:
        self.folder = folder
        self.read_only = lock is None
        self.dirty = False
        self.warnings: list[str] = []
        self.pending_recovery: PendingRecovery | None = None
        self._lock = lock
        self._closed = False
        self._observers: list[Observer] = []
        self._generation = int(doc["attrs"].get("generation", 0))
        self._counters: dict[str, int] = json.loads(doc["attrs"].get("id_counters", "{}"))
        self._studies: dict[str, Study] = {}
        self._lesions: dict[str, Lesion] = {}
        self._runs: dict[str, RunRecord] = {}
        self._models: dict[str, ModelRecord] = {}
        self._predictions: list[Prediction] = []
        self._tables: dict[str, dict[str, Any]] = {
            "study": self._studies,
            "lesion": self._lesions,
            "run": self._runs,
            "model": self._models,
        }
        self._batch: list[dict[str, Any]] | None = None
        self._highest: dict[str, tuple[re.Pattern[str], int]] = {}
        """Id form (prefix + separator) -> its pattern and the highest number in use, for :meth:`new_id`."""
        problems = self._load_records(doc["collections"])
        if problems:
            raise RecordsInvalid(problems)
        self._journal = None if lock is None else Journal(folder, self._generation)

    def _load_records(self, collections: Mapping[str, list[Any]]) -> list[str]:
        """Fill the tables from a document's record dicts; returns what is wrong with them (if anything)."""
        problems = []
        for kind, group in projectfile.COLLECTIONS.items():
            records = collections.get(group, [])
            if kind != "prediction":
                dicts = [r for r in records if isinstance(r, dict)]
                problems += [f"two {kind} records have the id {key!r}" for key in duplicate_ids(dicts)]
            for record in records:
                try:
                    self._put(kind, from_dict(kind, record))
                except (AttributeError, KeyError, TypeError, ValueError) as error:
                    name = record.get("id", "") if isinstance(record, dict) else ""
                    problems.append(
                        f"a {kind} record {name!r} cannot be read ({type(error).__name__}: {error})"
                    )
        return problems + record_problems(
            self._studies, self._lesions, self._runs, self._models, self._predictions
        )

    # ------------------------------------------------------------------------------------------- lifecycle
    @classmethod
    def create(cls, folder: str | Path) -> Project:
        """Create a new, empty project folder (named ``NAME.hccdesk`` by convention), open for writing."""
        folder = Path(folder)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise ProjectError(f"{folder} already exists and is not an empty folder; choose another name")
        refuse_inside_project(folder)  # a project inside another would be written behind its back
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / IMAGES_DIR).mkdir(exist_ok=True)
            (folder / AUTOSAVE_DIR).mkdir(exist_ok=True)
        except OSError as error:
            raise ProjectError(f"cannot create {folder}: {error}") from error
        lock, _ = ProjectLock.acquire(folder)
        empty = {"attrs": {"generation": 0}, "collections": {}}
        project = cls(folder, empty, lock=lock)
        try:
            project.save()
        except BaseException:
            project.close()
            raise
        return project

    @classmethod
    def open(cls, folder: str | Path, read_only: bool = False, recover: bool | None = None) -> Project:
        """Open an existing project.

        Parameters
        ----------
        read_only
            Do not take the write lock (another instance may hold it); edits and saves are refused.
        recover
            What to do with unsaved edits of a session that ended without saving: True applies them, False
            deletes them, None leaves the decision to the caller through :attr:`pending_recovery`.

        Raises
        ------
        ProjectLocked
            Another running instance holds the project (open it with ``read_only=True`` instead).
        SchemaTooNew
            The project was written by a newer HCC Desk.
        ProjectError
            Not a project folder, or neither ``project.h5`` nor its backup can be read.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise ProjectError(f"{folder} is not a project folder (it does not exist or is a file)")
        lock, note = (None, None) if read_only else ProjectLock.acquire(folder)
        try:
            loaded = projectfile.load(folder, writable=not read_only)
            try:
                project = cls(folder, loaded.doc, lock=lock)
            except RecordsInvalid as error:
                raise projectfile.RecordsAltered(
                    f"{loaded.path} holds {error}; nothing was changed"
                    + projectfile.backup_offer(folder, loaded.path)
                ) from None
            project.warnings = loaded.warnings + ([note] if note else [])
            project._take_pending(read_pending(folder, project._generation), recover)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return project

    def _take_pending(self, pending: PendingRecovery | None, recover: bool | None) -> None:
        if self.read_only:
            self.pending_recovery = pending
            return
        assert self._journal is not None
        if pending is None:
            remove_if_exists(self._journal.path)  # empty, or already saved before a crash
            return
        self.pending_recovery = pending
        if recover is True:
            self.recover()
        elif recover is False:
            self.discard_recovery()

    def recover(self) -> None:
        """Apply the :attr:`pending_recovery` edits (they stay journaled until the next save).

        Every journaled edit is checked before any is applied; a journal holding one this HCC Desk cannot
        read (an unknown kind, a record with missing fields) is refused whole, with the way to discard it.
        An edit that reads but no longer fits (its study's image file is gone, its box lies outside its
        study) is left out with a warning.
        """
        pending = self.pending_recovery
        if pending is None or self.read_only:
            raise ProjectError("there are no unsaved edits to recover in a project opened for writing")
        assert self._journal is not None
        edits = [edit for entry in pending.edits for edit in expand_batch(entry)]
        unreadable = [problem for problem in map(journal_entry_problem, edits) if problem]
        if unreadable:
            raise ProjectError(
                f"the autosave journal of {self.folder.name} holds {len(unreadable)} edit(s) this HCC Desk "
                f"cannot read ({unreadable[0]}); nothing was recovered: delete the unsaved edits with "
                f"`hccdesk project recover --discard {self.folder}`"
            )
        self._journal.generation = max(self._generation, pending.generation)
        self.pending_recovery = None
        self.dirty = True  # before the replayed edits reach the observers, as in _commit
        for edit in edits:
            problem = self._unrecoverable(edit)
            if problem:
                self.warnings.append(problem)
            else:
                self._notify_all(self._apply(edit))
        self.warnings.append(f"recovered {pending.describe()}")

    def _unrecoverable(self, entry: dict[str, Any]) -> str | None:
        """Why a journaled edit cannot be replayed (its study's image file is gone, it lies), or None."""
        if entry["op"] != "put" or entry["kind"] not in ("study", "lesion"):
            return None
        record = from_dict(entry["kind"], entry["record"])
        if isinstance(record, Study):
            problems = study_problems(record)
            if not problems and not self.images_path(record.id).exists():
                problems = ["its image file is missing; import it again"]
        else:
            problems = lesion_problems(record, self._studies)
        if problems:
            return f"left out {entry['kind']} {record.id} from the journal: {'; '.join(problems)}"
        return None

    def discard_recovery(self) -> None:
        """Delete the :attr:`pending_recovery` edits for good."""
        if self.pending_recovery is None or self._journal is None:
            raise ProjectError("there are no unsaved edits to discard in a project opened for writing")
        self._journal.clear(self._generation)
        self.pending_recovery = None

    def save(self) -> None:
        """Write the whole project atomically; afterwards ``project.h5`` holds every edit made so far."""
        self._check_writable()
        assert self._journal is not None
        generation = max(self._generation, self._journal.generation) + 1
        projectfile.save_atomically(self.folder, self._document(generation))
        self._generation = generation
        self._journal.clear(generation)
        self.dirty = False
        self._notify("saved", "")

    def close(self, discard_unsaved: bool = False) -> None:
        """Release the project; unsaved edits stay journaled (offered at the next open) unless discarded."""
        if self._closed:
            return
        self._closed = True
        if self._journal is not None:
            if discard_unsaved and self.pending_recovery is None:
                self._journal.clear(self._generation)
            self._journal.close()
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> Project:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _document(self, generation: int) -> dict[str, Any]:
        collections = {
            group: [to_dict(r) for r in self._table_records(kind)]
            for kind, group in projectfile.COLLECTIONS.items()
        }
        attrs = {
            "format": migrations.FORMAT,
            "schema_version": migrations.SCHEMA_VERSION,
            "app_version": __version__,
            "generation": generation,
            "saved": now_iso(),
            "id_counters": dumps(self._counters),
        }
        return {"attrs": attrs, "collections": collections}

    def _table_records(self, kind: str) -> list[Any]:
        return list(self._predictions) if kind == "prediction" else list(self._tables[kind].values())

    # --------------------------------------------------------------------------------------------- reading
    @property
    def studies(self) -> Mapping[str, Study]:
        return MappingProxyType(self._studies)

    @property
    def lesions(self) -> Mapping[str, Lesion]:
        return MappingProxyType(self._lesions)

    @property
    def runs(self) -> Mapping[str, RunRecord]:
        return MappingProxyType(self._runs)

    @property
    def models(self) -> Mapping[str, ModelRecord]:
        return MappingProxyType(self._models)

    def predictions(self, lesion_id: str | None = None) -> list[Prediction]:
        """Predictions, latest first, for one lesion or all."""
        chosen = [p for p in reversed(self._predictions) if lesion_id is None or p.lesion_id == lesion_id]
        return sorted(chosen, key=lambda p: p.created, reverse=True)

    def images_path(self, study_id: str) -> Path:
        """Where study ``study_id``'s image file lives."""
        return self.folder / IMAGES_DIR / f"{study_id}.h5"

    def images(self, study_id: str) -> StudyImages:
        """The study's phases on its reference grid (close it, or use ``with``)."""
        self._study(study_id)
        return StudyImages.open(self.images_path(study_id))

    def new_id(self, prefix: str, separator: str = "-") -> str:
        """A fresh id ``<prefix><separator>NNNN``, never used before in this project (not even by a deleted
        record)."""
        key = prefix + separator
        if key not in self._highest:  # the first id of this form: scan every id once, _put keeps it current
            pattern = re.compile(rf"^{re.escape(key)}(\d+)$")
            ids = [
                *self._studies,
                *self._lesions,
                *self._runs,
                *self._models,
                *(p.lesion_id for p in self._predictions),
            ]
            self._highest[key] = (
                pattern,
                max((int(m.group(1)) for m in map(pattern.match, ids) if m), default=0),
            )
        pattern, highest = self._highest[key]
        number = max(self._counters.get(prefix, 0), highest) + 1
        self._counters[prefix] = number
        self._highest[key] = (pattern, number)
        return f"{prefix}{separator}{number:04d}"

    def add_observer(self, callback: Observer) -> None:
        """Call ``callback(kind, record_id)`` after every change (see the module docstring)."""
        self._observers.append(callback)

    # --------------------------------------------------------------------------------------------- editing
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Make the edits inside the ``with`` block one all-or-nothing edit.

        They are journaled together, as one journal line with one fsync, when the block ends: a 100 000-row
        lesion import costs one fsync instead of 100 000, and a crash keeps the whole block or none of it
        (a torn line is ignored at recovery).  Observers hear of the edits only then.  When the block
        raises (a bad row, Ctrl-C, a full disk), the project returns to its state before the block: records,
        id counters, and the image files of studies added inside it; the journal never saw those edits.
        A transaction inside another one is part of the outer one.
        """
        self._check_writable()
        if self._batch is not None:
            yield
            return
        tables = {kind: dict(table) for kind, table in self._tables.items()}
        predictions, counters = list(self._predictions), dict(self._counters)
        self._batch = []
        try:
            yield
            batch = self._batch
            if batch:
                self._journal_append({"op": "batch", "edits": batch})
        except BaseException:
            for study_id in set(self._studies) - set(tables["study"]):
                remove_if_exists(self.images_path(study_id))
            for kind, table in self._tables.items():
                table.clear()
                table.update(tables[kind])
            self._predictions[:] = predictions
            self._counters = counters
            self._highest.clear()  # recomputed from the restored records when next needed
            raise
        finally:
            self._batch = None
        if batch:
            self.dirty = True
            for edit in batch:
                self._notify_all(_changes(edit))

    def add_study(self, patient_id: str, study_id: str, volumes: Mapping[str, Volume]) -> Study:
        """Add an examination: phase name -> Volume; writes ``images/<study_id>.h5`` once."""
        self._check_writable()
        if study_id in self._studies:
            raise InputError(f"study {study_id} is already in {self.folder.name}; pick another study id")
        study = build_study(self.images_path(check_id(study_id, "study")), patient_id, study_id, volumes)
        self._commit({"op": "put", "kind": "study", "record": to_dict(study)})
        return study

    def add_lesion(
        self,
        study_id: str,
        box: Box,
        grade: int | None = None,
        notes: str = "",
        lesion_id: str | None = None,
        author: str = "",
    ) -> Lesion:
        """Add a lesion box on ``study_id``'s reference grid; a fresh id is made when none is given."""
        self._check_writable()
        study = self._study(study_id)
        if lesion_id is None:
            lesion_id = self.new_id(LESION_PREFIX, separator="")
        elif lesion_id in self._lesions:
            raise InputError(f"lesion {lesion_id} already exists; give another lesion id or leave it empty")
        lesion = self._valid_lesion(
            dict(
                id=check_id(lesion_id, "lesion"),
                study_id=study_id,
                patient_id=study.patient_id,
                box=box,
                grade=grade,
                notes=notes,
                author=author,
            )
        )
        self._commit({"op": "put", "kind": "lesion", "record": to_dict(lesion)})
        return lesion

    def update_lesion(self, lesion_id: str, **changes: Any) -> Lesion:
        """Change a lesion's ``box``, ``grade`` and/or ``notes``; returns the new record."""
        self._check_writable()
        unknown = set(changes) - LESION_FIELDS
        if unknown:
            raise ValueError(f"update_lesion changes only {sorted(LESION_FIELDS)}, not {sorted(unknown)}")
        old = self._lesion(lesion_id)
        current = {
            name: getattr(old, name)
            for name in ("id", "study_id", "patient_id", "box", "grade", "notes", "author", "created")
        }
        lesion = self._valid_lesion({**current, **changes, "modified": now_iso()})
        self._commit({"op": "put", "kind": "lesion", "record": to_dict(lesion)})
        return lesion

    def delete_lesion(self, lesion_id: str) -> Lesion:
        """Remove a lesion; returns the removed record (put it back with :meth:`put_lesion` to undo)."""
        self._check_writable()
        lesion = self._lesion(lesion_id)
        self._commit({"op": "delete", "kind": "lesion", "id": lesion_id})
        return lesion

    def put_lesion(self, lesion: Lesion) -> None:
        """Insert or replace a whole lesion record as it is (undo and redo use this)."""
        self._check_writable()
        study = self._study(lesion.study_id)
        if lesion.patient_id != study.patient_id:
            raise InputError(
                f"lesion {lesion.id} names patient {lesion.patient_id}, but study "
                f"{study.id} belongs to {study.patient_id}"
            )
        self._valid_lesion({**to_dict(lesion), "box": lesion.box})
        self._commit({"op": "put", "kind": "lesion", "record": to_dict(lesion)})

    def put_run(self, run: RunRecord) -> None:
        """Insert or replace a cross-validation run record."""
        self._check_writable()
        _refuse(run_problems(run))
        self._commit({"op": "put", "kind": "run", "record": to_dict(run)})

    def put_model(self, record: ModelRecord) -> None:
        """Insert or replace a model record (the caller writes its ``.keras`` file inside the folder)."""
        self._check_writable()
        _refuse(model_problems(record))
        self._commit({"op": "put", "kind": "model", "record": to_dict(record)})

    def add_predictions(self, predictions: Iterable[Prediction]) -> None:
        """Store new predictions (earlier ones are kept as history)."""
        self._check_writable()
        predictions = list(predictions)
        _refuse([problem for p in predictions for problem in prediction_problems(p)])
        records = [to_dict(p) for p in predictions]
        if records:
            self._commit({"op": "add", "kind": "prediction", "records": records})

    # ------------------------------------------------------------------------------------------- internals
    def _check_writable(self) -> None:
        if self._closed:
            raise ProjectError(f"{self.folder.name} has been closed")
        if self.read_only:
            raise ProjectError(
                f"{self.folder.name} is open read-only; close the other HCC Desk that has it "
                "open and reopen it to make changes"
            )
        if self.pending_recovery is not None:
            raise ProjectError(
                f"{self.folder.name} has {self.pending_recovery.describe()}: recover or discard them first"
            )

    def _study(self, study_id: str) -> Study:
        try:
            return self._studies[study_id]
        except KeyError:
            raise InputError(f"there is no study {study_id!r} in {self.folder.name}") from None

    def _lesion(self, lesion_id: str) -> Lesion:
        try:
            return self._lesions[lesion_id]
        except KeyError:
            raise InputError(f"there is no lesion {lesion_id!r} in {self.folder.name}") from None

    def _valid_lesion(self, fields: dict[str, Any]) -> Lesion:
        """A Lesion from ``fields`` whose grade is valid and whose box lies inside its study's grid."""
        box = fields["box"]
        if not isinstance(box, Box):
            try:
                box = Box(*(int(v) for v in box))
            except (TypeError, ValueError) as error:
                raise InputError(
                    f"lesion box {box!r} is not six voxel indices z0 y0 x0 z1 y1 x1: {error}"
                ) from None
        study = self._study(fields["study_id"])
        if not box.fits(study.shape):
            raise InputError(
                f"box {box.as_tuple()} lies outside study {study.id}, whose grid is {study.shape}"
            )
        try:
            return Lesion(**{**fields, "box": box})
        except ValueError as error:
            raise InputError(f"lesion {fields['id']}: {error}") from None

    def _commit(self, entry: dict[str, Any]) -> None:
        """Journal ``entry`` durably, mark the project dirty, then apply it and tell the observers.

        Inside a :meth:`transaction` the entry is applied at once (later edits of the block see it) but
        journaled and announced only when the block ends.
        """
        # Applying the JSON text (not ``entry``) gives the project its own copy of every record, so a caller
        # that mutates its RunRecord afterwards cannot change the project behind the journal's back.
        if self._batch is not None:
            copy = json.loads(dumps(entry))
            self._apply(copy)
            self._batch.append(copy)
            return
        text = self._journal_append(entry)
        # Dirty before the observers hear of the change, so a callback that shows the saved/unsaved state
        # reads the new one.  The edit is journaled but not in project.h5 from here on, whatever happens.
        self.dirty = True
        self._notify_all(self._apply(json.loads(text)))

    def _journal_append(self, entry: dict[str, Any]) -> str:
        assert self._journal is not None
        try:
            return self._journal.append(entry)
        except OSError as error:
            raise ProjectError(
                f"could not record the edit in {self._journal.path}: {error}; nothing changed"
            ) from error

    def _apply(self, entry: dict[str, Any]) -> list[tuple[str, str]]:
        """Change the tables as ``entry`` says; returns the ``(kind, record_id)`` changes to announce."""
        kind, op = entry["kind"], entry["op"]
        if op == "put":
            self._put(kind, from_dict(kind, entry["record"]))
        elif op == "delete":
            self._tables[kind].pop(entry["id"], None)
        elif op == "add":
            self._predictions.extend(from_dict(kind, r) for r in entry["records"])
        else:
            raise ProjectError(f"unknown journal operation {op!r}")
        return _changes(entry)

    def _notify_all(self, changes: list[tuple[str, str]]) -> None:
        for kind, record_id in changes:
            self._notify(kind, record_id)

    def _put(self, kind: str, record: Any) -> None:
        if kind == "prediction":
            self._predictions.append(record)
        else:
            self._tables[kind][record.id] = record
        record_id = record.lesion_id if kind == "prediction" else record.id
        for key, (pattern, highest) in self._highest.items():
            match = pattern.match(record_id)
            if match and int(match.group(1)) > highest:
                self._highest[key] = (pattern, int(match.group(1)))

    def _notify(self, kind: str, record_id: str) -> None:
        for callback in list(self._observers):
            callback(kind, record_id)


def _refuse(problems: list[str]) -> None:
    """Refuse a record that the next open would refuse (the checks of reading, applied when writing)."""
    if problems:
        raise InputError(f"cannot store {'; '.join(problems)}")


def _changes(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """The ``(kind, record_id)`` notifications of one journal entry (predictions: one per lesion)."""
    kind, op = entry["kind"], entry["op"]
    if op == "put":
        return [(kind, entry["record"]["id"])]
    if op == "delete":
        return [(kind, entry["id"])]
    return [(kind, lesion_id) for lesion_id in dict.fromkeys(r["lesion_id"] for r in entry["records"])]
