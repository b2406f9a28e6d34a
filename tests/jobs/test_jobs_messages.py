"""The job protocol's one translation: every message survives JSON unchanged; anything else is refused."""

from __future__ import annotations

import json

import pytest

from hccdesk.jobs.messages import (
    Finished,
    JobMessage,
    Progress,
    Started,
    TaskEnded,
    TaskRef,
    from_dict,
    to_dict,
)

FOLD = TaskRef(
    job_dir="/p/jobs/20260101T000000-abcdef",
    kind="cv",
    record_id="run-0001",
    variant="3d-cifa",
    repeat=2,
    fold=1,
)
GRADING = TaskRef(job_dir="/p/jobs/20260101T000000-123456", kind="grade", record_id="run:run-0001")

MESSAGES: list[JobMessage] = [
    Started(FOLD, device="CPU: test"),
    Progress(
        FOLD,
        step=120,
        steps=1500,
        device="CPU: test",
        loss=0.41,
        accuracy=0.8,
        eta_s=35.0,
        attention_entropy=2.1,
        attention_entropy_max=4.2,
    ),
    Progress(GRADING, step=1, steps=4),
    TaskEnded(FOLD, "done", result="/p/jobs/x/run-0001/r2f1.json", seconds=12.5),
    TaskEnded(GRADING, "failed", reason="cannot load model models/m.keras: File is not a zip file"),
    Finished(kind="cv", job_dir="/p/jobs/x", status="cancelled", record_ids=("run-0001", "run-0002")),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_survives_json(message: JobMessage) -> None:
    data = json.loads(json.dumps(to_dict(message), allow_nan=False))
    assert data["type"] == message.type
    assert from_dict(data) == message


def test_unknown_types_and_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="not a job message"):
        from_dict({"type": "fold_done", "job_dir": "/p"})
    data = to_dict(Started(FOLD, device="cpu")) | {"colour": "blue"}
    with pytest.raises(ValueError, match="colour"):
        from_dict(data)


def test_the_failure_line_says_what_was_kept() -> None:
    cv = Finished(kind="cv", job_dir="/p", status="failed", reason="repeat 0 fold 1: boom")
    grading = Finished(kind="grade", job_dir="/p", status="failed", reason="cannot load model")
    assert (
        cv.failure()
        == "cross-validation failed: repeat 0 fold 1: boom; it is stored as failed, nothing else changed"
    )
    assert grading.failure() == "grading failed: cannot load model; the project is unchanged"
