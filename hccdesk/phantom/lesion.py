"""Drawing one HCC lesion from its traits: shape, necrosis, capsule, textures and per-phase signal.

Signals are ratios to the liver's signal in each phase (the quantities the literature reports), so a lesion
looks the same relative to its surroundings whatever the study's dose or scanner gain.  What is drawn where:

- the viable tumour: a perturbed ellipsoid (smooth, or lobulated when the margin is irregular) with internal
  heterogeneity (a random field), optional rim-type arterial enhancement and mosaic sub-nodules;
- an optional necrotic core (off-centre, irregular, 0.5-0.7 of liver in every post-contrast phase);
- an optional enhancing capsule (a 1-2.5 mm shell, bright in the portal and delayed phases);
- an optional arterial peritumoral wedge and an optional satellite nodule.

Position, orientation and shape details are nuisance draws independent of grade.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hccdesk.phantom.anatomy import Anatomy
from hccdesk.phantom.enhancement import ARTERIAL, Enhancement
from hccdesk.phantom.fields import smooth_field
from hccdesk.phantom.grid import Grid
from hccdesk.phantom.layers import Layer, Pattern
from hccdesk.phantom.shapes import occupancy
from hccdesk.phantom.traits import LesionTraits
from hccdesk.store.records import Box

BOX_MARGIN_MM = 3.0
"""Margin added around a lesion's true extent in its box, like a reader's box drawn around a lesion."""


@dataclass(frozen=True)
class RenderedLesion:
    """A lesion's layers (painted over the anatomy), its true box on the grid and its centre (z, y, x mm)."""

    layers: tuple[Layer, ...]
    box: Box
    centre_mm: tuple[float, float, float]


def place(rng: np.random.Generator, anatomy: Anatomy, grid: Grid, radius: float) -> np.ndarray:
    """A centre inside the liver parenchyma, preferably at least ``0.7 radius + 5 mm`` from its surface.

    Candidates are drawn uniformly in the liver's bounding box (kept inside the slab in z); when none is deep
    enough, the deepest one is used and the lesion bulges from the liver, as exophytic HCC does.
    """
    lower, upper = anatomy.liver_bounds
    half_slab = 0.5 * (grid.shape[0] - 1) * grid.spacing[0]
    reach = min(radius + 2 * grid.spacing[0], half_slab)
    lower = np.maximum(lower, [-half_slab + reach, -np.inf, -np.inf])
    upper = np.minimum(upper, [half_slab - reach, np.inf, np.inf])
    candidates = rng.uniform(lower, np.maximum(upper, lower + 1e-3), size=(4000, 3)).astype(np.float32)
    depth = -anatomy.liver_distance(candidates[:, 0], candidates[:, 1], candidates[:, 2])
    deep = np.flatnonzero(depth >= 0.7 * radius + 5.0)
    index = int(rng.choice(deep)) if deep.size else int(np.argmax(depth))
    return candidates[index].astype(np.float64)


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def _ripple(rng: np.random.Generator, amplitude: float, direction: list[np.ndarray]) -> np.ndarray:
    """A smooth random function on the sphere: zonal waves ``T_l(a . u)`` of degree 2-6 about random axes.

    Chebyshev polynomials ``T_l(cos t) = cos(l t)`` give the angular frequencies of spherical harmonics of
    degree <= 6 without evaluating trigonometric functions over the whole lesion region.
    """
    total = np.zeros_like(direction[0])
    waves = 8
    for _ in range(waves):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        cosine = axis[0] * direction[0] + axis[1] * direction[1] + axis[2] * direction[2]
        previous, current = np.ones_like(cosine), cosine
        for _ in range(int(rng.integers(2, 7)) - 1):
            previous, current = current, 2.0 * cosine * current - previous
        total += rng.choice([-1.0, 1.0]) * current
    return 1.0 + amplitude * total / np.sqrt(waves)


def render_lesion(
    rng: np.random.Generator, grid: Grid, anatomy: Anatomy, traits: LesionTraits, enhancement: Enhancement
) -> RenderedLesion:
    """Place and draw one lesion; returns its layers in painting order and its true box."""
    radius = traits.diameter_mm / 2.0
    centre = place(rng, anatomy, grid, radius)
    ratios = rng.uniform(0.75, 1.0, 3)
    radii = radius * ratios / np.prod(ratios) ** (1 / 3)
    reach = radius * 1.4 + 20.0
    region = grid.region(centre - reach, centre + reach)
    z, y, x = grid.axes(region)
    offset = [
        np.broadcast_to(a - c, np.broadcast_shapes(z.shape, y.shape, x.shape))
        for a, c in zip((z, y, x), centre, strict=True)
    ]
    rotation = _rotation(rng).astype(np.float32)
    local = [sum(rotation[i, j] * offset[j] for j in range(3)) for i in range(3)]
    distance_from_centre = np.sqrt(sum(u * u for u in local)) + 1e-3
    direction = [u / distance_from_centre for u in local]
    rho = np.sqrt(sum((u / r) ** 2 for u, r in zip(local, radii, strict=True)))

    amplitude = rng.uniform(0.08, 0.16) if traits.irregular else rng.uniform(0.02, 0.05)
    surface = rho / _ripple(rng, amplitude, direction)
    tumour_distance = (surface - 1.0) * radius
    tumour = occupancy(tumour_distance, grid.spacing)

    liver = enhancement["liver"]
    art = 1.0 + (traits.arterial_ratio - 1.0) * enhancement.arterial_gain
    viable_signal = liver * np.array([traits.pre_ratio, art, traits.portal_ratio, traits.delayed_ratio])
    shape = tumour.shape
    cv = traits.heterogeneity
    patterns = [
        Pattern(smooth_field(rng, shape, grid.spacing, rng.uniform(2.0, 6.0)), (0.5 * cv, cv, cv, cv))
    ]
    if traits.rim_aphe:
        rim = np.clip(surface, 0.0, 1.0) ** 2 - 0.45
        patterns.append(Pattern(rim, (0.0, 1.5 * max(art - 1.0, 0.25) / art, 0.0, 0.0)))
    if traits.mosaic:
        nodules = np.zeros(shape, dtype=np.float32)
        for _ in range(int(rng.integers(2, 5))):
            spot = rng.normal(size=3) * 0.35 * radius
            size = rng.uniform(0.25, 0.4) * radius
            d = np.sqrt(sum((o - s) ** 2 for o, s in zip(offset, spot, strict=True))) - size
            nodules += rng.choice([-1.0, 1.0]) * occupancy(d, grid.spacing)
        patterns.append(Pattern(nodules, (0.05, 0.18, 0.12, 0.12)))

    layers = []
    if traits.peritumoral:
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        cone = sum(a * u for a, u in zip(axis, direction, strict=True))
        wedge = (occupancy(tumour_distance - 10.0, grid.spacing) - tumour) * np.clip(
            (cone - 0.75) * 8.0, 0, 1
        )
        boost = np.ones(4)
        boost[ARTERIAL] += rng.uniform(0.10, 0.20)
        layers.append(Layer("peritumoral", region, wedge.astype(np.float32), liver * boost))
    outer = tumour
    if traits.capsule:
        thickness = rng.uniform(1.0, 2.5)
        outer = occupancy(tumour_distance - thickness, grid.spacing)
        capsule_ratio = rng.uniform(1.2, 1.4)
        layers.append(
            Layer(
                "capsule", region, outer - tumour, liver * np.array([0.9, 0.95, capsule_ratio, capsule_ratio])
            )
        )
    layers.append(Layer("tumour", region, tumour, viable_signal, tuple(patterns)))
    if traits.necrosis_fraction > 0:
        shift = rng.normal(size=3) * 0.15 * radius
        scale = traits.necrosis_fraction ** (1 / 3)
        core_rho = np.sqrt(
            sum(((u - s) / (r * scale)) ** 2 for u, s, r in zip(local, shift, radii, strict=True))
        )
        core_distance = (core_rho / _ripple(rng, 0.15, direction) - 1.0) * radius * scale
        core = np.minimum(occupancy(core_distance, grid.spacing), tumour)
        necrotic = rng.uniform(0.5, 0.7)
        core_signal = liver * np.array([0.85 * traits.pre_ratio, necrotic, necrotic, necrotic])
        layers.append(
            Layer(
                "necrosis",
                region,
                core,
                core_signal,
                (Pattern(smooth_field(rng, shape, grid.spacing, 3.0), (0.05,) * 4),),
            )
        )
    if traits.satellite:
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        spot = axis * (radius + rng.uniform(6.0, 14.0))
        d = np.sqrt(sum((o - s) ** 2 for o, s in zip(offset, spot, strict=True))) - rng.uniform(3.0, 6.0)
        layers.append(Layer("satellite", region, occupancy(d, grid.spacing), viable_signal))

    return RenderedLesion(tuple(layers), _box(grid, region, outer), tuple(float(c) for c in centre))


def _box(grid: Grid, region, fraction: np.ndarray) -> Box:
    """The true box: voxels at least half inside the lesion (capsule included) plus :data:`BOX_MARGIN_MM`."""
    inside = np.argwhere(fraction >= 0.5)
    if inside.size == 0:
        inside = np.argwhere(fraction >= fraction.max())
    start = np.array([part.start for part in region])
    margin = np.ceil(BOX_MARGIN_MM / np.asarray(grid.spacing)).astype(int)
    lower = np.maximum(start + inside.min(axis=0) - margin, 0)
    upper = np.minimum(start + inside.max(axis=0) + 1 + margin, grid.shape)
    return Box(*(int(v) for v in lower), *(int(v) for v in upper))
