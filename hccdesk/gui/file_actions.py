"""File menu work: new/open (with lock and crash-recovery questions), the demo, imports and exports.

Opening asks what a careful user wants to be asked: a project held by another instance can be opened
read-only, and unsaved edits of a session that ended unexpectedly can be recovered or discarded.  Imports run
in a :class:`~hccdesk.gui.background_task.BackgroundTask` behind a modal progress dialog (the project has one
writer, so the user does not edit while an import writes); their errors become dialogs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6 import QtCore, QtWidgets

from hccdesk.errors import ProjectLocked
from hccdesk.gui.background_task import BackgroundTask, run_with_progress
from hccdesk.gui.dialogs import guarded, show_error

if TYPE_CHECKING:
    from hccdesk.gui.document import ProjectDocument
    from hccdesk.store.project import Project

PROJECT_FILTER = "HCC Desk project (*.hccdesk)"


class FileActionsHost(Protocol):
    """What the File menu's actions use of the window that hosts them; the main window satisfies it.

    Naming these few members instead of the main window's class keeps the actions from reaching into the
    window's panels, and keeps ``main_window -> file_actions`` a one-way import.
    """

    @property
    def document(self) -> ProjectDocument | None:
        """The open project's document, or None."""

    def close_project(self) -> bool:
        """Close the open project, asking about unsaved edits; False when the user kept it open."""

    def open_project(self, project: Project) -> None:
        """Show ``project``, which the host owns from now on."""

    def window(self) -> QtWidgets.QWidget:
        """The top-level widget that parents the dialogs (Qt's ``QWidget.window``)."""

    def statusBar(self) -> QtWidgets.QStatusBar:  # noqa: N802 (Qt's name, which the main window provides)
        """Where short messages go (Qt's ``QMainWindow.statusBar``)."""


def demo_folder() -> Path:
    """The demo project's folder, the same one ``hccdesk demo`` uses (``$HCCDESK_HOME/demo/...``)."""
    from hccdesk.phantom.demo import DEMO_NAME, default_demo_dir

    return default_demo_dir() / DEMO_NAME


class FileActions(QtCore.QObject):
    """The File menu's actions for one main window."""

    def __init__(self, host: FileActionsHost) -> None:
        super().__init__(host.window())
        self._host = host
        self._window = host.window()
        self._tasks: list[BackgroundTask] = []

    # --- open / new ------------------------------------------------------------------------------------
    def new_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self._window, "New project", "", PROJECT_FILTER)
        if path:
            self.create_path(Path(path if path.endswith(".hccdesk") else f"{path}.hccdesk"))

    @guarded("Cannot create the project")
    def create_path(self, folder: Path) -> None:
        from hccdesk.store.project import Project

        if self._host.close_project():
            self._host.open_project(Project.create(folder))

    def open_dialog(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(
            self._window, "Open project (a NAME.hccdesk folder)"
        )
        if path:
            self.open_path(Path(path))

    @guarded("Cannot open the project")
    def open_path(self, folder: Path) -> None:
        """Open ``folder``, offering read-only when it is locked and recovery when edits were left unsaved."""
        from hccdesk.store.project import Project

        if self._host.document is not None and Path(self._host.document.folder) == folder:
            return
        try:
            project = Project.open(folder)  # first, so a project that cannot open leaves the current one open
        except ProjectLocked as error:
            answer = QtWidgets.QMessageBox.question(
                self._window, "Project in use", f"{error}\n\nOpen it read-only instead?"
            )
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return
            project = Project.open(folder, read_only=True)
        if project.pending_recovery is not None and not project.read_only:
            answer = QtWidgets.QMessageBox.question(
                self._window,
                "Recover unsaved edits?",
                f"Found {project.pending_recovery.describe()}.\n\nRecover them? (No deletes them.)",
            )
            if answer == QtWidgets.QMessageBox.StandardButton.Yes:
                project.recover()
            else:
                project.discard_recovery()
        if not self._host.close_project():
            project.close()
            return
        self._host.open_project(project)

    def open_demo(self) -> None:
        """Open the demo project, building it first in the background (a phantom cohort, about a minute)."""
        folder = demo_folder()

        def build(task: BackgroundTask) -> Path:
            from hccdesk.phantom.demo import build_demo

            task.report(0, 0, f"Building the demo cohort in {folder} (first time only, a few minutes)…")
            path = build_demo(folder)
            task.check()  # cancelled while building: the finished demo stays for next time, but is not opened
            return path

        self.run("Preparing the demo project", build, lambda path: self.open_path(Path(path)))

    # --- imports ---------------------------------------------------------------------------------------
    def import_dicom(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self._window, "Import a study's DICOM folder")
        if folder:
            self._ask_ids_and_import([folder])

    def import_nifti(self) -> None:
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self._window, "Import a study's phases (NIfTI)", "", "NIfTI (*.nii *.nii.gz)"
        )
        if paths:
            self._ask_ids_and_import(paths)

    def _ask_ids_and_import(self, paths: Sequence[str]) -> None:
        project = self._project()
        patient, ok = QtWidgets.QInputDialog.getText(
            self._window,
            "Import study",
            "Patient pseudonym (never a name or hospital number):",
            text=project.new_id("P"),
        )
        if not ok:
            return
        study, ok = QtWidgets.QInputDialog.getText(
            self._window, "Import study", "Study id:", text=project.new_id("S")
        )
        if ok:
            self.import_study(paths, patient.strip(), study.strip())

    def import_study(self, paths: Sequence[str], patient_id: str, study_id: str) -> BackgroundTask:
        """Import one study's phases from ``paths`` (DICOM folders or NIfTI files) in the background."""
        project = self._project()

        notes: list[str] = []

        def work(task: BackgroundTask) -> Any:
            from hccdesk.store.import_export import import_study

            return import_study(
                project,
                patient_id,
                study_id,
                [str(p) for p in paths],
                {},
                notes,
                progress=task.report,
                cancelled=task.cancel_requested,
            )

        return self.run("Importing study", work, lambda study: self._imported([study], notes))

    def import_manifest(self) -> BackgroundTask | None:
        """Ask for a cohort manifest and import its studies in the background (None when none was chosen)."""
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self._window, "Import a cohort manifest", "", "CSV (*.csv)"
        )
        if not path:
            return None
        project = self._project()

        def work(task: BackgroundTask) -> Any:
            from hccdesk.store.import_export import import_manifest

            return import_manifest(project, path, progress=task.report, cancelled=task.cancel_requested)

        return self.run("Importing cohort", work, self._imported)

    @guarded("Cannot import lesions")
    def import_lesions_csv(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self._window, "Import lesions", "", "CSV (*.csv)")
        if path:
            from hccdesk.store.import_export import import_lesions_csv

            lesions = import_lesions_csv(self._project(), path)
            self._host.statusBar().showMessage(f"Imported {len(lesions)} lesion(s) from {path}", 6000)

    @guarded("Cannot export lesions")
    def export_lesions_csv(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self._window, "Export lesions", "lesions.csv", "CSV (*.csv)"
        )
        if path:
            from hccdesk.store.import_export import export_lesions_csv

            export_lesions_csv(self._project(), path)
            self._host.statusBar().showMessage(f"Exported lesions to {path}", 6000)

    def export_masks(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self._window, "Export lesion masks (NIfTI) to")
        if not folder:
            return
        project = self._project()

        def work(task: BackgroundTask) -> Any:
            from hccdesk.store.import_export import export_masks

            task.report(0, 0, f"Writing masks to {folder}…")
            return export_masks(project, folder)

        self.run(
            "Exporting masks",
            work,
            lambda _r: self._host.statusBar().showMessage(f"Masks in {folder}", 6000),
        )

    # --- plumbing --------------------------------------------------------------------------------------
    def run(
        self, title: str, work: Callable[[BackgroundTask], Any], done: Callable[[Any], None]
    ) -> BackgroundTask:
        """Run ``work`` behind a progress dialog; errors become a dialog titled after ``title``."""
        holder: list[BackgroundTask] = []
        task = run_with_progress(
            self._window,
            title,
            work,
            done,
            lambda error: show_error(self._window, f"{title} failed", error),
            lambda: self._tasks.remove(holder[0]),
            lambda message: self._host.statusBar().showMessage(message, 15000),
        )
        holder.append(task)
        self._tasks.append(task)
        return task

    @property
    def busy(self) -> bool:
        """True while an import, export or demo build runs."""
        return bool(self._tasks)

    def wait(self) -> None:
        """Let running tasks finish (called before the window closes; a write is never cut short)."""
        for task in list(self._tasks):
            task.cancel()
            task.wait()

    def _project(self) -> Any:
        document = self._host.document
        if document is None:
            raise RuntimeError("no project is open")
        return document.project

    def _imported(self, studies: Sequence[Any], notes: Sequence[str] = ()) -> None:
        document = self._host.document
        if document is None or not studies:
            return
        self._host.statusBar().showMessage(f"Imported {len(studies)} study(ies)", 6000)
        document.show_study(studies[-1].id)
        if notes:
            QtWidgets.QMessageBox.information(self._window, "Imported, with notes", "\n".join(notes))
