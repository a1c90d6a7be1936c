"""A tiny randomly initialised Qwen2 causal language model with a small byte-level BPE
tokenizer trained here (the same kind of tokenizer as Qwen2.5's: GPT-2 bytes, no special
tokens added to a text, ChatML's ``<|im_start|>`` / ``<|im_end|>`` as special tokens), for
tests that must not need the real 0.5B model. Eager attention, so attention maps come back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

CORPUS = (
    "The Eiffel Tower was designed by Gustave Eiffel and completed in 1889 in Paris.",
    "人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。",
    "Emoji 🎉 and 🚀 travel well; the rocket 🚀 flies again and again.",
    "<|im_start|>user\nWho designed the tower?<|im_end|>\n<|im_start|>assistant\n",
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def tiny_tokenizer(corpus: Sequence[str] = CORPUS, vocab_size: int = 600) -> Any:
    """A fast byte-level BPE tokenizer (``PreTrainedTokenizerFast``) trained on ``corpus``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(list(corpus) * 5, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")


def tiny_qwen(
    *,
    heads: int = 4,
    kv_heads: int = 2,
    layers: int = 2,
    hidden: int = 32,
    seed: int = 0,
    corpus: Sequence[str] = CORPUS,
    positions: int = 512,
) -> tuple[Any, Any]:
    """``(model, tokenizer)``: a random ``Qwen2ForCausalLM`` (``layers`` layers, ``heads``
    query heads sharing ``kv_heads`` key/value heads) in eval mode, with eager attention."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tok = tiny_tokenizer(corpus)
    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=positions,
        attn_implementation="eager",
    )
    model = Qwen2ForCausalLM(config).eval()
    return model, tok


CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def save_as_pack(folder: Path) -> Path:
    """A tiny Qwen2 (ChatML template, 4,096 positions for long prompts of unseen bytes) saved
    as the converted LLM pack is (``core.llm.pack``: config, safetensors, tokenizer and the
    manifest it checks), in ``folder`` (e.g. ``<model cache>/qwen-0.5b-reader-<hash>``) or a
    Hugging Face snapshot folder."""
    import json

    from core.llm import pack

    model, tok = tiny_qwen(positions=4096)
    tok.chat_template = CHATML
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    (folder / "manifest.json").write_text(json.dumps({"sha256": pack.SHA256}))
    return folder


def cache_without_pack(root: Path) -> Path:
    """A model cache at ``root`` (for ``DEMO_MODEL_CACHE``) holding the real cache's other
    models (e5-small, converted once: linked, not copied) but no language-model pack."""
    from core.e5 import cache_root

    real = cache_root()
    if real.is_dir():
        for entry in real.iterdir():
            if not entry.name.startswith((".", "qwen-")):
                (root / entry.name).symlink_to(entry)
    return root
