"""The warm worker's reply channel: a one-way pipe whose read end an owner can watch.

Replies used to cross a ``multiprocessing`` queue that the GUI drained from a 10 ms timer, so every reply
waited up to a tick (5 ms on average, 5 % of the 100 ms grade budget of docs/design/architecture.md §9)
for nothing.  A pipe's read end is a file descriptor: the GUI watches it with a ``QSocketNotifier`` and reads
a reply as soon as the worker writes it, a command-line caller blocks on it
(:func:`multiprocessing.connection.wait`), and the event loop does nothing while the worker computes.

Three properties the owner (:class:`hccdesk.jobs.warm_worker.WarmWorker`) relies on:

* **Whole messages.**  :meth:`~multiprocessing.connection.Connection.send` writes one length-prefixed
  message; :meth:`ReplyPipe.receive` reads each whole, waiting only for the rest of a message whose first
  bytes have arrived (the worker writes it in one go).
* **No deadlock on a large reply.**  An explain reply carries a heat map, larger than the pipe's buffer
  (64 KiB on Linux): the worker's ``put`` blocks until the owner has read it.  The owner never waits for the
  worker without reading: the GUI reads whenever the descriptor is readable, a command-line caller reads as
  soon as :meth:`ReplyPipe.wait` returns, and :meth:`WarmWorker.close` reads while it waits for the worker
  to stop.
* **Death is end of file.**  Once the worker has started, :meth:`ReplyPipe.started` closes the owner's copy
  of the write end, so the worker holds the only one: when it exits, killed or out of memory included, the
  read end becomes readable with end of file (:attr:`ReplyPipe.ended`).  No liveness timer is needed.

The worker's side is :class:`ReplyWriter`, whose ``put`` is what
:func:`hccdesk.jobs.inference_worker.serve_inference` calls.
"""

from __future__ import annotations

from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from typing import Any


class ReplyWriter:
    """The worker's end: ``put`` sends one message (blocking while the pipe is full until the owner reads).

    It travels to the spawn process as an argument; the descriptor inside goes with it.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def put(self, message: Any) -> None:
        self._connection.send(message)

    def close(self) -> None:
        self._connection.close()


class ReplyPipe:
    """The owner's end of one worker's replies, and the :attr:`writer` to hand to that worker."""

    def __init__(self, context: BaseContext) -> None:
        self._reader, writer = context.Pipe(duplex=False)
        self.writer = ReplyWriter(writer)
        self.ended = False
        """True once end of file was read: the worker has exited and nothing more will come."""

    def started(self) -> None:
        """The worker has its own copy of the write end now: close ours, so its exit reads as end of file."""
        self.writer.close()

    def fileno(self) -> int:
        """The descriptor that becomes readable when a message or end of file arrives."""
        return self._reader.fileno()

    def receive(self) -> list[Any]:
        """Every message that has arrived, without waiting for one; sets :attr:`ended` at end of file (a
        message cut short by the worker's death is dropped: it cannot be read)."""
        messages = []
        while not self.ended and self._reader.poll():
            try:
                messages.append(self._reader.recv())
            except (EOFError, OSError):
                self.ended = True
        return messages

    def wait(self, timeout_s: float) -> None:
        """Block until a message or end of file can be read, at most ``timeout_s``."""
        if not self.ended:
            wait([self._reader], timeout_s)

    def close(self) -> None:
        self._reader.close()
