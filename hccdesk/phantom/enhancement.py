"""Signal of each tissue in each phase (docs/design/phantom.md §3.3), relative to pre-contrast liver = 1.

The values imitate a fat-suppressed 3D T1 GRE with an extracellular gadolinium agent: the aorta peaks in the
late arterial phase, the portal vein and the liver in the portal venous phase, and the delayed phase (about
3 minutes) is slightly darker than the portal one; fat is suppressed.  Each study varies them a little
(contrast dose, cardiac output) and jitters the arterial timing, which scales how far arterially enhancing
tissue rises above its pre-contrast value; all of it is independent of grade.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hccdesk.imaging.volume import PHASES

TISSUES: dict[str, tuple[float, float, float, float]] = {
    # name: (pre, arterial, portal, delayed)
    "air": (0.0, 0.0, 0.0, 0.0),
    "fat": (0.3, 0.31, 0.33, 0.33),
    "skin": (0.7, 0.75, 0.85, 0.85),
    "muscle": (0.55, 0.6, 0.75, 0.75),
    "liver": (1.0, 1.25, 1.8, 1.65),
    "spleen": (1.0, 1.6, 1.9, 1.7),
    "kidney_cortex": (1.1, 3.0, 2.4, 2.0),
    "kidney_medulla": (0.85, 1.3, 2.3, 2.1),
    "aorta": (0.6, 3.5, 2.0, 1.6),
    "ivc": (0.6, 0.9, 2.1, 1.7),
    "portal_vein": (0.6, 1.3, 2.5, 1.8),
    "hepatic_vein": (0.6, 0.8, 2.2, 1.8),
    "marrow": (0.7, 0.8, 0.95, 0.95),
    "bone": (0.1, 0.1, 0.1, 0.1),
    "csf": (0.25, 0.25, 0.25, 0.25),
    "bowel": (0.5, 0.7, 0.9, 0.85),
    "renal_sinus": (0.3, 0.35, 0.4, 0.4),
    "gallbladder": (0.25, 0.25, 0.3, 0.3),
    "stomach": (0.35, 0.45, 0.6, 0.6),
}
"""Mean signal per tissue and phase, in :data:`~hccdesk.imaging.volume.PHASES` order."""

ARTERIAL = PHASES.index("arterial")


@dataclass(frozen=True)
class Enhancement:
    """One study's signal table (``tissue -> 4 values``) and its arterial timing offset in seconds."""

    signals: dict[str, np.ndarray]
    arterial_offset_s: float

    @property
    def arterial_gain(self) -> float:
        """Factor on arterial enhancement above baseline: ±5 s of timing changes it by about ±15 %."""
        return 1.0 + 0.03 * self.arterial_offset_s

    def __getitem__(self, tissue: str) -> np.ndarray:
        return self.signals[tissue]


def sample_enhancement(rng: np.random.Generator) -> Enhancement:
    """The table with per-study variation: liver ×U(0.9, 1.1) per phase, other enhancement ×U(0.9, 1.1).

    Arterial timing ~ U(-5, 5) s moves each tissue's arterial value towards or away from its pre-contrast one.
    """
    offset = float(rng.uniform(-5.0, 5.0))
    dose = float(rng.uniform(0.9, 1.1))
    gain = 1.0 + 0.03 * offset
    signals = {}
    for name, values in TISSUES.items():
        table = np.asarray(values, dtype=np.float64)
        pre = table[0]
        table = pre + (table - pre) * dose
        table[ARTERIAL] = pre + (table[ARTERIAL] - pre) * gain
        if name == "liver":
            table = table * np.concatenate([[1.0], rng.uniform(0.9, 1.1, 3)])
        signals[name] = table
    return Enhancement(signals, offset)
