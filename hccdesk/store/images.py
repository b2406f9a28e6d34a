"""Per-study image files ``images/<study-id>.h5``: written once at import, read lazily by region.

Each phase is stored on the study's reference (arterial) grid, so a voxel index means the same place in
every phase and a lesion box cuts the same tissue from each.  Layout: root attributes ``format =
"hccdesk-images"``, ``schema_version``, ``study_id``; dataset ``affine`` (4x4, ``(i, j, k, 1)`` -> LPS mm);
group ``phases`` with one dataset per phase, ``[k, j, i]``, in the source's integer dtype (resampled values
rounded) or float32 for floating-point sources; readers always get float32.

Chunks hold :data:`CHUNK` = 8 x 32 x 32 voxels (16 KiB of int16), compressed with shuffle +
:data:`COMPRESSION`.  A lesion's patches read the box grown by 20 mm (the standardisation shell), which on a
256^2 or 512^2 plane touches a few chunks across; 32-voxel-wide chunks decompress less of what lies beside it
than 64-wide ones: on the demo's 46 lesions a cold read of that region took 2.6 ms instead of 4.7 ms (median;
p95 6.0 instead of 9.0 ms), and on a 88 x 512 x 512 int16 phase cold coronal and sagittal planes 16 ms instead
of 25 ms, axial planes the same (18-19 ms: both decompress an 8-slice slab), for 1 % more disk.  A plane whose
chunks are cached reads in 0.55 ms instead of 0.19 ms (four times the chunks).  Files written with the
earlier 8 x 64 x 64 chunks keep their layout and read the same.  The earlier comparison (32^3 cubes
need ~45 ms for a cold axial plane, ``(1, y, x)`` chunks ~90 ms for coronal and sagittal planes) is in
docs/developer/benchmarks.md.  lzf beats gzip(4) on read speed (~25 %) for 20 % more disk; these files are
private to the app (exports go through NIfTI), so lzf being h5py-only costs nothing.  Storing them
uncompressed would read 5x faster again but take about twice the disk for integer MR.  The chunk cache is
raised to :data:`CACHE_BYTES` per dataset, and :class:`StudyImages` keeps each phase's dataset open, so
scrolling or re-reading a region decompresses each chunk once (an h5py dataset reopened per read starts with
an empty cache: a repeated 40 x 100 x 100 read took 13.6 ms instead of 0.7 ms).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import h5py
import numpy as np

from hccdesk.errors import InputError, ProjectError
from hccdesk.imaging.volume import PHASES
from hccdesk.store.fsutil import fsync_file, publish, remove_if_exists

IMAGES_FORMAT = "hccdesk-images"
IMAGES_SCHEMA = 1
CHUNK: tuple[int, int, int] = (8, 32, 32)
COMPRESSION = "lzf"
CACHE_BYTES = 64 * 2**20
_CACHE_SLOTS = 10_007  # a prime well above the number of chunks the cache holds, as the HDF5 docs advise


def chunk_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """:data:`CHUNK`, cut down where the volume is smaller."""
    return tuple(max(1, min(edge, n)) for edge, n in zip(CHUNK, shape, strict=True))


def write_images(path: Path, study_id: str, affine: np.ndarray, phases: Mapping[str, np.ndarray]) -> None:
    """Write a study's phase arrays (all on the grid of ``affine``) to ``path``, atomically.

    The file is written as ``<path>.tmp`` and renamed into place, so a crash during an import leaves either no
    file or a complete one.
    """
    shapes = {array.shape for array in phases.values()}
    if len(shapes) != 1:
        raise ValueError(f"phases of one study must share the reference grid, got shapes {shapes}")
    tmp = path.with_name(path.name + ".tmp")
    try:
        _write(tmp, study_id, affine, phases)
        fsync_file(tmp)
        publish(tmp, path)
    except OSError as error:
        remove_if_exists(tmp)
        raise ProjectError(f"could not write the study images {path}: {error}") from error


def _write(tmp: Path, study_id: str, affine: np.ndarray, phases: Mapping[str, np.ndarray]) -> None:
    remove_if_exists(tmp)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(tmp, "w", locking="best-effort") as f:
        f.attrs["format"] = IMAGES_FORMAT
        f.attrs["schema_version"] = IMAGES_SCHEMA
        f.attrs["study_id"] = study_id
        f.create_dataset("affine", data=np.asarray(affine, dtype=np.float64))
        group = f.create_group("phases")
        for name, array in phases.items():
            group.create_dataset(
                name, data=array, chunks=chunk_shape(array.shape), compression=COMPRESSION, shuffle=True
            )


class StudyImages:
    """Read-only, lazy access to one study's phases on its reference grid.

    Opening reads only the small metadata; :meth:`read` and :meth:`slice` decompress only the chunks that the
    requested region touches.  Use it as a context manager, or call :meth:`close`.  Workers open it directly
    with :meth:`open`, without the Project (which they must not touch: one writer per project).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._file = h5py.File(
                self.path, "r", locking="best-effort", rdcc_nbytes=CACHE_BYTES, rdcc_nslots=_CACHE_SLOTS
            )
        except OSError as error:
            raise ProjectError(f"cannot read the study images {self.path}: {error}") from error
        if self._file.attrs.get("format") != IMAGES_FORMAT:
            self._file.close()
            raise ProjectError(f"{self.path} is not an HCC Desk study image file")
        self.study_id = str(self._file.attrs["study_id"])
        self.affine: np.ndarray = self._file["affine"][()]
        stored = set(self._file["phases"].keys())
        self.phases: tuple[str, ...] = tuple(p for p in PHASES if p in stored)
        self._datasets: dict[str, h5py.Dataset] = {}
        depth, rows, columns = self._dataset(self.phases[0]).shape
        self.shape: tuple[int, int, int] = (int(depth), int(rows), int(columns))

    @classmethod
    def open(cls, path: str | Path) -> StudyImages:
        """Open a study image file (``<project>/images/<study-id>.h5``)."""
        return cls(Path(path))

    @property
    def spacing(self) -> np.ndarray:
        """``(sz, sy, sx)`` of the reference grid in mm."""
        return np.linalg.norm(self.affine[:3, :3], axis=0)[::-1]

    def _dataset(self, phase: str) -> h5py.Dataset:
        """The phase's dataset, opened once and kept: the chunk cache belongs to the open dataset, so one
        reopened per read (as before) decompressed every chunk again."""
        if phase not in self.phases:
            raise InputError(f"study {self.study_id} has no {phase!r} phase; it has {', '.join(self.phases)}")
        if phase not in self._datasets:
            self._datasets[phase] = self._file["phases"][phase]
        return self._datasets[phase]

    def read(self, phase: str, region: tuple[slice, slice, slice]) -> np.ndarray:
        """The voxels of ``region`` (``[k, j, i]`` slices) of ``phase`` as float32."""
        return np.asarray(self._dataset(phase)[tuple(region)], dtype=np.float32)

    def slice(self, phase: str, axis: int, index: int) -> np.ndarray:
        """One 2D plane: ``axis`` 0 axial ``[j, i]``, 1 coronal ``[k, i]``, 2 sagittal ``[k, j]``."""
        region: list[slice | int] = [slice(None)] * 3
        region[axis] = index
        return np.asarray(self._dataset(phase)[tuple(region)], dtype=np.float32)

    def dtype(self, phase: str) -> np.dtype:
        """The stored dtype: the source's integer type, or float32."""
        return self._dataset(phase).dtype

    def volume(self, phase: str) -> np.ndarray:
        """The whole phase as float32."""
        return np.asarray(self._dataset(phase)[()], dtype=np.float32)

    def close(self) -> None:
        if self._file.id.valid:
            self._file.close()

    def __enter__(self) -> StudyImages:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class LastStudy:
    """The study image file last asked for, kept open for the next request on the same study.

    The warm inference worker re-grades the same study at every edit of a box; reopening the file each time
    costs the open (~1.5 ms) and, more, throws away the chunk cache, so every grade decompressed the same
    chunks again.  The file is reopened when another path is asked for or when the file on disk is no longer
    the one held (another inode, size or modification time: a study re-imported or replaced), so a request
    never reads stale voxels.  Call :meth:`close` when the holder ends.
    """

    def __init__(self) -> None:
        self._images: StudyImages | None = None
        self._identity: tuple[str, int, int, int] | None = None

    def images(self, path: str | Path) -> StudyImages:
        """The open images of ``path``, reopened if the file changed since it was opened here.

        Raises
        ------
        ProjectError
            When the file cannot be read as study images (as :meth:`StudyImages.open`).
        """
        identity = _file_identity(Path(path))
        if self._images is None or identity is None or identity != self._identity:
            self.close()
            self._images = StudyImages.open(path)  # stat first: a file replaced in between is seen next time
            self._identity = identity
        return self._images

    def close(self) -> None:
        if self._images is not None:
            self._images.close()
        self._images, self._identity = None, None


def _file_identity(path: Path) -> tuple[str, int, int, int] | None:
    """What tells one version of a file from another: path, inode, size and mtime (ns); None when missing."""
    try:
        status = path.stat()
    except OSError:
        return None
    return str(path), status.st_ino, status.st_size, status.st_mtime_ns
