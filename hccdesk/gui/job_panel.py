"""The training / cross-validation dock, and the Grade action's background work.

One job runs at a time (training saturates the CPU cores; a second job would only slow both).  Jobs are
started through :mod:`hccdesk.jobs.runner` and followed by a :class:`~hccdesk.gui.job_bridge.JobBridge`;
this panel turns their messages into progress bars with an ETA, a live loss curve and the results views.
A failed job is reported in a dialog with the worker's one-line reason; the app and the project carry on.

A Grade the warm worker answers is not a job, but it is shown here too (:meth:`JobPanel.follow_warm_grade`)
so that Cancel stops it like any job.  :meth:`JobPanel.cancel` is the one cancel logic: the panel's Cancel
button calls it, and so does the window's Model > Cancel, which owns the Esc key and works with this dock
hidden (:attr:`JobPanel.cancellable_changed` tells it when there is something to cancel).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from hccdesk.errors import InputError, JobError
from hccdesk.gui import cv_results
from hccdesk.gui.dialogs import guarded, show_error
from hccdesk.gui.document import ProjectDocument
from hccdesk.gui.job_bridge import JobBridge
from hccdesk.jobs.messages import Finished, JobMessage, Progress, Started, TaskEnded
from hccdesk.store.records import RunRecord

if TYPE_CHECKING:
    from hccdesk.jobs.runner import JobHandle

DEFAULT_VARIANT = "3d-cifa"
TRAIN_PROFILE = "smoke"
"""Profile of the model trained when Grade finds none: quick, so a first prediction comes within a minute."""


def _variant_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The 14 variants as the paper groups them: Table 1 (local, non-local) then Table 2 (the fusions), then
    the baselines that are not in the paper."""
    from hccdesk.evaluation.paper import BASELINE_ROWS, CAPTIONS, TABLES

    seen: set[str] = set()
    groups = []
    for number in sorted(TABLES):
        rows = [(row.variant, row.label) for row in TABLES[number] if row.variant not in seen]
        seen |= {variant for variant, _ in rows}
        groups.append((CAPTIONS[number], rows))
    groups.append(("Not in the paper. Baselines", [(row.variant, row.label) for row in BASELINE_ROWS]))
    return groups


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class JobPanel(QtWidgets.QWidget):
    """CV controls, progress and results; also runs Grade (and the training Grade may need first).

    ``device`` names where jobs run (``"CPU: ..."`` or ``"GPU: ..."``, see :mod:`hccdesk.device`).
    On a CPU the dock proposes one repeat instead of the paper's ten (a fast-profile repeat of 3d-cifa takes
    tens of minutes there) and asks before the paper profile; the expected duration, from the folds this
    machine has run, is shown before Run.
    """

    job_finished = QtCore.Signal(object)  # the job's Finished message
    cancellable_changed = QtCore.Signal(bool)  # whether Cancel has a job or a warm grade to stop

    def __init__(
        self, document: ProjectDocument, device: str, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._document = document
        self.device = device
        self.bridge: JobBridge | None = None
        self._after: Callable[[Finished], None] | None = None
        self._warm_grades = 0
        self._cancel_warm_grades: Callable[[], None] | None = None
        self._started = 0.0
        self._specs = 0
        self._done = 0
        self._curves: dict[tuple[str, int, int], pg.PlotDataItem] = {}
        self._curve_data: dict[tuple[str, int, int], tuple[list[float], list[float]]] = {}
        layout = QtWidgets.QHBoxLayout(self)
        layout.addWidget(self._build_controls())
        layout.addWidget(self._build_progress(), 1)
        layout.addWidget(self._build_results(), 2)
        document.records_changed.connect(self._records_changed)
        self.refresh_runs()

    # --- construction ------------------------------------------------------------------------------------
    def _build_controls(self) -> QtWidgets.QWidget:
        box = QtWidgets.QGroupBox("Cross-validation")
        form = QtWidgets.QFormLayout(box)
        self.variant_tree = QtWidgets.QTreeWidget()
        self.variant_tree.setHeaderHidden(True)
        self.variant_tree.setMinimumWidth(300)
        for caption, rows in _variant_groups():
            group = QtWidgets.QTreeWidgetItem([caption.split(".")[0]])
            group.setToolTip(0, caption)
            self.variant_tree.addTopLevelItem(group)
            for variant, label in rows:
                item = QtWidgets.QTreeWidgetItem([f"{label}  [{variant}]"])
                item.setData(0, QtCore.Qt.ItemDataRole.UserRole, variant)
                item.setCheckState(
                    0,
                    QtCore.Qt.CheckState.Checked
                    if variant == DEFAULT_VARIANT
                    else QtCore.Qt.CheckState.Unchecked,
                )
                group.addChild(item)
        self.variant_tree.expandAll()
        form.addRow(self.variant_tree)
        self.folds_spin = QtWidgets.QSpinBox(minimum=2, maximum=10, value=4)
        self.repeats_spin = QtWidgets.QSpinBox(minimum=1, maximum=50, value=1 if self.on_cpu else 10)
        self.profile_combo = QtWidgets.QComboBox()
        self.profile_combo.addItems(["fast", "smoke", "paper"])
        self.profile_combo.setToolTip("fast: a tenth of the paper's iterations; smoke: a check that it runs")
        self.seed_spin = QtWidgets.QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        form.addRow("Folds", self.folds_spin)
        form.addRow("Repeats", self.repeats_spin)
        form.addRow("Profile", self.profile_combo)
        form.addRow("Seed", self.seed_spin)
        self.estimate_label = QtWidgets.QLabel()
        self.estimate_label.setWordWrap(True)
        form.addRow(self.estimate_label)
        self.variant_tree.itemChanged.connect(self.update_estimate)
        self.folds_spin.valueChanged.connect(self.update_estimate)
        self.repeats_spin.valueChanged.connect(self.update_estimate)
        self.profile_combo.currentTextChanged.connect(self.update_estimate)
        buttons = QtWidgets.QHBoxLayout()
        self.run_button = QtWidgets.QPushButton("Run")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the grading in progress, else the running job (Esc)")
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.run_cv)
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        form.addRow(buttons)
        return box

    def _build_progress(self) -> QtWidgets.QWidget:
        box = QtWidgets.QGroupBox("Progress")
        layout = QtWidgets.QVBoxLayout(box)
        self.status_label = QtWidgets.QLabel("No job running.")
        self.status_label.setWordWrap(True)
        self.overall_bar = QtWidgets.QProgressBar()
        self.overall_bar.setFormat("overall %p%")
        self.fold_bar = QtWidgets.QProgressBar()
        self.fold_bar.setFormat("this fold %p%")
        self.eta_label = QtWidgets.QLabel("")
        self.loss_plot = pg.PlotWidget(background="w")
        self.loss_plot.setLabel("bottom", "iteration")
        self.loss_plot.setLabel("left", "training loss")
        self.loss_plot.setMinimumHeight(80)  # still readable, and leaves a 700 px window its phase views
        for widget in (self.status_label, self.overall_bar, self.fold_bar, self.eta_label):
            layout.addWidget(widget)
        layout.addWidget(self.loss_plot, 1)
        return box

    def _build_results(self) -> QtWidgets.QWidget:
        self.results_tabs = QtWidgets.QTabWidget()
        runs_page = QtWidgets.QWidget()
        runs_layout = QtWidgets.QVBoxLayout(runs_page)
        runs_layout.addWidget(QtWidgets.QLabel("Runs (select several to compare)"))
        self.runs_list = QtWidgets.QListWidget()
        self.runs_list.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.runs_list.itemSelectionChanged.connect(self.show_selected_runs)
        runs_layout.addWidget(self.runs_list)
        self.summary_table = QtWidgets.QTableWidget()
        self.folds_table = QtWidgets.QTableWidget()
        for table in (self.summary_table, self.folds_table):
            table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        summary_page = QtWidgets.QWidget()
        summary_layout = QtWidgets.QVBoxLayout(summary_page)
        summary_layout.addWidget(self.summary_table)
        note = QtWidgets.QLabel(
            "Mean ± std over folds (%). Paper: Dou et al. 2018, 46 HCCs, 4-fold CV x 10; for reference "
            "only, not comparable with another cohort."
        )
        note.setWordWrap(True)
        summary_layout.addWidget(note)
        export = QtWidgets.QPushButton("Export tables as CSV…")
        export.clicked.connect(self.export_csv)
        summary_layout.addWidget(export)
        self.roc_plot = cv_results.RocPlot()
        self.results_tabs.addTab(runs_page, "Runs")
        self.results_tabs.addTab(summary_page, "Results")
        self.results_tabs.addTab(self.folds_table, "Per fold")
        self.results_tabs.addTab(self.roc_plot, "ROC")
        return self.results_tabs

    # --- state -------------------------------------------------------------------------------------------
    @property
    def on_cpu(self) -> bool:
        return not self.device.startswith("GPU")

    @property
    def busy(self) -> bool:
        return self.bridge is not None and self.bridge.running

    @property
    def cancellable(self) -> bool:
        """True while :meth:`cancel` has a warm grade or a job to stop."""
        return self.cancel_button.isEnabled()

    def _set_cancellable(self, on: bool) -> None:
        self.cancel_button.setEnabled(on)
        self.cancellable_changed.emit(on)

    def selected_variants(self) -> list[str]:
        variants = []
        for g in range(self.variant_tree.topLevelItemCount()):
            group = self.variant_tree.topLevelItem(g)
            for c in range(group.childCount()):
                item = group.child(c)
                if item.checkState(0) == QtCore.Qt.CheckState.Checked:
                    variants.append(item.data(0, QtCore.Qt.ItemDataRole.UserRole))
        return variants

    def set_variants(self, variants: list[str]) -> None:
        for g in range(self.variant_tree.topLevelItemCount()):
            group = self.variant_tree.topLevelItem(g)
            for c in range(group.childCount()):
                item = group.child(c)
                checked = item.data(0, QtCore.Qt.ItemDataRole.UserRole) in variants
                item.setCheckState(
                    0, QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked
                )

    def show_cv(self) -> None:
        self.variant_tree.setFocus()

    def update_estimate(self) -> None:
        """Show how long the chosen cross-validation should take here, from this machine's finished folds."""
        from hccdesk.evaluation.duration import cv_seconds
        from hccdesk.learn.variants import PROFILES

        variants = self.selected_variants()
        iterations = int(PROFILES[self.profile_combo.currentText()]["iterations"])
        folds, repeats = self.folds_spin.value(), self.repeats_spin.value()
        seconds, unknown = cv_seconds(
            self._document.project.runs.values(), variants, folds, repeats, iterations, self.device
        )
        text = f"Estimated duration: {_duration(seconds)}" if len(unknown) < len(variants) else ""
        if unknown:
            text += (" plus " if text else "Estimated duration unknown: ") + (
                f"{', '.join(unknown)} has not run on this machine yet (the first fold measures it)"
            )
        self.estimate_label.setText(text)

    # --- starting jobs -----------------------------------------------------------------------------------
    @guarded("Cannot start cross-validation")
    def run_cv(self) -> None:
        from hccdesk.jobs.runner import start_cv

        self._refuse_if_busy()
        variants = self.selected_variants()
        folds, repeats = self.folds_spin.value(), self.repeats_spin.value()
        if self.profile_combo.currentText() == "paper" and self.on_cpu:
            answer = QtWidgets.QMessageBox.question(
                self,
                "Paper profile on a CPU",
                f"The paper profile trains 10x longer than 'fast' and jobs run on {self.device}.\n"
                f"{self.estimate_label.text()}\n\nRun it anyway?",
            )
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return
        handle = start_cv(
            self._document.project,
            variants,
            folds=folds,
            repeats=repeats,
            profile=self.profile_combo.currentText(),
            seed=self.seed_spin.value(),
        )
        self._follow(handle, len(variants) * folds * repeats, f"Cross-validating {', '.join(variants)}")

    @guarded("Cannot grade")
    def grade(self, lesion_ids: list[str]) -> None:
        """Grade ``lesion_ids`` (all when empty) with the newest run ensemble or model; offer to train one."""
        from hccdesk.jobs.grading import default_source
        from hccdesk.jobs.runner import start_grade, start_train

        self._refuse_if_busy()
        project = self._document.project
        try:
            default_source(project)
        except InputError:  # nothing to grade with yet
            answer = QtWidgets.QMessageBox.question(
                self,
                "No model yet",
                "There is no trained model or finished cross-validation run.\n\n"
                f"Train a {DEFAULT_VARIANT} model now ('{TRAIN_PROFILE}' profile) and then grade?",
            )
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return
            handle = start_train(project, DEFAULT_VARIANT, profile=TRAIN_PROFILE)
            self._follow(
                handle, 1, f"Training a {DEFAULT_VARIANT} model", after=lambda _m: self.grade(lesion_ids)
            )
            return
        handle = start_grade(project, lesion_ids or None)
        count = len(lesion_ids) if lesion_ids else len(project.lesions)
        self._follow(handle, 1, f"Grading {count} lesion(s)")

    def _refuse_if_busy(self) -> None:
        if self.busy:
            raise JobError("another job is running; wait for it or press Cancel first")

    def _follow(
        self, handle: JobHandle, specs: int, text: str, after: Callable[[Finished], None] | None = None
    ) -> None:
        if self.bridge is not None:
            self.bridge.deleteLater()  # finished (the panel runs one job at a time)
        self.bridge = JobBridge(self._document.project, handle, self)
        self.bridge.message.connect(self._message)
        self.bridge.finished.connect(self._finished)
        self.bridge.import_failed.connect(lambda error: show_error(self, "Cannot store job results", error))
        self._after = after
        self._started, self._specs, self._done = time.monotonic(), max(specs, 1), 0
        self.loss_plot.clear()
        self._curves.clear()
        self._curve_data.clear()
        self.overall_bar.setValue(0)
        self.fold_bar.setValue(0)
        self.status_label.setText(f"{text}…")
        self.run_button.setEnabled(False)
        self._set_cancellable(True)

    def follow_warm_grade(self, text: str, cancel: Callable[[], None]) -> None:
        """Show a grade the warm worker runs: until :meth:`warm_grade_ended`, Cancel calls ``cancel``."""
        self._warm_grades += 1
        self._cancel_warm_grades = cancel
        self.status_label.setText(text)
        self._set_cancellable(True)

    def warm_grade_ended(self, text: str) -> None:
        """A followed warm grade ended: ``text`` says how (graded, cancelled or failed)."""
        self._warm_grades = max(self._warm_grades - 1, 0)
        self.status_label.setText(text)
        self._set_cancellable(self._warm_grades > 0 or self.busy)

    def cancel(self) -> None:
        """Stop the warm grades in progress when there are any (the user's latest action, seconds long),
        else the running job."""
        if self._warm_grades and self._cancel_warm_grades is not None:
            self._cancel_warm_grades()
            self.status_label.setText("Cancelling the grading…")
            return
        if self.bridge is not None and self.bridge.running:
            self.bridge.cancel()
            self.status_label.setText("Cancelling… (finished folds are kept)")
            self._set_cancellable(False)

    def shutdown(self) -> None:
        """Stop a running job before the project closes (its workers must not outlive the window)."""
        if self.bridge is not None:
            self.bridge.wait()

    # --- job messages ------------------------------------------------------------------------------------
    def _message(self, message: JobMessage) -> None:
        if isinstance(message, Started) and message.task.kind != "grade":
            task = message.task
            where = f"repeat {task.repeat + 1}, fold {task.fold + 1} on {message.device}"
            self.status_label.setText(f"{task.variant}: {where}")
        elif isinstance(message, Progress):
            steps = max(message.steps, 1)
            self.fold_bar.setValue(round(100 * message.step / steps))
            self._progress(self._done + message.step / steps)
            if message.loss is not None:
                self._add_loss(message, message.step, message.loss)
        elif isinstance(message, TaskEnded):
            self._done += 1
            self._progress(self._done)

    def _progress(self, done: float) -> None:
        fraction = min(done / self._specs, 1.0)
        self.overall_bar.setValue(round(100 * fraction))
        elapsed = time.monotonic() - self._started
        eta = elapsed / fraction * (1 - fraction) if fraction > 0 else 0.0
        self.eta_label.setText(
            f"{int(done)} of {self._specs} task(s) done · elapsed {_duration(elapsed)} · ETA {_duration(eta)}"
        )

    def _add_loss(self, message: Progress, step: int, loss: float) -> None:
        task = message.task
        key = (task.record_id, task.repeat, task.fold)
        xs, ys = self._curve_data.setdefault(key, ([], []))
        xs.append(step)
        ys.append(loss)
        curve = self._curves.get(key)
        if curve is None:
            for old in self._curves.values():
                old.setPen(pg.mkPen("#c8c8c8", width=1))
            curve = self.loss_plot.plot(pen=pg.mkPen("#1f77b4", width=2))
            self._curves[key] = curve
        curve.setData(xs, ys)

    def _finished(self, message: Finished) -> None:
        status, reason = message.status, message.reason
        self.run_button.setEnabled(True)
        self._set_cancellable(self._warm_grades > 0)
        elapsed = _duration(time.monotonic() - self._started)
        self.status_label.setText(f"Job {status} after {elapsed}" + (f": {reason}" if reason else ""))
        if status == "done":
            self.overall_bar.setValue(100)
        after, self._after = self._after, None
        self.refresh_runs(select=list(message.record_ids) if message.kind == "cv" else None)
        self.job_finished.emit(message)
        if status == "failed":
            show_error(self, "Job failed", JobError(message.failure()))
        elif status == "done" and after is not None:
            after(message)

    # --- results -----------------------------------------------------------------------------------------
    def _records_changed(self, kind: str) -> None:
        if kind == "run" and not self.busy:
            self.refresh_runs()

    def refresh_runs(self, select: list[str] | None = None) -> None:
        """Rebuild the runs list (newest first); ``select`` chooses which runs the results show."""
        runs = sorted(self._document.project.runs.values(), key=lambda r: r.created, reverse=True)
        previous = (
            select
            if select is not None
            else [i.data(QtCore.Qt.ItemDataRole.UserRole) for i in self.runs_list.selectedItems()]
        )
        blocker = QtCore.QSignalBlocker(self.runs_list)
        self.runs_list.clear()
        for run in runs:
            item = QtWidgets.QListWidgetItem(
                f"{run.id}  {run.variant}  {run.status}  {len(run.folds)} folds  {run.created}"
            )
            item.setData(QtCore.Qt.ItemDataRole.UserRole, run.id)
            self.runs_list.addItem(item)
            item.setSelected(run.id in previous)
        if runs and not self.runs_list.selectedItems():
            self.runs_list.item(0).setSelected(True)
        del blocker
        self.show_selected_runs()
        self.update_estimate()

    def selected_runs(self) -> list[RunRecord]:
        runs = self._document.project.runs
        ids = [item.data(QtCore.Qt.ItemDataRole.UserRole) for item in self.runs_list.selectedItems()]
        return [runs[i] for i in ids if i in runs]

    def show_selected_runs(self) -> None:
        runs = self.selected_runs()
        cv_results.fill_table(self.summary_table, cv_results.SUMMARY_COLUMNS, cv_results.summary_rows(runs))
        cv_results.fill_table(
            self.folds_table, cv_results.FOLD_COLUMNS, cv_results.fold_rows(runs[0]) if runs else []
        )
        labels = {
            lesion.id: int(lesion.label == "high")
            for lesion in self._document.project.lesions.values()
            if lesion.label is not None
        }
        self.roc_plot.show_runs(runs, labels)

    def export_csv(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Export result tables (CSV) to")
        if folder:
            self.write_csv(folder)

    @guarded("Cannot export the tables")
    def write_csv(self, folder: str) -> None:
        from pathlib import Path

        cv_results.table_to_csv(self.summary_table, Path(folder) / "cv_summary.csv")
        cv_results.table_to_csv(self.folds_table, Path(folder) / "cv_folds.csv")
