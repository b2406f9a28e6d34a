"""Phase identification from descriptions, temporal positions and acquisition times; unknown stays None."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hccdesk.imaging.phases import identify_phases, phase_from_text
from hccdesk.imaging.volume import Volume, VolumeSource


@pytest.mark.parametrize(
    ("text", "phase"),
    [
        ("Ax LAVA pre", "pre"),
        ("t1_vibe_fs_tra_bh native", "pre"),
        ("T1PRE", "pre"),
        ("MASK", "pre"),
        ("LAVA late art", "arterial"),
        ("dyn_art", "arterial"),
        ("HAP", "arterial"),
        ("early arterial", "arterial"),
        ("PV phase", "portal"),
        ("portal venous", "portal"),
        ("Delayed 3min", "delayed"),
        ("equilibrium", "delayed"),
        ("late", "delayed"),
        ("arterial SUB", None),
        ("HBP 20min", None),
        ("pre/post", None),
        ("art pv", None),
        ("T2 HASTE", None),
        ("partial start", None),
        ("", None),
    ],
)
def test_keywords(text: str, phase: str | None) -> None:
    assert phase_from_text(text) == phase


def _volume(description: str = "", series: str = "", **tags: object) -> Volume:
    source = VolumeSource(series_uid=series, series_description=description, tags=dict(tags))
    return Volume(np.zeros((3, 2, 2), np.int16), np.eye(4), source=source)


def test_acquisition_time_orders_unnamed_series() -> None:
    volumes = [_volume("dyn", "a", AcquisitionTime=t) for t in ("101200", "100000", "101500.5", "100530")]
    assert identify_phases(volumes) == ["portal", "pre", "delayed", "arterial"]


def test_temporal_positions_fill_the_phases_left_by_keywords() -> None:
    volumes = [_volume("LAVA pre", "p")] + [
        _volume("LAVA dyn", "d", TemporalPositionIdentifier=t) for t in (3, 1, 2)
    ]
    volumes.append(_volume("T2 HASTE", "t"))
    assert identify_phases(volumes) == ["pre", "delayed", "arterial", "portal", None]


def test_unknown_stays_unknown_when_counts_do_not_match() -> None:
    volumes = [_volume("dyn", "a", AcquisitionTime=t) for t in ("100000", "100100", "100200")]
    assert identify_phases(volumes) == [None, None, None]


def test_a_phase_named_twice_is_left_to_the_user() -> None:
    assert identify_phases([_volume("art"), _volume("arterial 2"), _volume("pv")]) == [None, None, "portal"]


def test_echo_planar_time_series_are_not_phases() -> None:
    volumes = [
        _volume("bold", "f", ScanningSequence="EP", TemporalPositionIdentifier=t) for t in (1, 2, 3, 4)
    ]
    assert identify_phases(volumes) == [None, None, None, None]


def test_four_phase_4d_nifti_is_named_in_time_order(tmp_path: Path) -> None:
    import nibabel as nib

    from hccdesk.imaging.dicom_tags import TECHNICAL_TAGS
    from hccdesk.imaging.scan import scan_paths

    data = np.arange(4 * 3 * 3 * 4, dtype=np.int16).reshape(4, 3, 3, 4)
    nib.save(nib.Nifti1Image(data, np.diag([0.8, 0.8, 3.0, 1.0])), tmp_path / "liver_dce.nii.gz")
    volumes = scan_paths([tmp_path]).volumes
    assert [v.phase for v in volumes] == ["pre", "arterial", "portal", "delayed"]
    assert [v.id for v in volumes] == [f"liver_dce-t{t}" for t in range(4)]
    assert all(set(v.source.tags) <= set(TECHNICAL_TAGS) for v in volumes)
