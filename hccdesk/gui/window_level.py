"""Window/level: percentile presets, right-drag adjustment, and levels per phase (optionally linked).

MR intensities have no absolute unit, so presets are percentile ranges of each phase volume, and a drag moves
width and level in steps proportional to that phase's own intensity spread; dragging with the phases linked
therefore changes all four the same way relative to their contrast.  Horizontal drag: right widens the window.
Vertical drag: down raises the level (darker image), as on most reading workstations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DRAG_PIXELS_PER_SPREAD = 400.0
"""Dragging this many screen pixels changes width (or level) by the phase's 1-99 percentile spread."""

_SAMPLE_VOXELS = 400_000


@dataclass(frozen=True)
class Levels:
    """Display range of one phase: values at or below ``low`` are black, at or above ``high`` white."""

    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low

    @property
    def level(self) -> float:
        return (self.high + self.low) / 2.0

    @classmethod
    def from_window(cls, width: float, level: float) -> Levels:
        width = max(width, 1e-6)
        return cls(level - width / 2.0, level + width / 2.0)


class IntensityStats:
    """Percentiles of one phase volume from a fixed-size strided sample (fast and deterministic)."""

    def __init__(self, volume: np.ndarray) -> None:
        step = max(1, int(np.ceil((volume.size / _SAMPLE_VOXELS) ** (1 / 3))))
        sample = np.asarray(volume[::step, ::step, ::step], dtype=np.float32).ravel()
        sample = sample[np.isfinite(sample)]
        self._sorted = np.sort(sample) if sample.size else np.zeros(1, np.float32)
        p1, p99 = self.percentiles(1.0, 99.0)
        self.spread = max(p99 - p1, 1e-3)

    def percentiles(self, low: float, high: float) -> tuple[float, float]:
        values = np.percentile(self._sorted, [low, high])
        return float(values[0]), float(values[1])

    def preset(self, low_percentile: float, high_percentile: float) -> Levels:
        low, high = self.percentiles(low_percentile, high_percentile)
        return Levels(low, max(high, low + 1e-3))


def dragged(levels: Levels, dx: float, dy: float, spread: float) -> Levels:
    """``levels`` after a right-drag of ``dx, dy`` screen pixels (x right, y down) on a phase of spread."""
    step = spread / DRAG_PIXELS_PER_SPREAD
    return Levels.from_window(max(levels.width + dx * step, step), levels.level + dy * step)
