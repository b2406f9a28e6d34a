"""What the scanner does to the noiseless phase images (docs/design/phantom.md §3.1).

In order, per phase: a rigid breath-hold displacement relative to the arterial phase (each phase is its own
breath-hold; the grid and its positions stay identical, so the misregistration is real), in-plane blur of
the reconstruction (k-space apodisation; slice partial volume is already in the tissue occupancies), a
smooth receive-coil bias field shared by the phases with a small per-phase jitter, the scanner's arbitrary
gain, Rician magnitude noise and quantisation to 16-bit stored values, either directly or through a
RescaleSlope the way Philips stores real-world values.  All of it is independent of grade.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from hccdesk.imaging.volume import PHASES
from hccdesk.phantom.fields import polynomial_field
from hccdesk.phantom.grid import Grid

BASE_SIGNAL = 250.0
"""Stored value of pre-contrast liver at unit gain (the pydicom reference liver slice sits at 300-450)."""

REFERENCE = PHASES.index("arterial")

SLOPE_SHARE = 0.25
"""Share of studies stored through a fractional RescaleSlope (Philips style) rather than raw values.  Such
series import as float32, which stores about three times larger, so a quarter exercises that path without
bloating the demo."""


@dataclass(frozen=True)
class Acquisition:
    """One study's scanner settings and breath-hold displacements.

    ``motions`` holds, per phase, the 4x4 rigid transform (z, y, x mm about the field-of-view centre) that
    moved the patient relative to the arterial breath-hold; the arterial one is the identity.
    """

    field_strength: float
    snr: float
    gain: float
    bias_amplitude: float
    stored_with_slope: bool
    motions: tuple[np.ndarray, ...]

    @property
    def noise_sigma(self) -> float:
        """Standard deviation of each quadrature channel's noise, in stored units before any slope."""
        return BASE_SIGNAL * self.gain / self.snr


def _rigid(rng: np.random.Generator) -> np.ndarray:
    """A breath-hold displacement: SI ~ N(0, 4) mm (clipped ±15), AP/LR ~ N(0, 1.5) mm, rotations ≤ 2°."""
    shift = np.array([np.clip(rng.normal(0, 4.0), -15, 15), *np.clip(rng.normal(0, 1.5, 2), -5, 5)])
    angles = np.deg2rad(np.clip(rng.normal(0, 0.8, 3), -2, 2))
    matrix = np.eye(4)
    for axis, angle in enumerate(angles):
        i, j = [a for a in range(3) if a != axis]
        turn = np.eye(4)
        turn[i, i] = turn[j, j] = np.cos(angle)
        turn[i, j], turn[j, i] = -np.sin(angle), np.sin(angle)
        matrix = turn @ matrix
    matrix[:3, 3] = shift
    return matrix


def sample_acquisition(rng: np.random.Generator) -> Acquisition:
    """Field strength 1.5 or 3 T (3 T: more signal, stronger bias), gain ×U(0.5, 2), SNR U(12, 30) at 1.5 T.

    SNR is pre-contrast liver signal over noise sigma; docs/design/phantom.md suggests U(15, 40), lowered to
    match the noise texture of the real pydicom liver slice (liver SNR about 28 in a post-contrast phase).
    """
    field = float(rng.choice([1.5, 3.0]))
    snr = rng.uniform(12.0, 30.0) * (1.35 if field == 3.0 else 1.0)
    bias = rng.uniform(0.15, 0.3) if field == 3.0 else rng.uniform(0.1, 0.2)
    motions = tuple(np.eye(4) if phase == REFERENCE else _rigid(rng) for phase in range(len(PHASES)))
    return Acquisition(
        field,
        float(snr),
        float(rng.uniform(0.5, 2.0)),
        float(bias),
        bool(rng.random() < SLOPE_SHARE),
        motions,
    )


def displace(image: np.ndarray, grid: Grid, motion: np.ndarray) -> np.ndarray:
    """``image`` with its content moved rigidly by ``motion`` (mm, about the grid centre), same grid."""
    if np.allclose(motion, np.eye(4)):
        return image
    spacing = np.asarray(grid.spacing)
    inverse = np.linalg.inv(motion)
    first = grid.first_centre
    matrix = inverse[:3, :3] * spacing[None, :] / spacing[:, None]
    offset = (inverse[:3, :3] @ first + inverse[:3, 3] - first) / spacing
    return ndimage.affine_transform(image, matrix, offset, order=1, mode="nearest")


@dataclass(frozen=True)
class Acquired:
    """One phase as stored: 16-bit values and the RescaleSlope that maps them to real-world values."""

    stored: np.ndarray
    slope: float

    @property
    def real(self) -> np.ndarray:
        return (self.stored.astype(np.float32) * np.float32(self.slope)).astype(np.float32)


def acquire(
    rng: np.random.Generator, clean: list[np.ndarray], grid: Grid, acquisition: Acquisition
) -> list[Acquired]:
    """Turn the noiseless phase images (relative units) into stored scanner images."""
    shared_bias = polynomial_field(rng, grid.shape, acquisition.bias_amplitude)
    sigma = np.float32(acquisition.noise_sigma)
    out = []
    for phase, image in enumerate(clean):
        moved = displace(image, grid, acquisition.motions[phase])
        blurred = ndimage.gaussian_filter(moved, sigma=(0.0, 0.5, 0.5), mode="nearest")
        bias = shared_bias * polynomial_field(rng, grid.shape, 0.03)
        signal = blurred * bias * np.float32(BASE_SIGNAL * acquisition.gain)
        real = signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32)
        imaginary = sigma * rng.standard_normal(signal.shape, dtype=np.float32)
        magnitude = np.sqrt(real * real + imaginary * imaginary)
        slope = 1.0
        if acquisition.stored_with_slope:
            slope = float(f"{float(magnitude.max()) / 4000.0:.6g}")
        stored = np.clip(np.rint(magnitude / np.float32(slope)), 0, 65535).astype(np.uint16)
        out.append(Acquired(stored, slope))
    return out
