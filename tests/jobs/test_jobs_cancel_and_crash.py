"""Cancel keeps finished folds; a killed worker marks the run failed and leaves the project intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hccdesk.jobs.messages import JobMessage, Progress
from hccdesk.jobs.runner import JobHandle, import_results, start_cv
from hccdesk.store.project import Project


def _poll_until(handle: JobHandle, project: Project, kind: type[JobMessage], seen: list[JobMessage]) -> None:
    while handle.is_alive():
        for message in handle.poll():
            seen.append(message)
            import_results(project, message)
            if isinstance(message, kind):
                return
        time.sleep(0.05)


def _finish(handle: JobHandle, project: Project, seen: list[JobMessage]) -> None:
    while handle.is_alive():
        for message in handle.poll():
            seen.append(message)
            import_results(project, message)
        time.sleep(0.05)
    import_results(project, handle)


def test_ctrl_c_cancels_keeps_finished_folds_and_marks_the_run(small_cohort_project: Path) -> None:
    """SIGINT to ``hccdesk cv`` (what Ctrl-C sends) after the first fold: exit 130, the run is stored as
    cancelled with the finished folds and their models, and its full plan of splits stays auditable."""
    command = [sys.executable, "-m", "hccdesk", "cv", str(small_cohort_project), "--variant", "2d-local"]
    command += ["--folds", "2", "--repeats", "3", "--iterations", "300"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if " done in " in line:
            process.send_signal(signal.SIGINT)
            break
    _, rest = process.communicate(timeout=300)
    assert process.returncode == 130, rest
    assert "cancelled" in rest
    with Project.open(small_cohort_project, read_only=True) as project:
        (run,) = project.runs.values()
        assert run.status == "cancelled"
        assert 1 <= len(run.folds) < 6
        assert len(run.model_files) == len(run.folds)
        assert all((small_cohort_project / p).is_file() for p in run.model_files.values())
        assert len(run.splits) == 6


def test_killed_worker_marks_the_run_failed_and_keeps_the_project(small_cohort_project: Path) -> None:
    with Project.open(small_cohort_project) as project:
        before = (dict(project.studies), dict(project.lesions))
        handle = start_cv(project, ["2d-local"], folds=2, repeats=1, profile=None, seed=0, iterations=5000)
        seen: list[JobMessage] = []
        _poll_until(handle, project, Progress, seen)
        (pid,) = handle.dispatcher.pids
        os.kill(pid, signal.SIGKILL)
        _finish(handle, project, seen)
        assert handle.status == "failed"
        assert "SIGKILL" in handle.reason
        project.save()
        run_id = handle.record_ids[0]
    with Project.open(small_cohort_project) as project:
        assert (dict(project.studies), dict(project.lesions)) == before
        run = project.runs[run_id]
        assert run.status == "failed" and "SIGKILL" in run.reason
        assert run.folds == []


def test_a_cancel_stops_input_extraction_between_lesions(small_cohort_template: Path) -> None:
    """A lesion's inputs can take seconds (resampling, radiomics features): the cancel is read before each."""
    from hccdesk.jobs import worker
    from hccdesk.jobs.snapshot import build_snapshot, parse_snapshot
    from hccdesk.learn.variants import load_variant
    from hccdesk.store.project import Project

    with Project.open(small_cohort_template, read_only=True) as project:
        snapshot = parse_snapshot(build_snapshot(project), small_cohort_template)
    ids = sorted(snapshot.lesions)[:3]
    config = load_variant("2d-local")
    reads = iter([False, True])
    assert worker._lesion_patches(snapshot, ids, config, lambda: next(reads)) is None
    cached = [key for key in worker._patch_cache if key[0] == snapshot.hash and key[2] in ids]
    assert len(cached) == 1  # the first lesion was cut, the cancel stopped the rest
    assert len(worker._lesion_patches(snapshot, ids, config, lambda: False) or []) == 3


def test_a_worker_whose_owner_died_counts_as_cancelled() -> None:
    """An owner killed with SIGTERM/SIGKILL cannot cancel: its orphaned workers must stop by themselves."""
    import os

    from hccdesk.jobs.worker import owner_gone

    assert not owner_gone(os.getppid())
    assert owner_gone(os.getpid())  # a process is never its own parent: stands for "adopted by another"
