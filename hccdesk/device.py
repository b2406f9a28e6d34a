"""Name the device background jobs will use, without importing TensorFlow.

The GUI's status bar needs this before any job runs, and the GUI process must never import TensorFlow.

TensorFlow picks an NVIDIA GPU when the driver exposes one, so the driver is asked directly:
``nvidia-smi -L`` when it is installed, else ``/proc/driver/nvidia/gpus/*/information``; otherwise jobs run on
the CPU, named from ``/proc/cpuinfo`` (:func:`cpu_model`, which the training worker uses too, so both name the
CPU the same way).  The number format the networks predict in is chosen here too (:func:`inference_precision`,
used by :mod:`hccdesk.learn.inference`), so the GUI and the benchmarks can say it without TensorFlow.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from hccdesk.errors import InputError

PRECISION_VARIABLE = "HCCDESK_INFERENCE_PRECISION"
"""Environment variable: ``auto`` (the default), ``float32`` or ``bfloat16``
(docs/developer/model-training.md, "Inference precision")."""
PRECISIONS = ("auto", "float32", "bfloat16")


def _nvidia_smi() -> str | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=3, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():  # "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)"
        if line.startswith("GPU") and ":" in line:
            return line.split(":", 1)[1].split("(UUID")[0].strip()
    return None


def _proc_nvidia() -> str | None:
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("Model:"):
                return line.split(":", 1)[1].strip()
    return None


def cpu_model() -> str:
    """The CPU's marketing name from ``/proc/cpuinfo``, else what :mod:`platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def describe_device() -> str:
    """``"GPU: <name>"`` when an NVIDIA GPU is present, else ``"CPU: <model>"``."""
    gpu = _nvidia_smi() or _proc_nvidia()
    return f"GPU: {gpu}" if gpu else f"CPU: {cpu_model()}"


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (Linux; empty elsewhere or when unreadable)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[-1].split())
    return frozenset()


def cpu_has_bfloat16() -> bool:
    """True when the CPU multiplies bfloat16 in hardware (AMX-BF16 or AVX512-BF16): without either, oneDNN
    cannot build a bfloat16 convolution."""
    return bool(cpu_flags() & {"amx_bf16", "avx512_bf16"})


def inference_precision(gpu_in_use: bool) -> str:
    """``float32`` or ``bfloat16``: the setting of :data:`PRECISION_VARIABLE`, else bfloat16 on a CPU with
    AMX-BF16 when no GPU is in use, else float32.

    Measured (docs/developer/model-training.md, "Inference precision"): with oneDNN limited to AVX512-BF16 (a
    CPU with bfloat16 vector instructions but no AMX, as Cooper Lake or Zen 4) bfloat16 ran slower than
    float32, and a CPU with neither cannot run a bfloat16 convolution at all, so asking for ``bfloat16``
    there is refused here with a reason rather than failing inside TensorFlow.
    """
    setting = os.environ.get(PRECISION_VARIABLE, "auto").strip().lower() or "auto"
    if setting not in PRECISIONS:
        raise InputError(f"{PRECISION_VARIABLE} must be one of {', '.join(PRECISIONS)}, not {setting!r}")
    if setting == "bfloat16" and not gpu_in_use and not cpu_has_bfloat16():
        raise InputError(
            f"{PRECISION_VARIABLE}=bfloat16, but this CPU has no bfloat16 arithmetic (neither AMX-BF16 nor "
            "AVX512-BF16); use auto or float32"
        )
    if setting != "auto":
        return setting
    return "bfloat16" if "amx_bf16" in cpu_flags() and not gpu_in_use else "float32"
