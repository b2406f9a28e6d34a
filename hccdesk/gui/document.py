"""The open project as the GUI sees it: the store's Project, an undo stack, a selection and the shown study.

The Project is the single writer (docs/design/architecture.md §1.3) and notifies observers of every change,
including those made by undo/redo and by imported job results; this class turns those notifications into Qt
signals so each panel refreshes from the project instead of from the action that changed it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui

from hccdesk.gui import undo_commands
from hccdesk.store.records import Box, Lesion, Prediction


class ProjectDocument(QtCore.QObject):
    """One open project: edits go through :attr:`undo_stack`; panels listen to the change signals."""

    lesions_changed = QtCore.Signal()
    records_changed = QtCore.Signal(str)  # kind of a non-lesion record ("run", "model", ...)
    selection_changed = QtCore.Signal(str)  # lesion id, "" for none
    study_changed = QtCore.Signal(str)  # study id, "" for none
    dirty_changed = QtCore.Signal(bool)

    def __init__(self, project, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.undo_stack = QtGui.QUndoStack(self)
        self.study_id = ""
        self.selected = ""
        self._dirty = bool(project.dirty)
        project.add_observer(self._changed)
        self.undo_stack.indexChanged.connect(lambda _index: self._emit_dirty())

    @property
    def folder(self) -> Path:
        return Path(self.project.folder)

    @property
    def dirty(self) -> bool:
        return bool(self.project.dirty)

    # --- navigation ---------------------------------------------------------------------------------------
    def show_study(self, study_id: str) -> None:
        """Show another study; a selected lesion of the previous study is deselected."""
        if study_id == self.study_id:
            return
        selected = self.project.lesions.get(self.selected) if self.selected else None
        if selected is not None and selected.study_id != study_id:
            self.selected = ""
            self.selection_changed.emit("")
        self.study_id = study_id
        self.study_changed.emit(study_id)

    def select(self, lesion_id: str) -> None:
        """Select a lesion (showing its study first) or clear the selection with ``""``."""
        lesion = self.project.lesions.get(lesion_id) if lesion_id else None
        if lesion is not None:
            self.show_study(lesion.study_id)
        new = lesion.id if lesion is not None else ""
        if new != self.selected:
            self.selected = new
            self.selection_changed.emit(new)

    def study_lesions(self, study_id: str | None = None) -> list[Lesion]:
        wanted = study_id if study_id is not None else self.study_id
        return [lesion for lesion in self.project.lesions.values() if lesion.study_id == wanted]

    def latest_predictions(self) -> dict[str, Prediction]:
        """The newest prediction of every lesion that has one."""
        latest: dict[str, Prediction] = {}
        for prediction in self.project.predictions():
            latest.setdefault(prediction.lesion_id, prediction)
        return latest

    # --- undoable edits -----------------------------------------------------------------------------------
    def add_box(self, box: Box) -> None:
        command = undo_commands.AddLesion(self.project, self.study_id, box)
        self.undo_stack.push(command)
        self.select(command.lesion_id)

    def set_box(self, lesion_id: str, box: Box) -> None:
        if self.project.lesions[lesion_id].box != box:
            self.undo_stack.push(undo_commands.UpdateLesion(self.project, lesion_id, "Resize box", box=box))

    def set_grade(self, lesion_id: str, grade: int | None) -> None:
        if self.project.lesions[lesion_id].grade != grade:
            command = undo_commands.UpdateLesion(self.project, lesion_id, "Set grade", grade=grade)
            self.undo_stack.push(command)

    def set_notes(self, lesion_id: str, notes: str) -> None:
        if self.project.lesions[lesion_id].notes != notes:
            self.undo_stack.push(undo_commands.EditNotes(self.project, lesion_id, notes))

    def delete(self, lesion_id: str) -> None:
        self.undo_stack.push(undo_commands.DeleteLesion(self.project, lesion_id))

    # --- persistence --------------------------------------------------------------------------------------
    def save(self) -> None:
        self.project.save()
        self.undo_stack.setClean()
        self._emit_dirty()

    def _changed(self, kind: str, record_id: str) -> None:
        if kind.startswith("lesion"):
            if self.selected and self.selected not in self.project.lesions:
                self.selected = ""
                self.selection_changed.emit("")
            self.lesions_changed.emit()
        else:
            self.records_changed.emit(kind)
        self._emit_dirty()  # the store is already marked dirty when it notifies

    def _emit_dirty(self) -> None:
        dirty = self.dirty
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)
