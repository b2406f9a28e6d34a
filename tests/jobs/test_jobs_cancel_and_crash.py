"""Cancel keeps finished folds; a killed worker marks the run failed and leaves the project intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hccdesk.jobs.messages import JobMessage, Progress, Started, TaskEnded
from hccdesk.jobs.runner import JobHandle, import_results, start_cv
from hccdesk.store.project import Project
from tests.conftest import ctrl_c_as_from_a_terminal


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
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_as_from_a_terminal
    )
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


def _stuck_fold(project_folder: Path) -> dict[str, object]:
    """A fold spec whose snapshot is a FIFO that nobody writes: its worker imports TensorFlow, reports
    Started and then blocks for ever in one call that never looks at the cancel, like a TensorFlow import or
    the tracing of a training step (where a Ctrl-C waited 9-13 s for the former 10 s grace)."""
    from hccdesk.jobs.spec import FoldSpec, to_dict
    from hccdesk.learn.variants import load_variant

    job = project_folder / "jobs" / "stuck"
    job.mkdir(parents=True)
    os.mkfifo(job / "snapshot.json")
    spec = FoldSpec(
        kind="cv",
        project_folder=str(project_folder),
        job_dir="jobs/stuck",
        run_id="run-0001",
        variant="2d-local",
        config=load_variant("2d-local"),
        iterations=10,
        seed=0,
        repeat=0,
        fold=0,
        train_ids=["lesion-1"],
        test_ids=["lesion-2"],
        snapshot="jobs/stuck/snapshot.json",
    )
    return to_dict(spec)


@pytest.mark.slow
def test_a_worker_that_ignores_the_cancel_is_terminated_but_never_while_writing_a_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the grace the owner terminates a worker that did not stop by itself, and the run ends cancelled,
    not failed; a worker that holds its ``writing`` lock (writing a result file) is left to finish it."""
    from hccdesk.jobs import dispatch

    pool = dispatch.LocalPool(workers=1)
    pool.start([_stuck_fold(tmp_path)])
    handle = JobHandle("cv", tmp_path / "jobs" / "stuck", pool, 1, ["run-0001"])
    seen: list[JobMessage] = []
    while not any(isinstance(m, Started) for m in seen):
        seen += handle.poll()
        time.sleep(0.05)
    monkeypatch.setattr(dispatch, "CANCEL_GRACE_S", 0.0)
    writing = pool._writing[0]
    writing.acquire()  # as the worker does while it writes a result file
    handle.cancel()
    assert pool.running()
    pool._processes[0].join(timeout=2)  # a terminated process would be gone by now
    assert pool.exit_codes == [None]
    writing.release()
    while handle.is_alive():
        handle.poll()
        time.sleep(0.05)
    assert (handle.status, handle.reason) == ("cancelled", "")
    assert pool.exit_codes == [-signal.SIGTERM]
    assert not (tmp_path / "jobs" / "stuck" / "run-0001").exists()


def test_a_cancel_mid_training_ends_the_worker_by_itself(small_cohort_project: Path) -> None:
    """A worker stops at the training step after the cancel and ends its process at once (``os._exit``, no
    finalisation, which took 5-8 s with TensorFlow loaded): well within the grace, so the owner never
    terminates it (exit status 0, not -SIGTERM)."""
    from hccdesk.jobs.dispatch import LocalPool

    pool = LocalPool()
    with Project.open(small_cohort_project) as project:
        handle = start_cv(
            project, ["2d-local"], folds=2, repeats=1, profile=None, seed=0, iterations=5000, dispatcher=pool
        )
        seen: list[JobMessage] = []
        _poll_until(handle, project, Progress, seen)
        handle.cancel()
        _finish(handle, project, seen)
    assert handle.status == "cancelled"
    assert pool.exit_codes == [0]
    assert not any(isinstance(m, TaskEnded) and m.outcome == "done" for m in seen)


def test_a_second_ctrl_c_while_the_cancelled_job_is_saved_is_ignored() -> None:
    """The first Ctrl-C cancels; one more while the project is saved must not lose the cancelled run."""
    from hccdesk.jobs.command_handlers import follow
    from hccdesk.jobs.messages import Finished

    end = Finished(kind="grade", job_dir="jobs/x", status="cancelled", reason="", record_ids=())

    class Handle:
        def wait(self, on_message: Callable[[JobMessage], None]) -> str:
            on_message(end)
            return end.status

    class SavedProject:
        dirty = True
        saved = False

        def save(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, in the middle of the save
            self.saved = True

    project = SavedProject()
    assert follow(project, Handle(), 1) is end  # type: ignore[arg-type]
    assert project.saved
