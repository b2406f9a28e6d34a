"""Smooth random fields: the texture of cirrhotic liver, tumour heterogeneity, bowel and the coil's bias."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def smooth_field(
    rng: np.random.Generator, shape: tuple[int, ...], spacing: tuple[float, ...], correlation_mm: float
) -> np.ndarray:
    """A zero-mean, unit-variance Gaussian random field with correlation length ``correlation_mm`` (float32).

    White noise blurred by a Gaussian of half that width (so blobs are about ``correlation_mm`` across),
    then rescaled, because blurring shrinks the variance by an amount that depends on width and voxel size.
    """
    noise = rng.standard_normal(shape, dtype=np.float32)
    sigma = [0.5 * correlation_mm / s for s in spacing]
    field = ndimage.gaussian_filter(noise, sigma=sigma, mode="wrap", truncate=3.0)
    field -= field.mean()
    return field / max(float(field.std()), 1e-6)


def polynomial_field(rng: np.random.Generator, shape: tuple[int, int, int], amplitude: float) -> np.ndarray:
    """A smooth multiplicative field ``exp(p)`` with ``p`` a random cubic in normalised coordinates.

    Scaled so the field spans about ``±amplitude`` over the volume, like a receive coil's sensitivity.  The
    cubic is arranged as ``A(y, x) + z B(y, x) + c z^2`` so only two operations touch the full volume.
    """
    z, y, x = (np.linspace(-1.0, 1.0, n, dtype=np.float32) for n in shape)
    y, x = y[:, None], x[None, :]
    c = rng.normal(0.0, 1.0, 12).astype(np.float32)
    in_plane = c[0] * y + c[1] * x + c[2] * y * x + c[3] * y * y + c[4] * x * x + c[5] * x**3 + c[6] * y**3
    in_plane = in_plane + c[7] * x * y * y
    slope = c[8] + c[9] * y + c[10] * x
    poly = in_plane[None] + z[:, None, None] * slope[None] + (c[11] * z * z)[:, None, None]
    poly -= poly.mean()
    span = float(np.percentile(np.abs(poly[::2, ::4, ::4]), 99)) + 1e-6
    poly *= np.float32(np.log1p(amplitude) / span)
    return np.exp(poly, out=poly)
