"""Pluggable dispatch of job specs: a local spawn pool, or a Dask distributed cluster.

A fold is an independent unit of work with a JSON spec (engineering notes §6), so dispatch only has to start
specs, pass progress back, and say when workers are gone.  Both backends give the same typed messages (see
:mod:`hccdesk.jobs.messages`; they cross the process boundary as JSON-safe dicts), so the runner does not
know which one it drives.

``LocalPool`` (the default) starts ``multiprocessing.get_context("spawn")`` processes that pull specs from a
task queue: one worker on a CPU machine (TensorFlow already uses every core for one model), one per GPU when
there are several, each pinned to its card.  ``DaskPool`` submits each spec as a task to a Dask scheduler
(``tcp://host:8786``) or to a ``LocalCluster`` of worker processes; it needs the optional ``cluster`` extra
(``pip install hccdesk[cluster]``) and, for remote workers, the project and job folders at the same path on
every machine (a shared file system).
"""

from __future__ import annotations

import multiprocessing
import queue
import shutil
import signal
import subprocess
import time
import uuid
from multiprocessing.synchronize import Lock
from pathlib import Path
from typing import Any, Protocol

from hccdesk.errors import InputError
from hccdesk.jobs.messages import JobMessage, TaskEnded, from_dict, to_dict

CANCEL_GRACE_S = 1.0
"""After a cancel, a local worker that has not ended by itself within this time is terminated, unless it is
writing a result file (then as soon as it has written it).  A worker stops by itself at its next check of
the cancel (a lesion's inputs, a training step), but some calls never check it and take seconds: TensorFlow's
import, building the model and tracing its training step, an eager prediction: under load a Ctrl-C then
took 11 s, the former 10 s grace (docs/developer/jobs.md, "How fast a cancel stops").  Terminating the task
in progress loses nothing a cancel would keep (an unfinished fold is discarded either way), so the grace is
the "within a second" of a cancel; a worker that stops by itself was gone 0.1 to 0.4 s after the signal."""
TERMINATE_WAIT_S = 5.0
"""How long a terminated worker is waited for while its ``writing`` lock is held, so that it cannot start a
file between the signal and its death."""


class Dispatcher(Protocol):
    """What the runner needs from a backend."""

    def start(self, specs: list[dict[str, Any]]) -> None: ...

    def drain(self) -> list[JobMessage]:
        """Messages received since the last call, without blocking."""
        ...

    def cancel(self) -> None: ...

    def running(self) -> bool:
        """True while any worker may still send messages."""
        ...

    def lost(self) -> str | None:
        """Why work was lost (a worker killed or crashed), or None."""
        ...

    def close(self) -> None: ...


def gpu_count() -> int:
    """Number of NVIDIA GPUs, asked of ``nvidia-smi`` so that the owner process never imports TensorFlow."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return 0
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def describe_exit(pid: int | None, code: int | None) -> str:
    """Why a process is gone: "worker process N was killed by SIGKILL" or "... exited with status N"."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"worker process {pid} was killed by {name}"
    return f"worker process {pid} exited with status {code}"


def _worker_log(spec: dict[str, Any], index: int) -> tuple[str, str]:
    """Where local worker ``index`` writes its stderr: absolute, and as the project names it."""
    name = f"{spec['job_dir']}/worker-{index}.log"
    return str(Path(spec["project_folder"], name)), name


class LocalPool:
    """Spawn worker processes on this machine that pull specs from a shared task queue.

    Parameters
    ----------
    workers
        Number of worker processes; default one per GPU, or one on a machine without a GPU.
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise InputError(f"--workers must be at least 1, got {workers}")
        self._workers = workers
        self._processes: list[multiprocessing.process.BaseProcess] = []
        self._writing: list[Lock] = []
        """One lock per worker, held while it writes a result file (see :func:`hccdesk.jobs.worker.serve`)."""
        self._cancelled_at: float | None = None
        ctx = multiprocessing.get_context("spawn")
        self._context = ctx
        self._messages: multiprocessing.queues.Queue[dict[str, Any] | None] = ctx.Queue()
        self._tasks: multiprocessing.queues.Queue[dict[str, Any] | None] = ctx.Queue()
        self._cancel = ctx.Event()

    def start(self, specs: list[dict[str, Any]]) -> None:
        from hccdesk.jobs.worker import serve

        ctx = self._context
        gpus = gpu_count()
        count = min(self._workers or max(gpus, 1), max(len(specs), 1))
        for spec in specs:
            self._tasks.put(spec)
        for _ in range(count):
            self._tasks.put(None)
        for index in range(count):
            gpu = index % gpus if gpus else None
            log = _worker_log(specs[0], index) if specs else None
            writing = ctx.Lock()
            process = ctx.Process(
                target=serve,
                args=(self._tasks, self._messages, self._cancel, writing, gpu, log),
                name=f"hccdesk-worker-{index}",
            )
            process.daemon = True
            process.start()
            self._processes.append(process)
            self._writing.append(writing)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p.pid is not None]

    @property
    def exit_codes(self) -> list[int | None]:
        """Each worker's exit status (None while it runs): 0 when it ended by itself, -SIGTERM when this pool
        terminated it after a cancel."""
        return [p.exitcode for p in self._processes]

    def drain(self) -> list[JobMessage]:
        out: list[JobMessage] = []
        while True:
            try:
                data = self._messages.get_nowait()
            except queue.Empty:
                return out
            if data is not None:
                out.append(from_dict(data))

    def cancel(self) -> None:
        if self._cancelled_at is None:
            self._cancelled_at = time.monotonic()
            self._cancel.set()

    def running(self) -> bool:
        if self._cancelled_at is not None and time.monotonic() - self._cancelled_at > CANCEL_GRACE_S:
            self._terminate_unless_writing()
        return any(p.is_alive() for p in self._processes)

    def _terminate_unless_writing(self) -> None:
        """Terminate each live worker that is not writing a result file (the others on a later call)."""
        for process, writing in zip(self._processes, self._writing, strict=True):
            if process.is_alive() and writing.acquire(block=False):
                try:
                    process.terminate()
                    process.join(timeout=TERMINATE_WAIT_S)
                finally:
                    writing.release()

    def lost(self) -> str | None:
        for process in self._processes:
            if not process.is_alive() and process.exitcode not in (None, 0):
                if self._cancelled_at is not None and process.exitcode == -signal.SIGTERM:
                    continue  # terminated by us after the cancel grace period
                return describe_exit(process.pid, process.exitcode)
        return None

    def close(self) -> None:
        self.cancel()
        for process in self._processes:
            process.join(timeout=CANCEL_GRACE_S)
        self._terminate_unless_writing()
        for process in self._processes:
            process.join(timeout=TERMINATE_WAIT_S)
        self._messages.close()
        self._tasks.close()
        self._tasks.cancel_join_thread()


def run_dask_task(spec: dict[str, Any], channel: str) -> dict[str, Any]:
    """Run a spec as a Dask task: progress via a distributed ``Queue``, cancel via a distributed ``Event``.

    The task's end (a :class:`~hccdesk.jobs.messages.TaskEnded` as a dict) is the task's result, which the
    runner collects from the future.
    """
    from distributed import Event, Queue

    from hccdesk.jobs.worker import run_spec

    progress = Queue(f"{channel}-progress")
    cancel = Event(f"{channel}-cancel")

    def report(message: JobMessage) -> None:
        if not isinstance(message, TaskEnded):
            progress.put(to_dict(message))

    return to_dict(run_spec(spec, report, cancel.is_set))


class DaskPool:
    """Each spec an independent task on a Dask distributed cluster.

    Parameters
    ----------
    address
        A scheduler address (``tcp://host:8786``), or ``"local"`` for a ``LocalCluster`` of worker processes
        on this machine (started here and closed with the job).
    workers
        Worker processes of a local cluster (default 2); ignored for a remote scheduler.
    """

    def __init__(self, address: str, workers: int | None = None) -> None:
        try:
            import distributed  # noqa: F401
        except ImportError as error:
            raise InputError(
                "the Dask backend needs the cluster extra: pip install 'hccdesk[cluster]'"
            ) from error
        self._address = address
        self._workers = workers or 2
        self._cluster: Any = None
        self._futures: list[Any] = []
        self._collected: set[int] = set()
        self._lost: str | None = None

    def start(self, specs: list[dict[str, Any]]) -> None:
        from distributed import Client, Event, LocalCluster, Queue

        if self._address == "local":
            self._cluster = LocalCluster(
                n_workers=self._workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(self._address, timeout=30)
            except OSError as error:
                raise InputError(f"cannot reach the Dask scheduler at {self._address}: {error}") from error
        channel = f"hccdesk-{uuid.uuid4().hex}"
        self._progress = Queue(f"{channel}-progress", client=self._client)
        self._cancel = Event(f"{channel}-cancel", client=self._client)
        self._futures = [
            self._client.submit(run_dask_task, spec, channel, pure=False, key=f"{channel}-{index}")
            for index, spec in enumerate(specs)
        ]

    def drain(self) -> list[JobMessage]:
        out = [from_dict(data) for data in self._progress.get(batch=True)]
        for index, future in enumerate(self._futures):
            if index in self._collected or not future.done():
                continue
            self._collected.add(index)
            if future.status == "finished":
                out.append(from_dict(future.result()))
            elif self._lost is None:
                error = future.exception() if future.status == "error" else future.status
                self._lost = f"Dask task {future.key} failed: {error}".splitlines()[0]
        return out

    def cancel(self) -> None:
        self._cancel.set()

    def running(self) -> bool:
        return any(not f.done() for f in self._futures) or len(self._collected) < len(self._futures)

    def lost(self) -> str | None:
        return self._lost

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
