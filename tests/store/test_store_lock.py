"""The project lock: one writer, a refusal naming the holder, read-only access, stale locks taken over."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from storekit import kill, start_child, wait_for_line

from hccdesk.errors import ProjectLocked
from hccdesk.store.lock import LOCK_FILE, LockInfo, read_lock
from hccdesk.store.project import Project
from hccdesk.store.records import Box

HOLD = """
import sys, time
from hccdesk.store.project import Project
from hccdesk.store.records import Box
project = Project.open(sys.argv[1])
project.add_lesion("S1", Box(1, 1, 1, 3, 3, 3), lesion_id="held")
print("ready", flush=True)
time.sleep(60)
"""


def _write_lock(folder: Path, **changes: object) -> None:
    info = {**LockInfo.for_this_process().__dict__, **changes}
    (folder / LOCK_FILE).write_text(json.dumps(info))


def test_second_instance_is_refused_then_reads_and_takes_over_after_a_crash(project_folder: Path) -> None:
    child = start_child(HOLD, project_folder)
    try:
        wait_for_line(child, "ready")
        with pytest.raises(ProjectLocked, match=f"pid {child.pid} on .*open it read-only"):
            Project.open(project_folder)
        with Project.open(project_folder, read_only=True) as viewer:
            assert list(viewer.studies) == ["S1"]
            assert viewer.pending_recovery is not None  # the holder's unsaved edit, visible but not applied
    finally:
        kill(child)
    with Project.open(project_folder, recover=True) as taken:
        assert any(f"stale lock left by pid {child.pid}" in w for w in taken.warnings)
        assert "held" in taken.lesions
        assert read_lock(project_folder).pid == os.getpid()


def test_close_releases_the_lock(project_folder: Path) -> None:
    project = Project.open(project_folder)
    with pytest.raises(ProjectLocked):
        Project.open(project_folder)
    project.close()
    assert not (project_folder / LOCK_FILE).exists()
    with Project.open(project_folder) as again:
        assert not again.warnings


def test_lock_of_another_host_is_respected(project_folder: Path) -> None:
    _write_lock(project_folder, host="radiology-ws-7", pid=1)
    with pytest.raises(ProjectLocked, match=r"radiology-ws-7.*delete"):
        Project.open(project_folder)


def test_recycled_pid_is_recognised_as_stale(project_folder: Path) -> None:
    info = LockInfo.for_this_process()
    if info.process_start is None:
        pytest.skip("process start times are not available on this system")
    _write_lock(project_folder, process_start=info.process_start - 1, host=socket.gethostname())
    with Project.open(project_folder) as project:
        assert any("stale lock" in w for w in project.warnings)


def test_unreadable_lock_is_held_while_young_and_taken_over_when_old(project_folder: Path) -> None:
    lock = project_folder / LOCK_FILE
    lock.write_text("{not json")
    with pytest.raises(ProjectLocked, match="being written"):
        Project.open(project_folder)
    old = time.time() - 60
    os.utime(lock, (old, old))
    with Project.open(project_folder) as project:
        project.add_lesion("S1", Box(1, 1, 1, 2, 2, 2))
        assert any("unreadable lock" in w for w in project.warnings)
