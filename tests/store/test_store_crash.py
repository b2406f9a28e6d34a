"""kill -9 in the middle of saves never leaves an unreadable project and never loses a saved edit.

The loop itself lives in :mod:`hccdesk.store.crashbench` (also ``hccdesk bench crash-save``, 100 tries for the
the budget of docs/design/architecture.md §9); here it runs 24 times per suite run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hccdesk.cli import main
from hccdesk.store.crashbench import crash_trials


def test_kill_9_during_saves_24_times(tmp_path: Path) -> None:
    trials = crash_trials(tmp_path / "crash.hccdesk", tries=24, seed=3, max_delay_s=1.0)
    assert [t.problems for t in trials if t.problems] == []
    assert sum(t.saves for t in trials) > 24  # the kills did interrupt a project that was saving
    assert any(t.killed_in_save for t in trials)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--tries", "-5"], "--tries -5: give at least 1 kill"),
        (["--tries", "0"], "--tries 0: give at least 1 kill"),
        (["--tries", "1", "--dir", "/nonexistent/work"], "--dir /nonexistent/work is not a folder"),
    ],
)
def test_bench_crash_save_refuses_arguments_that_would_pass_vacuously(
    capsys: pytest.CaptureFixture[str], options: list[str], expected: str
) -> None:
    assert main(["bench", "crash-save", *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hccdesk: error: ") and err.count("\n") == 1 and expected in err
