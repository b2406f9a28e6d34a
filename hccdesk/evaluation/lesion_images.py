"""Pictures of a lesion for files a reader keeps: a windowed slice, its box, a heat map over it, as PNG.

Numpy and the standard library only (``zlib`` writes the PNG), so ``hccdesk explain`` and the HTML report
need no imaging package beyond what the app already has, and the pictures look the same everywhere.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from hccdesk.store.records import Box

HEAT_ANCHORS = np.array(
    [
        [0.0, 0, 0, 4],
        [0.25, 87, 16, 110],
        [0.5, 188, 55, 84],
        [0.75, 249, 142, 9],
        [1.0, 252, 255, 164],
    ]
)
"""An inferno-like ramp (dark violet -> red -> pale yellow): ordered by lightness, so it reads in grey too."""
BOX_COLOUR = (80, 220, 255)


def heat_colours(values: np.ndarray, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """RGB uint8 ``(..., 3)`` of ``values`` on :data:`HEAT_ANCHORS` between ``low`` and ``high``."""
    t = np.clip(
        (np.nan_to_num(np.asarray(values, dtype=float), nan=low) - low) / max(high - low, 1e-12), 0, 1
    )
    channels = [np.interp(t, HEAT_ANCHORS[:, 0], HEAT_ANCHORS[:, c]) for c in (1, 2, 3)]
    return np.stack(channels, axis=-1).round().astype(np.uint8)


def windowed(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """A grey slice as RGB uint8, ``low`` black and ``high`` white."""
    grey = np.clip((np.asarray(image, dtype=float) - low) / max(high - low, 1e-12) * 255.0, 0, 255)
    return np.repeat(grey.round().astype(np.uint8)[..., None], 3, axis=-1)


def auto_window(image: np.ndarray) -> tuple[float, float]:
    """The 1st and 99th percentile: a window that shows soft tissue whatever the scanner's scale."""
    low, high = np.percentile(np.asarray(image, dtype=float), [1.0, 99.0])
    return float(low), float(max(high, low + 1e-6))


def overlay(
    rgb: np.ndarray, values: np.ndarray, opacity: float, low: float = 0.0, high: float = 1.0
) -> np.ndarray:
    """``rgb`` with the heat colours of ``values`` blended in where they are not NaN."""
    out = rgb.astype(float)
    shown = ~np.isnan(values)
    out[shown] = (1 - opacity) * out[shown] + opacity * heat_colours(values[shown], low, high)
    return out.round().astype(np.uint8)


def outline(rgb: np.ndarray, rows: tuple[int, int], columns: tuple[int, int]) -> np.ndarray:
    """``rgb`` with a one-pixel rectangle around rows ``[r0, r1)`` and columns ``[c0, c1)`` (clipped)."""
    out = rgb.copy()
    height, width = out.shape[:2]
    r0, r1 = max(rows[0], 0), min(rows[1], height) - 1
    c0, c1 = max(columns[0], 0), min(columns[1], width) - 1
    if r0 > r1 or c0 > c1:
        return out
    out[r0, c0 : c1 + 1] = out[r1, c0 : c1 + 1] = BOX_COLOUR
    out[r0 : r1 + 1, c0] = out[r0 : r1 + 1, c1] = BOX_COLOUR
    return out


def enlarge(rgb: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement (voxels stay square blocks, as a viewer shows them)."""
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)


def encode_png(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of ``rgb`` ``(height, width, 3)``."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    rows = b"".join(b"\x00" + rgb[r].tobytes() for r in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 6))
        + chunk(b"IEND", b"")
    )


def lesion_picture(
    volume: np.ndarray, box: Box, heat: np.ndarray | None = None, opacity: float = 0.5, margin: int = 8
) -> np.ndarray:
    """The box's middle axial slice with ``margin`` voxels around it, windowed, the heat map blended over it
    and the box outlined, enlarged so a small lesion is still visible: RGB uint8.

    ``volume`` and ``heat`` are ``[k, j, i]`` arrays on the same study grid (``heat`` NaN where undefined).
    """
    z = (box.z0 + box.z1 - 1) // 2
    y0, x0 = max(box.y0 - margin, 0), max(box.x0 - margin, 0)
    y1, x1 = min(box.y1 + margin, volume.shape[1]), min(box.x1 + margin, volume.shape[2])
    crop = volume[z, y0:y1, x0:x1]
    rgb = windowed(crop, *auto_window(crop))
    if heat is not None:
        rgb = overlay(rgb, heat[z, y0:y1, x0:x1], opacity)
    rgb = outline(rgb, (box.y0 - y0, box.y1 - y0), (box.x0 - x0, box.x1 - x0))
    return enlarge(rgb, max(1, 160 // max(rgb.shape[:2])))
