"""Shared test fixtures: paths to the real test corpora and a small phantom cohort built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HCCDESK_SHARED", REPO.parent / "shared"))
DICOM_CORPUS = SHARED / "dicom-corpus"


@pytest.fixture(scope="session")
def dicom_corpus() -> Path:
    """The curated real-scanner DICOM corpus (``../shared/dicom-corpus``) with its ``expected.json``."""
    if not (DICOM_CORPUS / "expected.json").exists():
        pytest.skip(f"DICOM corpus not found at {DICOM_CORPUS} (set HCCDESK_SHARED)")
    return DICOM_CORPUS
