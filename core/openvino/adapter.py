"""An OpenVINO-compiled span-QA encoder with the PyTorch model's interface.

:class:`OVQuestionAnswering` is what ``bundle.model`` is for a span model served on
OpenVINO: ``model(input_ids=..., attention_mask=...)`` returns an object with
``start_logits`` / ``end_logits`` torch tensors ``(B, T)``, like transformers'
``BertForQuestionAnswering``, so ``core.qa.span.run_windows`` (through
``core.inference.run_batched`` and ``model_inputs``, which reads ``forward``'s signature)
runs it unchanged. The word embeddings are looked up in Python in the process's shared
4-bit table; the compiled graph does the rest. It is a ``torch.nn.Module`` (with no
parameters of its own) so the loader's ``.to(device).eval()`` and warm-up work as for any
model. Forward passes are serialised by the bundle's lock; one infer request per model.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from transformers.modeling_outputs import QuestionAnsweringModelOutput


class OVQuestionAnswering(torch.nn.Module):
    """``forward(input_ids (B, T) int64, attention_mask (B, T) int64)`` ->
    ``QuestionAnsweringModelOutput(start_logits (B, T), end_logits (B, T))`` float32."""

    def __init__(self, compiled: Any, word_embeddings: Any, config: Any, runtime: Mapping[str, Any]) -> None:
        super().__init__()
        self.compiled = compiled
        self.word_embeddings = word_embeddings  # the shared Q4 table (buffers, no parameters)
        self.config = config
        self.runtime = dict(runtime)  # {"runtime": "openvino", "precision": "int8", ...}
        self._request = compiled.create_infer_request()
        self._lock = threading.Lock()  # the bundle's lock already serialises; this guards direct callers

    def __deepcopy__(self, memo: dict[int, Any]) -> OVQuestionAnswering:
        """A copy sharing the compiled graph and word table (both read-only), own request."""
        return OVQuestionAnswering(self.compiled, self.word_embeddings, self.config, self.runtime)

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        **_: Any,
    ) -> QuestionAnsweringModelOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        with torch.inference_mode():
            embeds = self.word_embeddings(input_ids.cpu()).float().numpy()
        mask = attention_mask.cpu().numpy().astype(np.int64, copy=False)
        with self._lock:
            res = self._request.infer({"inputs_embeds": embeds, "attention_mask": mask}, share_inputs=True)
            start = np.array(res[self.compiled.output("start_logits")], dtype=np.float32)
            end = np.array(res[self.compiled.output("end_logits")], dtype=np.float32)
        return QuestionAnsweringModelOutput(start_logits=torch.from_numpy(start), end_logits=torch.from_numpy(end))
