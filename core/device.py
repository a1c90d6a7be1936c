"""Choose the compute device once per process.

``DEMO_DEVICE`` (``cpu``, ``cuda``, ``mps``) overrides; otherwise CUDA when available,
else Apple MPS, else the CPU. On CUDA transformer models run in half precision (bf16
where the GPU supports it, else fp16); on CPU in fp32 with torch's intra-op threads set
to the number of physical cores (``DEMO_TORCH_THREADS`` overrides) and inter-op threads to 1.

:func:`describe_device` is cheap and does not import torch unless it is already
imported, so the home page can show the device badge without loading torch.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass

import psutil

VALID = ("cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "cuda" | "mps" | "cpu"
    name: str  # GPU name, "Apple GPU" or CPU model
    dtype: str  # dtype for transformer models: "bfloat16" | "float16" | "float32"
    threads: int  # torch intra-op threads (CPU) or 0
    memory_gb: float | None  # GPU memory, or system RAM for CPU

    @property
    def label(self) -> str:
        if self.kind == "cpu":
            return f"CPU · {self.threads} threads · {self.memory_gb:.0f} GB RAM"
        mem = f" · {self.memory_gb:.0f} GB" if self.memory_gb else ""
        return f"{self.kind.upper()} · {self.name}{mem}"


def physical_cores() -> int:
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def cpu_threads() -> int:
    """Torch intra-op threads on CPU: the physical cores, or ``DEMO_TORCH_THREADS`` (e.g. 1
    on a host whose cores are shared with other busy processes)."""
    try:
        wanted = int(os.environ.get("DEMO_TORCH_THREADS", "0"))
    except ValueError:
        wanted = 0
    return wanted if wanted > 0 else physical_cores()


def _requested() -> str | None:
    req = os.environ.get("DEMO_DEVICE", "").strip().lower()
    if not req:
        return None
    if req not in VALID:
        raise ValueError(f"DEMO_DEVICE={req!r} is not one of {', '.join(VALID)}")
    return req


@functools.cache
def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"


@functools.cache
def choose_device() -> DeviceInfo:
    """Pick the device (imports torch) and apply CPU thread settings, once per process."""
    import torch

    req = _requested()
    if req == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("DEMO_DEVICE=cuda but no CUDA device is available")
    if req == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("DEMO_DEVICE=mps but Apple MPS is not available")
    kind = req or ("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu")
    if kind == "cuda":
        props = torch.cuda.get_device_properties(0)
        dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return DeviceInfo("cuda", props.name, dtype, 0, props.total_memory / 2**30)
    if kind == "mps":
        return DeviceInfo("mps", "Apple GPU", "float16", 0, None)
    threads = cpu_threads()
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set once parallel work has started
        pass
    return DeviceInfo("cpu", _cpu_name(), "float32", threads, psutil.virtual_memory().total / 2**30)


def torch_device():
    """The ``torch.device`` of :func:`choose_device`."""
    import torch

    return torch.device(choose_device().kind)


def torch_dtype(half_ok: bool = True):
    """The dtype for transformer weights; fp32 when ``half_ok`` is False or on CPU."""
    import torch

    return getattr(torch, choose_device().dtype) if half_ok else torch.float32


@functools.cache
def _nvidia_smi() -> tuple[str, float] | None:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = (
            subprocess.run(
                [exe, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=3,
                check=True,
            )
            .stdout.strip()
            .splitlines()
        )
        name, mem = out[0].rsplit(",", 1)
        return name.strip(), float(mem) / 1024
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def describe_device() -> DeviceInfo:
    """What device the models use, without importing torch if it is not loaded yet."""
    if "torch" in sys.modules:
        try:
            return choose_device()
        except (RuntimeError, ValueError):
            pass
    req = _requested() if os.environ.get("DEMO_DEVICE", "").strip().lower() in VALID else None
    gpu = _nvidia_smi() if req in (None, "cuda") else None
    if gpu:
        return DeviceInfo("cuda", gpu[0], "bfloat16", 0, gpu[1])
    if req == "mps" or (req is None and sys.platform == "darwin" and platform.machine() == "arm64"):
        return DeviceInfo("mps", "Apple GPU", "float16", 0, None)
    return DeviceInfo("cpu", _cpu_name(), "float32", cpu_threads(), psutil.virtual_memory().total / 2**30)
