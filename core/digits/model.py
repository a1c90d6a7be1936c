"""The digit CNN: its architecture, saving and loading its weights, the registry builder,
and what the shipped model's card says (size, accuracy)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.digits.preprocess import FIELD

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
EVAL_FILE = "eval.json"


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DigitCNN(nn.Module):
    """A compact VGG-style CNN for 28x28 digits (about 0.2 M parameters).

    Input ``(N, 1, 28, 28)`` float in [0, 1] (normalised inside); output ``(N, 10)`` logits.
    One conv-BN-ReLU block at 28x28, two at 14x14 and two at 7x7 (max-pooling between),
    a last max-pool to 3x3, dropout and a linear classifier over the flattened 3x3 map.
    """

    def __init__(self, widths: tuple[int, int, int] = (32, 64, 96), dropout: float = 0.25) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.widths = tuple(widths)
        self.features = nn.Sequential(
            _block(1, w1),
            nn.MaxPool2d(2),  # 14x14
            _block(w1, w2),
            _block(w2, w2),
            nn.MaxPool2d(2),  # 7x7
            _block(w2, w3),
            _block(w3, w3),
            nn.MaxPool2d(2),  # 3x3
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(w3 * 9, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 1, 28, 28)`` in [0, 1] -> ``(N, 10)`` logits."""
        return self.head(self.features((x - MNIST_MEAN) / MNIST_STD))


def save_model(model: DigitCNN, folder: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model.safetensors`` and ``config.json`` (architecture + ``extra``) to ``folder``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    cfg = {"architecture": "DigitCNN", "widths": list(model.widths), **(extra or {})}
    (folder / CONFIG_FILE).write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    return folder / WEIGHTS_FILE


def load_model(folder: Path, device: Any = "cpu") -> DigitCNN:
    """The :class:`DigitCNN` saved in ``folder`` (eval mode, on ``device``)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    cfg_path = folder / CONFIG_FILE
    cfg = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.exists() else {}
    model = DigitCNN(tuple(cfg.get("widths", (32, 64, 96))))
    weights = folder / WEIGHTS_FILE
    if not weights.exists():
        raise FileNotFoundError(f"{weights} is missing; train it with `python -m training.digits`")
    model.load_state_dict(load_file(str(weights)))
    return model.to(device).eval()


def build_model(entry: Any, path: Path, device: Any, *, attention: bool = False) -> Any:
    """Registry builder of the digit model (see ``core/loaders.py``)."""
    from core.loaders import Built

    model = load_model(path, device)

    def warmup(m: nn.Module, _pre: Any) -> None:
        m(torch.zeros(2, 1, FIELD, FIELD, device=next(m.parameters()).device))

    return Built(model=model, preprocessor=None, meta={"labels": [str(i) for i in range(10)]}, warmup=warmup)


def model_key() -> str:
    """Registry key of the digit model (the best entry of the ``digits`` task)."""
    from core import registry

    return registry.entries("digits")[0].key


@dataclass(frozen=True)
class ModelFacts:
    """What the shipped model's folder says about it: weights size, and accuracy on the
    official MNIST test set (``None`` until ``training.eval_digits`` has measured it)."""

    size_mb: float
    accuracy: float | None


def model_facts() -> ModelFacts:
    """Size and measured accuracy of the digit model, read from its folder (no loading)."""
    from core import registry

    folder = registry.bundled_path(registry.get(model_key()))
    if folder is None:
        return ModelFacts(0.0, None)
    weights = folder / WEIGHTS_FILE
    size = weights.stat().st_size / 1e6 if weights.exists() else 0.0
    try:
        acc = float(json.loads((folder / EVAL_FILE).read_text(encoding="utf-8"))["accuracy_plain"])
    except (OSError, KeyError, ValueError, TypeError):
        acc = None
    return ModelFacts(size, acc)
