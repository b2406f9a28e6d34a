"""The one Keras callback of a training run: progress messages out, cancel in, through plain callables.

It knows nothing of jobs (learn may not import jobs): the worker passes a ``report`` function (its message
queue) and a ``cancelled`` function (its cancel flag); a test passes a list's ``append`` and a lambda.
Keras 3 checks ``model.stop_training`` after every training step, so setting it from
:meth:`ProgressCallback.on_train_batch_end` stops a fold within one step of the cancel flag being seen
(docs/design/engineering.md §2); ``stop_evaluating`` covers an evaluation in progress.  With steps well under
a second (docs/developer/model-training.md) a cancel therefore takes effect within a second.  The callback
cannot see a cancel before the first step ends (building the model and tracing the step take seconds): a job
worker still there a second after the cancel is terminated by its owner (docs/developer/jobs.md, "How fast a
cancel stops").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import keras

from hccdesk.learn.layers import NonLocal

PROGRESS_INTERVAL_S = 0.5
"""At most two progress messages a second: enough for a progress bar, cheap for a queue or a Dask channel."""
CANCEL_CHECK_INTERVAL_S = 0.1
"""How often the cancel flag is read; a Dask event costs a round trip, so it is not read every step."""
RECENT_WEIGHT = 0.1
"""Weight of the newest step in the reported loss and accuracy (an exponential average over ~10 steps)."""


class ProgressCallback(keras.callbacks.Callback):
    """Reports step, loss, accuracy (of the recent steps), ETA and the non-local attention entropy; stops
    training once ``cancelled()``.

    Parameters
    ----------
    report
        Called with each progress message (a plain dict).
    cancelled
        Returns True once the job is cancelled.
    total_steps
        The planned iteration count, for the ETA.
    context
        Keys added to every message (run id, repeat, fold, device, ...).
    report_interval_s, cancel_interval_s
        At most one message, and one read of the cancel flag, per interval.

    A model with a non-local block adds ``attention_entropy`` (nats, mean over the last training batch's
    query positions) and ``attention_entropy_max`` (log of the number of key positions, the value of
    uniform attention): the sign that the block attends rather than averages.
    """

    def __init__(
        self,
        report: Callable[[dict[str, Any]], None],
        cancelled: Callable[[], bool],
        total_steps: int,
        context: dict[str, Any] | None = None,
        report_interval_s: float = PROGRESS_INTERVAL_S,
        cancel_interval_s: float = CANCEL_CHECK_INTERVAL_S,
    ) -> None:
        super().__init__()
        self._report = report
        self._cancelled = cancelled
        self._total = max(int(total_steps), 1)
        self._context = dict(context or {})
        self._report_interval = float(report_interval_s)
        self._cancel_interval = float(cancel_interval_s)
        self._step = 0
        self._start = time.monotonic()
        self._last_report = -float("inf")
        self._last_check = -float("inf")
        self.was_cancelled = False
        self.recent: dict[str, float] = {}
        self._cumulative: dict[str, float] = {}

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._start = time.monotonic()

    def _check_cancel(self, now: float) -> bool:
        if now - self._last_check >= self._cancel_interval:
            self._last_check = now
            if self._cancelled():
                self.was_cancelled = True
        return self.was_cancelled

    def _update_recent(self, logs: dict[str, Any]) -> None:
        """Per-step loss and accuracy from Keras's epoch-cumulative means, smoothed over the last steps.

        Training is one long epoch, so the logged values are means since step 1; the value of step ``k`` is
        ``k·m_k − (k−1)·m_{k−1}``.
        """
        k = self._step
        for name in ("loss", "accuracy"):
            if not _is_number(logs.get(name)):
                continue
            mean = float(logs[name])
            step_value = k * mean - (k - 1) * self._cumulative.get(name, 0.0)
            self._cumulative[name] = mean
            previous = self.recent.get(name)
            self.recent[name] = (
                step_value if previous is None else previous + RECENT_WEIGHT * (step_value - previous)
            )

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._step += 1
        now = time.monotonic()
        if logs:
            self._update_recent(logs)
        if self._check_cancel(now):
            self.model.stop_training = True
            return
        if now - self._last_report >= self._report_interval or self._step >= self._total:
            self._last_report = now
            elapsed = now - self._start
            self._report(
                {
                    **self._context,
                    "type": "progress",
                    "step": self._step,
                    "steps": self._total,
                    "loss": self.recent.get("loss"),
                    "accuracy": self.recent.get("accuracy"),
                    "eta_s": elapsed / self._step * max(self._total - self._step, 0),
                    **self.attention(),
                }
            )

    def attention(self) -> dict[str, float]:
        """The attention entropy of the model's non-local block and its maximum (empty without one)."""
        blocks = [layer for layer in self.model.layers if isinstance(layer, NonLocal)]
        if not blocks:
            return {}
        return {
            "attention_entropy": float(keras.ops.convert_to_numpy(blocks[0].entropy)),
            "attention_entropy_max": float(keras.ops.convert_to_numpy(blocks[0].max_entropy)),
        }

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._check_cancel(time.monotonic()):
            self.model.stop_evaluating = True


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
