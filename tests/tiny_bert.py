"""The tiny random BERT the OpenVINO tests convert (2 layers of 32, vocabulary 120, eager
attention, seeded): one config for the QA and the text-model graphs."""

from __future__ import annotations

from typing import Any

import torch


def tiny_bert_config(**overrides: Any) -> Any:
    """A seeded tiny ``BertConfig`` (``torch.manual_seed(0)`` is set for the weights that follow)."""
    from transformers import BertConfig

    torch.manual_seed(0)
    return BertConfig(
        vocab_size=120,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        attn_implementation="eager",
        **overrides,
    )
