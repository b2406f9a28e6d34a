"""The warm inference worker grades like the grade job, follows the source it is asked for, survives being
killed (with a request pending or idle) and keeps TensorFlow's start-up lines off the terminal (the owner
side stays TensorFlow-free: this process never imports it for these tests); its typed messages survive
their translation."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hccdesk.cli import main
from hccdesk.errors import JobError
from hccdesk.jobs import grading
from hccdesk.jobs.explanation import wait_for
from hccdesk.jobs.inference_messages import (
    Cancelled,
    Explained,
    ExplainRequest,
    Failed,
    Graded,
    GradeRequest,
    LesionBox,
    Loaded,
    LoadRequest,
    from_dict,
    to_dict,
)
from hccdesk.jobs.warm_worker import WarmWorker
from hccdesk.learn.heat_map import HeatMap
from hccdesk.store.project import Project
from hccdesk.store.records import Box


@pytest.mark.slow
def test_warm_grades_equal_the_grade_job_and_follow_the_asked_source(
    cv_result: Any, tmp_path: Path, capsys: Any
) -> None:
    folder = tmp_path / "small.hccdesk"
    cv_result.copy_to(folder)
    run_3d, run_2d = cv_result.run_id("3d-local"), cv_result.run_id("2d-local")
    ids = ["L0002", "L0005", "L0011"]
    lesion_args = [arg for i in ids for arg in ("--lesion", i)]
    assert main(["grade", str(folder), "--run", run_3d, "--json", *lesion_args]) == 0
    job = {p["lesion_id"]: p for p in json.loads(capsys.readouterr().out)["predictions"]}
    with Project.open(folder, read_only=True) as project:
        worker = WarmWorker(project)
        try:
            boxes = {i: (project.lesions[i].study_id, project.lesions[i].box) for i in ids}
            reply = wait_for(worker, worker.grade(boxes, run_id=run_3d))
            assert isinstance(reply, Graded)
            assert reply.source_id == grading.RUN_PREFIX + run_3d and len(reply.p_high) == 4
            for warm in reply.predictions("now"):
                assert warm.p_high == pytest.approx(job[warm.lesion_id]["p_high"], abs=1e-5)
                assert warm.spread == pytest.approx(job[warm.lesion_id]["spread"], abs=1e-5)
            other = wait_for(worker, worker.grade(boxes, run_id=run_2d))
            assert isinstance(other, Graded) and other.source_id == grading.RUN_PREFIX + run_2d
            assert worker.starts == 1  # one process served both sources
        finally:
            worker.close()
        assert not worker.alive


@pytest.mark.slow
def test_a_killed_worker_fails_its_request_and_the_next_request_starts_a_new_one(cv_result: Any) -> None:
    with Project.open(cv_result.folder, read_only=True) as project:
        worker = WarmWorker(project)
        try:
            wait_for(worker, worker.load(run_id=cv_result.run_id("2d-local")))
            lesions = {i: (x.study_id, x.box) for i, x in project.lesions.items()}
            request = worker.grade(lesions, run_id=cv_result.run_id("2d-local"))
            os.kill(worker.pid, signal.SIGKILL)
            deadline, replies = time.monotonic() + 60, []
            while not replies and time.monotonic() < deadline:
                replies = worker.poll()
                time.sleep(0.01)
            (failed,) = replies
            assert isinstance(failed, Failed) and failed.id == request and failed.request == "grade"
            assert "killed by SIGKILL" in failed.reason and not worker.busy
            dead_log = worker.log
            assert dead_log is not None and str(dead_log) in failed.reason and dead_log.exists()
            dead_log.unlink()  # kept for the user, whom the reason told; a test leaves nothing behind
            again = wait_for(worker, worker.grade(lesions, run_id=cv_result.run_id("2d-local")))
            assert isinstance(again, Graded) and worker.starts == 2
        finally:
            worker.close()


@pytest.mark.slow
def test_a_worker_that_dies_idle_is_reaped_quietly_and_the_next_request_starts_anew(cv_result: Any) -> None:
    run_id = cv_result.run_id("2d-local")
    with Project.open(cv_result.folder, read_only=True) as project:
        lesion = project.lesions["L0001"]
        worker = WarmWorker(project)
        try:
            wait_for(worker, worker.load(run_id=run_id))
            log = worker.log
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(60)  # its end of the reply pipe closes as it exits: that wakes the owner
            assert worker.poll() == []  # nothing was pending: nothing to fail
            assert worker.died_idle is not None and "killed by SIGKILL" in worker.died_idle  # for its owner
            assert not worker.alive and worker.reply_fileno() is None
            assert log is not None and not log.exists()  # nothing it logged will be reported
            again = wait_for(worker, worker.grade({lesion.id: (lesion.study_id, lesion.box)}, run_id=run_id))
            assert isinstance(again, Graded) and worker.starts == 2
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
            assert isinstance(reply, Graded)
            (member,) = reply.p_high
            assert 0.0 <= member[0] <= 1.0
            with pytest.raises(JobError, match="no patch model, so it has no heat map"):
                wait_for(worker, worker.explain(lesion.study_id, lesion.box, model_id=model_id))
        finally:
            worker.close()


@pytest.mark.slow
def test_tensorflow_start_up_stays_off_the_terminal_but_a_real_error_reaches_it(
    cv_result: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import h5py

    folder = tmp_path / "small.hccdesk"
    cv_result.copy_to(folder)
    with Project.open(folder, read_only=True) as project:
        lesions = sorted(project.lesions.values(), key=lambda x: x.id)
        good = lesions[0]
        broken = next(x for x in lesions if x.study_id != good.study_id)
        with h5py.File(project.images_path(broken.study_id), "r+") as images:
            del images["affine"]  # a damaged file the store does not check for: a bug-like KeyError
        worker = WarmWorker(project)
        try:
            graded = wait_for(worker, worker.grade({good.id: (good.study_id, good.box)}))
            assert isinstance(graded, Graded)
            with pytest.raises(JobError, match=r"^KeyError"):
                wait_for(worker, worker.grade({broken.id: (broken.study_id, broken.box)}))
            log = worker.log
        finally:
            worker.close()
    err = capfd.readouterr().err
    assert "oneDNN" not in err and "absl" not in err, err
    assert "Traceback" in err and "KeyError" in err  # the failure's traceback still reaches the user
    assert log is not None and not log.exists()  # a worker that stopped normally leaves no log behind


def _box() -> Box:
    return Box(3, 10, 12, 9, 30, 33)


MESSAGES = [
    LoadRequest(1, "run:run-0001", ("/p/fold-0.keras", "/p/fold-1.keras")),
    GradeRequest(
        2,
        "model-0002",
        ("/p/model.keras",),
        (LesionBox("L0001", "/p/images/S1.h5", _box()), LesionBox("L0002", "/p/images/S2.h5", _box())),
    ),
    ExplainRequest(3, "model-0002", ("/p/model.keras",), "/p/images/S1.h5", _box(), (5, 20, 21)),
    ExplainRequest(4, "model-0002", ("/p/model.keras",), "/p/images/S1.h5", _box()),
    Loaded(1, "run:run-0001", 2.5, "bfloat16"),
    Graded(2, "model-0002", 0.1, ("L0001", "L0002"), ((0.2, 0.7), (0.3, 0.9)), ("/p/a.keras", "/p/b.keras")),
    Cancelled(5),
    Failed(6, "explain", "damaged.keras is not a model"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: f"{m.type}-{m.id}")
def test_a_message_survives_its_translation(message: Any) -> None:
    data = to_dict(message)
    assert data["type"] == message.type
    assert from_dict(data) == message
    # a sender that used lists (as JSON would) is read the same
    assert from_dict(json.loads(json.dumps(data))) == message


def test_an_explained_reply_carries_its_arrays() -> None:
    rng = np.random.default_rng(1)
    attention = HeatMap((4, 11, 13), rng.random((2, 3, 4), dtype=np.float32))
    reply = Explained(
        id=7,
        source_id="model-0002",
        seconds=0.05,
        heat=HeatMap((3, 10, 12), rng.random((6, 20, 21), dtype=np.float32)),
        centres=rng.random((5, 3)),
        patch_p_high=rng.random(5),
        member_p_high=(0.4, 0.6),
        has_attention=True,
        attention=attention,
    )
    back = from_dict(to_dict(reply))
    assert isinstance(back, Explained)
    assert (back.id, back.source_id, back.member_p_high, back.has_attention) == (
        7,
        "model-0002",
        (0.4, 0.6),
        True,
    )
    assert back.heat.origin == reply.heat.origin and np.array_equal(back.heat.values, reply.heat.values)
    assert back.attention is not None and back.attention.origin == attention.origin
    assert np.array_equal(back.attention.values, attention.values)
    assert np.array_equal(back.centres, reply.centres) and np.array_equal(
        back.patch_p_high, reply.patch_p_high
    )
    plain = from_dict({**to_dict(reply), "attention": None})
    assert isinstance(plain, Explained) and plain.attention is None


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"type": "train", "id": 1}, "not an inference message: type 'train'"),
        ({"id": 1, "source_id": "x"}, "not an inference message: type None"),
        (
            {"type": "cancelled", "id": 1, "lesion": "L0001"},
            r"cancelled message with unknown fields: \['lesion'\]",
        ),
    ],
)
def test_an_unknown_message_is_refused(data: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        from_dict(data)
