"""A warm inference worker whose owner is killed (SIGKILL, a crash: it cannot send the worker its ``None``)
ends by itself instead of holding TensorFlow and the ensemble (1.1 GB on the demo) for nobody."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ctrl_c_as_from_a_terminal

OWNER = """
import multiprocessing, sys, time
from hccdesk.jobs.inference_worker import serve_inference
from hccdesk.jobs.reply_pipe import ReplyPipe
context = multiprocessing.get_context("spawn")
requests, replies, cancelled = context.Queue(), ReplyPipe(context), context.Value("q", 0)
worker = context.Process(
    target=serve_inference,
    args=(requests, replies.writer, cancelled, sys.argv[1]),
    name="hccdesk-inference",
    daemon=True,
)
worker.start()
replies.started()
requests.put({"type": "no such request", "id": 1})  # refused with a reply: the worker is serving
while not replies.receive():
    replies.wait(60)
print(worker.pid, flush=True)
time.sleep(600)
"""
"""An owner that starts a worker the way :class:`~hccdesk.jobs.warm_worker.WarmWorker` does, waits until it
serves, then idles."""

GONE_WITHIN_S = 120.0
"""How long the orphan may take to notice (generous on a loaded 2-core machine: it is not a speed test)."""


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (an orphan's reaper may be slow to collect it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_worker_whose_owner_was_killed_ends_by_itself(tmp_path: Path) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path / "worker.log")],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_as_from_a_terminal,
    )
    try:
        worker_pid = int(owner.stdout.readline())
        assert _running(worker_pid)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=60)
    deadline = time.monotonic() + GONE_WITHIN_S
    while _running(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _running(worker_pid):
        os.kill(worker_pid, signal.SIGKILL)  # leave no orphan behind, then fail
        raise AssertionError(
            f"the orphaned worker {worker_pid} still ran {GONE_WITHIN_S:.0f} s after its owner died"
        )
