"""Files bundled with nibabel: NIfTI geometry (RAS -> LPS) and an Enhanced MR with full functional groups."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from hccdesk.imaging.nifti import read_nifti
from hccdesk.imaging.scan import scan_paths
from hccdesk.imaging.volume import LPS_TO_RAS

nib = pytest.importorskip("nibabel")
DATA = Path(nib.__file__).parent / "tests" / "data"
NICOM = Path(nib.__file__).parent / "nicom" / "tests" / "data"


def _world_ras(image: object, ijk: np.ndarray) -> np.ndarray:
    return nib.affines.apply_affine(image.affine, ijk)  # type: ignore[attr-defined]


def test_example4d_gives_one_volume_per_time_point() -> None:
    path = DATA / "example4d.nii.gz"
    image = nib.load(path)
    volumes = read_nifti(path)
    assert len(volumes) == 2
    data = np.asanyarray(image.dataobj)
    for t, volume in enumerate(volumes):
        assert volume.shape == (24, 96, 128)
        np.testing.assert_array_equal(volume.array, np.transpose(data[..., t], (2, 1, 0)))
    np.testing.assert_allclose(volumes[0].spacing, [2.2, 2.0, 2.0], atol=1e-4)


def test_standard_nifti_voxels_keep_their_world_position() -> None:
    path = DATA / "standard.nii.gz"
    image = nib.load(path)
    (volume,) = read_nifti(path)
    assert volume.shape == (7, 5, 4)
    kji = np.array([[k, j, i] for k in range(7) for j in range(5) for i in range(4)], dtype=float)
    lps = volume.voxel_to_world(kji)
    ras = _world_ras(image, kji[:, ::-1])
    np.testing.assert_allclose(lps * [-1, -1, 1], ras, atol=1e-6)
    data = np.asanyarray(image.dataobj)
    for k, j, i in kji.astype(int)[::7]:
        assert volume.array[k, j, i] == data[i, j, k]
    np.testing.assert_allclose(volume.affine_ras, image.affine, atol=1e-6)
    np.testing.assert_allclose(LPS_TO_RAS @ volume.affine, image.affine, atol=1e-6)


def test_philips_enhanced_mprage_geometry_from_functional_groups(tmp_path: Path) -> None:
    import pydicom

    path = tmp_path / "philips_mprage.dcm"
    with gzip.open(NICOM / "philips_mprage.dcm.gz") as source, open(path, "wb") as target:
        shutil.copyfileobj(source, target)
    result = scan_paths([path])
    assert not result.rejected and not result.skipped
    (volume,) = result.volumes
    assert volume.shape == (176, 256, 256)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    frames = ds.PerFrameFunctionalGroupsSequence
    positions = np.array([f.PlanePositionSequence[0].ImagePositionPatient for f in frames], dtype=float)
    orientation = np.array(frames[0].PlaneOrientationSequence[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    ordered = positions[np.argsort(positions @ normal)]
    np.testing.assert_allclose(
        volume.voxel_to_world(np.c_[np.arange(176), np.zeros((176, 2))]), ordered, atol=1e-3
    )
    np.testing.assert_allclose(volume.direction[:2].ravel(), orientation, atol=1e-4)
    spacing = [float(v) for v in frames[0].PixelMeasuresSequence[0].PixelSpacing]
    np.testing.assert_allclose(volume.spacing[1:], spacing, atol=1e-6)
    assert volume.array.dtype == np.float32  # per-frame slope 2.1079 applied (the pixels are all zero)


def test_big_endian_nifti_is_read_in_native_byte_order_and_description_is_clean() -> None:
    (volume,) = read_nifti(DATA / "anatomical.nii")
    assert volume.array.dtype == np.dtype("int16") and volume.array.dtype.isnative
    np.testing.assert_array_equal(
        volume.array, np.transpose(np.asanyarray(nib.load(DATA / "anatomical.nii").dataobj), (2, 1, 0))
    )
    (first, _) = read_nifti(DATA / "example4d.nii.gz")
    assert first.source.series_description == "FSL3.3"


@pytest.mark.parametrize(
    ("shape", "singular", "reason"),
    [
        ((4, 5, 2), False, "too_few_slices"),
        ((4, 5), False, "too_few_slices"),
        ((4, 5, 6), True, "unsupported"),
        ((4, 5, 6, 2, 3), False, "unsupported"),
    ],
)
def test_unusable_nifti_is_refused(
    tmp_path: Path, shape: tuple[int, ...], singular: bool, reason: str
) -> None:
    path = tmp_path / "bad.nii"
    nib.save(nib.Nifti1Image(np.zeros(shape, np.int16), np.eye(4)), path)
    if singular:  # an sform with a zero row, which nibabel only writes from a header edited by hand
        header = nib.load(path).header.copy()
        header["srow_y"] = [0.0, 0.0, 0.0, 0.0]
        header["qform_code"] = 0
        nib.Nifti1Image(np.zeros(shape, np.int16), None, header).to_filename(path)
    result = scan_paths([path])
    assert result.volumes == []
    assert [r.reason for r in result.rejected] == [reason]
