"""PyTorch encoder -> OpenVINO graph -> NNCF post-training int8.

The graph starts AFTER the word-embedding lookup: it takes ``inputs_embeds`` (the rows of
the process's shared 4-bit word table, looked up in Python) and ``attention_mask``, and
computes position embeddings, the embeddings' LayerNorm, the encoder and the task head.
Batch and sequence dimensions are dynamic.

- :func:`convert`: ``openvino.convert_model`` of a model that accepts ``inputs_embeds``,
  wrapped by :class:`EmbedsModel`; its outputs by ``kind`` (:data:`OUTPUTS`): a span-QA
  model (``qa``: start/end logits), a sequence classifier (``classifier``: our e5 and MiniLM
  sentiment heads, logits) or a bare encoder (``encoder``: ``e5-small``, last hidden state).
- :func:`quantize`: ``nncf.quantize`` with the TRANSFORMER preset (SmoothQuant, fast bias
  correction) calibrated on fixed token windows; ``nncf`` is imported only here, so only the
  build needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

INPUTS = ("inputs_embeds", "attention_mask")
# kind -> the graph's outputs: qa (B, T) each; classifier (B, C); encoder (B, T, H)
OUTPUTS = {
    "qa": ("start_logits", "end_logits"),
    "classifier": ("logits",),
    "encoder": ("last_hidden_state",),
}


def _embeds_model_class() -> Any:
    import torch

    class EmbedsModel(torch.nn.Module):
        """``forward(inputs_embeds (B, T, H) float32, attention_mask (B, T) int64)`` -> the
        outputs named ``names`` of the wrapped model, in that order."""

        def __init__(self, model: Any, names: tuple[str, ...]) -> None:
            super().__init__()
            self.model, self.names = model, names

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
            out = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask)
            return tuple(getattr(out, n) for n in self.names)

    return EmbedsModel


def word_table(model: Any) -> Any:
    """The model's word-embedding module (``ids (...) -> (..., H)``): ``.bert.embeddings``'s
    for a task model, ``.embeddings``' for a bare ``BertModel``."""
    return getattr(model, "bert", model).embeddings.word_embeddings


def example_feed(qa: Any, batch: int = 2, seq: int = 16) -> dict[str, Any]:
    """A small traced input: ``inputs_embeds (batch, seq, H)``, ``attention_mask (batch, seq)``."""
    import torch

    ids = torch.randint(5, min(1000, int(qa.config.vocab_size)), (batch, seq))
    with torch.inference_mode():
        embeds = word_table(qa)(ids).float().clone()
    return {"inputs_embeds": embeds, "attention_mask": torch.ones(batch, seq, dtype=torch.int64)}


def convert(qa: Any, kind: str = "qa") -> Any:
    """The fp32 ``openvino.Model`` of model ``qa`` (eval mode, eager attention traces
    cleanly; a span-QA model, or see :data:`OUTPUTS`), inputs :data:`INPUTS` with dynamic
    batch and sequence, outputs named ``OUTPUTS[kind]``."""
    import openvino as ov
    import torch

    wrapper = _embeds_model_class()(qa, OUTPUTS[kind]).eval()
    hidden = int(qa.config.hidden_size)
    with torch.no_grad():
        model = ov.convert_model(
            wrapper,
            example_input=example_feed(qa),
            input=[("inputs_embeds", ov.PartialShape([-1, -1, hidden])), ("attention_mask", ov.PartialShape([-1, -1]))],
        )
    for out, name in zip(model.outputs, OUTPUTS[kind]):
        out.get_tensor().set_names({name})
    return model


def calibration_feeds(qa: Any, ids: np.ndarray, lengths: np.ndarray) -> list[dict[str, np.ndarray]]:
    """One feed per window: ``ids (N, T)`` int token ids padded to T, ``lengths (N,)`` real
    tokens -> ``[{inputs_embeds (1, len, H), attention_mask (1, len)}]`` (unpadded)."""
    import torch

    table = word_table(qa)
    feeds = []
    with torch.inference_mode():
        for row, n in zip(ids, lengths):
            t = torch.from_numpy(np.asarray(row[:n], dtype=np.int64))[None]
            feeds.append(
                {
                    "inputs_embeds": table(t).float().numpy(),
                    "attention_mask": np.ones((1, int(n)), dtype=np.int64),
                }
            )
    return feeds


def quantize(model: Any, feeds: Sequence[dict[str, np.ndarray]], smooth_quant_alpha: float | None = None) -> Any:
    """NNCF post-training int8 of the fp32 ``model``: TRANSFORMER preset (SmoothQuant and
    fast bias correction), activation statistics from every feed in ``feeds``;
    ``smooth_quant_alpha`` overrides NNCF's SmoothQuant strength for MatMuls (default 0.95:
    how much of the activations' outliers move into the weights)."""
    import nncf

    extra: dict[str, Any] = {}
    if smooth_quant_alpha is not None:
        from nncf.quantization.advanced_parameters import (
            AdvancedQuantizationParameters,
            AdvancedSmoothQuantParameters,
        )

        extra["advanced_parameters"] = AdvancedQuantizationParameters(
            smooth_quant_alphas=AdvancedSmoothQuantParameters(matmul=smooth_quant_alpha)
        )
    return nncf.quantize(
        model,
        nncf.Dataset(list(feeds)),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(feeds),
        **extra,
    )


def compress_weights(model: Any) -> Any:
    """int8 weights (NNCF, asymmetric, per output channel) of the fp32 ``model``; its
    activations are quantised on the fly by the CPU plugin (dynamic quantisation), no
    calibration needed."""
    import nncf

    return nncf.compress_weights(model.clone(), mode=nncf.CompressWeightsMode.INT8_ASYM)  # fp32 kept
