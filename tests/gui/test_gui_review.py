"""Instant, explainable Grade in the window: the warm worker's live grade, the heat-map overlay, "next
uncertain", and a worker killed mid-request.  TensorFlow stays out of this process (the autouse fixture)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from hccdesk.gui.lesion_table import COLUMNS
from hccdesk.store.records import Box, Prediction, now_iso

WORKER_TIMEOUT_MS = 300_000
"""A cold worker imports TensorFlow and loads the model: generous on a loaded 2-core machine."""
VARIANT = "3d-cifa"  # a non-local variant, so the attention map is defined too

PATCH_PREDICTIONS = """
import json, sys
from pathlib import Path
from hccdesk.learn.patches import cut_lesion_patches
from hccdesk.learn.training import TrainedModel
from hccdesk.store.project import Project
with Project.open(sys.argv[1], read_only=True) as project:
    (model,) = project.models.values()
    trained = TrainedModel.load(Path(project.folder) / model.path)
    lesion = project.lesions[sys.argv[2]]
    with project.images(lesion.study_id) as images:
        cut = cut_lesion_patches(images, lesion.box, trained.config)
    print(json.dumps({"centres": cut.centres.tolist(), "p": trained.predict_patches(cut.patches).tolist()}))
"""
"""Patch P(high) computed the grade job's way (``TrainedModel.predict_patches``), in a process of its own."""


@pytest.fixture(scope="session")
def model_template(small_cohort_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small cohort with one smoke-profile final model, trained by the CLI in a child process."""
    folder = tmp_path_factory.mktemp("review") / "small.hccdesk"
    shutil.copytree(small_cohort_template, folder, ignore=shutil.ignore_patterns("lock"))
    command = [
        sys.executable,
        "-m",
        "hccdesk",
        "train",
        str(folder),
        "--variant",
        VARIANT,
        "--profile",
        "smoke",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return folder


@pytest.fixture
def review_window(open_window, model_template: Path, tmp_path: Path):
    """The main window on a private copy of the project with a model."""
    folder = tmp_path / "small.hccdesk"
    shutil.copytree(model_template, folder, ignore=shutil.ignore_patterns("lock"))
    return open_window(folder)


def _wait_idle(qtbot: QtBot, window) -> None:
    qtbot.waitUntil(lambda: not window.review.bridge.worker.busy, timeout=WORKER_TIMEOUT_MS)


@pytest.mark.slow
def test_drawing_a_box_shows_a_live_p_high_without_storing_it(review_window, qtbot: QtBot, dialogs) -> None:
    window = review_window
    project = window.document.project
    stored = len(project.predictions())
    window.grid.box_drawn.emit(Box(8, 30, 30, 14, 44, 46))  # what the box tool emits at mouse release
    new_id = window.document.selected
    assert new_id.startswith("L") and new_id in project.lesions  # one naming rule with imported lesions
    qtbot.waitUntil(lambda: "P(high)" in window.inspector.live_label.text(), timeout=WORKER_TIMEOUT_MS)
    text = window.inspector.live_label.text()
    assert "live, not stored" in text
    p_high = float(text.split("P(high) ")[1].split()[0])
    assert 0.0 <= p_high <= 1.0
    assert len(project.predictions()) == stored  # nothing stored until Grade
    window.grade_action.trigger()
    qtbot.waitUntil(lambda: new_id in window.document.latest_predictions(), timeout=WORKER_TIMEOUT_MS)
    assert window.document.latest_predictions()[new_id].p_high == pytest.approx(p_high, abs=0.006)
    assert window.inspector.live_label.text() == ""
    assert not dialogs.kinds("critical"), dialogs.calls


@pytest.mark.slow
def test_heat_overlay_shows_each_patch_prediction_at_its_centre(review_window, qtbot: QtBot, dialogs) -> None:
    window = review_window
    lesion_id = sorted(window.document.project.lesions)[0]
    window.document.select(lesion_id)
    window.heat_action.trigger()
    qtbot.waitUntil(lambda: window.review.overlay.volume is not None, timeout=WORKER_TIMEOUT_MS)
    done = subprocess.run(
        [sys.executable, "-c", PATCH_PREDICTIONS, str(window.document.folder), lesion_id],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    expected = json.loads(done.stdout.splitlines()[-1])
    overlay = window.review.overlay
    for centre, p in zip(expected["centres"], expected["p"], strict=True):
        voxel = tuple(round(c) for c in centre)
        assert overlay.value_at(voxel) == pytest.approx(p, abs=1e-4), voxel
    shown = np.unique(overlay.volume[~np.isnan(overlay.volume)]).astype(float)
    distance = np.abs(shown[:, None] - np.asarray(expected["p"])[None, :]).min(axis=1)
    assert distance.max() < 1e-4  # no value on the map that the model did not give
    assert any(image.isVisible() for image in overlay.images.values())
    window.heat_action.trigger()
    assert not any(image.isVisible() for image in overlay.images.values())
    assert not dialogs.kinds("critical"), dialogs.calls


def test_next_uncertain_selects_the_largest_spread_and_the_table_sorts_by_it(window) -> None:
    from PySide6 import QtCore

    project = window.document.project
    ids = sorted(project.lesions)[:4]
    spreads = {ids[0]: 0.02, ids[1]: 0.21, ids[2]: 0.08, ids[3]: 0.0}
    p_high = {ids[0]: 0.5, ids[1]: 0.9, ids[2]: 0.4, ids[3]: 0.51}
    project.add_predictions(
        Prediction(
            lesion_id=i,
            model_id="run:test",
            p_high=p_high[i],
            spread=spreads[i],
            n_members=4,
            created=now_iso(),
        )
        for i in ids
    )
    window.next_uncertain_action.trigger()
    assert window.document.selected == ids[1]
    window.next_uncertain_action.trigger()
    assert window.document.selected == ids[2]
    model = window.browser.model
    spread = COLUMNS.index("Spread")
    window.browser.table.sortByColumn(spread, QtCore.Qt.SortOrder.AscendingOrder)  # least sure first
    assert [model.lesion_id(row) for row in range(4)] == [ids[1], ids[2], ids[0], ids[3]]


@pytest.mark.slow
def test_killing_the_warm_worker_mid_request_is_reported_and_the_next_request_works(
    review_window, qtbot: QtBot, dialogs
) -> None:
    window = review_window
    worker = window.review.bridge.worker
    qtbot.waitUntil(lambda: worker.alive, timeout=WORKER_TIMEOUT_MS)
    _wait_idle(qtbot, window)  # the background load finished: the worker is warm
    window.grade_action.trigger()  # all lesions, stored
    assert worker.busy
    dead_log = worker.log
    os.kill(worker.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: bool(dialogs.kinds("critical")), timeout=WORKER_TIMEOUT_MS)
    (message,) = dialogs.kinds("critical")
    assert "killed by SIGKILL" in message and "next request" in message
    assert dead_log is not None and str(dead_log) in message  # the log is kept for the user: named
    dead_log.unlink()
    assert not window.document.latest_predictions()
    window.grade_action.trigger()
    qtbot.waitUntil(
        lambda: set(window.document.latest_predictions()) == set(window.document.project.lesions),
        timeout=WORKER_TIMEOUT_MS,
    )
    assert worker.starts == 2


@pytest.mark.slow
def test_esc_stops_a_warm_grade_with_the_job_panel_hidden_stores_nothing_and_the_next_grade_works(
    review_window, qtbot: QtBot, dialogs
) -> None:
    from PySide6 import QtCore

    from hccdesk.jobs.inference_messages import Cancelled, Graded

    window = review_window
    project = window.document.project
    bridge = window.review.bridge
    qtbot.waitUntil(lambda: bridge.worker.alive, timeout=WORKER_TIMEOUT_MS)
    _wait_idle(qtbot, window)  # the background load finished: the worker is warm
    stored = project.predictions()
    replies: list = []
    bridge.replied.connect(replies.append)
    window.bottom_dock.hide()  # the job panel and its Cancel button out of sight
    assert not window.cancel_action.isEnabled()
    window.grade_action.trigger()  # every lesion: nothing is selected in the table
    assert window.cancel_action.isEnabled() and window.jobs.cancel_button.isEnabled()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Escape)  # Model > Cancel, by its key
    qtbot.waitUntil(lambda: bool(replies), timeout=WORKER_TIMEOUT_MS)
    (reply,) = replies
    assert isinstance(reply, Cancelled)
    assert window.statusBar().currentMessage() == "Grading cancelled"
    assert window.jobs.status_label.text() == "Grading cancelled"
    assert not window.jobs.cancel_button.isEnabled() and not window.cancel_action.isEnabled()
    assert project.predictions() == stored  # nothing of the cancelled grade is stored
    window.grade_action.trigger()
    qtbot.waitUntil(
        lambda: set(window.document.latest_predictions()) == set(project.lesions), timeout=WORKER_TIMEOUT_MS
    )
    assert isinstance(replies[-1], Graded) and len(replies) == 2
    assert window.jobs.status_label.text().startswith(f"Graded {len(project.lesions)} lesion(s)")
    assert not dialogs.kinds("critical"), dialogs.calls


@pytest.mark.slow
def test_bench_grade_measures_the_warm_worker_through_the_bridge(model_template: Path) -> None:
    from hccdesk.gui.grade_bench import bench_grade, format_report

    before = dict(os.environ)
    result = bench_grade(model_template, rounds=1, precision="float32")
    assert dict(os.environ) == before  # the setting went to the worker only
    assert result["precision"] == "float32" and result["precision_setting"] == "float32"
    assert "networks in float32 (HCCDESK_INFERENCE_PRECISION=float32)" in format_report(result)
    assert result["lesions"] == 16 and result["members"] == 1 and result["source"].startswith("model-")
    per, outside = result["per_lesion_ms"], result["per_lesion_outside_worker_ms"]
    assert 0.0 < outside["median"] < per["median"]  # the worker's own time is inside each round trip
    assert result["event_loop_stall_ms"]["ticks"] > 0
    assert "of which outside the worker" in format_report(result)
