"""The CV dock's honest defaults: one repeat on a CPU, the expected duration before Run (from folds this
machine has run), a question before the paper profile on a CPU, and the radiomics baseline in the list."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from hccdesk.gui.job_panel import _duration
from hccdesk.learn.variants import PROFILES
from hccdesk.store.records import RunRecord

FAST, PAPER = (int(PROFILES[name]["iterations"]) for name in ("fast", "paper"))


def _timed_run(variant: str, seconds: float, device: str) -> RunRecord:
    """A finished fast-profile run whose four folds took ``seconds`` each on ``device``."""
    from hccdesk.evaluation.metrics import METRICS, summarize

    folds = [
        {"repeat": 0, "fold": f, "n_train": 12, "n_test": 4, "seconds": seconds} | dict.fromkeys(METRICS, 0.5)
        for f in range(4)
    ]
    config = {"iterations": FAST, "variant_config": {"head": variant.split("-")[-1]}}
    return RunRecord(
        id=f"run-{variant}",
        variant=variant,
        config=config,
        status="done",
        device=device,
        folds=folds,
        summary=summarize(folds, [], {}, 4),
    )


def test_cpu_defaults_estimate_and_paper_question(window, qtbot: QtBot, dialogs) -> None:
    from PySide6 import QtWidgets

    panel = window.jobs
    assert panel.device == "CPU: test" and panel.repeats_spin.value() == 1
    assert "unknown" in panel.estimate_label.text() and "3d-cifa" in panel.estimate_label.text()

    project = window.document.project
    project.put_run(_timed_run("3d-cifa", 100.0, "CPU: test"))
    project.put_run(_timed_run("3d-local", 1.0, "GPU: elsewhere"))  # another device says nothing here
    panel.refresh_runs()
    assert panel.estimate_label.text() == "Estimated duration: 0:06:40"  # 4 folds x 1 repeat x 100 s
    panel.profile_combo.setCurrentText("paper")  # the time per iteration scales to the paper's iterations
    paper = _duration(400.0 * PAPER / FAST)
    assert panel.estimate_label.text() == f"Estimated duration: {paper}"
    panel.set_variants(["3d-cifa", "3d-local"])
    assert f"{paper} plus 3d-local has not run on this machine" in panel.estimate_label.text()

    runs_before = set(project.runs)
    dialogs.answer = QtWidgets.QMessageBox.StandardButton.No
    panel.run_button.click()
    (question,) = dialogs.kinds("question")
    assert "CPU: test" in question and paper in question
    assert not panel.busy and set(project.runs) == runs_before


def test_gpu_keeps_the_papers_ten_repeats_and_lists_radiomics(window) -> None:
    from hccdesk.gui.job_panel import JobPanel

    panel = JobPanel(window.document, "GPU: test")
    assert panel.repeats_spin.value() == 10
    panel.set_variants(["radiomics"])
    assert panel.selected_variants() == ["radiomics"]
    panel.deleteLater()
