"""Variant configs: 14 names, every setting explained, profiles, overrides."""

from __future__ import annotations

import pytest

from hccdesk.errors import ModelError
from hccdesk.learn.variants import PROFILES, VARIANTS, apply_profile, load_variant, models_dir, with_overrides

IDENTITY_KEYS = {"name", "dims", "head", "summary", "paper_rows", "why"}


def _settings(config: dict, prefix: str = "") -> set[str]:
    """Dotted paths of the settings (a dict-valued setting such as ``augment`` is one setting)."""
    paths = set()
    for key, value in config.items():
        if not prefix and key in IDENTITY_KEYS:
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict) and not prefix:
            paths |= _settings(value, f"{path}.")
        else:
            paths.add(path)
    return paths


@pytest.mark.parametrize("name", VARIANTS)
def test_every_setting_has_a_reason_and_a_paper_row(name: str) -> None:
    config = load_variant(name)
    assert config["name"] == name and f"{config['dims']}d-{config['head']}" == name
    assert set(config["why"]) == _settings(config)
    assert all(len(reason) > 20 for reason in config["why"].values())
    assert config["paper_rows"] and all(
        row.startswith(("Table 1", "Table 2")) for row in config["paper_rows"]
    )
    assert all(f"{config['dims']}D" in row for row in config["paper_rows"])


def test_fourteen_variants_cover_both_tables() -> None:
    assert len(VARIANTS) == 14
    rows = {row for name in VARIANTS for row in load_variant(name)["paper_rows"]}
    assert len(rows) == 16  # Table 1: 3 rows x 2 dims, Table 2: 5 rows x 2 dims
    assert (models_dir() / "README.md").is_file()


def test_profiles_and_unknown_names() -> None:
    assert PROFILES["paper"]["iterations"] == 15000
    assert PROFILES["smoke"]["iterations"] < PROFILES["fast"]["iterations"] < PROFILES["paper"]["iterations"]
    with pytest.raises(ModelError, match="3d-cifa"):
        load_variant("3d-fusion")


def test_overrides_are_checked() -> None:
    config = load_variant("2d-cifa")
    changed = with_overrides(config, {"training.batch_size": 8})
    assert changed["training"]["batch_size"] == 8 and config["training"]["batch_size"] == 64
    with pytest.raises(ModelError):
        with_overrides(config, {"training.batchsize": 8})


def test_profiles_set_their_schedule_and_paper_keeps_the_papers() -> None:
    config = load_variant("3d-cifa")
    paper = apply_profile(config, "paper")
    assert paper == config  # the shipped config is the paper's schedule
    assert (paper["training"]["schedule"], paper["training"]["learning_rate"]) == ("exponential", 1e-4)
    fast = apply_profile(config, "fast")
    assert fast["training"]["schedule"] == "warmup_cosine" and fast["training"]["learning_rate"] > 1e-4
    assert set(fast["why"]) == set(config["why"])  # every profile setting keeps a reason
    assert fast["why"]["training.schedule"].startswith("fast profile")
    assert apply_profile(config, "smoke") == apply_profile(config, "custom") == config
    assert apply_profile({"name": "no-network"}, "fast") == {"name": "no-network"}
