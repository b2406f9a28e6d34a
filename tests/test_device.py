"""The device facts read without TensorFlow: the inference precision follows the setting, then the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from hccdesk import device
from hccdesk.device import PRECISION_VARIABLE, cpu_flags, inference_precision
from hccdesk.errors import InputError


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 {flags}\n\n")
    return path


def test_the_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    assert cpu_flags(_cpuinfo(tmp_path, "avx512f amx_bf16 amx_tile")) >= {"amx_bf16", "avx512f", "sse2"}
    assert "amx_bf16" not in cpu_flags(_cpuinfo(tmp_path, "avx512f avx512_bf16"))
    assert cpu_flags(tmp_path / "missing") == frozenset()


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
    flags = frozenset({"avx512f", "avx512_bf16", "amx_bf16"} if amx else {"avx512f", "avx512_bf16"})
    monkeypatch.setattr(device, "cpu_flags", lambda: flags)
    assert inference_precision(gpu_in_use=gpu) == expected


def test_bfloat16_is_refused_on_a_cpu_without_bfloat16_arithmetic(monkeypatch: pytest.MonkeyPatch) -> None:
    """oneDNN cannot make a bfloat16 convolution there: a reason now, not TensorFlow's error later."""
    monkeypatch.setenv(PRECISION_VARIABLE, "bfloat16")
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    with pytest.raises(InputError, match=r"no bfloat16 arithmetic.*use auto or float32"):
        inference_precision(gpu_in_use=False)
    assert inference_precision(gpu_in_use=True) == "bfloat16"  # a GPU has it
    monkeypatch.setenv(PRECISION_VARIABLE, "auto")
    assert inference_precision(gpu_in_use=False) == "float32"


def test_a_wrong_setting_says_what_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRECISION_VARIABLE, "half")
    with pytest.raises(InputError, match="PRECISION must be one of auto, float32, bfloat16"):
        inference_precision(gpu_in_use=False)
