"""``hccdesk bench import`` runs end to end (on a shrunken study; the real one is 4 x 88 x 512^2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hccdesk.cli import main
from hccdesk.imaging import bench

pytest.importorskip("SimpleITK")


def test_bench_import_prints_both_timings_and_the_ratio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench, "SLICES", 5)
    monkeypatch.setattr(bench, "SIZE", 32)
    assert main(["bench", "import", "--cache", str(tmp_path), "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "hccdesk" in out and "SimpleITK" in out and "ratio hccdesk/SimpleITK = " in out
    assert len(list((tmp_path / "study").glob("*.dcm"))) == 4 * 5
    written = {p: p.stat().st_mtime_ns for p in (tmp_path / "study").glob("*.dcm")}
    assert main(["bench", "import", "--cache", str(tmp_path), "--repeats", "1"]) == 0
    assert {
        p: p.stat().st_mtime_ns for p in (tmp_path / "study").glob("*.dcm")
    } == written  # cached, not rewritten
