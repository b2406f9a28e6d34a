"""Shared test fixtures: paths to the real test corpora and a small phantom cohort built once per session."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HCCDESK_SHARED", REPO.parent / "shared"))
DICOM_CORPUS = Path(os.environ.get("HCCDESK_DICOM_CORPUS", SHARED / "dicom-corpus"))
DICOM_CORPUS_MISSING = (
    f"real-scanner DICOM corpus not found (no expected.json in {DICOM_CORPUS}); it is not in the repository: "
    "set HCCDESK_DICOM_CORPUS to its folder (where to get it: docs/developer/testing.md)"
)
"""The skip reason of every corpus test on a clone without the corpus, so the summary says what is missing."""


def ctrl_c_as_from_a_terminal() -> None:
    """``preexec_fn`` of a child a test sends SIGINT to, as a terminal's Ctrl-C would.

    A shell that runs the test suite in the background (``cmd &``, CI scripts, ``nohup``) starts it with
    SIGINT ignored, every child inherits that, and Python then installs no KeyboardInterrupt handler: the
    signal would be lost and the test would measure nothing.  A terminal's foreground process has SIGINT at
    its default.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def dicom_corpus() -> Path:
    """The curated real-scanner DICOM corpus (``$HCCDESK_DICOM_CORPUS``) with its ``expected.json``."""
    if not (DICOM_CORPUS / "expected.json").exists():
        pytest.skip(DICOM_CORPUS_MISSING)
    return DICOM_CORPUS


@pytest.fixture(scope="session")
def small_cohort_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small phantom project (16 lesions, ``small`` preset) built once per session through the import path.

    Treat it as read-only; tests that write use :func:`small_cohort_project`, which copies it.
    """
    from hccdesk.phantom.demo import build_demo

    folder = tmp_path_factory.mktemp("cohort") / "small.hccdesk"
    return build_demo(folder, lesions=16, preset="small", seed=1)


@pytest.fixture
def small_cohort_project(small_cohort_template: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the small phantom project."""
    import shutil

    target = tmp_path / "small.hccdesk"
    shutil.copytree(small_cohort_template, target, ignore=shutil.ignore_patterns("lock"))
    return target
