"""Device choice: DEMO_DEVICE override, CUDA > MPS > CPU, CPU thread settings."""

import subprocess
import sys

import pytest

from core import device


def _run(code: str, **env: str) -> str:
    import os

    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full, check=True
    ).stdout.strip()


@pytest.mark.slow
def test_cpu_choice_sets_threads_to_physical_cores():
    out = _run(
        "import torch; from core.device import choose_device, physical_cores;"
        "d = choose_device(); print(d.kind, d.dtype, d.threads == physical_cores(),"
        " torch.get_num_threads() == physical_cores(), torch.get_num_interop_threads())",
        DEMO_DEVICE="cpu",
    )
    assert out == "cpu float32 True True 1"


@pytest.mark.slow
def test_auto_choice_matches_hardware():
    import torch

    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    out = _run("from core.device import choose_device; print(choose_device().kind)", DEMO_DEVICE="")
    assert out == expected


def test_invalid_override_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DEMO_DEVICE", "tpu")
    with pytest.raises(ValueError, match="DEMO_DEVICE"):
        device._requested()


@pytest.mark.slow
def test_unavailable_cuda_override_fails_loudly():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = subprocess.run(
        [sys.executable, "-c", "from core.device import choose_device; choose_device()"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DEMO_DEVICE": "cuda"},
    )
    assert proc.returncode != 0 and "no CUDA device" in proc.stderr


def test_describe_device_does_not_import_torch():
    out = _run(
        "import sys; from core.device import describe_device; d = describe_device();"
        "print('torch' in sys.modules, d.kind in ('cpu', 'cuda', 'mps'), bool(d.label))"
    )
    assert out == "False True True"


@pytest.mark.slow
def test_home_imports_stay_light():
    """The landing page's imports (router, ui, registry, availability) never pull torch."""
    out = _run(
        "import sys; import ui.layout, ui.models, core.registry, core.availability, core.loaders;"
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    assert out == "False False"


@pytest.mark.slow
def test_thread_override_for_shared_hosts():
    out = _run(
        "import torch; from core.device import choose_device;"
        "d = choose_device(); print(d.threads, torch.get_num_threads())",
        DEMO_DEVICE="cpu",
        DEMO_TORCH_THREADS="1",
    )
    assert out == "1 1"
