"""Fixtures for the store tests: a project holding one study."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from storekit import study_volumes

from hccdesk.store.project import Project


@pytest.fixture
def project_folder(tmp_path: Path) -> Path:
    """A saved, closed project with study S1 (patient P1) and no lesions."""
    folder = tmp_path / "test.hccdesk"
    with Project.create(folder) as project:
        project.add_study("P1", "S1", study_volumes())
        project.save()
    return folder


@pytest.fixture
def project(project_folder: Path) -> Iterator[Project]:
    """``project_folder`` opened for writing."""
    with Project.open(project_folder) as opened:
        yield opened
