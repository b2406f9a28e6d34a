"""The warm inference worker keeps the study it last read open between requests and re-reads a study whose
file was replaced; a stand-in ensemble (the mean of the box) keeps TensorFlow out of this process."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from hccdesk.jobs import inference_worker
from hccdesk.jobs.inference_messages import GradeRequest, LesionBox
from hccdesk.store.images import LastStudy, StudyImages, write_images
from hccdesk.store.records import Box

BOX = Box(2, 4, 4, 6, 12, 12)


class MeanOfBox:
    """Grades a box by its mean arterial intensity and remembers the images object each grade got."""

    source_id = "run:stand-in"

    def __init__(self) -> None:
        self.seen: list[StudyImages] = []

    def member_p_high(self, images: StudyImages, box: Box) -> list[float]:
        self.seen.append(images)
        region = tuple(slice(lo, hi) for lo, hi in zip(box.lower, box.upper, strict=True))
        return [float(images.read("arterial", region).mean())]


def _study(path: Path, value: int) -> None:
    write_images(path, path.stem, np.eye(4), {"arterial": np.full((8, 16, 16), value, dtype=np.int16)})


def _grade(ensemble: MeanOfBox, path: Path) -> float:
    request = GradeRequest(1, ensemble.source_id, ("member.keras",), (LesionBox("L1", str(path), BOX),))
    graded = inference_worker._grade(ensemble, request, lambda: False, time.perf_counter())
    ((p_high,),) = graded.p_high
    return p_high


def test_a_study_stays_open_between_grades_and_a_replaced_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inference_worker, "_study", LastStudy())
    ensemble, first, second = MeanOfBox(), tmp_path / "S1.h5", tmp_path / "S2.h5"
    _study(first, 3)
    _study(second, 7)
    try:
        assert _grade(ensemble, first) == _grade(ensemble, first) == 3.0
        held = ensemble.seen[0]
        assert ensemble.seen[1] is held  # not reopened for the same, unchanged file
        _study(first, 5)  # re-imported: a new file renamed over the old one
        assert _grade(ensemble, first) == 5.0
        assert ensemble.seen[2] is not held and not held._file.id.valid  # the stale one was closed
        assert _grade(ensemble, second) == 7.0  # another study
        assert not ensemble.seen[2]._file.id.valid
    finally:
        inference_worker._study.close()
    assert not ensemble.seen[-1]._file.id.valid
