"""The demo project: built through the import path, cached, atomic, and reachable from `hccdesk demo`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from hccdesk.cli import main
from hccdesk.phantom import demo
from hccdesk.phantom.demo import DEMO_NAME, build_demo
from hccdesk.store.project import Project


def test_small_demo_holds_the_cohort_with_true_boxes(small_cohort_template: Path) -> None:
    with Project.open(small_cohort_template, read_only=True) as project:
        assert len(project.studies) == 16 and len(project.lesions) == 16
        assert Counter(lesion.label for lesion in project.lesions.values()) == {"low": 7, "high": 9}
        lesion = project.lesions["L0001"]
        with project.images(lesion.study_id) as images:
            assert images.phases == ("pre", "arterial", "portal", "delayed")
            inside = images.read("arterial", lesion.box.slices)
            whole = images.volume("arterial")
        assert inside.shape == lesion.box.size and np.isfinite(whole).all()
    truth = small_cohort_template.parent / "small.truth.json"
    assert truth.is_file() and (small_cohort_template.parent / "small.lesions.csv").is_file()


def test_built_demo_is_reused(small_cohort_template: Path) -> None:
    stamp = (small_cohort_template / "project.h5").stat().st_mtime_ns
    assert build_demo(small_cohort_template, lesions=16, preset="small", seed=1) == small_cohort_template
    assert (small_cohort_template / "project.h5").stat().st_mtime_ns == stamp


def test_interrupted_build_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hccdesk.store.import_export as import_export

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(import_export, "import_lesions_csv", interrupted)
    target = tmp_path / "demo" / "x.hccdesk"
    with pytest.raises(KeyboardInterrupt):
        build_demo(target, lesions=2, preset="small", seed=1)
    assert list((tmp_path / "demo").iterdir()) == []
    assert not demo.is_complete(target)


def test_refuses_to_build_over_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    from hccdesk.errors import ProjectError

    (tmp_path / "mine.hccdesk").mkdir()
    (tmp_path / "mine.hccdesk" / "notes.txt").write_text("keep me")
    with pytest.raises(ProjectError, match="not a demo project"):
        build_demo(tmp_path / "mine.hccdesk", lesions=1, preset="small", seed=1)
    assert (tmp_path / "mine.hccdesk" / "notes.txt").read_text() == "keep me"


def test_demo_command_opens_the_cached_project_without_a_gui(
    small_cohort_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    shutil.copytree(small_cohort_template, tmp_path / DEMO_NAME, ignore=shutil.ignore_patterns("lock"))
    assert main(["demo", str(tmp_path), "--no-gui"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / DEMO_NAME)


def test_default_demo_folder_follows_hccdesk_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HCCDESK_HOME", str(tmp_path))
    assert demo.default_demo_dir() == tmp_path / "demo"
    monkeypatch.delenv("HCCDESK_HOME")
    assert demo.default_demo_dir() == Path.home() / ".local" / "share" / "hccdesk" / "demo"
