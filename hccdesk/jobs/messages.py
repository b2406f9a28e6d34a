"""The job protocol: every message a worker or a job handle sends to the project's owner, typed.

Four messages, each a frozen dataclass with a literal ``type`` tag:

* :class:`Started`: a task (a fold, a final training, a grading) began on a device;
* :class:`Progress`: a training step or a graded ensemble member, with loss and ETA when known;
* :class:`TaskEnded`: a task ended ``done`` (its result file is written), ``cancelled`` or ``failed`` (with a
  one-line reason).  Every task ends with exactly one, unless its worker process dies;
* :class:`Finished`: the whole job ended; sent once, by :class:`hccdesk.jobs.runner.JobHandle`, never by a
  worker, with the job's status and the ids of the records it feeds.

Messages cross process boundaries (a ``multiprocessing`` queue, a Dask queue or a Dask task's result), so
they travel as plain JSON-safe dicts: :func:`to_dict` and :func:`from_dict` are the only translation, and
everything on either side works with the typed objects.  Consumers tell messages apart with ``isinstance``
(or ``match``) instead of reading string keys with defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from hccdesk.jobs.tagged import tag, untag

JobKind = Literal["cv", "train", "grade"]
"""A cross-validation, the training of a final model, or a grading with a run's ensemble or a model."""
TaskOutcome = Literal["done", "cancelled", "failed"]
JobStatus = Literal["running", "done", "cancelled", "failed"]
"""A job is ``running`` until its :class:`Finished` message says how it ended."""
JOB_NAMES: dict[JobKind, str] = {"cv": "cross-validation", "train": "training", "grade": "grading"}


@dataclass(frozen=True)
class TaskRef:
    """Which task a message is about.

    ``record_id`` is the record the task feeds: the run (``cv``), the model (``train``) or the prediction
    source (``grade``: a model id or ``run:<run id>``).  ``variant``, ``repeat`` and ``fold`` are empty and 0
    for a grading.
    """

    job_dir: str
    kind: JobKind
    record_id: str
    variant: str = ""
    repeat: int = 0
    fold: int = 0

    def where(self) -> str:
        """``repeat 2 fold 1`` for a cross-validation fold, empty for a final model or a grading."""
        return f"repeat {self.repeat} fold {self.fold}" if self.kind == "cv" else ""


@dataclass(frozen=True)
class Started:
    type: ClassVar[Literal["started"]] = "started"
    task: TaskRef
    device: str


@dataclass(frozen=True)
class Progress:
    """``step`` of ``steps`` done; the training figures are None for a grading or before Keras logs them.

    ``loss`` and ``accuracy`` are the recent steps' (an exponential average), ``eta_s`` the seconds left in
    this task; ``attention_entropy`` (and its maximum, uniform attention) come from a non-local block.
    """

    type: ClassVar[Literal["progress"]] = "progress"
    task: TaskRef
    step: int
    steps: int
    device: str = ""
    loss: float | None = None
    accuracy: float | None = None
    eta_s: float | None = None
    attention_entropy: float | None = None
    attention_entropy_max: float | None = None


@dataclass(frozen=True)
class TaskEnded:
    """A task's end; ``result`` is the result file of a ``done`` task, ``reason`` one line for ``failed``.

    ``log`` names the worker log holding the traceback of a failure that is a bug (empty otherwise).
    """

    type: ClassVar[Literal["task_ended"]] = "task_ended"
    task: TaskRef
    outcome: TaskOutcome
    reason: str = ""
    result: str = ""
    seconds: float = 0.0
    log: str = ""


@dataclass(frozen=True)
class Finished:
    """The job's end: ``done`` (every task done), ``cancelled`` or ``failed`` (with the first reason)."""

    type: ClassVar[Literal["finished"]] = "finished"
    kind: JobKind
    job_dir: str
    status: JobStatus
    reason: str = ""
    record_ids: tuple[str, ...] = ()

    def failure(self) -> str:
        """The one line the CLI prints and the GUI's dialog shows when the job failed."""
        kept = (
            "it is stored as failed, nothing else changed"
            if self.kind == "cv"
            else "the project is unchanged"
        )
        return f"{JOB_NAMES[self.kind]} failed: {self.reason}; {kept}"


JobMessage = Started | Progress | TaskEnded | Finished
_CLASSES: dict[str, type[JobMessage]] = {cls.type: cls for cls in (Started, Progress, TaskEnded, Finished)}


def to_dict(message: JobMessage) -> dict[str, Any]:
    """The message as JSON-safe plain types, tagged with its ``type``."""
    return tag(message)


def from_dict(data: dict[str, Any]) -> JobMessage:
    """Rebuild a message from :func:`to_dict`'s output.

    Raises
    ------
    ValueError
        For an unknown ``type`` or fields that do not belong to it (a sender of another version).
    """
    cls, body = untag(data, _CLASSES, "a job message")
    if "task" in body:
        body["task"] = TaskRef(**body["task"])
    if "record_ids" in body:
        body["record_ids"] = tuple(body["record_ids"])
    return cls(**body)
