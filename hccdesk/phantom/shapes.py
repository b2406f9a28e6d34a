"""Implicit shapes with approximately signed distances (mm), and their partial-volume occupancy.

A shape is a function of broadcastable (z, y, x) millimetre arrays returning a signed distance: negative
inside, positive outside, with unit slope near the surface.  :func:`occupancy` turns that into the fraction of
each voxel inside the shape by assuming the surface is a plane across the voxel, which is the box-filter
partial-volume effect of a thick slice without rendering on an oversampled grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Distance = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Ellipsoid:
    """An ellipsoid with semi-axes ``radii`` (z, y, x) mm, turned by ``yaw`` radians about the z axis."""

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]
    yaw: float = 0.0

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        reach = max(self.radii[1], self.radii[2])
        half = np.array([self.radii[0], reach, reach])
        return np.asarray(self.centre) - half, np.asarray(self.centre) + half

    def local(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coordinates relative to the centre, in the ellipsoid's own axes."""
        dz, dy, dx = z - self.centre[0], y - self.centre[1], x - self.centre[2]
        if self.yaw:
            c, s = np.cos(self.yaw), np.sin(self.yaw)
            dy, dx = c * dy - s * dx, s * dy + c * dx
        return dz, dy, dx

    def __call__(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        # First-order distance (rho - 1) / |grad rho| is exact on the surface and smooth everywhere else.
        dz, dy, dx = self.local(z, y, x)
        qz, qy, qx = dz / self.radii[0], dy / self.radii[1], dx / self.radii[2]
        rho = np.sqrt(qz * qz + qy * qy + qx * qx) + 1e-6
        grad = np.sqrt((qz / self.radii[0]) ** 2 + (qy / self.radii[1]) ** 2 + (qx / self.radii[2]) ** 2)
        return (rho - 1.0) * rho / (grad + 1e-9)


@dataclass(frozen=True)
class Tube:
    """A vessel: round tube of ``radius`` mm along a polyline of (z, y, x) ``points``."""

    points: tuple[tuple[float, float, float], ...]
    radius: float

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        pts = np.asarray(self.points)
        return pts.min(axis=0) - self.radius, pts.max(axis=0) + self.radius

    def __call__(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        best = None
        for a, b in zip(self.points[:-1], self.points[1:], strict=True):
            ab = np.subtract(b, a)
            t = ((z - a[0]) * ab[0] + (y - a[1]) * ab[1] + (x - a[2]) * ab[2]) / float(ab @ ab)
            t = np.clip(t, 0.0, 1.0)
            d2 = (z - a[0] - t * ab[0]) ** 2 + (y - a[1] - t * ab[1]) ** 2 + (x - a[2] - t * ab[2]) ** 2
            best = d2 if best is None else np.minimum(best, d2)
        return np.sqrt(best) - self.radius


@dataclass(frozen=True)
class Union:
    """Smooth union of shapes (polynomial smooth-min with blend radius ``k`` mm), plus surface ripples.

    Ripples are a sum of plane waves added to the distance: they lobulate a surface the way the liver's is,
    and because they are analytic the shape stays a pure function of position.
    """

    parts: tuple[Callable, ...]
    k: float = 10.0
    ripples: tuple[tuple[float, float, float, float, float], ...] = field(default=())
    """(amplitude mm, wave vector z, y, x in rad/mm, phase)."""

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        los, his = zip(*(part.bounds() for part in self.parts), strict=True)
        pad = sum(abs(r[0]) for r in self.ripples)
        return np.min(los, axis=0) - pad, np.max(his, axis=0) + pad

    def __call__(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        d = self.parts[0](z, y, x)
        for part in self.parts[1:]:
            e = part(z, y, x)
            h = np.clip(0.5 + 0.5 * (e - d) / self.k, 0.0, 1.0)
            d = e + (d - e) * h - self.k * h * (1.0 - h)
        for amplitude, wz, wy, wx, phase in self.ripples:
            d = d + amplitude * np.sin(wz * z + wy * y + wx * x + phase)
        return d


@dataclass(frozen=True)
class Plane:
    """The half-space where coordinate ``axis`` (0 z, 1 y, 2 x) is at most ``limit`` mm."""

    axis: int
    limit: float

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        upper = np.full(3, np.inf)
        upper[self.axis] = self.limit
        return np.full(3, -np.inf), upper

    def __call__(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        return (z, y, x)[self.axis] - np.float32(self.limit)


@dataclass(frozen=True)
class Intersection:
    """The part of ``shape`` inside ``within`` (a vessel clipped to the organ it runs in)."""

    shape: Callable
    within: Callable

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.shape.bounds()  # type: ignore[attr-defined]

    def __call__(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.maximum(self.shape(z, y, x), self.within(z, y, x))


def occupancy(distance: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Fraction of each voxel inside the surface ``distance == 0`` (float32, 0..1).

    A plane crossing a box voxel of size (sz, sy, sx) with unit normal n fills it linearly over a width
    ``|nz| sz + |ny| sy + |nx| sx``; that width is the sum of the distance's changes from one voxel to the
    next along each axis, which ``np.gradient`` gives directly.
    """
    distance = np.asarray(distance, dtype=np.float32)
    width = np.zeros_like(distance)
    for axis in range(3):
        if distance.shape[axis] > 1:
            width += np.abs(np.gradient(distance, axis=axis))
    width = np.maximum(width, np.float32(0.25 * min(spacing)))
    return np.clip(0.5 - distance / width, 0.0, 1.0)
