"""The main window: menus and toolbar, the lesion browser, the phase grid, the inspector and the job docks.

It owns at most one open project (a :class:`ProjectDocument`) and wires the panels to it; each panel does its
own job.  Every action that can fail goes through :func:`hccdesk.gui.dialogs.guarded`, so an error becomes a
dialog and the app keeps running with the project as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from hccdesk.device import describe_device
from hccdesk.errors import ProjectError
from hccdesk.gui import planes, settings, undo_commands
from hccdesk.gui.browser import Browser
from hccdesk.gui.dialogs import ask_unsaved, guarded, show_error
from hccdesk.gui.document import ProjectDocument
from hccdesk.gui.file_actions import FileActions
from hccdesk.gui.inspector import Inspector
from hccdesk.gui.job_panel import JobPanel
from hccdesk.gui.phase_grid import PhaseGrid
from hccdesk.gui.resources import app_icon, window_level_presets
from hccdesk.gui.review import ReviewController
from hccdesk.gui.steady_layout import scrolling
from hccdesk.gui.study_volumes import StudyVolumes
from hccdesk.gui.welcome import WelcomePage
from hccdesk.store.records import Box

if TYPE_CHECKING:
    from hccdesk.store.project import Project

APP_NAME = "HCC Desk"


class MainWindow(QtWidgets.QMainWindow):
    """The application window; :meth:`open_project` and :meth:`close_project` switch what it shows."""

    def __init__(self, device: str = "") -> None:
        super().__init__()
        self.setWindowIcon(app_icon())
        self.resize(1500, 950)
        self.document: ProjectDocument | None = None
        self.volumes: StudyVolumes | None = None
        self.presets, auto_name = window_level_presets()
        self.auto_preset = next(p for p in self.presets if p.name == auto_name)
        self.grid = PhaseGrid()
        self.welcome = WelcomePage()
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.grid)
        self.setCentralWidget(self.stack)
        self.left_dock = self._dock(
            "Studies and lesions", "browserDock", QtCore.Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.right_dock = self._dock("Lesion", "inspectorDock", QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.bottom_dock = self._dock(
            "Training and cross-validation", "cvDock", QtCore.Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.browser: Browser | None = None
        self.inspector: Inspector | None = None
        self.review: ReviewController | None = None
        self.files = FileActions(self)
        self.jobs: JobPanel | None = None
        self.device = device
        self._build_status_bar(device)
        self._build_actions()
        self._connect_grid()
        self.welcome.demo_requested.connect(self.files.open_demo)
        self.welcome.open_requested.connect(self.files.open_dialog)
        self.welcome.new_requested.connect(self.files.new_dialog)
        self.welcome.recent_requested.connect(lambda path: self.files.open_path(Path(path)))
        self._show_welcome()
        self.resizeDocks([self.left_dock, self.right_dock], [340, 380], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.bottom_dock], [300], QtCore.Qt.Orientation.Vertical)

    # --- construction ------------------------------------------------------------------------------------
    def _dock(self, title: str, name: str, area: QtCore.Qt.DockWidgetArea) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(name)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self, device: str) -> None:
        bar = self.statusBar()
        self.position_label = QtWidgets.QLabel("")
        self.save_label = QtWidgets.QLabel("")
        self.device_label = QtWidgets.QLabel(f"Jobs run on {device}" if device else "")
        bar.addWidget(self.position_label, 1)
        bar.addPermanentWidget(self.save_label)
        bar.addPermanentWidget(self.device_label)

    def _action(
        self, menu: QtWidgets.QMenu, text: str, slot, shortcut: QtGui.QKeySequence | str | None = None
    ) -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        keys = QtGui.QKeySequence.StandardKey
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.new_action = self._action(file_menu, "&New project…", self.files.new_dialog, keys.New)
        self.open_action = self._action(file_menu, "&Open project…", self.files.open_dialog, keys.Open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.demo_action = self._action(file_menu, "Open the &demo project", self.files.open_demo)
        self.save_action = self._action(file_menu, "&Save project", self.save, keys.Save)
        file_menu.addSeparator()
        self.import_dicom_action = self._action(file_menu, "Import &DICOM folder…", self.files.import_dicom)
        self.import_nifti_action = self._action(file_menu, "Import &NIfTI files…", self.files.import_nifti)
        self.import_manifest_action = self._action(
            file_menu, "Import cohort &manifest…", self.files.import_manifest
        )
        self.import_csv_action = self._action(
            file_menu, "Import lesions &CSV…", self.files.import_lesions_csv
        )
        self.export_csv_action = self._action(
            file_menu, "&Export lesions CSV…", self.files.export_lesions_csv
        )
        self.export_masks_action = self._action(file_menu, "Export lesion &masks…", self.files.export_masks)
        self.export_report_action = self._action(file_menu, "Export &report…", self.export_report)
        file_menu.addSeparator()
        self.close_project_action = self._action(file_menu, "&Close project", self.close_project, keys.Close)
        self._action(file_menu, "&Quit", self.close, keys.Quit)

        edit_menu = bar.addMenu("&Edit")
        self.undo_action = self._action(edit_menu, "&Undo", self.undo, keys.Undo)
        self.redo_action = self._action(edit_menu, "&Redo", self.redo, QtGui.QKeySequence("Ctrl+Shift+Z"))
        edit_menu.addSeparator()
        self.box_tool_action = self._action(edit_menu, "&Box tool", self._toggle_box_tool, "B")
        self.box_tool_action.setCheckable(True)
        self.delete_action = self._action(
            edit_menu, "&Delete selected box", self.delete_selected, keys.Delete
        )
        self.first_slice_action = self._action(
            edit_menu, "Set box's first slice here", lambda: self.set_extent("first"), "["
        )
        self.last_slice_action = self._action(
            edit_menu, "Set box's last slice here", lambda: self.set_extent("last"), "]"
        )

        view_menu = bar.addMenu("&View")
        self.axis_actions = QtGui.QActionGroup(self)
        for axis, name in enumerate(planes.AXIS_NAMES):
            action = self._action(
                view_menu, name, lambda _=False, a=axis: self.grid.set_axis(a), f"Ctrl+{axis + 1}"
            )
            action.setCheckable(True)
            action.setChecked(axis == planes.AXIAL)
            self.axis_actions.addAction(action)
        view_menu.addSeparator()
        self.link_levels_action = self._action(
            view_menu, "&Link window/level across phases", self._link_levels
        )
        self.link_levels_action.setCheckable(True)
        self.link_levels_action.setChecked(True)
        presets_menu = view_menu.addMenu("Window/level &presets")
        for preset in self.presets:
            self._action(presets_menu, preset.name, lambda _=False, p=preset: self.grid.apply_preset(p))
        self._action(view_menu, "&Auto window/level", lambda: self.grid.apply_preset(self.auto_preset), "A")
        self._action(view_menu, "&Reset zoom", self.reset_zoom, "R")
        view_menu.addSeparator()
        self.heat_action = self._action(view_menu, "&Heat map of the selected lesion", self._show_heat, "H")
        self.heat_action.setCheckable(True)
        self.attention_action = self._action(
            view_menu, "Attention of the patch under the &cursor", self._show_attention, "Shift+H"
        )
        self.attention_action.setCheckable(True)
        view_menu.addSeparator()
        for dock in (self.left_dock, self.right_dock, self.bottom_dock):
            view_menu.addAction(dock.toggleViewAction())

        model_menu = bar.addMenu("&Model")
        self.grade_action = self._action(model_menu, "&Grade lesions", self.grade, "Ctrl+G")
        self.cancel_action = self._action(model_menu, "Cance&l", self.cancel, "Esc")
        self.cancel_action.setToolTip("Stop the grading in progress, else the running job (Esc)")
        self.cancel_action.setEnabled(False)  # while nothing runs (see JobPanel.cancellable_changed)
        self.next_uncertain_action = self._action(
            model_menu, "&Next uncertain lesion", self.next_uncertain, "N"
        )
        self.cv_action = self._action(
            model_menu, "&Cross-validate…", self.show_cross_validation, "Ctrl+Shift+V"
        )

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        for action in (
            self.new_action,
            self.open_action,
            self.save_action,
            None,
            self.import_dicom_action,
            self.import_nifti_action,
            self.import_manifest_action,
            None,
            self.undo_action,
            self.redo_action,
            self.box_tool_action,
            None,
            self.grade_action,
            self.cv_action,
        ):
            if action is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(action)
        self.preset_combo = QtWidgets.QComboBox()
        self.preset_combo.addItems([p.name for p in self.presets])
        self.preset_combo.setCurrentText(self.auto_preset.name)
        self.preset_combo.setToolTip("Window/level preset (percentiles of each phase); right-drag to adjust")
        self.preset_combo.activated.connect(lambda i: self.grid.apply_preset(self.presets[i]))
        toolbar.addSeparator()
        toolbar.addWidget(self.preset_combo)
        self._project_actions = [
            self.save_action,
            self.import_dicom_action,
            self.import_nifti_action,
            self.import_manifest_action,
            self.import_csv_action,
            self.export_csv_action,
            self.export_masks_action,
            self.export_report_action,
            self.close_project_action,
            self.box_tool_action,
            self.delete_action,
            self.first_slice_action,
            self.last_slice_action,
            self.grade_action,
            self.next_uncertain_action,
            self.heat_action,
            self.attention_action,
            self.cv_action,
        ]
        self.refresh_recent_menu()

    def _connect_grid(self) -> None:
        self.grid.box_drawn.connect(self.add_box)
        self.grid.box_edited.connect(self._box_edited)
        self.grid.lesion_clicked.connect(lambda lesion_id: self.document and self.document.select(lesion_id))
        self.grid.hovered.connect(self._show_position)
        self.grid.cursor_moved.connect(self._show_position)

    # --- project lifecycle -------------------------------------------------------------------------------
    def open_project(self, project: Project) -> None:
        """Show ``project`` (an open :class:`~hccdesk.store.project.Project`); the old one is closed."""
        document = ProjectDocument(project, self)
        self.document = document
        self.browser = Browser(document)
        self.left_dock.setWidget(self.browser)
        self.inspector = Inspector(document, lambda: self.volumes, lambda: self.grid.levels)
        self.right_dock.setWidget(scrolling(self.inspector))
        self._build_job_panel(document)
        self.review = ReviewController(
            document, self.grid, self.inspector, lambda text: self.statusBar().showMessage(text, 8000), self
        )
        document.study_changed.connect(self._show_study)
        document.lesions_changed.connect(self._show_lesions)
        document.selection_changed.connect(self._selection_changed)
        document.dirty_changed.connect(lambda _dirty: self._update_title())
        document.undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        document.undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        for action in self._project_actions:
            action.setEnabled(True)
        self.stack.setCurrentWidget(self.grid)
        settings.remember_project(str(project.folder))
        self.refresh_recent_menu()
        studies = sorted(project.studies)
        if studies:
            document.show_study(studies[0])
        self._update_title()
        for warning in project.warnings:
            self.statusBar().showMessage(warning, 10000)

    def _build_job_panel(self, document: ProjectDocument) -> None:
        self.jobs = JobPanel(document, self.device or describe_device(), self)
        self.bottom_dock.setWidget(self.jobs)
        self.jobs.cancellable_changed.connect(self.cancel_action.setEnabled)
        self.cancel_action.setEnabled(self.jobs.cancellable)

    def close_project(self) -> bool:
        """Close the open project after asking about unsaved changes; False when the user cancelled."""
        document = self.document
        if document is None:
            return True
        if self.jobs is not None and self.jobs.busy:
            answer = QtWidgets.QMessageBox.question(
                self, "Job running", "A job is running. Closing cancels it (finished folds are kept). Close?"
            )
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return False
        if self.jobs is not None:
            self.jobs.shutdown()  # first, so a cancelled run's finished folds are in the project to save
        if self.review is not None:
            self.review.close()
        if document.dirty:
            answer = ask_unsaved(self, "closing it")
            if answer == QtWidgets.QMessageBox.StandardButton.Cancel:
                return False
            if answer == QtWidgets.QMessageBox.StandardButton.Save:
                try:
                    document.save()
                except ProjectError as error:
                    show_error(self, "Save failed", error)
                    return False
        discard = document.dirty  # the user chose Discard
        document.project.close(discard_unsaved=discard)
        self.document, self.volumes = None, None
        self.grid.set_study(None)
        for dock in (self.left_dock, self.right_dock, self.bottom_dock):
            widget = dock.widget()
            dock.setWidget(None)
            if widget is not None:
                widget.deleteLater()
        if self.review is not None:
            self.review.deleteLater()
        self.browser, self.inspector, self.jobs, self.review = None, None, None, None
        for action in (self.heat_action, self.attention_action):
            action.setChecked(False)
        document.deleteLater()
        self._show_welcome()
        return True

    def _show_welcome(self) -> None:
        for action in (*self._project_actions, self.cancel_action):
            action.setEnabled(False)
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        self.welcome.set_recent(settings.recent_projects())
        self.stack.setCurrentWidget(self.welcome)
        self._update_title()

    def refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in settings.recent_projects():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.files.open_path(Path(p)))
        self.recent_menu.setEnabled(not self.recent_menu.isEmpty())

    def _update_title(self) -> None:
        if self.document is None:
            self.setWindowTitle(APP_NAME)
            self.save_label.setText("")
            return
        project = self.document.project
        name = Path(project.folder).name
        flags = " [read-only]" if project.read_only else ""
        self.setWindowTitle(f"{name}[*]{flags} — {APP_NAME}")
        self.setWindowModified(self.document.dirty)
        self.save_label.setText("Unsaved changes (journaled)" if self.document.dirty else "All changes saved")

    @guarded("Save failed")
    def save(self) -> None:
        if self.document is not None:
            self.document.save()
            self._update_title()
            self.statusBar().showMessage(f"Saved {self.document.folder}", 4000)

    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802
        if not self.close_project():
            ev.ignore()
            return
        self.files.wait()
        settings.app_settings().setValue("geometry", self.saveGeometry())
        settings.app_settings().setValue("window_state", self.saveState())
        ev.accept()

    def restore_geometry(self) -> None:
        store = settings.app_settings()
        geometry, state = store.value("geometry"), store.value("window_state")
        if isinstance(geometry, QtCore.QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QtCore.QByteArray):
            self.restoreState(state)

    # --- study display -----------------------------------------------------------------------------------
    @guarded("Cannot show study")
    def _show_study(self, study_id: str) -> None:
        if self.document is None or not study_id:
            return
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            self.volumes = StudyVolumes.load(self.document.project, study_id)
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        self.grid.set_study(self.volumes, self.auto_preset)
        self._show_lesions()
        if self.inspector is not None:
            self.inspector.refresh()

    def _show_lesions(self) -> None:
        if self.document is None or self.volumes is None:
            return
        lesions = self.document.study_lesions(self.volumes.study.id)
        self.grid.set_lesions(lesions, self.document.selected or None)

    def _selection_changed(self, lesion_id: str) -> None:
        self._show_lesions()
        if not lesion_id or self.document is None or self.volumes is None:
            return
        box = self.document.project.lesions[lesion_id].box
        centre = tuple((lo + hi - 1) // 2 for lo, hi in zip(box.lower, box.upper, strict=True))
        if not planes.box_spans(self.grid.axis, box, self.grid.slice_index):
            self.grid.set_cursor(centre)  # type: ignore[arg-type]

    def _show_position(self, voxel: tuple[int, int, int] | None) -> None:
        volumes = self.volumes
        if volumes is None or voxel is None:
            self.position_label.setText("")
            return
        x, y, z = volumes.world(voxel)
        values = "  ".join(f"{phase} {volumes.volumes[phase][voxel]:.0f}" for phase in volumes.phases)
        k, j, i = voxel
        self.position_label.setText(
            f"voxel (i {i}, j {j}, k {k})  LPS ({x:.1f}, {y:.1f}, {z:.1f}) mm   {values}"
        )

    def reset_zoom(self) -> None:
        """Fit the slice into the views (after the window or the docks changed size)."""
        self.grid.views[next(iter(self.grid.views))].viewbox.autoRange(padding=0.0)

    def _link_levels(self, linked: bool) -> None:
        self.grid.link_levels = linked

    # --- editing -----------------------------------------------------------------------------------------
    def _toggle_box_tool(self, on: bool) -> None:
        self.grid.set_drawing(on)
        self.statusBar().showMessage(
            "Box tool: drag on any phase to draw a box; [ and ] set its first and last slice" if on else "",
            5000,
        )

    @guarded("Cannot add the box")
    def add_box(self, box: Box) -> None:
        if self.document is not None and self.volumes is not None:
            self.document.add_box(box)

    @guarded("Cannot change the box")
    def _box_edited(self, lesion_id: str, box: Box) -> None:
        if self.document is not None:
            self.document.set_box(lesion_id, box)

    @guarded("Cannot set the box's extent")
    def set_extent(self, which: str) -> None:
        """``[`` / ``]``: the selected box's first / last slice along the current axis becomes this slice."""
        document = self.document
        if document is None or not document.selected:
            self.statusBar().showMessage("Select a box first (click it), then press [ or ]", 4000)
            return
        box = document.project.lesions[document.selected].box
        document.set_box(
            document.selected, planes.with_extent(box, which, self.grid.axis, self.grid.slice_index)
        )

    @guarded("Cannot delete the box")
    def delete_selected(self) -> None:
        if self.document is not None and self.document.selected:
            self.document.delete(self.document.selected)

    @guarded("Undo failed")
    def undo(self) -> None:
        if self.document is not None:
            self._commit_typing()
            stack = self.document.undo_stack
            stack.undo()
            self._select_touched(stack.command(stack.index()))

    @guarded("Redo failed")
    def redo(self) -> None:
        if self.document is not None:
            self._commit_typing()
            stack = self.document.undo_stack
            stack.redo()
            self._select_touched(stack.command(stack.index() - 1))

    def _select_touched(self, command: QtGui.QUndoCommand | None) -> None:
        """Select the lesion an undo or redo step changed, when it exists after the step: a redone drawing or
        an undone delete came back unselected, so the inspector and the live grade showed nothing of it."""
        if not isinstance(command, undo_commands.LesionCommand) or self.document is None:
            return
        if command.lesion_id in self.document.project.lesions:
            self.document.select(command.lesion_id)

    def _commit_typing(self) -> None:
        """Notes being typed become their own undo step first, so Ctrl+Z undoes them, not an older edit."""
        if self.inspector is not None:
            self.inspector.commit_notes()

    # --- jobs --------------------------------------------------------------------------------------------
    @guarded("Cannot grade")
    def grade(self) -> None:
        """Grade the lesions selected in the table (all when none) and store the predictions: through the
        warm worker when a run or model exists, else through the job panel (which offers to train one)."""
        if self.document is None or self.jobs is None or self.browser is None or self.review is None:
            return
        if self.review.bridge.has_source:
            ids = self.browser.selected_lesion_ids()
            started = self.review.grade(ids, ended=self.jobs.warm_grade_ended)
            self.jobs.follow_warm_grade(started, self.review.cancel_grade)  # Cancel (Esc) stops it
        else:
            self.jobs.grade(self.browser.selected_lesion_ids())

    def cancel(self) -> None:
        """Model > Cancel (Esc): what the job panel's Cancel does, with the panel shown or not."""
        if self.jobs is not None:
            self.jobs.cancel()

    def next_uncertain(self) -> None:
        """Select the next graded lesion in review order (largest ensemble spread, then P(high) nearest
        0.5); the status bar says where it stands."""
        if self.review is not None:
            self.review.next_uncertain()

    def _show_heat(self, on: bool) -> None:
        if self.review is not None:
            self.review.set_heat_visible(on)
        if not on:
            self.attention_action.setChecked(False)
            if self.review is not None:
                self.review.attention_mode = False

    def _show_attention(self, on: bool) -> None:
        if self.review is not None:
            self.review.set_attention_mode(on)
        self.heat_action.setChecked(self.heat_action.isChecked() or on)

    def export_report(self) -> None:
        """File > Export report: one self-contained HTML file (the twin of ``hccdesk report``)."""
        if self.document is None:
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export report", str(self.document.folder.with_suffix(".report.html")), "HTML (*.html)"
        )
        if path:
            self.write_report(Path(path))

    def write_report(self, path: Path) -> None:
        """Build the report in the background (its own worker loads the model) behind a progress dialog."""
        from hccdesk.gui.background_task import run_with_progress
        from hccdesk.jobs.report import build_report

        project = self.document.project if self.document is not None else None
        if project is None:
            return
        run_with_progress(
            self,
            "Exporting the report",
            lambda _task: build_report(project, path),
            lambda written: self.statusBar().showMessage(f"Report written to {written}", 8000),
            lambda error: show_error(self, "Cannot export the report", error),
        )

    def show_cross_validation(self) -> None:
        if self.jobs is not None:
            self.bottom_dock.show()
            self.bottom_dock.raise_()
            self.jobs.show_cv()
