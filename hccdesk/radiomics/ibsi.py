"""IBSI-standard radiomics features of one lesion region, computed by MIRP, with a content-addressed cache.

Why MIRP (``pip install mirp``, pure-Python wheel, maintained by an author of the IBSI reference manual):
its features are validated against the IBSI reference values, and it installs cleanly on Python 3.11, where
pyradiomics has no wheel and its source build fails (it needs numpy at build time).

Morphology is computed once per lesion on the mask alone (a constant image): the mask is the same in every
phase, and MIRP's three intensity-weighted shape features (integrated intensity, Moran's I, Geary's C) are
then constant and dropped by the model, while their Monte-Carlo estimate, 25 s per lesion on real voxels,
converges at once.  First-order statistics and texture matrices, which carry the intensity information, are
computed per phase.  Texture uses a
fixed number of grey-level bins, the IBSI recommendation for modalities without an absolute intensity scale
such as MR.  Voxels are isotropic (``voxel_mm``) and handed to MIRP as unit voxels, so shape features are in
units of that voxel; every study uses the same grid, so they compare across studies.

MIRP takes several seconds per lesion and phase, so results are cached on disk under a hash of the exact
voxels, mask and settings (``$HCCDESK_CACHE`` or ``~/.cache/hccdesk``, subfolder ``radiomics``): a cached
value is by construction the value MIRP would compute, and the folds of a cross-validation, a repeated run
and the arterial-only and four-phase settings share it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hccdesk.radiomics.region import LesionRegion

METADATA_PREFIX = ("sample_name", "image_")
"""Columns of MIRP's table that describe the image rather than measure it."""


def cache_dir() -> Path:
    """Where feature values are cached: ``$HCCDESK_CACHE/radiomics`` or ``~/.cache/hccdesk/radiomics``."""
    root = os.environ.get("HCCDESK_CACHE") or Path.home() / ".cache" / "hccdesk"
    return Path(root) / "radiomics"


def _mirp_table(image: np.ndarray, mask: np.ndarray, families: Sequence[str], bins: int) -> dict[str, float]:
    """Feature name -> value from one MIRP call (MIRP logs at INFO to stdout unless logging is configured,
    which would mix its lines into the CLI's output, so the root logger gets a silent handler first)."""
    from mirp import extract_features

    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())
    tables = extract_features(
        image=image,
        mask=mask,
        image_modality="mri",
        base_feature_families=list(families),
        base_discretisation_method="fixed_bin_number",
        base_discretisation_n_bins=int(bins),
        export_features=True,
    )
    row = tables[0].iloc[0]
    return {
        str(name): float(row[name]) for name in tables[0].columns if not str(name).startswith(METADATA_PREFIX)
    }


def _cached_table(
    image: np.ndarray, mask: np.ndarray, families: Sequence[str], bins: int
) -> dict[str, float]:
    digest = hashlib.sha256()
    digest.update(json.dumps({"families": list(families), "bins": int(bins), "shape": image.shape}).encode())
    digest.update(np.ascontiguousarray(image, dtype=np.float32).tobytes())
    digest.update(np.packbits(mask).tobytes())
    path = cache_dir() / f"{digest.hexdigest()}.json"
    if path.is_file():
        return {k: float(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    table = _mirp_table(image, mask, families, bins)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(table), encoding="utf-8")  # NaN stays NaN: json writes it as a bare token
    tmp.replace(path)
    return table


def ibsi_features(region: LesionRegion, settings: Mapping[str, Any]) -> dict[str, float]:
    """``morph_*`` of the lesion mask, then ``<phase>:<feature>`` for every phase's intensity and texture
    families, in a fixed order."""
    phases = list(region.volumes)
    bins = int(settings["bins"])
    features = {}
    if settings["morphology"]:
        constant = np.ones(region.lesion.shape, dtype=np.float32)
        features |= _cached_table(constant, region.lesion, ["morphology"], bins)
    for phase in phases:
        table = _cached_table(region.volumes[phase], region.lesion, settings["families"], bins)
        features |= {f"{phase}:{name}": value for name, value in table.items()}
    return features
