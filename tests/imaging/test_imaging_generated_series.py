"""Generated series for every failure mode the importer must catch, and multi-phase layouts it must split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hccdesk.imaging.dicom_writer import AXIAL, axial_positions, write_series
from hccdesk.imaging.scan import scan_paths

CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)


def _slices(count: int, offset: int = 0, size: int = 8) -> np.ndarray:
    """Slice k is filled with ``offset + 10 k`` plus a column ramp, so slice order and rescale are visible."""
    ramp = np.arange(size, dtype=np.int16)[None, None, :]
    levels = (offset + 10 * np.arange(count, dtype=np.int16))[:, None, None]
    return np.broadcast_to(levels + ramp, (count, size, size)).astype(np.int16)


def _refusal(folder: Path) -> tuple[str, str]:
    result = scan_paths([folder])
    assert result.volumes == []
    (rejected,) = result.rejected
    return rejected.reason, rejected.message


def test_a_good_series_in_reverse_file_order_is_sorted_by_position(tmp_path: Path) -> None:
    positions = axial_positions(5, 2.5)[::-1]
    write_series(tmp_path, _slices(5), positions, pixel_spacing=(0.8, 0.7))
    (volume,) = scan_paths([tmp_path]).volumes
    assert volume.shape == (5, 8, 8)
    np.testing.assert_allclose(volume.spacing, [2.5, 0.8, 0.7])
    np.testing.assert_allclose(volume.origin, positions[-1])
    np.testing.assert_array_equal(volume.array[:, 0, 0], [40, 30, 20, 10, 0])
    assert volume.array.dtype == np.int16


def test_missing_slice_is_refused(tmp_path: Path) -> None:
    positions = axial_positions(5, 2.5)[[0, 1, 2, 4]]
    write_series(tmp_path, _slices(4), positions)
    reason, message = _refusal(tmp_path)
    assert reason == "gap_or_uneven_spacing" and "5 mm" in message


def test_uneven_spacing_is_refused(tmp_path: Path) -> None:
    positions = axial_positions(5, 2.5)
    positions[3, 2] += 0.4
    write_series(tmp_path, _slices(5), positions)
    assert _refusal(tmp_path)[0] == "gap_or_uneven_spacing"


def test_float_jitter_in_positions_is_accepted(tmp_path: Path) -> None:
    positions = axial_positions(5, 2.5) + np.array([0.0, 0.0, 1e-4]) * np.array([[1], [-1], [1], [-1], [1]])
    write_series(tmp_path, _slices(5), positions)
    (volume,) = scan_paths([tmp_path]).volumes
    assert volume.spacing[0] == pytest.approx(2.5, abs=1e-3)


def test_duplicate_positions_are_refused(tmp_path: Path) -> None:
    positions = axial_positions(5, 2.5)[[0, 1, 2, 2, 3, 4]]
    write_series(tmp_path, _slices(6), positions)
    reason, message = _refusal(tmp_path)
    assert reason == "gap_or_uneven_spacing" and "duplicate" in message


def test_gantry_tilt_is_refused(tmp_path: Path) -> None:
    positions = axial_positions(5, 2.5)
    positions[:, 1] += np.tan(np.radians(12.0)) * 2.5 * np.arange(5)
    write_series(tmp_path, _slices(5), positions)
    reason, message = _refusal(tmp_path)
    assert reason == "gantry_tilt" and "12.00 degrees" in message


def test_long_oblique_stack_with_rounded_orientation_keeps_every_slice_at_its_position(
    tmp_path: Path,
) -> None:
    angle = np.radians(17.3)
    row = np.array([np.cos(angle), np.sin(angle), 0.0])
    column = np.array([-np.sin(angle) * 0.8, np.cos(angle) * 0.8, -0.6])
    normal = np.cross(row, column)
    positions = np.array([-120.0, 40.0, 15.0]) + np.outer(np.arange(120) * 2.5, normal)
    rounded = tuple(float(f"{v:.4f}") for v in (*row, *column))  # some scanners write 4 decimals
    write_series(tmp_path, _slices(120), positions, orientation=rounded)
    (volume,) = scan_paths([tmp_path]).volumes
    centres = volume.voxel_to_world(np.c_[np.arange(120), np.zeros((120, 2))])
    np.testing.assert_allclose(centres, positions, atol=1e-5)


def test_slice_off_the_stack_line_is_refused(tmp_path: Path) -> None:
    positions = axial_positions(6, 2.5)
    positions[3, 0] += 0.8
    write_series(tmp_path, _slices(6), positions)
    reason, message = _refusal(tmp_path)
    assert reason == "gantry_tilt" and "sideways" in message


def test_mixed_orientation_is_refused(tmp_path: Path) -> None:
    write_series(tmp_path, _slices(6), axial_positions(6, 2.5), orientation=[AXIAL] * 3 + [CORONAL] * 3)
    assert _refusal(tmp_path)[0] == "mixed_orientation"


def test_two_slices_are_too_few(tmp_path: Path) -> None:
    write_series(tmp_path, _slices(2), axial_positions(2, 2.5))
    assert _refusal(tmp_path)[0] == "too_few_slices"


def test_per_slice_rescale_is_applied_before_stacking(tmp_path: Path) -> None:
    slopes, intercepts = [1.0, 2.5, 0.5, 1.0], [0.0, -3.0, 7.25, 100.0]
    write_series(tmp_path, _slices(4), axial_positions(4, 2.0), slopes=slopes, intercepts=intercepts)
    (volume,) = scan_paths([tmp_path]).volumes
    assert volume.array.dtype == np.float32
    expected = _slices(4) * np.array(slopes)[:, None, None] + np.array(intercepts)[:, None, None]
    np.testing.assert_allclose(volume.array, expected, rtol=1e-6)


def test_integer_intercept_keeps_an_integer_type(tmp_path: Path) -> None:
    write_series(tmp_path, _slices(3), axial_positions(3, 2.0), intercepts=[-1024.0] * 3)
    (volume,) = scan_paths([tmp_path]).volumes
    assert volume.array.dtype == np.int16
    np.testing.assert_array_equal(volume.array, _slices(3).astype(np.int32) - 1024)


def test_slices_with_different_pixel_types_share_a_wide_type(tmp_path: Path) -> None:
    from pydicom.uid import generate_uid

    uids, positions = {"study_uid": generate_uid(), "series_uid": generate_uid()}, axial_positions(3, 2.0)
    write_series(tmp_path, _slices(2), positions[:2], prefix="A", **uids)
    write_series(tmp_path, np.full((1, 8, 8), 40000, np.uint16), positions[2:], prefix="B", **uids)
    (volume,) = scan_paths([tmp_path]).volumes
    assert volume.array.dtype == np.int32
    np.testing.assert_array_equal(volume.array[:2], _slices(2))
    assert np.all(volume.array[2] == 40000)


def _dynamic_series(folder: Path, temporal: bool) -> None:
    """A GE-LAVA-style single series holding 4 phases x 4 slices, files written in shuffled order."""
    positions = axial_positions(4, 3.0)
    rng = np.random.default_rng(3)
    order = rng.permutation(16)
    phase_of = order // 4
    slice_of = order % 4
    write_series(
        folder,
        np.stack([_slices(4, offset=1000 * p)[s] for p, s in zip(phase_of, slice_of, strict=True)]),
        positions[slice_of],
        description="Ax LAVA dyn",
        temporal_positions=[int(p) + 1 for p in phase_of] if temporal else None,
        instance_numbers=[int(p) * 4 + int(s) + 1 for p, s in zip(phase_of, slice_of, strict=True)],
    )


@pytest.mark.parametrize("temporal", [True, False], ids=["TemporalPositionIdentifier", "InstanceNumber only"])
def test_single_series_four_phase_dynamic_is_split_and_named(tmp_path: Path, temporal: bool) -> None:
    _dynamic_series(tmp_path, temporal)
    result = scan_paths([tmp_path])
    assert not result.rejected
    assert len(result.volumes) == 4
    for phase_index, volume in enumerate(result.volumes):
        assert volume.shape == (4, 8, 8)
        np.testing.assert_array_equal(volume.array[:, 0, 0], 1000 * phase_index + 10 * np.arange(4))
    assert [v.phase for v in result.volumes] == ["pre", "arterial", "portal", "delayed"]
    assert len({v.id for v in result.volumes}) == 4
    assert bool(result.volumes[0].warnings) is not temporal  # splitting by instance order is reported


def test_separate_phase_series_are_named_by_description(tmp_path: Path) -> None:
    from pydicom.uid import generate_uid

    study = generate_uid()
    names = ["t1 vibe portal", "t1 vibe native", "t1 vibe delayed 3min", "t1 vibe late art"]
    for number, description in enumerate(names, start=1):
        write_series(
            tmp_path,
            _slices(3),
            axial_positions(3, 2.0),
            description=description,
            series_number=number,
            study_uid=study,
        )
    result = scan_paths([tmp_path])
    assert {v.source.series_description: v.phase for v in result.volumes} == {
        "t1 vibe portal": "portal",
        "t1 vibe native": "pre",
        "t1 vibe delayed 3min": "delayed",
        "t1 vibe late art": "arterial",
    }


def test_ids_are_stable_between_scans(tmp_path: Path) -> None:
    _dynamic_series(tmp_path, temporal=True)
    first = [v.id for v in scan_paths([tmp_path]).volumes]
    assert first == [v.id for v in scan_paths([tmp_path]).volumes]


@pytest.mark.parametrize("signed", [True, False], ids=["signed 12-bit", "unsigned 12-bit"])
def test_fast_path_masks_and_sign_extends_like_pydicom(tmp_path: Path, signed: bool) -> None:
    """Raw reads of 12-of-16-bit data with junk in the unused high bits equal pydicom's decoding."""
    import pydicom

    rng = np.random.default_rng(5)
    stored = rng.integers(0, 2**16, size=(3, 8, 8), dtype=np.uint16)  # high nibble = junk (overlay bits)
    paths = write_series(tmp_path, stored, axial_positions(3, 2.0))
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, int(signed)
        ds.save_as(path)
    (volume,) = scan_paths([tmp_path]).volumes
    expected = np.stack([pydicom.dcmread(p).pixel_array for p in paths])
    np.testing.assert_array_equal(volume.array, expected)
    assert bool(volume.array.min() < 0) is signed
