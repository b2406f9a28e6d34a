"""Smooth random fields: the texture of cirrhotic liver, tumour heterogeneity, bowel and the coil's bias."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def smooth_field(
    rng: np.random.Generator, shape: tuple[int, ...], spacing: tuple[float, ...], correlation_mm: float
) -> np.ndarray:
    """A zero-mean, unit-variance Gaussian random field with correlation length ``correlation_mm`` (float32).

    White noise blurred by a Gaussian of half that width (so blobs are about ``correlation_mm`` across); the field is rescaled afterwards because blurring
    shrinks its variance by an amount that depends on the width and the voxel size.
    """
    noise = rng.standard_normal(shape, dtype=np.float32)
    sigma = [0.5 * correlation_mm / s for s in spacing]
    field = ndimage.gaussian_filter(noise, sigma=sigma, mode="wrap", truncate=3.0)
    field -= field.mean()
    return field / max(float(field.std()), 1e-6)


def polynomial_field(rng: np.random.Generator, shape: tuple[int, int, int], amplitude: float) -> np.ndarray:
    """A smooth multiplicative field ``exp(p)`` with ``p`` a random cubic in normalised coordinates.

    Scaled so the field spans about ``±amplitude`` over the volume, like a receive coil's sensitivity.
    """
    axes = [np.linspace(-1.0, 1.0, n, dtype=np.float32) for n in shape]
    z, y, x = axes[0][:, None, None], axes[1][None, :, None], axes[2][None, None, :]
    terms = [z, y, x, z * y, y * x, z * x, y * y, x * x, z * z, x * x * x, y * y * y, x * y * y]
    coefficients = rng.normal(0.0, 1.0, len(terms)).astype(np.float32)
    poly = sum(c * t for c, t in zip(coefficients, terms, strict=True))
    poly = np.broadcast_to(poly, shape).astype(np.float32)
    poly -= poly.mean()
    span = float(np.percentile(np.abs(poly), 99)) + 1e-6
    return np.exp(poly * (np.log1p(amplitude) / span)).astype(np.float32)
