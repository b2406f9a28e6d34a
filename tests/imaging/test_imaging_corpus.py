"""Every case of the real-scanner DICOM corpus (``$HCCDESK_DICOM_CORPUS/expected.json``) as expected.

Where the corpus comes from and how to point the tests at it: docs/developer/testing.md.  Without it each test
below is one skip whose reason names the folder looked in and the variable to set.

Alternatives in expected.json are honoured only where our documented policy applies: we support Siemens
mosaics, refuse 2-slice stacks, and split repeated positions by acquisition order, so the only alternative
outcome we produce is ``undecodable_transfer_syntax`` when no installed plugin decodes a compressed case,
tested below by removing pydicom's decoder plugins.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from hccdesk.imaging.dicom_headers import read_planes
from hccdesk.imaging.dicom_series import plan_stacks
from hccdesk.imaging.scan import scan_paths
from tests.conftest import DICOM_CORPUS, DICOM_CORPUS_MISSING

CASES = (
    json.loads((DICOM_CORPUS / "expected.json").read_text())
    if (DICOM_CORPUS / "expected.json").exists()
    else []
)
COMPRESSED = [
    c
    for c in CASES
    if any(a.get("reject_reason") == "undecodable_transfer_syntax" for a in c["alternatives"])
]


def _each(cases: list[dict]) -> list:
    """One parameter per case, or, without the corpus, one skipped parameter that says why."""
    if not CASES:
        return [pytest.param(None, id="corpus-missing", marks=pytest.mark.skip(reason=DICOM_CORPUS_MISSING))]
    return [pytest.param(case, id=case["case"]) for case in cases]


@pytest.mark.parametrize("case", _each(CASES))
def test_corpus_case(dicom_corpus: Path, case: dict) -> None:
    result = scan_paths([dicom_corpus / case["case"]])
    if case["outcome"] == "reject":
        assert result.volumes == []
        assert result.rejected, "a refused case must say why"
        assert {r.reason for r in result.rejected} <= set(case["all_reject_reasons"])
        assert all(r.message and r.series_uid for r in result.rejected)
        return
    assert not result.rejected
    assert len(result.volumes) == len(case["volumes"])
    for volume, expected in zip(result.volumes, case["volumes"], strict=True):
        assert list(volume.shape) == expected["shape"]
        np.testing.assert_allclose(volume.spacing, expected["spacing"], atol=1e-3)
        np.testing.assert_allclose(volume.origin, expected["origin_lps"], atol=1e-3)
        np.testing.assert_allclose(volume.direction, expected["direction_cosines"], atol=1e-4)
        values = volume.array.astype(np.float64)
        pixels = expected["pixels"]
        np.testing.assert_allclose(values.mean(), pixels["rescaled_mean"], rtol=1e-6)
        np.testing.assert_allclose(
            values.reshape(len(values), -1).mean(axis=1), pixels["rescaled_slice_means"], atol=1e-3
        )
        np.testing.assert_allclose(
            [values.min(), values.max()], [pixels["rescaled_min"], pixels["rescaled_max"]], atol=1e-6
        )
        sources = expected["sorted_sources"]
        if not any("#" in name for name in sources):
            assert [os.path.basename(p) for p in volume.source.paths] == sources
        else:
            assert len(volume.source.paths) == expected["n_files"]


ACCEPTED = [c for c in CASES if c["outcome"] == "volumes"]


@pytest.mark.parametrize("case", _each(ACCEPTED))
def test_corpus_slice_order_including_frames_and_mosaic_tiles(dicom_corpus: Path, case: dict) -> None:
    """The planner's slice order, plane by plane (``name#frameN``, ``name#tileN``), is expected.json's."""
    folder = dicom_corpus / case["case"]
    planes = [plane for path in sorted(folder.iterdir()) for plane in read_planes(path)]
    stacks, refusals = plan_stacks(planes)
    assert refusals == []
    assert [[p.source_name for p in stack.planes] for stack in stacks] == [
        v["sorted_sources"] for v in case["volumes"]
    ]


@pytest.mark.parametrize("case", _each(COMPRESSED))
def test_compressed_case_without_decoders_names_the_transfer_syntax(
    dicom_corpus: Path, case: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydicom.pixels import get_decoder

    monkeypatch.setattr(get_decoder(case["transfer_syntax"]), "_available", {})
    result = scan_paths([dicom_corpus / case["case"]])
    assert result.volumes == []
    assert {r.reason for r in result.rejected} == {"undecodable_transfer_syntax"}
    assert all(case["transfer_syntax"] in r.message for r in result.rejected)
