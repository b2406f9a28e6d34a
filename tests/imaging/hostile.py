"""Helpers for the hostile-input tests: NIfTI files written byte by byte, CLI runs, project fingerprints, the
peak memory of a scan."""

from __future__ import annotations

import gzip
import hashlib
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hccdesk.cli import main
from hccdesk.imaging.scan import ScanResult, scan_paths

AFFINE_RAS = np.diag([1.5, 1.5, 3.0, 1.0])


def nifti_bytes(
    data: np.ndarray | bytes, shape: tuple[int, ...] | None = None, dtype: Any = None, **fields: Any
) -> bytes:
    """A single-file NIfTI-1 exactly as given: header ``fields`` are set without nibabel's repairs.

    ``data`` is written as is after the header (raw bytes, or an array in Fortran order); ``shape`` and
    ``dtype`` default to the array's, so a header can claim more (or other) data than follows it.
    """
    import nibabel as nib

    header = nib.Nifti1Header()
    if isinstance(data, np.ndarray):
        shape = data.shape if shape is None else shape
        dtype = data.dtype if dtype is None else dtype
        payload = np.asfortranarray(data).tobytes(order="F")
    else:
        payload = data
    header.set_data_dtype(dtype if dtype is not None else np.int16)
    header.set_data_shape(shape if shape is not None else (4, 4, 4))
    header.set_sform(AFFINE_RAS, code=1)
    header.set_qform(AFFINE_RAS, code=1)
    header["vox_offset"] = 352
    for name, value in fields.items():
        if name == "pixdim":
            header["pixdim"][1 : 1 + len(value)] = value
        else:
            header[name] = value
    return header.binaryblock + b"\0" * 4 + payload


def write_nifti_bytes(path: Path, content: bytes) -> Path:
    """Write ``content`` to ``path``, gzipped when the name ends in ``.gz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content) if path.name.endswith(".gz") else content)
    return path


def smooth_volume(seed: int = 0, shape: tuple[int, int, int] = (12, 10, 8)) -> np.ndarray:
    """A smooth int16 ``[i, j, k]`` NIfTI array with noise, different for every seed."""
    rng = np.random.default_rng(seed)
    i, j, k = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    return (300 + 80 * np.sin(i / 3.0) * np.cos(j / 4.0) + 5 * k + rng.normal(0, 3, shape)).astype(np.int16)


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``hccdesk ARGS`` in this process: (exit status, stdout, stderr)."""
    status = main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def scan_with_peak_memory(path: Path) -> tuple[ScanResult, int]:
    """Scan one file and say how many bytes Python allocated at the most meanwhile (tracemalloc): a hostile
    header must not make the reader allocate what it claims."""
    tracemalloc.start()
    try:
        result = scan_paths([path])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def assert_one_error_line(err: str, *fragments: str) -> None:
    """``err`` is exactly one ``hccdesk: error:`` line, without traceback, holding every fragment."""
    assert err.startswith("hccdesk: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def fingerprint(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder`` (byte-identical means equal fingerprints)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
