"""The warm inference worker grades like the grade job, follows the source it is asked for, and survives being
killed (the owner side stays TensorFlow-free: this process never imports it for these tests)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from hccdesk.cli import main
from hccdesk.errors import JobError
from hccdesk.jobs import grading
from hccdesk.jobs.explanation import wait_for
from hccdesk.jobs.warm_worker import WarmWorker
from hccdesk.store.project import Project


def _run_id(cv_result: Any, variant: str) -> str:
    return next(run["id"] for run in cv_result.data["runs"] if run["variant"] == variant)


@pytest.mark.slow
def test_warm_grades_equal_the_grade_job_and_follow_the_asked_source(
    cv_result: Any, tmp_path: Path, capsys: Any
) -> None:
    folder = tmp_path / "small.hccdesk"
    shutil.copytree(cv_result.folder, folder, ignore=shutil.ignore_patterns("lock"))
    run_3d, run_2d = _run_id(cv_result, "3d-local"), _run_id(cv_result, "2d-local")
    ids = ["L0002", "L0005", "L0011"]
    lesion_args = [arg for i in ids for arg in ("--lesion", i)]
    assert main(["grade", str(folder), "--run", run_3d, "--json", *lesion_args]) == 0
    job = {p["lesion_id"]: p for p in json.loads(capsys.readouterr().out)["predictions"]}
    with Project.open(folder, read_only=True) as project:
        worker = WarmWorker(project)
        try:
            boxes = {i: (project.lesions[i].study_id, project.lesions[i].box) for i in ids}
            reply = wait_for(worker, worker.grade(boxes, run_id=run_3d))
            assert reply["source_id"] == grading.RUN_PREFIX + run_3d and len(reply["p_high"]) == 4
            for warm in grading.ensemble_predictions(reply, "now"):
                assert warm.p_high == pytest.approx(job[warm.lesion_id]["p_high"], abs=1e-5)
                assert warm.spread == pytest.approx(job[warm.lesion_id]["spread"], abs=1e-5)
            other = wait_for(worker, worker.grade(boxes, run_id=run_2d))
            assert other["source_id"] == grading.RUN_PREFIX + run_2d
            assert worker.starts == 1  # one process served both sources
        finally:
            worker.close()
        assert not worker.alive


@pytest.mark.slow
def test_a_killed_worker_fails_its_request_and_the_next_request_starts_a_new_one(cv_result: Any) -> None:
    with Project.open(cv_result.folder, read_only=True) as project:
        worker = WarmWorker(project)
        try:
            wait_for(worker, worker.load(run_id=_run_id(cv_result, "2d-local")))
            lesions = {i: (x.study_id, x.box) for i, x in project.lesions.items()}
            request = worker.grade(lesions, run_id=_run_id(cv_result, "2d-local"))
            os.kill(worker.pid, signal.SIGKILL)
            deadline, replies = time.monotonic() + 60, []
            while not replies and time.monotonic() < deadline:
                replies = worker.poll()
                time.sleep(0.01)
            (failed,) = replies
            assert failed["id"] == request and failed["type"] == "failed"
            assert "killed by SIGKILL" in failed["reason"] and not worker.busy
            again = wait_for(worker, worker.grade(lesions, run_id=_run_id(cv_result, "2d-local")))
            assert again["type"] == "graded" and worker.starts == 2
        finally:
            worker.close()


@pytest.mark.slow
def test_a_source_without_patches_grades_but_has_no_heat_map(small_cohort_project: Path) -> None:
    assert main(["train", str(small_cohort_project), "--variant", "radiomics"]) == 0
    with Project.open(small_cohort_project, read_only=True) as project:
        (model_id,) = project.models
        lesion = project.lesions["L0001"]
        worker = WarmWorker(project)
        try:
            reply = wait_for(
                worker, worker.grade({lesion.id: (lesion.study_id, lesion.box)}, model_id=model_id)
            )
            (member,) = reply["p_high"]
            assert 0.0 <= member[0] <= 1.0
            with pytest.raises(JobError, match="no patch model, so it has no heat map"):
                wait_for(worker, worker.explain(lesion.study_id, lesion.box, model_id=model_id))
        finally:
            worker.close()
