"""The jobs commands' progress on stderr, drawn by :mod:`rich` instead of by hand.

On a terminal, a live display shows the current fold's step, loss, ETA and device above an overall bar of
finished tasks; everywhere (a pipe, a log file, a test) one plain line per finished task is printed, because
scripts and the Ctrl-C test read those lines (``... done in 3.2 s [1/6]``).  A failure is not printed here:
the command ends with it, as its one error line.  The live part is
transient: it leaves nothing behind in the terminal's scroll-back once the job ends.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as ProgressDisplay

from hccdesk.jobs.messages import JobMessage, Progress, TaskEnded


class CliProgress:
    """Shows job messages; use as a context manager so the live display always stops.

    Parameters
    ----------
    total
        The number of tasks (folds, or 1 for a training or a grading) the job runs.
    """

    def __init__(self, total: int) -> None:
        self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        self._progress = ProgressDisplay(
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
        self._live = self._console.is_terminal  # elsewhere rich would still end with an empty line

    def __enter__(self) -> CliProgress:
        if self._live:
            self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._live:
            self._progress.stop()

    def show(self, message: JobMessage) -> None:
        """Update the display from one job message."""
        if isinstance(message, Progress):
            self._progress.update(self._overall, detail=_step_text(message))
        elif isinstance(message, TaskEnded) and message.outcome == "done" and message.task.kind != "grade":
            self._finished += 1
            self._progress.update(self._overall, completed=self._finished, detail="")
            task = message.task
            where = f" {task.where()}" if task.where() else ""
            self._print(
                f"{task.record_id} {task.variant}{where} done in {message.seconds:.1f} s "
                f"[{self._finished}/{self._total}]"
            )

    def _print(self, text: str) -> None:
        self._progress.console.print(text, markup=False)


def _step_text(message: Progress) -> str:
    """``3d-cifa r0f1 step 120/1500 loss 0.412 eta 35s cpu``: where the current task is."""
    task = message.task
    where = f"{task.variant} r{task.repeat}f{task.fold} " if task.kind != "grade" else ""
    return (
        f"{where}step {message.step}/{message.steps}"
        + (f" loss {message.loss:.3f}" if message.loss is not None else "")
        + (f" eta {message.eta_s:.0f}s" if message.eta_s is not None else "")
        + f" {message.device}"
    )
