"""The device facts read without TensorFlow: the inference precision follows the setting, then the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from hccdesk import device
from hccdesk.device import PRECISION_VARIABLE, cpu_has_amx_bf16, inference_precision
from hccdesk.errors import InputError


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 {flags}\n\n")
    return path


def test_amx_bf16_is_read_from_the_cpu_flags(tmp_path: Path) -> None:
    assert cpu_has_amx_bf16(_cpuinfo(tmp_path, "avx512f amx_bf16 amx_tile"))
    assert not cpu_has_amx_bf16(_cpuinfo(tmp_path, "avx512f avx512_bf16"))  # bf16 vector ops are not AMX
    assert not cpu_has_amx_bf16(tmp_path / "missing")


@pytest.mark.parametrize(
    ("setting", "amx", "gpu", "expected"),
    [
        (None, True, False, "bfloat16"),
        (None, False, False, "float32"),
        (None, True, True, "float32"),  # a GPU is fast in float32
        ("auto", True, False, "bfloat16"),
        ("float32", True, False, "float32"),
        (" BFloat16 ", False, False, "bfloat16"),
    ],
)
def test_the_precision_follows_the_setting_then_the_hardware(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, amx: bool, gpu: bool, expected: str
) -> None:
    if setting is None:
        monkeypatch.delenv(PRECISION_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(PRECISION_VARIABLE, setting)
    monkeypatch.setattr(device, "cpu_has_amx_bf16", lambda: amx)
    assert inference_precision(gpu_in_use=gpu) == expected


def test_a_wrong_setting_says_what_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRECISION_VARIABLE, "half")
    with pytest.raises(InputError, match="PRECISION must be one of auto, float32, bfloat16"):
        inference_precision(gpu_in_use=False)
