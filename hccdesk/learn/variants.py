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
        "description": "the paper's schedule (section 2.5): 15 000 Adam iterations",
    },
    "fast": {
        "iterations": 1500,
        "description": "a tenth of the paper's iterations, for interactive cross-validation on a CPU",
    },
    "smoke": {
        "iterations": 30,
        "description": "a few steps to check that a variant builds, trains and saves (results mean nothing)",
    },
}
"""Named training lengths.  Only ``paper`` reproduces the paper; the others trade accuracy for time."""


def models_dir() -> Path:
    """The variant folder: ``models/`` in a source checkout, else ``hccdesk/_data/models`` in an install."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package.parent / "models", package / "_data" / "models"):
        if (candidate / "3d-cifa.json").is_file():
            return candidate
    raise ModelError("the variant configs (models/*.json) are missing; reinstall hccdesk")


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
