"""The warm worker's reply pipe between two real processes: a reply larger than the pipe's buffer arrives
whole (the writer blocks until it is read, it does not deadlock), the writer's exit reads as end of file
(the owner closed its copy of the write end), and a writer killed in the middle of a message gives end of
file, not a torn message."""

from __future__ import annotations

import multiprocessing
import os
import signal

import numpy as np

from hccdesk.jobs.reply_pipe import ReplyPipe

WAIT_S = 120.0
"""Generous for a spawn start on a loaded 2-core machine."""


def _receive_one(pipe: ReplyPipe) -> list:
    """Wait for the first message or end of file, then read what there is."""
    pipe.wait(WAIT_S)
    return pipe.receive()


def test_a_reply_larger_than_the_pipe_arrives_whole_and_the_writers_exit_reads_as_end_of_file() -> None:
    ctx = multiprocessing.get_context("spawn")
    pipe = ReplyPipe(ctx)
    heat = np.arange(4_000_000, dtype=np.float32).reshape(100, 200, 200)  # 16 MB, the buffer is 64 KiB
    writer = ctx.Process(target=pipe.writer.put, args=({"type": "explained", "heat": heat},))
    writer.start()
    pipe.started()
    try:
        (message,) = _receive_one(pipe)
        assert message["type"] == "explained" and np.array_equal(message["heat"], heat)
        writer.join(WAIT_S)
        assert writer.exitcode == 0  # it could finish its put: the reader read while it wrote
        assert pipe.receive() == [] and pipe.ended
    finally:
        writer.kill()
        pipe.close()


def test_a_writer_killed_in_the_middle_of_a_message_reads_as_end_of_file() -> None:
    ctx = multiprocessing.get_context("spawn")
    pipe = ReplyPipe(ctx)
    huge = np.zeros(16_000_000, dtype=np.float32)  # 64 MB: the writer blocks with most of it unwritten
    writer = ctx.Process(target=pipe.writer.put, args=({"type": "explained", "heat": huge},))
    writer.start()
    pipe.started()
    try:
        pipe.wait(WAIT_S)  # its first bytes are in the pipe: the writer is blocked mid-message
        assert writer.pid is not None
        os.kill(writer.pid, signal.SIGKILL)
        writer.join(WAIT_S)
        assert pipe.receive() == [] and pipe.ended
    finally:
        pipe.close()
