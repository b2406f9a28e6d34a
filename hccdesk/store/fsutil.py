"""Small durability helpers: fsync a file or a folder, replace a file atomically.

A rename is only durable once the folder that holds it is fsync'd; a file's bytes only once the file is.
Every writer in the store (project save, image files, lock, journal) goes through these so the order of
operations that makes a save crash-safe is written down once.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_file(path: Path) -> None:
    """Flush a closed file's data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make renames and new or deleted entries in folder ``path`` durable (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems (and Windows) refuse fsync on a folder; the rename is still atomic there
    finally:
        os.close(fd)


def publish(tmp: Path, target: Path) -> None:
    """Move a fully written and fsync'd ``tmp`` over ``target`` atomically and make the rename durable."""
    os.replace(tmp, target)
    fsync_dir(target.parent)


def remove_if_exists(path: Path) -> None:
    """Delete ``path`` when it exists (leftovers of an interrupted write)."""
    path.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file and a rename, so a crash never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    remove_if_exists(tmp)
    tmp.write_text(text, encoding="utf-8")
    fsync_file(tmp)
    publish(tmp, path)
