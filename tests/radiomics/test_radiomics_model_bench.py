"""``hccdesk bench model``: rows on the same splits, p-values against the reference row, runs reused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from hccdesk.cli import main
from hccdesk.jobs.model_bench import ROWS, Protocol, Row, bench_model, format_report
from hccdesk.store.project import Project


def test_rows_share_splits_and_finished_rows_are_reused(
    cue_project: Path, tmp_path: Path, capsys: Any
) -> None:
    folder = tmp_path / "cue.hccdesk"
    shutil.copytree(cue_project, folder, ignore=shutil.ignore_patterns("lock"))
    out = tmp_path / "bench.json"
    argv = ["bench", "model", "--cohort", str(folder), "--row", "hand-lr", "--folds", "2", "--repeats", "2"]
    assert main([*argv, "--json", str(out)]) == 0
    (cohort,) = json.loads(out.read_text())
    (first,) = cohort["rows"]
    assert first["row"] == "hand-lr" and first["folds"] == 4 and first["wall_s"] > 0
    assert "hand-lr" in capsys.readouterr().out

    arterial = Row("hand-arterial", "radiomics", {"features.set": "hand", "region.phases": ["arterial"]})
    protocol = Protocol(folds=2, repeats=2)
    (cohort,) = bench_model([("cue", folder)], [ROWS["hand-lr"], arterial], protocol)
    reference, other = cohort["rows"]
    assert cohort["reference"] == "hand-lr"
    assert reference["run_id"] == first["run_id"] and reference["wall_s"] is None  # reused
    assert "p_vs_reference" not in reference
    assert set(other["p_vs_reference"]) == {"accuracy", "auc"}
    assert all(0.0 <= p <= 1.0 for p in other["p_vs_reference"].values())
    with Project.open(folder, read_only=True) as project:
        runs = [project.runs[r["run_id"]] for r in cohort["rows"]]
        assert runs[0].splits == runs[1].splits
        assert runs[1].config["overrides"] == arterial.overrides
    report = format_report([cohort], protocol)
    assert "hand-arterial" in report and "reused" in report and "reference row hand-lr" in report
