"""``hccdesk bench grade``: the warm worker's latency through the GUI's path, and the event loop meanwhile.

It drives an :class:`~hccdesk.gui.inference_bridge.InferenceBridge` from a Qt event loop exactly as the main
window does (requests out, replies read when the bridge's notifier sees them arrive), and a 1 ms timer beside
it records how late the loop runs each tick: the stall a user would feel while the worker grades.  Measured:
worker start to ready (spawn, TensorFlow import, loading every member, tracing), the first grade, then
per-lesion grades (median, p95) over every lesion for ``rounds`` rounds, and of each the part spent outside
the worker's own work (the round trip minus the time the worker reports: the request's and the reply's
passage between the processes and the event loop noticing the reply).  The project is opened read-only;
nothing is stored.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore

from hccdesk.device import PRECISION_VARIABLE
from hccdesk.errors import JobError
from hccdesk.gui.inference_bridge import InferenceBridge
from hccdesk.jobs.inference_messages import Failed, Graded, InferenceReply, Loaded

TICK_MS = 1
REPLY_TIMEOUT_MS = 600_000
BUDGET_MS = 100.0
"""docs/design/architecture.md §9: grade one lesion with a warm worker in under 100 ms."""
STALL_BUDGET_MS = 50.0
"""docs/design/architecture.md §9: event-loop stall p99 under 50 ms."""


class _StallMeter(QtCore.QObject):
    """How late each tick of a 1 ms timer fires: the event loop's responsiveness."""

    def __init__(self) -> None:
        super().__init__()
        self.lateness_ms: list[float] = []
        self._last = time.perf_counter()
        self._timer = QtCore.QTimer(self, interval=TICK_MS, timerType=QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness_ms.append(max(0.0, (now - self._last) * 1000.0 - TICK_MS))
        self._last = now


def _await(bridge: InferenceBridge, request_id: int) -> InferenceReply:
    """Run the event loop until the reply to ``request_id`` arrives."""
    loop = QtCore.QEventLoop()
    got: list[InferenceReply] = []

    def on_reply(reply: InferenceReply) -> None:
        if reply.id == request_id:
            got.append(reply)
            loop.quit()

    bridge.replied.connect(on_reply)
    QtCore.QTimer.singleShot(REPLY_TIMEOUT_MS, loop.quit)
    loop.exec()
    bridge.replied.disconnect(on_reply)
    if not got:
        raise JobError(f"the inference worker did not answer within {REPLY_TIMEOUT_MS // 1000} s")
    (reply,) = got
    if isinstance(reply, Failed):
        raise JobError(reply.reason)
    return reply


def bench_grade(folder: Path, rounds: int = 3, precision: str | None = None) -> dict[str, Any]:
    """Measure the warm worker on the project at ``folder`` (see the module docstring); ``precision``
    (``auto``, ``float32``, ``bfloat16``) sets the worker's :data:`hccdesk.device.PRECISION_VARIABLE`."""
    before = os.environ.get(PRECISION_VARIABLE)
    if precision is not None:
        os.environ[PRECISION_VARIABLE] = precision  # the spawn worker inherits the environment
    try:
        return _bench_grade(folder, rounds)
    finally:
        if before is None:
            os.environ.pop(PRECISION_VARIABLE, None)
        else:
            os.environ[PRECISION_VARIABLE] = before


def _bench_grade(folder: Path, rounds: int) -> dict[str, Any]:
    from hccdesk.store.project import Project

    QtCore.QCoreApplication.instance() or QtCore.QCoreApplication([])
    with Project.open(folder, read_only=True) as project:
        lesions = {x.id: (x.study_id, x.box) for x in sorted(project.lesions.values(), key=lambda x: x.id)}
        if not lesions:
            raise JobError("the project has no lesions to grade")
        bridge = InferenceBridge(project)
        try:
            start = time.perf_counter()
            load = bridge.warm_up()
            if load is None:
                raise JobError("nothing to grade with: run `hccdesk cv` or `hccdesk train` first")
            loaded = _await(bridge, load)
            if not isinstance(loaded, Loaded):
                raise JobError(f"the inference worker answered a load with {loaded.type!r}")
            ready_s = time.perf_counter() - start
            first_id = next(iter(lesions))
            start = time.perf_counter()
            _await(bridge, bridge.grade({first_id: lesions[first_id]}))
            first_ms = (time.perf_counter() - start) * 1000.0
            meter = _StallMeter()
            latencies, outside = [], []
            for _ in range(rounds):
                for lesion_id, where in lesions.items():
                    start = time.perf_counter()
                    reply = _await(bridge, bridge.grade({lesion_id: where}))
                    latencies.append((time.perf_counter() - start) * 1000.0)
                    if isinstance(reply, Graded):
                        outside.append(latencies[-1] - reply.seconds * 1000.0)
            start = time.perf_counter()
            _await(bridge, bridge.grade(lesions))
            all_ms = (time.perf_counter() - start) * 1000.0
            stalls = np.asarray(meter.lateness_ms or [0.0])
            return {
                "project": str(folder),
                "source": bridge.loaded_source,
                "members": len(bridge.worker.source()["model_paths"]),
                "precision": loaded.precision,
                "precision_setting": os.environ.get(PRECISION_VARIABLE, "auto"),
                "lesions": len(lesions),
                "rounds": rounds,
                "worker_start_to_ready_s": ready_s,
                "first_grade_ms": first_ms,
                "per_lesion_ms": _spread(latencies),
                "per_lesion_outside_worker_ms": _spread(outside),
                "all_lesions_one_request_ms": all_ms,
                "event_loop_stall_ms": {
                    "p99": float(np.percentile(stalls, 99)),
                    "max": float(stalls.max()),
                    "ticks": int(stalls.size),
                },
                "budgets_ms": {"per_lesion_median": BUDGET_MS, "stall_p99": STALL_BUDGET_MS},
            }
        finally:
            bridge.close()


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": float(np.median(values)),
        "p95": float(np.percentile(values, 95)),
        "max": float(np.max(values)),
    }


def format_report(result: dict[str, Any]) -> str:
    """The measurement as a few lines for a terminal."""
    per, stall = result["per_lesion_ms"], result["event_loop_stall_ms"]
    outside = result["per_lesion_outside_worker_ms"]
    verdict = "within" if per["median"] < BUDGET_MS else "over"
    return "\n".join(
        [
            f"source {result['source']} ({result['members']} member(s)), {result['lesions']} lesions × "
            f"{result['rounds']} rounds, networks in {result['precision']} "
            f"({PRECISION_VARIABLE}={result['precision_setting']})",
            f"worker start to ready   {result['worker_start_to_ready_s']:.1f} s",
            f"first grade             {result['first_grade_ms']:.0f} ms",
            f"per lesion              median {per['median']:.0f} ms, p95 {per['p95']:.0f} ms, max "
            f"{per['max']:.0f} ms ({verdict} the {BUDGET_MS:.0f} ms budget)",
            f"  of which outside the worker  median {outside['median']:.1f} ms, p95 {outside['p95']:.1f} ms",
            f"all lesions, 1 request  {result['all_lesions_one_request_ms']:.0f} ms",
            f"event-loop stall        p99 {stall['p99']:.1f} ms, max {stall['max']:.1f} ms over "
            f"{stall['ticks']} ticks (budget p99 < {STALL_BUDGET_MS:.0f} ms)",
        ]
    )
