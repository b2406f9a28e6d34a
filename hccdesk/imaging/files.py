"""Which paths the importer may open at all: regular files only, opened so that nothing can block.

A folder handed to ``inspect`` or ``import`` may hold anything a file system can: named pipes (opening one for
reading waits for a writer, forever), sockets, device nodes (``/dev/zero`` never ends), symbolic links to any
of these.  The importer admits a path once, here, by its file type (:func:`not_regular_reason`), and every
reader opens files through :func:`open_regular`, which opens without blocking and checks the type of what it
actually opened, so a file swapped for a pipe between the scan and the read is refused too.
"""

from __future__ import annotations

import io
import os
import stat

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class NotARegularFile(OSError):
    """The path is a pipe, socket, device or folder: it is never read as an image."""


def kind_reason(mode: int) -> str | None:
    """Why a file of ``st_mode`` ``mode`` is not read (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return f"{kind}, not a regular file: never opened"


def not_regular_reason(path: str) -> str | None:
    """Why ``path`` is skipped without being opened, or None when it is a regular file (links followed)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    return kind_reason(mode)


def open_regular(path: str | os.PathLike[str]) -> io.BufferedReader:
    """Open ``path`` for binary reading if it is a regular file, without ever blocking on a pipe or device.

    ``O_NONBLOCK`` makes opening a FIFO return at once (it has no effect on regular files); the type is then
    checked on the open descriptor itself, not on the name.

    Raises
    ------
    NotARegularFile
        When what was opened is not a regular file.
    OSError
        When it cannot be opened.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        reason = kind_reason(os.fstat(descriptor).st_mode)
        if reason is not None:
            raise NotARegularFile(reason)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
