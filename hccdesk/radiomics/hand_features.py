"""Hand-measured lesion features: what a radiologist reads off the images, measured on the lesion region.

They mirror the phantom's oracle traits (docs/design/phantom.md: size, lesion/liver ratio per phase,
heterogeneity, necrosis), measured from the rendered voxels instead of read from the ground truth, so a
logistic regression on them is the simple, transparent baseline the learned models must beat.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hccdesk.radiomics.region import LesionRegion

NECROSIS_RATIO = 0.5
"""A lesion voxel darker than half the surrounding parenchyma in the latest phase counts as necrotic: necrosis
never enhances, while viable tumour in the portal/delayed phase stays near the liver signal (washout ratios
of about 0.8-0.9)."""


def hand_features(region: LesionRegion, settings: Mapping[str, Any]) -> dict[str, float]:
    """``log_diameter_mm``, ``<phase>:ratio`` (median lesion / surround), ``<phase>:iqr`` (spread of the
    lesion voxels in surround units) and ``necrosis_fraction`` (in the last phase of the region)."""
    del settings  # the hand features have no settings; the signature matches the other feature sets
    volume_mm3 = float(region.lesion.sum()) * region.voxel_mm**3
    features = {"log_diameter_mm": float(np.log((6.0 * volume_mm3 / np.pi) ** (1.0 / 3.0)))}
    for phase, volume in region.volumes.items():
        values = volume[region.lesion]
        p25, median, p75 = np.percentile(values, [25, 50, 75])
        features[f"{phase}:ratio"] = float(median)
        features[f"{phase}:iqr"] = float(p75 - p25)
    latest = region.volumes[list(region.volumes)[-1]][region.lesion]
    features["necrosis_fraction"] = float(np.mean(latest < NECROSIS_RATIO))
    return features
