"""Progress and cancel for long store work (imports), without tying the store to a GUI toolkit.

The caller passes plain callables: ``progress(done, total, text)`` and ``cancelled() -> bool``.  The work is
cut into steps (reading one phase volume, writing one study's images); :meth:`Steps.begin` is called before
each, so a cancel is honoured between steps, never in the middle of a write, and an import that stops leaves
no half-written study behind.
"""

from __future__ import annotations

from collections.abc import Callable

from hccdesk.errors import JobCancelled

Progress = Callable[[int, int, str], None]
"""``progress(done, total, text)``: ``done`` of ``total`` steps are finished, ``text`` says what runs now."""

Cancelled = Callable[[], bool]
"""``cancelled()``: True once the user asked to stop."""


class Steps:
    """Counts the steps of one operation, reports each as it starts and asks whether to go on.

    ``done`` never decreases and the last report is ``(total, total, text)`` (see :meth:`finish`).
    """

    def __init__(
        self, total: int, progress: Progress | None = None, cancelled: Cancelled | None = None
    ) -> None:
        self.total = total
        self.done = 0
        self._progress = progress
        self._cancelled = cancelled

    def begin(self, text: str) -> None:
        """Report the step about to start and count it.

        Raises
        ------
        JobCancelled
            The user cancelled; nothing of this step has run.  Callers that know more (which study, what was
            kept) catch it and raise their own, clearer message.
        """
        if self._cancelled is not None and self._cancelled():
            raise JobCancelled(f"cancelled before: {text}")
        self._report(text)
        self.done += 1

    def skip_to(self, done: int) -> None:
        """Count the steps up to ``done`` as finished (the rest of a study that failed part-way)."""
        self.done = done

    def finish(self, text: str) -> None:
        """Report the whole operation as finished."""
        self.done = self.total
        self._report(text)

    def _report(self, text: str) -> None:
        if self._progress is not None:
            self._progress(self.done, self.total, text)
