"""The 14 named variants of the paper's Tables 1–2 and the training profiles.

Each variant is a JSON file ``models/<name>.json`` (shipped in the wheel as ``hccdesk/_data/models``).  A
config names every setting, including those the paper does not state, and carries a ``why`` mapping from the
setting's dotted path to the reason for its value, plus ``paper_rows`` naming the table rows it reproduces;
the model cards in ``models/README.md`` are the human-readable version.  This module reads JSON only (no
TensorFlow).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hccdesk.errors import ModelError
from hccdesk.package_data import package_data_dir

DIMS: tuple[str, ...] = ("2d", "3d")
HEADS: tuple[str, ...] = ("local", "nonlocal", "concat", "dcca", "common", "individual", "cifa")
VARIANTS: tuple[str, ...] = tuple(f"{dims}-{head}" for dims in DIMS for head in HEADS)
"""``{2d,3d}-{local,nonlocal,concat,dcca,common,individual,cifa}``: the 14 rows of the paper's Tables 1–2."""
BASELINES: tuple[str, ...] = ("radiomics",)
"""Variants that are not in the paper, run and shown beside its rows: ``radiomics`` (:mod:`hccdesk.radiomics`,
no network)."""

PROFILES: dict[str, dict[str, Any]] = {
    "paper": {
        "iterations": 15000,
        "settings": {},
        "description": "the paper's schedule (section 2.5): 15 000 Adam iterations at 1e-4, decay 0.99",
    },
    "fast": {
        "iterations": 2000,
        "settings": {
            "training.schedule": "warmup_cosine",
            "training.learning_rate": 1e-3,
            "training.batch_size": 32,
        },
        "description": "a schedule designed for about 5 minutes per 3D fold on 2 CPU cores: 2 000 steps of "
        "32 patches, warm-up then cosine decay from 1e-3",
    },
    "smoke": {
        "iterations": 30,
        "settings": {},
        "description": "a few steps to check that a variant builds, trains and saves (results mean nothing)",
    },
}
"""Named training schedules: an iteration count and the training settings that go with it (applied over the
variant's config by :func:`apply_profile`).  Only ``paper`` reproduces the paper.  ``fast`` is not a truncated
paper schedule (1e-4 decayed to 0.86e-4 over 1 500 steps left each weight nearly where it started,
docs/design/model-review.md finding 5): a ten times larger peak rate after a 5 % warm-up, a cosine decay to
zero so the last steps settle, and half the batch for twice the steps in the same time (more, noisier
updates suit a short run); the step count is what a 3D fusion fold should afford in 5 minutes on 2 idle
cores, estimated from measurements on a loaded machine (docs/developer/model-training.md)."""
PROFILE_REASONS: dict[str, str] = {
    "training.schedule": "fast profile: warm-up + cosine decay to zero, designed for its short budget",
    "training.learning_rate": "fast profile: 1e-3, ten times the paper's, so 2 000 steps move the weights",
    "training.batch_size": "fast profile: 32 patches, twice the updates of batch 64 in the same time",
}
"""Why each profile setting is what it is (stored beside the config's own ``why``)."""


def apply_profile(config: dict[str, Any], profile: str) -> dict[str, Any]:
    """``config`` with the training settings of ``profile`` applied and their reasons recorded in ``why``.

    A profile that is not named (``custom``: an explicit iteration count) or a variant without a network
    (no ``training`` section) keeps the config's own settings.
    """
    settings = PROFILES.get(profile, {}).get("settings", {})
    if not settings or "training" not in config:
        return copy.deepcopy(config)
    result = with_overrides(config, settings)
    result["why"] = {**result.get("why", {}), **{key: PROFILE_REASONS[key] for key in settings}}
    return result


def models_dir() -> Path:
    """The variant folder: ``models/`` in a source checkout, else ``hccdesk/_data/models`` in an install."""
    return package_data_dir("models")


def load_variant(name: str) -> dict[str, Any]:
    """Read variant ``name`` (e.g. ``"3d-cifa"``) from its JSON config.

    Raises
    ------
    ModelError
        If the name is not one of :data:`VARIANTS` or :data:`BASELINES`, or its file is unreadable.
    """
    if name not in VARIANTS + BASELINES:
        raise ModelError(f"unknown variant {name!r}; choose one of: {', '.join(VARIANTS + BASELINES)}")
    path = models_dir() / f"{name}.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ModelError(f"cannot read variant config {path}: {error}") from error
    if config.get("name") != name:
        raise ModelError(f"{path} declares name {config.get('name')!r}, expected {name!r}")
    return config


def with_overrides(config: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``config`` with dotted-path overrides applied, e.g. ``{"training.batch_size": 32}``."""
    result = copy.deepcopy(config)
    for dotted, value in overrides.items():
        node = result
        *parents, leaf = dotted.split(".")
        for key in parents:
            if not isinstance(node.get(key), dict):
                raise ModelError(f"override {dotted!r}: {key!r} is not a section of the config")
            node = node[key]
        if leaf not in node:
            raise ModelError(f"override {dotted!r}: no such setting")
        node[leaf] = value
    return result
