"""The app's own write lock on a project folder: a small JSON file named ``lock``.

HDF5's file locks are advisory, missing on some network filesystems ("No locks available") and only held
while a file is open, and ``project.h5`` is open only for moments.  So the app decides who may write with
its own lock file, created atomically and holding the holder's pid, host, user, start time and a random
token.  A second instance gets :class:`~hccdesk.errors.ProjectLocked` naming the holder (and may open
read-only instead).  A lock whose process is gone (same host, pid not running, or running but started later
than the lock's process) is stale: it is taken over, and the caller gets a note to show the user.  A lock
from another host is never taken over automatically: its process cannot be checked from here.

The lock file is input like any other: its fields are checked (a pid that is not a plausible process id, a
host that is not text) and a lock that fails counts as unreadable; a lock path that is not a file (a folder,
say) and a folder the user may not write in are refused with a message, never a traceback.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from hccdesk.errors import ProjectError, ProjectLocked
from hccdesk.store.fsutil import fsync_dir, fsync_file, remove_if_exists
from hccdesk.store.records import now_iso

LOCK_FILE = "lock"
UNREADABLE_GRACE_S = 10.0
"""An unreadable lock younger than this may be one being written right now, so it still counts as held."""
MAX_PID = 2**22
"""Linux's highest possible pid (``pid_max`` cannot exceed it); a larger one was not written by HCC Desk."""


def _process_start(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux), None where unknown.

    It tells a recycled pid from the process that wrote the lock.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _pid_running(pid: int) -> bool:
    """Whether ``pid`` runs on this host; on Windows it is assumed to (``os.kill`` would terminate it)."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FolderNotWritable(ProjectLocked):
    """The project folder cannot be written (permissions, a read-only medium).

    A :class:`~hccdesk.errors.ProjectLocked` because it has the same remedy: the project can still be opened
    read-only, and the app offers exactly that.
    """


@dataclass(frozen=True)
class LockInfo:
    """Who holds a project: written as JSON into the lock file."""

    pid: int
    host: str
    user: str
    time: str
    token: str
    process_start: int | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.pid, int) and not isinstance(self.pid, bool) and 0 < self.pid <= MAX_PID):
            raise ValueError(f"pid {self.pid!r} is not a process id")
        if not all(isinstance(v, str) for v in (self.host, self.user, self.time, self.token)):
            raise ValueError("host, user, time and token must be text")
        if self.process_start is not None and not isinstance(self.process_start, int):
            raise ValueError(f"process start {self.process_start!r} is not a whole number")

    @classmethod
    def for_this_process(cls) -> LockInfo:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = ""
        pid = os.getpid()
        return cls(pid, socket.gethostname(), user, now_iso(), uuid.uuid4().hex, _process_start(pid))

    def describe(self) -> str:
        who = f"{self.user}@{self.host}" if self.user else self.host
        return f"pid {self.pid} on {who} since {self.time}"

    def is_stale(self) -> bool:
        """True when the holder certainly no longer runs (only decidable on the same host)."""
        if self.host != socket.gethostname():
            return False
        if not _pid_running(self.pid):
            return True
        started = _process_start(self.pid)
        return self.process_start is not None and started is not None and started != self.process_start


def read_lock(folder: Path) -> LockInfo | None:
    """The current holder of ``folder``'s lock; None when unlocked or the lock file cannot be parsed."""
    try:
        data = json.loads((folder / LOCK_FILE).read_text(encoding="utf-8"))
        return LockInfo(**data)
    except (OSError, ValueError, TypeError):  # UnicodeDecodeError and JSON errors are ValueErrors
        return None


class ProjectLock:
    """A held lock; :meth:`release` (or leaving ``with``) removes the lock file if it is still ours."""

    def __init__(self, folder: Path, info: LockInfo) -> None:
        self.folder = folder
        self.info = info

    @classmethod
    def acquire(cls, folder: Path) -> tuple[ProjectLock, str | None]:
        """Take the lock of ``folder``.

        Returns
        -------
        lock, note
            ``note`` says whose stale lock was taken over, None otherwise.

        Raises
        ------
        ProjectLocked
            Another running instance holds it.
        """
        path = folder / LOCK_FILE
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise ProjectError(
                f"{path} is not a lock file (it is a folder or a link); if no HCC Desk has {folder.name} "
                "open, remove it and try again"
            )
        note = None
        for _attempt in range(3):
            info = LockInfo.for_this_process()
            if cls._create(folder, info):
                return cls(folder, info), note
            note = cls._clear_stale(folder)
        holder = read_lock(folder)
        raise ProjectLocked(cls._locked_message(folder, holder))

    @staticmethod
    def _create(folder: Path, info: LockInfo) -> bool:
        """Create the lock file with its full content in one step; False when it exists already.

        The content is written to a private temp file first and hard-linked to ``lock`` (which fails when
        ``lock`` exists), so nobody ever sees an empty or half-written lock, even if this process dies midway.
        Where hard links are not supported, ``O_EXCL`` creation is the fallback.
        """
        path = folder / LOCK_FILE
        staging = folder / f"{LOCK_FILE}.{info.pid}-{info.token}.tmp"
        try:
            staging.write_text(json.dumps(asdict(info)), encoding="utf-8")
        except OSError as error:
            raise FolderNotWritable(
                f"cannot write in {folder} ({error.strerror or error}), so it cannot be opened for changes; "
                "open it read-only, or fix the folder's permissions"
            ) from error
        try:
            fsync_file(staging)
            os.link(staging, path)
        except FileExistsError:
            return False
        except OSError:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(asdict(info), f)
                f.flush()
                os.fsync(f.fileno())
        finally:
            remove_if_exists(staging)
        fsync_dir(folder)
        return True

    @classmethod
    def _clear_stale(cls, folder: Path) -> str:
        """Remove the lock when its holder is gone; raise ProjectLocked when it is alive."""
        path = folder / LOCK_FILE
        holder = read_lock(folder)
        if holder is None:
            try:
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                return "a lock file vanished while it was being checked"
            if age < UNREADABLE_GRACE_S:
                raise ProjectLocked(cls._locked_message(folder, None))
            stale_note = f"took over an unreadable lock file {age:.0f} s old"
        elif holder.is_stale():
            stale_note = (
                f"took over a stale lock left by {holder.describe()} (that HCC Desk is no longer running; "
                "its unsaved edits, if any, are offered from the autosave journal)"
            )
        else:
            raise ProjectLocked(cls._locked_message(folder, holder))
        # Renaming first means only one of two racing openers removes this stale lock.
        aside = path.with_name(f"{LOCK_FILE}.stale-{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, aside)
        remove_if_exists(aside)
        return stale_note

    @staticmethod
    def _locked_message(folder: Path, holder: LockInfo | None) -> str:
        who = holder.describe() if holder else "another HCC Desk (its lock file is being written)"
        return (
            f"{folder} is open in {who}; close it there, or open it read-only; if that HCC Desk crashed on "
            f"another computer, delete {folder / LOCK_FILE}"
        )

    def release(self) -> None:
        """Remove the lock file, unless someone else's lock has replaced it meanwhile."""
        current = read_lock(self.folder)
        if current is not None and current.token == self.info.token:
            remove_if_exists(self.folder / LOCK_FILE)
            fsync_dir(self.folder)

    def __enter__(self) -> ProjectLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
