"""OpenVINO-compiled encoders with their PyTorch model's interface.

What ``bundle.model`` is for a model served on OpenVINO: ``model(input_ids=...,
attention_mask=...)`` returns what the PyTorch model returns, so task code (through
``core.inference.run_batched`` and ``model_inputs``, which reads ``forward``'s signature)
runs it unchanged:

- :class:`OVQuestionAnswering` (``qa-e5``): ``start_logits`` / ``end_logits`` ``(B, T)``, like
  transformers' ``BertForQuestionAnswering``;
- :class:`OVSequenceClassifier` (``sentiment-zh-e5``, ``sentiment-en-minilm``): ``logits``
  ``(B, C)``, like a sequence classifier;
- :class:`OVEncoder` (``e5-small``): ``last_hidden_state`` ``(B, T, H)``, like ``BertModel``.

The word embeddings are looked up in Python (for e5: the process's shared 4-bit table);
the compiled graph does the rest. Each is a ``torch.nn.Module`` (with no parameters of its
own) so the loader's ``.to(device).eval()`` and warm-up work as for any model. Forward passes
are serialised by the bundle's lock; one infer request per model. Token type ids are not
graph inputs: every caller encodes one segment (or e5's tokenizer, which has none).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch


class OVModel(torch.nn.Module):
    """The shared part: ``_infer(input_ids (B, T), attention_mask (B, T))`` -> ``{output
    name: float32 tensor}`` for the names in :attr:`OUTPUTS`."""

    OUTPUTS: tuple[str, ...] = ()

    def __init__(self, compiled: Any, word_embeddings: Any, config: Any, runtime: Mapping[str, Any]) -> None:
        super().__init__()
        self.compiled = compiled
        self.word_embeddings = word_embeddings  # e.g. the shared Q4 table (buffers, no parameters)
        self.config = config
        self.runtime = dict(runtime)  # {"runtime": "openvino", "precision": "int8", ...}
        self._request = compiled.create_infer_request()
        self._lock = threading.Lock()  # the bundle's lock already serialises; this guards direct callers

    def __deepcopy__(self, memo: dict[int, Any]) -> OVModel:
        """A copy sharing the compiled graph and word table (both read-only), own request."""
        return type(self)(self.compiled, self.word_embeddings, self.config, self.runtime)

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def _infer(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        with torch.inference_mode():
            embeds = self.word_embeddings(input_ids.cpu()).float().numpy()
        mask = attention_mask.cpu().numpy().astype(np.int64, copy=False)
        with self._lock:
            res = self._request.infer({"inputs_embeds": embeds, "attention_mask": mask}, share_inputs=True)
            return {n: torch.from_numpy(np.array(res[self.compiled.output(n)], dtype=np.float32)) for n in self.OUTPUTS}


class OVQuestionAnswering(OVModel):
    """``forward(input_ids (B, T) int64, attention_mask (B, T) int64)`` ->
    ``QuestionAnsweringModelOutput(start_logits (B, T), end_logits (B, T))`` float32."""

    OUTPUTS = ("start_logits", "end_logits")

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any) -> Any:
        from transformers.modeling_outputs import QuestionAnsweringModelOutput

        out = self._infer(input_ids, attention_mask)
        return QuestionAnsweringModelOutput(start_logits=out["start_logits"], end_logits=out["end_logits"])


class OVSequenceClassifier(OVModel):
    """``forward(input_ids (B, T) int64, attention_mask (B, T) int64)`` ->
    ``SequenceClassifierOutput(logits (B, C))`` float32."""

    OUTPUTS = ("logits",)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any) -> Any:
        from transformers.modeling_outputs import SequenceClassifierOutput

        return SequenceClassifierOutput(logits=self._infer(input_ids, attention_mask)["logits"])


class OVEncoder(OVModel):
    """``forward(input_ids (B, T) int64, attention_mask (B, T) int64)`` ->
    ``BaseModelOutput(last_hidden_state (B, T, H))`` float32."""

    OUTPUTS = ("last_hidden_state",)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any) -> Any:
        from transformers.modeling_outputs import BaseModelOutput

        return BaseModelOutput(last_hidden_state=self._infer(input_ids, attention_mask)["last_hidden_state"])


ADAPTERS: dict[str, type[OVModel]] = {
    "qa": OVQuestionAnswering,
    "classifier": OVSequenceClassifier,
    "encoder": OVEncoder,
}
