"""One lesion's feature row, as the radiomics model and the job worker consume it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from hccdesk.errors import ModelError
from hccdesk.learn.patches import RegionReader
from hccdesk.radiomics.hand_features import hand_features
from hccdesk.radiomics.ibsi import ibsi_features
from hccdesk.radiomics.region import LesionRegion, lesion_region
from hccdesk.store.records import Box

FEATURE_SETS: dict[str, Callable[[LesionRegion, Mapping[str, Any]], dict[str, float]]] = {
    "ibsi": ibsi_features,
    "hand": hand_features,
}
"""``features.set`` of a radiomics config -> the function measuring it."""


def lesion_features(images: RegionReader, box: Box, config: Mapping[str, Any]) -> dict[str, float]:
    """Feature name -> value for the lesion in ``box``, as ``config["features"]`` asks."""
    settings = config["features"]
    measure = FEATURE_SETS.get(settings["set"])
    if measure is None:
        choices = ", ".join(FEATURE_SETS)
        raise ModelError(f"unknown radiomics feature set {settings['set']!r}; choose {choices}")
    return measure(lesion_region(images, box, config["region"]), settings)


def extract_lesion_features(images: RegionReader, box: Box, config: Mapping[str, Any]) -> np.ndarray:
    """The lesion's features as a ``(1, n_features)`` float64 row: one "patch" per lesion, so the worker
    handles radiomics lesions like the networks' patch stacks (same caching, same lesion bookkeeping)."""
    return np.asarray([list(lesion_features(images, box, config).values())], dtype=np.float64)
