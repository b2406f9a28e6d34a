"""``hccdesk bench import``: our DICOM import against SimpleITK's ImageSeriesReader on the same files.

The study (docs/design/architecture.md §9): 4 phases x 88 axial slices of 512 x 512 int16, one series per
phase, all in one folder as a PACS export often is.  It is written once into a cache folder and reused.  Both
importers read every series completely (ours: :func:`hccdesk.imaging.scan.scan_paths` on the folder, which
also sorts, checks and rescales; SimpleITK: ``GetGDCMSeriesIDs`` then ``GetGDCMSeriesFileNames`` + ``Execute``
per series), alternately, ``repeats`` times each; the best time of each is reported so that both see a warm
file cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BENCH_PHASES: tuple[tuple[str, str, float], ...] = (
    ("t1_vibe_fs_tra_bh pre", "101500.000000", 0.0),
    ("t1_vibe_fs_tra_bh art", "102035.000000", 1.6),
    ("t1_vibe_fs_tra_bh pv", "102110.000000", 1.3),
    ("t1_vibe_fs_tra_bh delayed", "102430.000000", 1.1),
)
"""Series description, acquisition time and relative liver enhancement of each benchmark phase."""

SLICES, SIZE, SLICE_STEP, PIXEL = 88, 512, 2.5, 0.75


@dataclass(frozen=True)
class BenchResult:
    """Best wall times (s) of each importer over the same files."""

    files: int
    megabytes: float
    ours_s: float
    simpleitk_s: float

    @property
    def ratio(self) -> float:
        """Ours / SimpleITK: below 1.0 means ours is faster."""
        return self.ours_s / self.simpleitk_s


def ensure_study(cache: Path) -> Path:
    """Write the benchmark study into ``cache/study`` unless a complete copy is already there."""
    from pydicom.uid import generate_uid

    from hccdesk.imaging.dicom_writer import axial_positions, write_series

    folder = cache / "study"
    done = cache / "complete"
    if done.exists() and len(list(folder.glob("*.dcm"))) == SLICES * len(BENCH_PHASES):
        return folder
    rng = np.random.default_rng(0)
    anatomy = _abdomen(rng)
    study_uid = generate_uid()
    positions = axial_positions(SLICES, SLICE_STEP, origin=(-PIXEL * SIZE / 2, -PIXEL * SIZE / 2, -110.0))
    for number, (description, acquired, enhancement) in enumerate(BENCH_PHASES, start=1):
        noise = rng.normal(0.0, 12.0, anatomy.shape[1:]).astype(np.float32)
        image = anatomy[0] * 300 + anatomy[1] * (380 + 420 * enhancement) + noise
        write_series(
            folder,
            np.clip(image, 0, 4095).astype(np.int16),
            positions,
            pixel_spacing=(PIXEL, PIXEL),
            description=description,
            series_number=number,
            study_uid=study_uid,
            acquisition_time=acquired,
        )
    done.write_text("ok\n")
    return folder


def _abdomen(rng: np.random.Generator) -> np.ndarray:
    """Two masks ``[body, liver]`` of shape ``(2, SLICES, SIZE, SIZE)`` as float32: ellipsoids, no loops."""
    z, y, x = np.ogrid[-1 : 1 : SLICES * 1j, -1 : 1 : SIZE * 1j, -1 : 1 : SIZE * 1j]
    body = ((x / 0.9) ** 2 + (y / 0.7) ** 2 + (z / 1.6) ** 2 < 1).astype(np.float32)
    liver = (((x + 0.35) / 0.35) ** 2 + ((y + 0.1) / 0.3) ** 2 + (z / 0.7) ** 2 < 1).astype(np.float32)
    return np.stack([body * (1 + 0.02 * rng.standard_normal()), liver])


def time_ours(folder: Path) -> float:
    """Seconds for :func:`scan_paths` to import every volume of ``folder``."""
    from hccdesk.imaging.scan import scan_paths

    start = time.perf_counter()
    result = scan_paths([folder])
    elapsed = time.perf_counter() - start
    if len(result.volumes) != len(BENCH_PHASES) or result.rejected:
        raise RuntimeError(f"benchmark import found {len(result.volumes)} volumes, {result.rejected}")
    return elapsed


def time_simpleitk(folder: Path) -> float:
    """Seconds for SimpleITK's ImageSeriesReader to read every GDCM series of ``folder``."""
    import SimpleITK

    start = time.perf_counter()
    series_ids = SimpleITK.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    for series_id in series_ids:
        reader = SimpleITK.ImageSeriesReader()
        reader.SetFileNames(SimpleITK.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series_id))
        SimpleITK.GetArrayViewFromImage(reader.Execute())
    elapsed = time.perf_counter() - start
    if len(series_ids) != len(BENCH_PHASES):
        raise RuntimeError(f"SimpleITK found {len(series_ids)} series")
    return elapsed


def run(cache: Path, repeats: int = 3) -> BenchResult:
    """Generate (once) and time both importers, alternating, ``repeats`` times each."""
    folder = ensure_study(cache)
    files = sorted(folder.glob("*.dcm"))
    megabytes = sum(f.stat().st_size for f in files) / 1e6
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(time_ours(folder))
        theirs.append(time_simpleitk(folder))
    return BenchResult(files=len(files), megabytes=megabytes, ours_s=min(ours), simpleitk_s=min(theirs))
