"""``hccdesk explain`` writes maps on export-masks' grid; ``hccdesk report`` is one self-contained HTML file
that a real browser (headless Chromium) renders; ``hccdesk grade --order uncertain`` lists the least sure
first.  They use the shared smoke cross-validation (a 4-member fold ensemble per variant)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hccdesk.cli import main

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)


@pytest.mark.slow
def test_explain_writes_maps_on_the_export_masks_grid(cv_result: Any, tmp_path: Path, capsys: Any) -> None:
    import nibabel as nib

    folder = cv_result.folder
    run_id = cv_result.run_id("3d-local")
    lesion_id = "L0003"
    out = tmp_path / "explain"
    assert main(["explain", str(folder), "--lesion", lesion_id, "--run", run_id, "--out", str(out)]) == 0
    assert "no non-local branch" in capsys.readouterr().out  # 3d-local: no attention map, said so
    assert main(["export-masks", str(folder), str(tmp_path / "masks")]) == 0
    heat = nib.load(out / f"{lesion_id}_p_high.nii.gz")
    with open(tmp_path / "masks" / "lesion_labels.csv", encoding="utf-8") as handle:
        study_id = next(row["study_id"] for row in csv.DictReader(handle) if row["lesion_id"] == lesion_id)
    reference = nib.load(tmp_path / "masks" / f"{study_id}_arterial.nii.gz")
    assert heat.shape == reference.shape
    assert np.allclose(heat.affine, reference.affine)
    values = np.asarray(heat.dataobj)  # [i, j, k] as NIfTI stores it
    shown = values[~np.isnan(values)]
    assert shown.size > 0 and np.all((shown >= 0) & (shown <= 1))
    with open(out / f"{lesion_id}_patches.csv", encoding="utf-8") as handle:
        patches = list(csv.DictReader(handle))
    assert patches
    for row in patches:
        k, j, i = (round(float(row[axis])) for axis in ("k", "j", "i"))
        assert values[i, j, k] == pytest.approx(float(row["p_high"]), abs=1e-5)
    labels = np.asarray(nib.load(tmp_path / "masks" / f"{study_id}_lesions.nii.gz").dataobj)
    assert np.any(~np.isnan(values) & (labels > 0))  # the map lies over the lesion's box
    for phase in ("pre", "arterial", "portal", "delayed"):
        assert (out / f"{lesion_id}_{phase}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / f"{lesion_id}_attention.nii.gz").exists()


@pytest.mark.slow
def test_report_is_self_contained_labelled_and_renders_in_chromium(
    cv_result: Any, small_cohort_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hccdesk.jobs.warm_worker import WarmWorker

    asked: list[Any] = []  # the voxel of every explain request: the report shows no attention map
    explain = WarmWorker.explain

    def recording(self: WarmWorker, study_id: str, box: Any, voxel: Any = None, *rest: Any) -> int:
        asked.append(voxel)
        return explain(self, study_id, box, voxel, *rest)

    monkeypatch.setattr(WarmWorker, "explain", recording)
    folder = tmp_path / "small.hccdesk"  # with the phantom's truth file beside it, as the demo keeps it
    cv_result.copy_to(folder)
    truth = small_cohort_template.parent / f"{small_cohort_template.stem}.truth.json"
    shutil.copyfile(truth, tmp_path / truth.name)
    out = tmp_path / "report.html"
    assert main(["report", str(folder), "--run", cv_result.run_id("2d-local"), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Synthetic data" in text and "synthetic data</span>" in text
    for lesion_id in ("L0001", "L0016"):
        assert f'id="{lesion_id}"' in text
    assert text.count('src="data:image/png;base64,') == 1 + 16 * 5  # the scale; 4 phases + heat map each
    assert not re.search(r'(src|href)="(?!data:)', text)  # nothing fetched from anywhere
    assert "PHANTOM" not in text  # the phantom's patient names never reach the project, nor the report
    assert "AUC 95% CI" in text and "Cross-validation (" in text
    assert asked == [None] * 16  # no attention pass, which the report would not show (nor fail on)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (./hccdesk.sh test installs it when run as root)")
    screenshot = tmp_path / "report.png"
    profile = tmp_path / "chromium-profile"
    common = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    shot = subprocess.run(
        [*common, f"--screenshot={screenshot}", "--window-size=1200,1600", out.as_uri()],
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = subprocess.run(
        [*common, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=180, check=False
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<img") == 1 + 16 * 5 and "Lesion grading report" in dom.stdout


@pytest.mark.slow
def test_grade_order_uncertain_lists_the_least_sure_first(
    cv_result: Any, tmp_path: Path, capsys: Any
) -> None:
    folder = tmp_path / "small.hccdesk"
    cv_result.copy_to(folder)
    argv = ["grade", str(folder), "--run", cv_result.run_id("2d-local"), "--order", "uncertain", "--json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)["predictions"]
    assert len(rows) == 16
    keys = [(-row["spread"], abs(row["p_high"] - 0.5)) for row in rows]
    assert keys == sorted(keys) and keys[0] != keys[-1]


def test_model_card_of_a_run_names_its_variant_and_protocol() -> None:
    from types import SimpleNamespace

    from hccdesk.jobs.report import _model_card, _source_run

    variant = {
        "name": "2d-cifa",
        "summary": "fusion",
        "paper_rows": ["Table 1"],
        "patches": {"phases": ["arterial"]},
    }
    config = {"folds": 4, "repeats": 1, "profile": "fast", "iterations": 1500, "variant_config": variant}
    run = SimpleNamespace(
        id="run-0007", config=config, model_files={"r0f0": "a", "r0f1": "b"}, device="CPU: x"
    )
    project = SimpleNamespace(runs={"run-0007": run}, models={})
    found, variant_config = _source_run(project, "run:run-0007")
    card = dict(_model_card(project, "run:run-0007", variant_config))
    assert found is run and card["Variant"] == "2d-cifa" and card["Phases (channels)"] == "arterial"
    assert card["Protocol"] == "4 folds × 1 repeats, profile fast (1500 iterations)"
    assert card["Members"] == "2 fold model(s) of run run-0007"


def test_a_copied_phantom_project_is_still_labelled_synthetic(small_cohort_project: Path) -> None:
    """Without the truth file beside it (a copied or moved demo) the phantom's scanner tags say it: they must
    survive the importer's descriptor cleaning (it used to cut "synthetic liver phantom" to "liver")."""
    from hccdesk.jobs.report import is_synthetic
    from hccdesk.store.companions import phantom_truth_path
    from hccdesk.store.project import Project

    assert not phantom_truth_path(small_cohort_project).exists()
    with Project.open(small_cohort_project, read_only=True) as project:
        assert project.studies and all(is_synthetic(project, study_id) for study_id in project.studies)
