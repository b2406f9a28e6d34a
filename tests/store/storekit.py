"""Small synthetic volumes, child processes, folder snapshots and error lines for the store tests (a module of
its own, so test files can import it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hccdesk.imaging.volume import Volume

SHAPE = (12, 40, 48)


def grid_affine(shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """A 1.5 x 1.5 x 3 mm axial grid (LPS), optionally shifted."""
    affine = np.diag([1.5, 1.5, 3.0, 1.0])
    affine[:3, 3] = np.array([-36.0, -30.0, -18.0]) + np.asarray(shift_mm)
    return affine


def phase_volume(
    seed: int, phase: str | None, shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
) -> Volume:
    """A smooth int16 volume (so resampling is meaningful) with a little noise."""
    rng = np.random.default_rng(seed)
    k, j, i = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    smooth = 300 + 100 * np.sin(i / 6.0) * np.cos(j / 5.0) + 10 * k
    array = (smooth + rng.normal(0, 3, SHAPE)).astype(np.int16)
    return Volume(array, grid_affine(shift_mm), phase)


def study_volumes(seed: int = 0) -> dict[str, Volume]:
    return {
        "arterial": phase_volume(seed, "arterial"),
        "portal": phase_volume(seed + 1, "portal", shift_mm=(0.0, 2.0, 1.5)),
    }


def start_child(code: str, *args: object) -> subprocess.Popen[str]:
    """Run ``code`` in a fresh interpreter (a second app instance) with ``args`` in ``sys.argv[1:]``."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(child: subprocess.Popen[str], expected: str) -> None:
    """Block until ``child`` prints ``expected`` (it is then past the point the test cares about)."""
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == expected:
            return
    raise AssertionError(
        f"child ended before printing {expected!r}: {child.stderr.read() if child.stderr else ''}"
    )


def kill(child: subprocess.Popen[str]) -> None:
    """SIGKILL: the process gets no chance to clean up, like a crash or a power cut of the app alone."""
    os.kill(child.pid, signal.SIGKILL)
    child.wait()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes): equal snapshots mean byte-identical folders."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one ``hccdesk: error:`` line a refused command printed, checked to carry no traceback."""
    err = capsys.readouterr().err.strip()
    assert err.startswith("hccdesk: error: ") and "\n" not in err and "Traceback" not in err
    return err
