"""Name the device background jobs will use, without importing TensorFlow.

The GUI's status bar needs this before any job runs, and the GUI process must never import TensorFlow.

TensorFlow picks an NVIDIA GPU when the driver exposes one, so the driver is asked directly:
``nvidia-smi -L`` when it is installed, else ``/proc/driver/nvidia/gpus/*/information``; otherwise jobs run on
the CPU, named from ``/proc/cpuinfo`` (:func:`cpu_model`, which the training worker uses too, so both name the
CPU the same way).
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path


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
