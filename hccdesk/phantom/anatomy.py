"""The abdomen at the level of the liver: body wall, fat, spine, organs and vessels, varied per patient.

Frame: LPS millimetres centred on the field of view, arrays (z, y, x): z towards the head, y towards the
back, x towards the patient's left, so the liver lies at negative x and the spleen at positive x, as on an
axial slice shown in radiological convention.  Sizes follow adult anatomy (body 280-340 mm wide, liver
dome above the kidneys, aorta left of the midline in front of the spine, IVC right of it) and are jittered per
patient so no two studies share a body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from hccdesk.phantom.enhancement import Enhancement
from hccdesk.phantom.fields import smooth_field
from hccdesk.phantom.grid import Grid
from hccdesk.phantom.shapes import Ellipsoid, Intersection, Plane, Tube, Union, occupancy
from hccdesk.phantom.tissue_layers import Layer, Pattern

LONG = 1e4
"""Semi-axis (mm) that turns an ellipsoid into an elliptic cylinder along z."""


@dataclass(frozen=True)
class Anatomy:
    """A patient's tissue layers plus the distance to the liver parenchyma (organs inside it excluded)."""

    layers: tuple[Layer, ...]
    liver_distance: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    liver_bounds: tuple[np.ndarray, np.ndarray]


def vessel_tree(
    rng: np.random.Generator,
    root: tuple[float, float, float],
    direction: tuple[float, float, float],
    length: float,
    radius: float,
    levels: int,
) -> list[Tube]:
    """A branching vessel: a segment from ``root`` splitting in two ``levels`` times, narrowing each time."""
    heading = np.asarray(direction, dtype=np.float64)
    heading = heading / np.linalg.norm(heading) + rng.normal(0.0, 0.25, 3)
    heading /= np.linalg.norm(heading)
    end = tuple(float(v) for v in np.asarray(root) + heading * length * rng.uniform(0.8, 1.2))
    tubes = [Tube((root, end), radius)]
    if levels > 1:
        for _ in range(2):
            tubes += vessel_tree(rng, end, tuple(heading), length * 0.75, radius * 0.72, levels - 1)
    return tubes


def shape_layer(grid: Grid, name: str, shape: Callable, signal: np.ndarray) -> Layer | None:
    """Render ``shape`` (an object with ``bounds()`` and a distance call) as a layer; None when off-grid."""
    lower, upper = shape.bounds()
    region = grid.region(lower - 2 * np.asarray(grid.spacing), upper + 2 * np.asarray(grid.spacing))
    if region is None:
        return None
    fraction = occupancy(shape(*grid.axes(region)), grid.spacing)
    if not fraction.any():
        return None
    return Layer(name, region, fraction, np.asarray(signal, dtype=np.float64))


def _textured(layer: Layer | None, patterns: Callable[[Layer], tuple[Pattern, ...]]) -> Layer | None:
    """``layer`` with the textures ``patterns(layer)`` computes over its region."""
    return None if layer is None else replace(layer, patterns=patterns(layer))


def build_anatomy(rng: np.random.Generator, grid: Grid, enhancement: Enhancement) -> Anatomy:
    """One patient's abdomen rendered on ``grid`` with the study's signal table."""
    u = rng.uniform
    half_x, half_y = u(140.0, 165.0), u(92.0, 110.0)
    subcutaneous, wall = u(8.0, 24.0), u(6.0, 10.0)
    cavity_x, cavity_y = half_x - 2 - subcutaneous - wall, half_y - 2 - subcutaneous - wall
    spine_y = half_y - u(55.0, 65.0)
    liver_z = u(-15.0, 5.0)

    def jitter(scale: float = 4.0) -> float:
        return float(rng.normal(0.0, scale))

    back = half_y * u(0.8, 0.9)

    def body(inset: float) -> Intersection:
        """The body wall ``inset`` mm in from the skin: an ellipse with a flattened back."""
        return Intersection(
            Ellipsoid((0.0, 0.0, 0.0), (LONG, half_y - inset, half_x - inset)), Plane(1, back - inset)
        )

    cavity = Ellipsoid((0.0, 0.0, 0.0), (LONG, cavity_y, cavity_x))
    right_lobe = Ellipsoid(
        (liver_z, u(-10.0, 5.0), -cavity_x + u(62.0, 75.0) + 4.0),
        (u(70.0, 85.0), min(u(75.0, 90.0), cavity_y - 8.0), u(62.0, 75.0)),
        yaw=u(-0.15, 0.15),
    )
    left_lobe = Ellipsoid(
        (liver_z + u(15.0, 35.0), -cavity_y + u(30.0, 45.0), u(10.0, 40.0)),
        (u(28.0, 40.0), u(22.0, 32.0), u(35.0, 55.0)),
        yaw=u(-0.45, -0.1),
    )
    caudate = Ellipsoid((liver_z + 20.0, spine_y - 30.0, -15.0), (30.0, 22.0, 20.0))
    waves = []
    for _ in range(6):
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        waves.append((u(1.5, 4.0), *(direction * 2 * np.pi / u(50.0, 120.0)), u(0, 2 * np.pi)))
    liver = Union((right_lobe, left_lobe, caudate), k=18.0, ripples=tuple(waves))

    aorta_x, ivc_x = 12.0 + jitter(2.0), -22.0 + jitter(2.0)
    vessel_y = spine_y - 32.0
    kidney_r = Ellipsoid(
        (liver_z - 45.0 + jitter(), spine_y + 5.0, -60.0 + jitter()), (50.0, 31.0, 22.0), yaw=0.6
    )
    kidney_l = Ellipsoid(
        (liver_z - 35.0 + jitter(), spine_y + 5.0, 60.0 + jitter()), (50.0, 31.0, 22.0), yaw=-0.6
    )
    gallbladder = Ellipsoid(
        (liver_z - 40.0 + jitter(), right_lobe.centre[1] - 40.0, right_lobe.centre[2] + 30.0),
        (u(25.0, 40.0), u(13.0, 18.0), u(12.0, 16.0)),
        yaw=0.5,
    )
    ivc = Tube(
        ((-LONG, vessel_y, ivc_x), (liver_z + 40.0, vessel_y - 5.0, ivc_x), (liver_z + 70, 0.0, -20.0)), 11.0
    )
    hilum = (liver_z - 5.0 + jitter(), vessel_y - 35.0, -30.0 + jitter())
    portal = [Tube(((liver_z - 60.0, vessel_y - 10.0, -5.0), hilum), 7.0)]
    portal += vessel_tree(rng, hilum, (0.1, 0.2, -1.0), 40.0, 6.0, levels=4)
    portal += vessel_tree(rng, hilum, (0.4, -0.6, 0.7), 35.0, 5.0, levels=3)
    confluence = (liver_z + 62.0, vessel_y - 8.0, ivc_x)
    hepatic = []
    for direction in ((-0.5, 0.1, -1.0), (-0.6, -1.0, -0.4), (-0.3, -0.6, 1.0)):
        hepatic += vessel_tree(rng, confluence, direction, 40.0, 5.5, levels=4)
    spleen = Ellipsoid(
        (liver_z + u(0.0, 25.0), spine_y - u(5.0, 20.0), cavity_x - u(30.0, 40.0)),
        (u(45.0, 60.0), u(45.0, 60.0), u(20.0, 28.0)),
        yaw=u(0.5, 0.8),
    )
    stomach = Ellipsoid((liver_z + 30.0, -cavity_y + 60.0, 55.0), (40.0, 35.0, 45.0))

    e = enhancement

    def field(layer: Layer, correlation_mm: float) -> np.ndarray:
        return smooth_field(rng, layer.occupancy.shape, grid.spacing, correlation_mm)

    def near_skin(layer: Layer) -> np.ndarray:
        """Fat suppression fails near the coil: fat brightens within about 10 mm of the skin."""
        depth = -body(0.0)(*grid.axes(layer.region))
        return np.exp(-np.maximum(depth, 0.0) / 10.0).astype(np.float32)

    liver_texture = u(0.02, 0.05)
    septa = u(0.05, 0.10)
    layers = [
        shape_layer(grid, "skin", body(0.0), e["skin"]),
        _textured(
            shape_layer(grid, "fat", body(2.0), e["fat"]),
            lambda layer: (Pattern(field(layer, 6.0), (0.3,) * 4), Pattern(near_skin(layer), (1.0,) * 4)),
        ),
        shape_layer(grid, "muscle", body(2.0 + subcutaneous), e["muscle"]),
        shape_layer(grid, "fat", cavity, e["fat"]),
        _textured(
            shape_layer(
                grid, "bowel", Ellipsoid((0.0, -10.0, 0.0), (LONG, cavity_y - 15, cavity_x - 15)), e["bowel"]
            ),
            lambda layer: (Pattern(np.tanh(2.5 * field(layer, 6.0)), (0.55,) * 4),),
        ),
        shape_layer(grid, "stomach", stomach, e["stomach"]),
        shape_layer(grid, "muscle", Ellipsoid((0.0, spine_y + 30.0, -34.0), (LONG, 17.0, 27.0)), e["muscle"]),
        shape_layer(grid, "muscle", Ellipsoid((0.0, spine_y + 30.0, 34.0), (LONG, 17.0, 27.0)), e["muscle"]),
        shape_layer(grid, "bone", Ellipsoid((0.0, spine_y, 0.0), (LONG, 19.0, 22.0)), e["bone"]),
        shape_layer(grid, "marrow", Ellipsoid((0.0, spine_y, 0.0), (LONG, 17.0, 20.0)), e["marrow"]),
        shape_layer(grid, "bone", Ellipsoid((0.0, spine_y + 36.0, 0.0), (LONG, 16.0, 7.0)), e["bone"]),
        shape_layer(grid, "marrow", Ellipsoid((0.0, spine_y + 36.0, 0.0), (LONG, 14.0, 5.0)), e["marrow"]),
        shape_layer(grid, "csf", Ellipsoid((0.0, spine_y + 25.0, 0.0), (LONG, 7.0, 8.0)), e["csf"]),
        _textured(
            shape_layer(grid, "spleen", spleen, e["spleen"]),
            lambda layer: (Pattern(np.sin(field(layer, 15.0) * 3.0), (0.0, 0.12, 0.0, 0.0)),),
        ),
        _textured(
            shape_layer(grid, "liver", liver, e["liver"]),
            lambda layer: (
                Pattern(field(layer, u(3.0, 8.0)), (liver_texture,) * 4),
                Pattern(np.exp(-((field(layer, 6.0) / 0.3) ** 2)), (-0.02, 0.0, 0.03, septa)),
            ),
        ),
        shape_layer(grid, "gallbladder", gallbladder, e["gallbladder"]),
    ]
    for kidney in (kidney_r, kidney_l):
        inner = (kidney.radii[0] * 0.75, kidney.radii[1] * 0.6, kidney.radii[2] * 0.6)
        medial = -np.sign(kidney.centre[2]) * kidney.radii[2] * 0.45
        sinus = (kidney.centre[0], kidney.centre[1], kidney.centre[2] + medial)
        perirenal = Ellipsoid(kidney.centre, tuple(r + 5.0 for r in kidney.radii), kidney.yaw)
        layers += [
            shape_layer(grid, "fat", perirenal, e["fat"]),
            shape_layer(grid, "kidney_cortex", kidney, e["kidney_cortex"]),
            shape_layer(
                grid, "kidney_medulla", Ellipsoid(kidney.centre, inner, kidney.yaw), e["kidney_medulla"]
            ),
            shape_layer(grid, "renal_sinus", Ellipsoid(sinus, (inner[0] * 0.7, 9.0, 9.0)), e["renal_sinus"]),
        ]
    layers += [
        shape_layer(grid, "portal_vein", Intersection(tube, liver), e["portal_vein"]) for tube in portal
    ]
    layers += [
        shape_layer(grid, "hepatic_vein", Intersection(tube, liver), e["hepatic_vein"]) for tube in hepatic
    ]
    layers += [
        shape_layer(grid, "ivc", ivc, e["ivc"]),
        shape_layer(
            grid, "aorta", Tube(((-LONG, vessel_y, aorta_x), (LONG, vessel_y, aorta_x)), 11.0), e["aorta"]
        ),
    ]
    excluded = (kidney_r, gallbladder, ivc, portal[0])

    def parenchyma(z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        distance = liver(z, y, x)
        for shape in excluded:
            distance = np.maximum(distance, -shape(z, y, x))
        return distance

    return Anatomy(tuple(layer for layer in layers if layer is not None), parenchyma, liver.bounds())
