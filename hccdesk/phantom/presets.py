"""Acquisition grids the phantom can render: a small one for tests, a clinical one for the demo and a
thick-slice one for a held-out cohort acquired differently from everything the models were developed on."""

from __future__ import annotations

from dataclasses import dataclass

from hccdesk.errors import InputError


@dataclass(frozen=True)
class Preset:
    """The reconstructed grid of every phase of a study.

    ``shape`` is ``(slices, rows, columns)`` and ``spacing`` the matching voxel size in mm.  The clinical grid
    follows a fat-suppressed 3D T1 GRE (VIBE/LAVA) liver protocol: 1.5 mm pixels over a 384 mm field of view
    and 4 mm slices covering 192 mm (LI-RADS asks for slices of 5 mm or less).  The small grid keeps the same
    field of view at a quarter of the resolution so a whole test cohort renders in seconds.  The thick-slice
    grid is the other common liver protocol (older 1.5 T scanners, larger patients): 5 mm slices, the
    largest LI-RADS allows, over 200 mm and 1.8 mm pixels over a 403 mm field of view, so a model meets
    other partial-volume blur and voxel noise than on the clinical grid.
    """

    name: str
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    workers: int
    """Processes used to render a cohort (studies are independent; output is identical for any count)."""


PRESETS: dict[str, Preset] = {
    "small": Preset("small", (24, 96, 96), (6.0, 4.0, 4.0), workers=1),
    "clinical": Preset("clinical", (48, 256, 256), (4.0, 1.5, 1.5), workers=2),
    "thick": Preset("thick", (40, 224, 224), (5.0, 1.8, 1.8), workers=2),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; raises InputError naming the choices otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown phantom preset {name!r}; choose one of {', '.join(PRESETS)}") from None
