"""Instant, explainable grading in the window: live P(high) of the box being edited, Grade through the warm
worker, the heat map over the phases, "next uncertain lesion" and File > Export report.

One :class:`ReviewController` per open project.  It owns the project's
:class:`~hccdesk.gui.inference_bridge.InferenceBridge` (started in the background when the project has a
finished run or model, reloaded when a newer one becomes the default, closed with the project) and routes
each reply by the request it answers:

* live requests (debounced after a box is drawn, moved or selected) show P(high) and spread in the inspector
  marked "live, not stored"; a reply for a box that has changed since is dropped;
* Grade requests store their predictions (the same reduction as ``hccdesk grade``) and say so; Cancel
  (:meth:`ReviewController.cancel_grade`, the job panel's Cancel) stops them between two lesions and stores
  nothing (a partial set would mix a cancelled action's lesions with older predictions, and a warm re-grade
  costs a fraction of a second per lesion);
* explain requests feed the overlay: the lesion's patch P(high), or the non-local attention of the patch
  position under the cursor.

A failed reply (a dead worker included) is reported in the status bar and the inspector, and for Grade in a
dialog; the next request starts a fresh worker.  A worker that dies between requests is reported in the
status bar and replaced in the background at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from PySide6 import QtCore, QtWidgets

from hccdesk.errors import HccdeskError, JobError
from hccdesk.evaluation.review_order import uncertain_first
from hccdesk.gui.dialogs import show_error
from hccdesk.gui.document import ProjectDocument
from hccdesk.gui.heat_overlay import HeatOverlay
from hccdesk.gui.inference_bridge import InferenceBridge
from hccdesk.gui.inspector import Inspector
from hccdesk.gui.phase_grid import PhaseGrid
from hccdesk.jobs.inference_messages import Cancelled, Explained, Failed, Graded, InferenceReply
from hccdesk.store.records import Box, now_iso

LIVE_DEBOUNCE_MS = 150
"""Quiet time after an edit before the live grade is asked for: one request per gesture, not per event."""
CURSOR_DEBOUNCE_MS = 120


@dataclass(frozen=True)
class _Pending:
    purpose: str  # "live", "store", "heat" or "attention"
    lesion_id: str  # the selected lesion the answer is for ("" for a stored grade)
    box: Box | None = None
    ended: Callable[[str], None] | None = None  # told how a stored grade ended, in one line


class ReviewController(QtCore.QObject):
    """Wires the warm worker to the document, the inspector, the grid overlay and the status bar."""

    graded = QtCore.Signal(list)  # lesion ids whose predictions were stored

    def __init__(
        self,
        document: ProjectDocument,
        grid: PhaseGrid,
        inspector: Inspector,
        status: Callable[[str], None],
        parent: QtWidgets.QWidget,
    ) -> None:
        super().__init__(parent)
        self._document, self._grid, self._inspector, self._status = document, grid, inspector, status
        self._window = parent
        self.bridge = InferenceBridge(document.project, self)
        self.overlay = HeatOverlay(grid, self)
        self.attention_mode = False
        self._pending: dict[int, _Pending] = {}
        self._live_key: tuple[str, Box] | None = None
        self._live_timer = QtCore.QTimer(self, singleShot=True, interval=LIVE_DEBOUNCE_MS)
        self._live_timer.timeout.connect(self._ask_live)
        self._cursor_timer = QtCore.QTimer(self, singleShot=True, interval=CURSOR_DEBOUNCE_MS)
        self._cursor_timer.timeout.connect(self._ask_attention)
        self.bridge.replied.connect(self._reply)
        self.bridge.died_idle.connect(self._worker_died_idle)
        document.lesions_changed.connect(self._lesion_edited)
        document.selection_changed.connect(lambda _id: self._lesion_edited())
        document.records_changed.connect(self._records_changed)
        document.study_changed.connect(lambda _id: self.overlay.set_map(None))
        grid.cursor_moved.connect(lambda _voxel: self._cursor_timer.start() if self.attention_mode else None)
        inspector.colour_bar.opacity_changed.connect(self.overlay.set_opacity)
        self.warm_up()

    def warm_up(self) -> None:
        """Start the worker on the newest source in the background; a failure to start is reported, and the
        project stays open (Grade then says why it cannot grade)."""
        try:
            self.bridge.warm_up()
        except (HccdeskError, OSError) as error:
            self._status(f"The inference worker did not start: {error}")

    def _worker_died_idle(self, how: str) -> None:
        """The worker ended between requests (killed, out of memory): say so, and load a new one now, so
        the next edit's live grade does not wait for TensorFlow's import."""
        self._status(f"The inference {how}; starting a new one in the background")
        self.warm_up()

    def close(self) -> None:
        self._live_timer.stop()
        self._cursor_timer.stop()
        self.bridge.close()

    # --- requests ----------------------------------------------------------------------------------------
    def _selected(self) -> Any:
        selected = self._document.selected
        return self._document.project.lesions.get(selected) if selected else None

    def _lesion_edited(self) -> None:
        """A lesion changed or the selection moved: ask again unless the selected box is the one already
        shown (a grade or notes edit does not change what the model sees)."""
        lesion = self._selected()
        key = None if lesion is None else (lesion.id, lesion.box)
        if key is not None and key == self._live_key:
            return
        self._live_key = key
        self._inspector.show_live("")
        if lesion is None:
            self.overlay.set_map(None)
        elif self.bridge.has_source:
            self._live_timer.start()

    def _records_changed(self, kind: str) -> None:
        if kind in ("run", "model"):
            self.warm_up()

    def _ask_live(self) -> None:
        lesion = self._selected()
        if lesion is None:
            return
        self._inspector.show_live("grading…")
        request = self.bridge.grade({lesion.id: (lesion.study_id, lesion.box)})
        self._pending[request] = _Pending("live", lesion.id, lesion.box)
        if self.overlay.visible:
            self._ask_heat(lesion)

    def _ask_heat(self, lesion: Any) -> None:
        voxel = cast(tuple[int, int, int], self._grid.cursor) if self.attention_mode else None
        purpose = "attention" if self.attention_mode else "heat"
        request = self.bridge.explain(lesion.study_id, lesion.box, voxel)
        self._pending[request] = _Pending(purpose, lesion.id, lesion.box)

    def _ask_attention(self) -> None:
        lesion = self._selected()
        if lesion is not None and self.overlay.visible:
            self._ask_heat(lesion)

    def grade(self, lesion_ids: list[str], ended: Callable[[str], None] | None = None) -> str:
        """Grade and store ``lesion_ids`` (all when empty) with the warm worker; ``ended`` is told how it
        ended (the status bar's line).  Returns the status line saying it started."""
        project = self._document.project
        ids = lesion_ids or sorted(project.lesions)
        request = self.bridge.grade({i: (project.lesions[i].study_id, project.lesions[i].box) for i in ids})
        self._pending[request] = _Pending("store", "", ended=ended)
        started = f"Grading {len(ids)} lesion(s) with the warm worker…"
        self._status(started)
        return started

    def cancel_grade(self) -> None:
        """Stop the grades in progress (stored and live); nothing of them is stored."""
        self.bridge.cancel()

    def set_heat_visible(self, visible: bool) -> None:
        self.overlay.set_visible(visible)
        self._inspector.colour_bar.set_showing(visible)
        lesion = self._selected()
        if visible and lesion is not None and self.bridge.has_source:
            self._ask_heat(lesion)
        elif visible and lesion is None:
            self._status("Select a lesion to see its heat map")

    def set_attention_mode(self, on: bool) -> None:
        self.attention_mode = on
        self.set_heat_visible(self.overlay.visible or on)

    def next_uncertain(self) -> str:
        """Select the graded lesion after the current one in review order (most uncertain first), say where
        it stands in the status bar, and return its id ("" when no lesion has a prediction).

        Lesions without a prediction are left out: they are not uncertain, only ungraded, and walking
        through them in id order after the graded ones read as if the model doubted them."""
        predictions = self._document.latest_predictions()
        lesions = self._document.project.lesions
        order = uncertain_first([i for i in lesions if i in predictions], predictions)
        if not order:
            self._status("No lesion has a prediction yet: grade them first (Model > Grade lesions, Ctrl+G)")
            return ""
        current = self._document.selected
        position = order.index(current) + 1 if current in order else 0
        again = position == len(order)
        position %= len(order)
        following = order[position]
        self._document.select(following)
        prediction = predictions[following]
        ungraded = len(lesions) - len(order)
        self._status(
            f"{'Starting over: ' if again else ''}{following}, {position + 1} of {len(order)} "
            f"in review order: spread ±{prediction.spread:.2f}, P(high) {prediction.p_high:.2f}"
            + (f" ({ungraded} not graded yet)" if ungraded else "")
        )
        return following

    # --- replies -----------------------------------------------------------------------------------------
    def _reply(self, reply: InferenceReply) -> None:
        pending = self._pending.pop(reply.id, None)
        if pending is None:
            return  # a load, or a request of a closed view
        match reply:
            case Failed():
                self._failed(pending, reply.reason)
            case Cancelled():
                self._cancelled(pending)
            case Graded() if pending.purpose == "live":
                self._show_live(pending, reply)
            case Graded():
                self._store(pending, reply)
            case Explained():
                self._show_map(pending, reply)

    def _current(self, pending: _Pending) -> bool:
        """True when the reply is still about the selected lesion's box as it is now."""
        lesion = self._selected()
        return lesion is not None and lesion.id == pending.lesion_id and lesion.box == pending.box

    def _show_live(self, pending: _Pending, reply: Graded) -> None:
        if not self._current(pending):
            return
        (prediction,) = reply.predictions(now_iso())
        self._inspector.show_live(
            f"P(high) {prediction.p_high:.2f} → {prediction.label} grade, spread ±{prediction.spread:.2f} "
            f"over {prediction.n_members} model(s); {prediction.model_id} — live, not stored (press Grade "
            f"to store)"
        )

    def _store(self, pending: _Pending, reply: Graded) -> None:
        project = self._document.project
        predictions = [p for p in reply.predictions(now_iso()) if p.lesion_id in project.lesions]
        project.add_predictions(predictions)
        self._inspector.show_live("")
        self._live_key = None
        self._ended(
            pending, f"Graded {len(predictions)} lesion(s) with {reply.source_id} in {reply.seconds:.2f} s"
        )
        self.graded.emit([p.lesion_id for p in predictions])

    def _cancelled(self, pending: _Pending) -> None:
        if pending.purpose == "live":  # asked again at the next edit or selection
            self._inspector.show_live("")
            self._live_key = None
        else:
            self._ended(pending, "Grading cancelled")

    def _ended(self, pending: _Pending, text: str) -> None:
        self._status(text)
        if pending.ended is not None:
            pending.ended(text)

    def _show_map(self, pending: _Pending, reply: Explained) -> None:
        if not self._current(pending):
            return
        if pending.purpose == "attention":
            if reply.attention is None:
                why = "no non-local branch" if not reply.has_attention else "the cursor is in no patch"
                self._status(f"No attention map: {why}")
                return
            top = float(reply.attention.values.max())
            self.overlay.set_map(reply.attention, (0.0, top or 1.0))
            self._inspector.colour_bar.set_scale("attention of the patch under the cursor", 0.0, top)
        else:
            self.overlay.set_map(reply.heat)
            self._inspector.colour_bar.set_scale("P(high) per patch", 0.0, 1.0)

    def _failed(self, pending: _Pending, reason: str) -> None:
        self._status(f"Inference failed: {reason}")
        if pending.purpose == "live":
            self._inspector.show_live(f"live grade failed: {reason}")
        elif pending.purpose == "store":
            if pending.ended is not None:
                pending.ended(f"Grading failed: {reason}")
            show_error(self._window, "Grading failed", JobError(reason))
