"""The jobs commands' progress on stderr, drawn by :mod:`rich` instead of by hand.

On a terminal, a live display shows the current fold's step, loss, ETA and device above an overall bar of
finished tasks; everywhere (a pipe, a log file, a test) one plain line per finished or failed task is
printed, because scripts and the Ctrl-C test read those lines (``... done in 3.2 s [1/6]``).  The live part is
transient: it leaves nothing behind in the terminal's scroll-back once the job ends.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class CliProgress:
    """Shows job messages; use as a context manager so the live display always stops.

    Parameters
    ----------
    total
        The number of tasks (folds, or 1 for a training or a grading) the job runs.
    """

    def __init__(self, total: int) -> None:
        self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=self._console,
            transient=True,
        )
        self._overall: TaskID = self._progress.add_task("tasks", total=max(total, 1), detail="")
        self._finished = 0
        self._total = total

    def __enter__(self) -> CliProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def show(self, message: dict[str, Any]) -> None:
        """Update the display from one job message (messages of other types are ignored)."""
        kind = message["type"]
        if kind == "progress":
            self._progress.update(self._overall, detail=_step_text(message))
        elif kind == "fold_done":
            self._finished += 1
            self._progress.update(self._overall, completed=self._finished, detail="")
            where = f" repeat {message['repeat']} fold {message['fold']}" if message["kind"] == "cv" else ""
            self._print(
                f"{message['run_id']} {message['variant']}{where} done in {message['seconds']:.1f} s "
                f"[{self._finished}/{self._total}]"
            )
        elif kind in ("fold_failed", "grade_failed"):
            self._print(f"failed: {message.get('reason', '')}")

    def _print(self, text: str) -> None:
        self._progress.console.print(text, markup=False)


def _step_text(message: dict[str, Any]) -> str:
    """``3d-cifa r0f1 step 120/1500 loss 0.412 eta 35s cpu``: where the current task is."""
    where = f"{message.get('variant', '')} r{message.get('repeat', '')}f{message.get('fold', '')}"
    loss = message.get("loss")
    eta = message.get("eta_s")
    return (
        f"{where} step {message['step']}/{message['steps']}"
        + (f" loss {loss:.3f}" if loss is not None else "")
        + (f" eta {eta:.0f}s" if eta is not None else "")
        + f" {message.get('device', '')}"
    )
