"""The pixel pass of the DICOM importer: decode a planned stack and apply the modality LUT per slice.

Speed comes from the header pass: for uncompressed little-endian single-frame files it recorded where the
pixel data start, so each slice is one ``readinto`` straight into the output array (no second parse).  Other
files (compressed, big-endian, multi-frame, mosaics) are decoded by pydicom and its installed plugins; each
file is read once even when it holds many planes.  Files are read in a thread pool: file I/O and the codec
plugins release the GIL.

Rescale slope and intercept are applied per plane (Philips writes a different slope per file; Enhanced MR
per frame), which pydicom's ``apply_modality_lut`` cannot do for functional groups (pydicom#2353).  The result
keeps the stored integer type when every slope is 1 and every intercept 0, becomes int16/int32 for integer
intercepts (CT), and float32 otherwise.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from hccdesk.errors import ImportRefused
from hccdesk.imaging.dicom_headers import NATIVE_LITTLE_ENDIAN
from hccdesk.imaging.dicom_planes import PixelLayout, Plane
from hccdesk.imaging.dicom_series import StackPlan
from hccdesk.imaging.files import open_regular
from hccdesk.imaging.messages import error_detail
from hccdesk.imaging.mosaic import mosaic_tile_shape

_STDERR_LOCK = threading.Lock()

READ_THREADS = min(8, (os.cpu_count() or 2) * 2)
"""Worker threads for the pixel pass (I/O bound for raw files, GIL-free in the codec plugins)."""


def transfer_syntax_problem(transfer_syntax: str) -> str | None:
    """Why no installed plugin can decode ``transfer_syntax``, or None when one can."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    uid = UID(transfer_syntax)
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        return f"no pixel decoder exists for transfer syntax {uid.name} ({uid})"
    if not decoder.is_available:
        return (
            f"no installed plugin decodes transfer syntax {uid.name} ({uid}); install one of "
            f"{'; '.join(decoder.missing_dependencies) or 'the pydicom plugins it needs'}"
        )
    return None


def read_stack(plan: StackPlan) -> np.ndarray:
    """Decode the planes of ``plan`` into a ``[k, j, i]`` array with the modality LUT applied per plane.

    Raises
    ------
    ImportRefused
        ``undecodable_transfer_syntax`` when no installed plugin decodes the files (the message names the
        transfer syntax), ``unsupported`` when the pixel data are corrupt.
    """
    planes = plan.planes
    first = planes[0].layout
    rows, columns = _plane_shape(first)
    problem = transfer_syntax_problem(first.transfer_syntax)
    if problem:
        raise _refused("undecodable_transfer_syntax", problem, plan)
    dtype = np.result_type(*{_stored_dtype(plane.layout) for plane in planes})
    stored = np.empty((len(planes), rows, columns), dtype=dtype)
    by_file: dict[str, list[tuple[int, Plane]]] = defaultdict(list)
    for index, plane in enumerate(planes):
        by_file[plane.path].append((index, plane))
    codecs = any(plane.layout.offset is None for plane in planes)
    with (
        _native_stderr_discarded(codecs),
        ThreadPoolExecutor(max_workers=min(READ_THREADS, len(by_file))) as pool,
    ):
        errors = [e for e in pool.map(lambda item: _fill(stored, *item), by_file.items()) if e is not None]
    if errors:
        path, reason, message = errors[0]
        raise _refused(reason, f"{os.path.basename(path)}: {message}", plan)
    return apply_rescale(stored, [p.slope for p in planes], [p.intercept for p in planes])


def apply_rescale(stored: np.ndarray, slopes: Sequence[float], intercepts: Sequence[float]) -> np.ndarray:
    """``stored * slope + intercept`` per slice, in the narrowest exact type (see module docstring)."""
    slope = np.asarray(slopes, dtype=np.float64)
    intercept = np.asarray(intercepts, dtype=np.float64)
    if np.all(slope == 1.0) and np.all(intercept == 0.0):
        return stored
    if np.all(slope == 1.0) and np.all(intercept == np.round(intercept)):
        low = float(stored.min()) + float(intercept.min())
        high = float(stored.max()) + float(intercept.max())
        dtype = np.int16 if low >= -(2**15) and high < 2**15 else np.int32
        if low >= -(2**31) and high < 2**31:
            result: np.ndarray = stored.astype(dtype)
            result += intercept.astype(dtype)[:, None, None]
            return result
    result = stored.astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused by the scanner's voxel check
        result *= slope.astype(np.float32)[:, None, None]
        result += intercept.astype(np.float32)[:, None, None]
    return result


@contextlib.contextmanager
def _native_stderr_discarded(active: bool) -> Iterator[None]:
    """Discard what C codecs write straight to file descriptor 2 while they decode (when ``active``).

    libjpeg and friends print lines such as "Not a JPEG file: starts with 0x30 0x01" on the process's
    stderr before failing; the failure itself becomes the one-line refusal, so the codec's own line would be
    a second, unexplained line in the CLI's output.  Python-level errors are unaffected.  File descriptor 2
    belongs to the whole process, so two scans in two threads (the GUI) take turns here: otherwise the second
    could save the first one's sink and restore it for good.
    """
    if not active:
        yield
        return
    with _STDERR_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "wb") as sink:
                os.dup2(sink.fileno(), 2)
                yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def decode_file(path: str) -> np.ndarray:
    """All stored pixel values of one file as ``(frames, rows, columns)`` via pydicom and its plugins.

    Raises whatever pydicom raises; :func:`read_stack` turns that into a refusal.
    """
    import pydicom

    with open_regular(path) as handle:
        dataset = pydicom.dcmread(handle, force=True)
        pixels = dataset.pixel_array
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    return pixels.reshape((frames, *pixels.shape[-2:]))


def _plane_shape(layout: PixelLayout) -> tuple[int, int]:
    if layout.mosaic_tiles:
        _, rows, columns = mosaic_tile_shape(layout)
        return rows, columns
    return layout.rows, layout.columns


def _stored_dtype(layout: PixelLayout) -> np.dtype:
    kind = "i" if layout.pixel_representation == 1 else "u"
    size = max(1, layout.bits_allocated // 8)
    if layout.bits_allocated not in (8, 16, 32):
        size = 2 if layout.bits_allocated < 16 else 4
    return np.dtype(f"<{kind}{size}")


class _PixelTypeError(ValueError):
    """Decoded values that the header's pixel type cannot hold (a header that lies about the data)."""


def _fill(stored: np.ndarray, path: str, items: list[tuple[int, Plane]]) -> tuple[str, str, str] | None:
    """Decode one file into its rows of ``stored``; return ``(path, reason, message)`` on failure."""
    layout = items[0][1].layout
    try:
        _decode_into(stored, path, items)
    except (MemoryError, KeyboardInterrupt, SystemExit):
        raise
    except _PixelTypeError as error:
        return path, "unsupported", str(error)
    except BaseException as error:  # codecs raise anything, even Rust panics (a BaseException)
        if layout.transfer_syntax in (*NATIVE_LITTLE_ENDIAN, "1.2.840.10008.1.2.2"):
            return path, "unsupported", f"corrupt pixel data ({error_detail(error)})"
        from pydicom.uid import UID

        name = UID(layout.transfer_syntax).name
        message = f"cannot decode transfer syntax {name}: {error_detail(error)}"
        return path, "undecodable_transfer_syntax", message
    return None


def _decode_into(stored: np.ndarray, path: str, items: list[tuple[int, Plane]]) -> None:
    layout = items[0][1].layout
    if layout.offset is not None and len(items) == 1:
        index = items[0][0]
        if _stored_dtype(layout) == stored.dtype:
            _read_raw(stored[index], path, layout)
        else:  # a slice stored with another pixel type than the rest of the series
            pixels = np.empty(stored.shape[1:], dtype=_stored_dtype(layout))
            _read_raw(pixels, path, layout)
            stored[index] = pixels
        return
    frames = decode_file(path)
    limits = np.iinfo(stored.dtype)
    if frames.size and (frames.min() < limits.min or frames.max() > limits.max):
        raise _PixelTypeError(f"decoded values do not fit the declared {stored.dtype} pixel type")
    for index, plane in items:
        if plane.tile is not None:
            grid, rows, columns = mosaic_tile_shape(plane.layout)
            top, left = (plane.tile // grid) * rows, (plane.tile % grid) * columns
            stored[index] = frames[0, top : top + rows, left : left + columns]
        else:
            stored[index] = frames[plane.frame or 0]


def _read_raw(target: np.ndarray, path: str, layout: PixelLayout) -> None:
    """Read native little-endian pixels at the header pass's offset; mask or sign-extend like pydicom."""
    with open_regular(path) as handle:
        handle.seek(layout.offset)  # type: ignore[arg-type]
        count = handle.readinto(target.data.cast("B"))
    if count != target.nbytes:
        raise ValueError(f"pixel data end after {count} of {target.nbytes} bytes")
    unused = layout.bits_allocated - layout.bits_stored
    if 0 < unused < layout.bits_allocated:
        if layout.pixel_representation == 1:
            target <<= unused
            target >>= unused
        else:
            target &= (1 << layout.bits_stored) - 1


def _refused(reason: str, message: str, plan: StackPlan) -> ImportRefused:
    description = plan.planes[0].series_description
    where = f"series {description!r} ({plan.series_uid})" if description else f"series {plan.series_uid}"
    return ImportRefused(reason, f"{where}: {message}", series_uid=plan.series_uid, paths=plan.paths)
