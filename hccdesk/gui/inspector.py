"""The lesion inspector: id, box in voxels and mm, grade, notes, per-phase thumbnails, latest prediction, the
live grade of the box being edited and the heat map's colour bar.

Grade and notes edits go through the document's undo stack; notes are committed after a short pause in typing
(and merged per lesion), so Ctrl+Z undoes a sentence, not a keystroke.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from hccdesk.gui.document import ProjectDocument
from hccdesk.gui.heat_overlay import ColourBar
from hccdesk.gui.steady_layout import ElidedLabel, wrap_steadily
from hccdesk.gui.study_volumes import StudyVolumes
from hccdesk.gui.window_level import Levels
from hccdesk.imaging.volume import PHASES
from hccdesk.store.records import ROMAN, Lesion

GRADE_CHOICES: tuple[tuple[str, int | None], ...] = (
    ("unknown", None),
    ("I", 1),
    ("II", 2),
    ("III", 3),
    ("IV", 4),
)
THUMB_PIXELS = 52
THUMB_SPACING = 4
"""Four thumbnails and their gaps fit the inspector's field column at its default width (380 px)."""
NOTES_COMMIT_MS = 700


def thumbnail(volume: np.ndarray, lesion: Lesion, levels: Levels, margin: int = 4) -> QtGui.QImage:
    """The lesion's middle axial slice with a small margin, windowed like the main view, as an 8-bit image."""
    box = lesion.box
    z = (box.z0 + box.z1 - 1) // 2
    y0, x0 = max(box.y0 - margin, 0), max(box.x0 - margin, 0)
    patch = volume[z, y0 : box.y1 + margin, x0 : box.x1 + margin]
    scaled = np.clip((patch - levels.low) / max(levels.width, 1e-6) * 255.0, 0, 255).astype(np.uint8)
    scaled = np.ascontiguousarray(scaled)
    height, width = scaled.shape
    image = QtGui.QImage(scaled.data, width, height, width, QtGui.QImage.Format.Format_Grayscale8)
    return image.copy()


class Inspector(QtWidgets.QWidget):
    """Details of the selected lesion; empty and disabled when nothing is selected."""

    def __init__(
        self,
        document: ProjectDocument,
        volumes: Callable[[], StudyVolumes | None],
        levels: Callable[[], dict[str, Levels]],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._document, self._volumes, self._levels = document, volumes, levels
        self._lesion: Lesion | None = None
        form = QtWidgets.QGridLayout(self)
        form.setColumnStretch(1, 1)
        self.id_label = ElidedLabel("-")
        self.study_label = ElidedLabel("-")
        self.voxels_label = QtWidgets.QLabel("-")
        self.mm_label = QtWidgets.QLabel("-")
        self.grade_combo = QtWidgets.QComboBox()
        for text, grade in GRADE_CHOICES:
            self.grade_combo.addItem(text, grade)
        self.label_label = QtWidgets.QLabel("-")
        self.notes_edit = QtWidgets.QPlainTextEdit()
        self.notes_edit.setPlaceholderText("Notes (pathology, remarks)")
        self.notes_edit.setMaximumHeight(90)
        thumbs_box = QtWidgets.QWidget()
        # the same size with or without thumbnails, so selecting a lesion resizes nothing
        thumbs_box.setFixedSize(len(PHASES) * (THUMB_PIXELS + THUMB_SPACING), THUMB_PIXELS + 24)
        self.thumbs = QtWidgets.QHBoxLayout(thumbs_box)
        self.thumbs.setContentsMargins(0, 0, 0, 0)
        self.thumbs.setSpacing(THUMB_SPACING)
        self.thumbs.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft)
        self.prediction_label = QtWidgets.QLabel("-")
        self.live_label = QtWidgets.QLabel("")
        self.live_label.setObjectName("liveGrade")
        self.colour_bar = ColourBar()
        for label in (
            self.voxels_label,
            self.mm_label,
            self.label_label,
            self.prediction_label,
            self.live_label,
        ):
            wrap_steadily(label)
        rows = (
            ("Lesion", self.id_label),
            ("Study", self.study_label),
            ("Box (voxels)", self.voxels_label),
            ("Box (mm)", self.mm_label),
            ("Edmondson grade", self.grade_combo),
            ("Label", self.label_label),
            ("Notes", self.notes_edit),
            ("Phases", thumbs_box),
            ("Prediction", self.prediction_label),
            ("Live", self.live_label),
            ("Heat map", self.colour_bar),
        )
        top = QtCore.Qt.AlignmentFlag.AlignTop
        for row, (name, field) in enumerate(rows):
            form.addWidget(QtWidgets.QLabel(name), row, 0, top)
            form.addWidget(field, row, 1)
        form.setRowStretch(len(rows), 1)
        self._notes_timer = QtCore.QTimer(self, singleShot=True, interval=NOTES_COMMIT_MS)
        self._notes_timer.timeout.connect(self.commit_notes)
        self.grade_combo.activated.connect(self._grade_chosen)
        self.notes_edit.textChanged.connect(self._notes_typed)
        document.selection_changed.connect(lambda _id: self.refresh())
        document.lesions_changed.connect(self.refresh)
        document.records_changed.connect(lambda _kind: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        """Show the document's selected lesion as it is now in the project.

        Notes still being typed stay in the editor while the same lesion is shown (this may run inside another
        edit's undo command, where pushing the notes command would nest); they are committed when the
        selection moves on, and by :meth:`commit_notes` before an undo or redo.
        """
        selected = self._document.selected
        typing = self._notes_timer.isActive() and self._lesion is not None
        if typing and self._lesion.id != selected:
            self.commit_notes()
            typing = False
        lesion = self._document.project.lesions.get(selected) if selected else None
        self._lesion = lesion
        self.setEnabled(lesion is not None)
        if lesion is None:
            for label in (self.id_label, self.study_label, self.voxels_label, self.mm_label):
                label.setText("-")
            self.label_label.setText("-")
            self.prediction_label.setText("-")
            self._set_notes("")
            self.grade_combo.setCurrentIndex(0)
            self._set_thumbnails(None)
            return
        box = lesion.box
        self.id_label.setText(lesion.id)
        self.study_label.setText(f"{lesion.study_id} (patient {lesion.patient_id})")
        self.voxels_label.setText(
            f"z {box.z0}-{box.z1}, y {box.y0}-{box.y1}, x {box.x0}-{box.x1}  "
            f"({box.size[0]}x{box.size[1]}x{box.size[2]})"
        )
        study = self._document.project.studies[lesion.study_id]
        corners = box.world_corners(study.affine_array)
        extent = np.abs(corners[1] - corners[0])
        self.mm_label.setText(
            f"{extent[0]:.1f} x {extent[1]:.1f} x {extent[2]:.1f} mm (LR x AP x SI); LPS "
            f"({corners[0][0]:.1f}, {corners[0][1]:.1f}, {corners[0][2]:.1f}) to "
            f"({corners[1][0]:.1f}, {corners[1][1]:.1f}, {corners[1][2]:.1f})"
        )
        self.grade_combo.setCurrentIndex([g for _, g in GRADE_CHOICES].index(lesion.grade))
        self.label_label.setText(
            f"{lesion.label} grade (Edmondson {ROMAN[lesion.grade]})" if lesion.grade else "unknown"
        )
        if not typing and self.notes_edit.toPlainText() != lesion.notes:
            self._set_notes(lesion.notes)
        prediction = self._document.latest_predictions().get(lesion.id)
        self.prediction_label.setText(
            "none yet (press Grade)"
            if prediction is None
            else f"P(high) {prediction.p_high:.2f} → {prediction.label} grade, "
            f"spread ±{prediction.spread:.2f} over {prediction.n_members} model(s); {prediction.model_id}"
        )
        self._set_thumbnails(lesion)

    def show_live(self, text: str) -> None:
        """The live grade of the selected box ("" clears it); never stored by itself."""
        self.live_label.setText(text)

    def commit_notes(self) -> None:
        self._notes_timer.stop()
        if self._lesion is not None and self._lesion.id in self._document.project.lesions:
            self._document.set_notes(self._lesion.id, self.notes_edit.toPlainText())

    def _grade_chosen(self, index: int) -> None:
        if self._lesion is not None:
            self._document.set_grade(self._lesion.id, self.grade_combo.itemData(index))

    def _notes_typed(self) -> None:
        if self._lesion is not None and self.notes_edit.toPlainText() != self._lesion.notes:
            self._notes_timer.start()

    def _set_notes(self, text: str) -> None:
        blocker = QtCore.QSignalBlocker(self.notes_edit)
        self.notes_edit.setPlainText(text)
        del blocker

    def _set_thumbnails(self, lesion: Lesion | None) -> None:
        while self.thumbs.count():
            widget = self.thumbs.takeAt(0).widget()
            if widget is not None:
                widget.hide()  # until the event loop deletes it, it would show under the new one
                widget.deleteLater()
        volumes = self._volumes()
        if lesion is None or volumes is None or volumes.study.id != lesion.study_id:
            return
        levels = self._levels()
        for phase in volumes.phases:
            image = thumbnail(volumes.volumes[phase], lesion, levels[phase])
            cell = QtWidgets.QWidget()
            cell.setFixedWidth(THUMB_PIXELS)
            column = QtWidgets.QVBoxLayout(cell)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(1)
            label = QtWidgets.QLabel()
            label.setToolTip(phase)
            column.addWidget(label)
            column.addWidget(QtWidgets.QLabel(phase), 0, QtCore.Qt.AlignmentFlag.AlignHCenter)
            label.setPixmap(
                QtGui.QPixmap.fromImage(image).scaled(
                    THUMB_PIXELS,
                    THUMB_PIXELS,
                    QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                    QtCore.Qt.TransformationMode.SmoothTransformation,
                )
            )
            self.thumbs.addWidget(cell)
