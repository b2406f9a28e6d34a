"""Every lesion edit as a QUndoCommand that calls the project's edit API (which journals it for recovery).

Records are immutable, so a command keeps the record before and after the edit: undo puts the old record back
(``put_lesion``) or deletes the new one, redo puts the new one back.  The first redo goes through the
dedicated call (``add_lesion``, ``update_lesion``, ``delete_lesion``) so the store stamps ids and times.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtGui

from hccdesk.store.records import Box, Lesion

NOTES_MERGE_ID = 1001


class LesionCommand(QtGui.QUndoCommand):
    """Base: swaps between ``before`` and ``after`` records (either may be None: not present)."""

    def __init__(self, project, text: str) -> None:
        super().__init__(text)
        self.project = project
        self.before: Lesion | None = None
        self.after: Lesion | None = None
        self._done_once = False

    def redo(self) -> None:
        if not self._done_once:
            self._done_once = True
            self.first_redo()
        else:
            self._apply(self.before, self.after)

    def undo(self) -> None:
        self._apply(self.after, self.before)

    def first_redo(self) -> None:
        raise NotImplementedError

    def _apply(self, current: Lesion | None, target: Lesion | None) -> None:
        if target is not None:
            self.project.put_lesion(target)
        elif current is not None:
            self.project.delete_lesion(current.id)

    @property
    def lesion_id(self) -> str:
        record = self.after or self.before
        assert record is not None
        return record.id


class AddLesion(LesionCommand):
    """Create a lesion from a drawn box."""

    def __init__(self, project, study_id: str, box: Box, author: str = "") -> None:
        super().__init__(project, "Draw box")
        self._study_id, self._box, self._author = study_id, box, author

    def first_redo(self) -> None:
        self.after = self.project.add_lesion(self._study_id, self._box, author=self._author)


class UpdateLesion(LesionCommand):
    """Change a lesion's box, grade or notes."""

    def __init__(self, project, lesion_id: str, text: str, **changes: Any) -> None:
        super().__init__(project, text)
        self.before = project.lesions[lesion_id]
        self._changes = changes

    def first_redo(self) -> None:
        assert self.before is not None
        self.after = self.project.update_lesion(self.before.id, **self._changes)


class EditNotes(UpdateLesion):
    """Notes typed in a burst merge into one undo step per lesion."""

    def __init__(self, project, lesion_id: str, notes: str) -> None:
        super().__init__(project, lesion_id, "Edit notes", notes=notes)

    def id(self) -> int:
        return NOTES_MERGE_ID

    def mergeWith(self, other: QtGui.QUndoCommand) -> bool:  # noqa: N802
        if not isinstance(other, EditNotes) or other.lesion_id != self.lesion_id:
            return False
        self.after = other.after
        return True


class DeleteLesion(LesionCommand):
    """Remove a lesion (undo restores the identical record)."""

    def __init__(self, project, lesion_id: str) -> None:
        super().__init__(project, "Delete box")
        self._lesion_id = lesion_id

    def first_redo(self) -> None:
        self.before = self.project.delete_lesion(self._lesion_id)
