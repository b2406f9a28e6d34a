"""One synthetic study: anatomy + lesions + enhancement + acquisition, rendered on the preset's grid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from hccdesk.imaging.volume import PHASES
from hccdesk.phantom.acquisition import Acquired, Acquisition, acquire, sample_acquisition
from hccdesk.phantom.anatomy import build_anatomy
from hccdesk.phantom.cohort import StudyPlan
from hccdesk.phantom.enhancement import Enhancement, sample_enhancement
from hccdesk.phantom.grid import Grid
from hccdesk.phantom.lesion import render_lesion
from hccdesk.phantom.presets import Preset
from hccdesk.phantom.tissue_layers import composite, label_map
from hccdesk.store.records import Box


@dataclass(frozen=True)
class Timing:
    """When the examination happened: its date (DICOM DA), start (seconds after midnight), the contrast
    injection and each phase (seconds from the start).

    Late arterial about 35 s after injection (±5 s jitter, which also scales arterial enhancement), portal
    venous 35-55 s after the arterial start, delayed about 3 minutes after injection (LI-RADS technique).
    """

    date: str
    start_s: float
    injection: float
    phases: tuple[float, float, float, float]


@dataclass(frozen=True)
class SyntheticStudy:
    """A rendered study: stored phases on one grid (LPS ``affine``), true lesion boxes and what made them.

    ``labels`` is the tissue map of the reference (arterial) grid, indices into ``label_names``; lesion parts
    are named ``tumour``, ``necrosis``, ``capsule``, ``peritumoral`` and ``satellite``.
    """

    plan: StudyPlan
    grid: Grid
    affine: np.ndarray
    phases: dict[str, Acquired]
    boxes: dict[str, Box]
    centres_mm: dict[str, tuple[float, float, float]]
    labels: np.ndarray
    label_names: tuple[str, ...]
    acquisition: Acquisition
    enhancement: Enhancement
    timing: Timing


def _streams(seed: np.random.SeedSequence, count: int) -> list[np.random.Generator]:
    """Independent generators for the body, the lesions, the scanner and the clock of one study.

    Children are derived from the seed's key rather than ``spawn``ed (which counts calls on the object), so
    rendering a plan twice gives the same study, and a change to how the anatomy is drawn leaves the scanner's
    draws (gain, noise, rescale encoding) as they were.
    """
    keys = [np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i)) for i in range(count)]
    return [np.random.default_rng(key) for key in keys]


def _timing(rng: np.random.Generator, enhancement: Enhancement) -> Timing:
    """Date and clock of the examination; the arterial phase follows the study's arterial timing offset."""
    injection = float(rng.uniform(60.0, 90.0))
    arterial = injection + 35.0 + enhancement.arterial_offset_s
    day = date(2011, 10, 1) + timedelta(days=int(rng.integers(0, 1460)))
    return Timing(
        day.strftime("%Y%m%d"),
        float(rng.uniform(8 * 3600, 17 * 3600)),
        injection,
        (
            float(rng.uniform(5.0, 30.0)),
            arterial,
            arterial + float(rng.uniform(35.0, 55.0)),
            injection + float(rng.uniform(160.0, 200.0)),
        ),
    )


def generate_study(plan: StudyPlan, preset: Preset) -> SyntheticStudy:
    """Render ``plan`` on ``preset``'s grid; the same plan always gives the same arrays."""
    body, tumours, scanner, clock = _streams(plan.seed, 4)
    grid = Grid(preset.shape, preset.spacing)
    enhancement = sample_enhancement(body)
    anatomy = build_anatomy(body, grid, enhancement)
    layers = list(anatomy.layers)
    boxes, centres = {}, {}
    for lesion in plan.lesions:
        rendered = render_lesion(tumours, grid, anatomy, lesion.traits, enhancement)
        layers += rendered.layers
        boxes[lesion.lesion_id] = rendered.box
        centres[lesion.lesion_id] = rendered.centre_mm
    clean = [composite(layers, grid.shape, phase) for phase in range(len(PHASES))]
    labels, label_names = label_map(layers, grid.shape)
    acquisition = sample_acquisition(scanner)
    acquired = acquire(scanner, clean, grid, acquisition)
    world_centre = np.array(
        [scanner.normal(0.0, 5.0), scanner.normal(10.0, 10.0), scanner.uniform(-260.0, -140.0)]
    )
    timing = _timing(clock, enhancement)
    return SyntheticStudy(
        plan=plan,
        grid=grid,
        affine=grid.affine_lps(world_centre),
        phases=dict(zip(PHASES, acquired, strict=True)),
        boxes=boxes,
        centres_mm=centres,
        labels=labels,
        label_names=label_names,
        acquisition=acquisition,
        enhancement=enhancement,
        timing=timing,
    )
