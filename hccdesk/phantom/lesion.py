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
from hccdesk.phantom.grid import Grid, Region
from hccdesk.phantom.shapes import occupancy
from hccdesk.phantom.tissue_layers import Layer, Pattern
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


@dataclass(frozen=True)
class _Geometry:
    """A lesion's frame over its region: offsets from the centre (mm), the same in the lesion's rotated axes,
    unit directions, the tumour's signed distance and its occupancy."""

    region: Region
    radius: float
    radii: np.ndarray
    offset: list[np.ndarray]
    local: list[np.ndarray]
    direction: list[np.ndarray]
    surface: np.ndarray
    distance: np.ndarray
    tumour: np.ndarray


def _geometry(rng: np.random.Generator, grid: Grid, centre: np.ndarray, traits: LesionTraits) -> _Geometry:
    radius = traits.diameter_mm / 2.0
    ratios = rng.uniform(0.75, 1.0, 3)
    radii = radius * ratios / np.prod(ratios) ** (1 / 3)
    reach = radius * 1.4 + 20.0
    region = grid.region(centre - reach, centre + reach)
    z, y, x = grid.axes(region)
    full = np.broadcast_shapes(z.shape, y.shape, x.shape)
    offset = [np.broadcast_to(a - c, full) for a, c in zip((z, y, x), centre, strict=True)]
    rotation = _rotation(rng).astype(np.float32)
    local = [sum(rotation[i, j] * offset[j] for j in range(3)) for i in range(3)]
    distance_from_centre = np.sqrt(sum(u * u for u in local)) + 1e-3
    direction = [u / distance_from_centre for u in local]
    rho = np.sqrt(sum((u / r) ** 2 for u, r in zip(local, radii, strict=True)))
    amplitude = rng.uniform(0.08, 0.16) if traits.irregular else rng.uniform(0.02, 0.05)
    surface = rho / _ripple(rng, amplitude, direction)
    distance = (surface - 1.0) * radius
    tumour = occupancy(distance, grid.spacing)
    return _Geometry(region, radius, radii, offset, local, direction, surface, distance, tumour)


def _tumour_patterns(
    rng: np.random.Generator, grid: Grid, g: _Geometry, traits: LesionTraits, arterial: float
) -> tuple[Pattern, ...]:
    """Heterogeneity (all phases, half as strong before contrast), rim APHE and mosaic sub-nodules."""
    cv = traits.heterogeneity
    shape = g.tumour.shape
    patterns = [
        Pattern(smooth_field(rng, shape, grid.spacing, rng.uniform(2.0, 6.0)), (0.5 * cv, cv, cv, cv))
    ]
    if traits.rim_aphe:
        rim = np.clip(g.surface, 0.0, 1.0) ** 2 - 0.45
        patterns.append(Pattern(rim, (0.0, 1.5 * max(arterial - 1.0, 0.25) / arterial, 0.0, 0.0)))
    if traits.mosaic:
        nodules = np.zeros(shape, dtype=np.float32)
        for _ in range(int(rng.integers(2, 5))):
            spot = rng.normal(size=3) * 0.35 * g.radius
            size = rng.uniform(0.25, 0.4) * g.radius
            d = np.sqrt(sum((o - s) ** 2 for o, s in zip(g.offset, spot, strict=True))) - size
            nodules += rng.choice([-1.0, 1.0]) * occupancy(d, grid.spacing)
        patterns.append(Pattern(nodules, (0.05, 0.18, 0.12, 0.12)))
    return tuple(patterns)


def _random_axis(rng: np.random.Generator) -> np.ndarray:
    axis = rng.normal(size=3)
    return axis / np.linalg.norm(axis)


def _peritumoral(rng: np.random.Generator, grid: Grid, g: _Geometry, liver: np.ndarray) -> Layer:
    """A wedge of liver up to 10 mm from the tumour, 10-20 % brighter in the arterial phase only."""
    cone = sum(a * u for a, u in zip(_random_axis(rng), g.direction, strict=True))
    shell = occupancy(g.distance - 10.0, grid.spacing) - g.tumour
    boost = np.ones(4)
    boost[ARTERIAL] += rng.uniform(0.10, 0.20)
    wedge = (shell * np.clip((cone - 0.75) * 8.0, 0, 1)).astype(np.float32)
    return Layer("peritumoral", g.region, wedge, liver * boost)


def _necrosis(
    rng: np.random.Generator, grid: Grid, g: _Geometry, traits: LesionTraits, liver: np.ndarray
) -> Layer:
    """An off-centre irregular core, ``necrosis_fraction`` of the volume, 0.5-0.7 of liver after contrast."""
    shift = rng.normal(size=3) * 0.15 * g.radius
    scale = traits.necrosis_fraction ** (1 / 3)
    core_rho = np.sqrt(
        sum(((u - s) / (r * scale)) ** 2 for u, s, r in zip(g.local, shift, g.radii, strict=True))
    )
    core_distance = (core_rho / _ripple(rng, 0.15, g.direction) - 1.0) * g.radius * scale
    core = np.minimum(occupancy(core_distance, grid.spacing), g.tumour)
    necrotic = rng.uniform(0.5, 0.7)
    signal = liver * np.array([0.85 * traits.pre_ratio, necrotic, necrotic, necrotic])
    texture = Pattern(smooth_field(rng, core.shape, grid.spacing, 3.0), (0.05,) * 4)
    return Layer("necrosis", g.region, core, signal, (texture,))


def render_lesion(
    rng: np.random.Generator, grid: Grid, anatomy: Anatomy, traits: LesionTraits, enhancement: Enhancement
) -> RenderedLesion:
    """Place and draw one lesion; returns its layers in painting order and its true box."""
    centre = place(rng, anatomy, grid, traits.diameter_mm / 2.0)
    g = _geometry(rng, grid, centre, traits)
    liver = enhancement["liver"]
    arterial = 1.0 + (traits.arterial_ratio - 1.0) * enhancement.arterial_gain
    viable = liver * np.array([traits.pre_ratio, arterial, traits.portal_ratio, traits.delayed_ratio])
    patterns = _tumour_patterns(rng, grid, g, traits, arterial)

    layers = [_peritumoral(rng, grid, g, liver)] if traits.peritumoral else []
    outer = g.tumour
    if traits.capsule:
        outer = occupancy(g.distance - rng.uniform(1.0, 2.5), grid.spacing)
        ratio = rng.uniform(1.2, 1.4)
        layers.append(
            Layer("capsule", g.region, outer - g.tumour, liver * np.array([0.9, 0.95, ratio, ratio]))
        )
    layers.append(Layer("tumour", g.region, g.tumour, viable, patterns))
    if traits.necrosis_fraction > 0:
        layers.append(_necrosis(rng, grid, g, traits, liver))
    if traits.satellite:
        spot = _random_axis(rng) * (g.radius + rng.uniform(6.0, 14.0))
        d = np.sqrt(sum((o - s) ** 2 for o, s in zip(g.offset, spot, strict=True))) - rng.uniform(3.0, 6.0)
        layers.append(Layer("satellite", g.region, occupancy(d, grid.spacing), viable))
    return RenderedLesion(tuple(layers), _box(grid, g.region, outer), tuple(float(c) for c in centre))


def _box(grid: Grid, region: Region, fraction: np.ndarray) -> Box:
    """The true box: voxels at least half inside the lesion (capsule included) plus :data:`BOX_MARGIN_MM`."""
    inside = np.argwhere(fraction >= 0.5)
    if inside.size == 0:
        inside = np.argwhere(fraction >= fraction.max())
    start = np.array([part.start for part in region])
    margin = np.ceil(BOX_MARGIN_MM / np.asarray(grid.spacing)).astype(int)
    lower = np.maximum(start + inside.min(axis=0) - margin, 0)
    upper = np.minimum(start + inside.max(axis=0) + 1 + margin, grid.shape)
    return Box(*(int(v) for v in lower), *(int(v) for v in upper))
