"""Issue 11, class 1, property-based: whatever a NIfTI header says, ``inspect`` answers in one line.

Hypothesis writes single-file NIfTI-1 headers with arbitrary dimensions, voxel types (every NIfTI code and
unknown ones), voxel sizes (0, negative, NaN, infinite), scale factors, sform/qform codes and matrices, data
offsets and byte orders, followed by up to 4 KB of arbitrary data.  The CLI must exit 0 with volumes whose
voxels are finite grey levels on a non-degenerate grid, or 2 with exactly one stderr line; it must never
raise, and reading must allocate no more than a small multiple of what the file holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hostile import AFFINE_RAS, scan_with_peak_memory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hccdesk.cli import main
from hccdesk.imaging.voxels import voxel_problem

NIFTI_TYPE_CODES = (0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304, 77)
FLOATS = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e38, -1e38, 1e-38, 3.0]),
    st.floats(width=32, allow_nan=True, allow_infinity=True),
)
SMALL_FLOATS = st.floats(-1e3, 1e3, width=32)


@st.composite
def nifti_files(draw: st.DrawFn) -> bytes:
    """Bytes of a NIfTI-1 file with a hostile header (see the module docstring)."""
    import nibabel as nib

    header = nib.Nifti1Header(endianness=draw(st.sampled_from(["<", ">"])))
    ndim = draw(st.integers(0, 8))
    dims = draw(st.lists(st.integers(-3, 32_767), min_size=7, max_size=7))
    small = draw(st.lists(st.integers(1, 12), min_size=7, max_size=7))
    header["dim"] = [ndim, *[d if draw(st.booleans()) else s for d, s in zip(dims, small, strict=True)]]
    header["datatype"] = draw(st.sampled_from(NIFTI_TYPE_CODES))
    header["bitpix"] = draw(st.sampled_from([0, 8, 16, 24, 32, 64, 128]))
    header["pixdim"] = [draw(st.sampled_from([-1.0, 1.0])), *draw(st.lists(FLOATS, min_size=7, max_size=7))]
    header["vox_offset"] = draw(st.sampled_from([0.0, 352.0, 352.0, 348.0, 400.0, 1e9, np.nan]))
    header["scl_slope"] = draw(FLOATS)
    header["scl_inter"] = draw(FLOATS)
    if draw(st.booleans()):
        header.set_sform(AFFINE_RAS, code=1)
    header["sform_code"] = draw(st.sampled_from([0, 1, 2, 4, 99]))
    header["qform_code"] = draw(st.sampled_from([0, 1, 2, -1]))
    for row in ("srow_x", "srow_y", "srow_z"):
        if draw(st.booleans()):
            header[row] = draw(st.lists(st.one_of(FLOATS, SMALL_FLOATS), min_size=4, max_size=4))
    for field in ("quatern_b", "quatern_c", "quatern_d", "qoffset_x"):
        header[field] = draw(st.one_of(FLOATS, SMALL_FLOATS))
    header["descrip"] = draw(st.binary(max_size=80))
    data = draw(st.binary(max_size=4096))
    if draw(st.booleans()):
        data = np.random.default_rng(len(data)).bytes(draw(st.integers(0, 8192)))
    return header.binaryblock + b"\0" * 4 + data


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=nifti_files())
def test_any_nifti_header_gives_volumes_or_one_error_line(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hostile.nii"
    path.write_bytes(content)
    capsys.readouterr()
    status = main(["inspect", str(path)])
    err = capsys.readouterr().err
    if status == 0:
        assert err == ""
    else:
        assert status == 2 and err.startswith("hccdesk: error: ") and err.count("\n") == 1, err
    result, peak = scan_with_peak_memory(path)
    assert peak < 8 * len(content) + 2**20
    for volume in result.volumes:
        assert voxel_problem(volume.array) is None
        assert np.isfinite(volume.affine).all() and abs(np.linalg.det(volume.affine[:3, :3])) > 1e-9
