"""The Dask backend runs folds as independent tasks on a local two-worker cluster of processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from hccdesk.jobs.messages import Progress, TaskEnded
from hccdesk.jobs.runner import import_results, start_cv
from hccdesk.store.project import Project

pytest.importorskip("distributed")


def test_dask_local_cluster_runs_two_folds(small_cohort_project: Path) -> None:
    from hccdesk.jobs.dispatch import DaskPool

    with Project.open(small_cohort_project) as project:
        pool = DaskPool("local", workers=2)
        handle = start_cv(project, ["2d-local"], folds=2, repeats=1, profile="smoke", seed=0, dispatcher=pool)
        messages = []
        handle.wait(messages.append)
        assert handle.status == "done", handle.reason
        import_results(project, handle)
        run = project.runs[handle.record_ids[0]]
        assert run.status == "done"
        assert sorted((f["repeat"], f["fold"]) for f in run.folds) == [(0, 0), (0, 1)]
        assert run.config["dispatch"] == "DaskPool"
        assert any(isinstance(m, Progress) for m in messages)
        assert [m.outcome for m in messages if isinstance(m, TaskEnded)] == ["done"] * 2
