"""The app's own write lock on a project folder: a small JSON file named ``lock``.

HDF5's file locks are advisory, missing on some network filesystems ("No locks available") and only held
while a file is open, and ``project.h5`` is open only for moments.  So the app decides who may write with
its own lock file, created atomically and holding the holder's pid, host, user, start time and a random
token.  A second instance gets :class:`~hccdesk.errors.ProjectLocked` naming the holder (and may open
read-only instead).  A lock whose process is gone (same host, pid not running, or running but started later
than the lock's process) is stale: it is taken over, and the caller gets a note to show the user.  A lock
from another host is never taken over automatically: its process cannot be checked from here.
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

from hccdesk.errors import ProjectLocked
from hccdesk.store.fsutil import fsync_dir, fsync_file, remove_if_exists
from hccdesk.store.records import now_iso

LOCK_FILE = "lock"
UNREADABLE_GRACE_S = 10.0
"""An unreadable lock younger than this may be one being written right now, so it still counts as held."""


def _process_start(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux), None where unknown.

    It tells a recycled pid from the process that wrote the lock.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


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


@dataclass(frozen=True)
class LockInfo:
    """Who holds a project: written as JSON into the lock file."""

    pid: int
    host: str
    user: str
    time: str
    token: str
    process_start: int | None = None

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
    except (OSError, ValueError, TypeError):
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
        staging.write_text(json.dumps(asdict(info)), encoding="utf-8")
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
