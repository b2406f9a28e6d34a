"""Tissue layers and their compositing into one phase image.

Every structure of a study (organ, vessel, lesion part) is a :class:`Layer`: a partial-volume occupancy over a
box of voxels, a mean signal per phase and optional textures.  Painting layers in order (each one replaces the
fraction of a voxel it occupies) gives the noiseless image of any phase, so anatomy is rendered once per study
and only the cheap compositing is repeated per phase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hccdesk.phantom.grid import Region


@dataclass(frozen=True)
class Pattern:
    """A texture over a layer's region, added as ``signal * (1 + amplitude[phase] * values)``."""

    values: np.ndarray
    amplitude: tuple[float, float, float, float]


@dataclass(frozen=True)
class Layer:
    """One structure: where it is (``region`` and ``occupancy`` 0..1), its signal per phase and textures."""

    name: str
    region: Region
    occupancy: np.ndarray
    signal: np.ndarray
    patterns: tuple[Pattern, ...] = ()

    def value(self, phase: int) -> np.ndarray | float:
        """The layer's signal in ``phase`` (an array when textured, else a scalar)."""
        value: np.ndarray | float = float(self.signal[phase])
        textures = [p for p in self.patterns if p.amplitude[phase]]
        if textures:
            modulation = sum(np.float32(p.amplitude[phase]) * p.values for p in textures)
            # Tissue never turns black or doubles from texture alone; the clip keeps rare field extremes real.
            value = np.float32(self.signal[phase]) * np.clip(1.0 + modulation, 0.4, 2.0)
        return value


def composite(layers: Sequence[Layer], shape: tuple[int, int, int], phase: int) -> np.ndarray:
    """The noiseless image of ``phase`` (float32): layers painted in order over air."""
    image = np.zeros(shape, dtype=np.float32)
    for layer in layers:
        view = image[layer.region]
        view += layer.occupancy * (layer.value(phase) - view)
    return image


def label_map(layers: Sequence[Layer], shape: tuple[int, int, int]) -> tuple[np.ndarray, tuple[str, ...]]:
    """The tissue each voxel mostly holds, as indices into the returned names (0 is air), painted in order.

    The ground truth behind the arterial (reference) image: tests measure organ and lesion signals on it.
    """
    names: list[str] = ["air"]
    labels = np.zeros(shape, dtype=np.uint8)
    for layer in layers:
        if layer.name not in names:
            names.append(layer.name)
        view = labels[layer.region]
        view[layer.occupancy >= 0.5] = names.index(layer.name)
    return labels, tuple(names)
