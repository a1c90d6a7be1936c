"""Attention maps of a transformer (encoder or causal language model): every layer and
head, raw and exact.

``attention_maps(text, model=..., text_pair=...)`` tokenizes the text (at most
``max_tokens`` tokens, special tokens included), runs one forward pass of an
eager-attention copy of the model (``loaders.load(key, attention=True)``) and returns an
:class:`AttentionResult` whose ``attentions`` are the softmax weights the model used:
numpy float32 of shape ``(layers, heads, T, T)``, row ``i`` = how token ``i`` attends to
every token, every row summing to 1.

A causal language model (``qwen-0.5b-reader``: a decoder, 24 layers, 14 query heads
sharing 2 key/value heads) is shown the same way: its maps are lower-triangular (each
token attends only to itself and earlier ones), which :attr:`AttentionResult.causal` and
the ``"causal"`` note say, and :attr:`AttentionResult.kv_heads` / the ``"grouped-kv"``
note say when its query heads share key/value heads (grouped-query attention; the maps
are still one per query head). Its linear layers may be int8 (dynamic quantisation): the
attention weights themselves are float32 softmax output either way.

Any registry model of a text task can be shown when named explicitly (e.g. the QA or
sentiment model that just produced a result, whose registry tasks do not list
``attention``): see :func:`can_show`. The page's model picker lists the ``attention`` ones.

Tokenizing (special tokens, sentence of a pair, characters and word of each token) is
:mod:`core.attention.tokens`; the forward pass runs under the model's lock through
:func:`core.inference.locked`. View-level transforms (hide special tokens, merge word
pieces, head average, rollout, per-head statistics) are pure functions in
:mod:`core.attention.views`; they are re-exported here so callers need one import.

Works in a plain Python process (no Streamlit server needed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from core.attention.tokens import clean, encode
from core.attention.views import (  # noqa: F401  (re-exported API)
    HeadStats,
    View,
    apply_view,
    apply_view_vector,
    head_average,
    head_stats,
    make_view,
    rollout,
)
from core.inference import locked, model_inputs

MAX_TOKENS = 128


class NoAttentionMaps(RuntimeError):
    """The model's forward pass gave no attention maps (not eager attention, or a model
    that does not return them)."""


# Registry tasks whose models are transformers over text: their attention can be shown.
TEXT_TASKS = frozenset({"attention", "embedding", "zero-shot", "qa", "sentiment"})

# transformers ``model_type`` values of decoder-only (causal) language models.
CAUSAL_TYPES = frozenset(
    {
        "gpt2", "gpt_neo", "gpt_neox", "gptj", "bloom", "opt", "falcon", "llama", "mistral", "mixtral",
        "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "phi", "phi3", "gemma", "gemma2", "gemma3_text",
        "starcoder2", "olmo", "olmo2", "smollm3", "stablelm", "codegen", "granite", "cohere",
    }
)  # fmt: skip


def can_show(key: str) -> bool:
    """Can :func:`attention_maps` show model ``key`` when it is named explicitly? True for
    every registry model of a text task (its tasks need not list ``attention``: QA and
    sentiment models are transformers too); False for unknown keys and the digit CNN."""
    from core import registry

    try:
        entry = registry.get(key)
    except KeyError:
        return False
    return bool(TEXT_TASKS & set(entry.tasks))


def outside_the_list(key: str | None) -> bool:
    """A model :func:`attention_maps` can show but the ``attention`` model list does not
    offer (e.g. the QA or sentiment model a link came from): shown only when named."""
    from core import registry

    if not key:
        return False
    return key not in {e.key for e in registry.entries("attention")} and can_show(key)


@dataclass(frozen=True)
class AttentionResult:
    """Raw attention of one forward pass.

    ``tokens``: the model's own tokens, special tokens included, length ``T``.
    ``attentions``: float32 ``(layers, heads, T, T)``; row ``i`` is how token ``i``
    attends to every token; each row sums to 1.
    ``special``: ``(T,)`` bool, True for [CLS]/[SEP]/<s>/</s>/[PAD]...
    ``segment``: ``(T,)`` 0 for the first text's tokens, 1 for the pair's, -1 special.
    ``word``: ``(T,)`` group id for merging word pieces (consecutive ids, special tokens
    get their own group; CJK characters are never merged with a neighbour).
    ``spans``: ``(T,)`` (segment, start, end) character offsets into the text/pair,
    (-1, 0, 0) for special tokens.
    ``truncated``: the input had more than ``max_tokens`` tokens; ``n_input_tokens``
    how many it had.
    ``causal``: the model is a decoder (causal language model): token ``i`` attends only
    to tokens ``0..i``, so ``attentions[..., i, j] == 0`` for every ``j > i``.
    ``kv_heads``: how many key/value heads the ``heads`` query heads share (grouped-query
    attention, e.g. 14 query heads reading 2 key/value heads), 0 when every head has its own.
    ``labels``: ``(T,)`` the tokens as a reader sees them (byte-level BPE decoded, e.g.
    "è¿Ļ" -> "这"); empty in results made before it existed: see :meth:`token_labels`.
    """

    tokens: tuple[str, ...]
    attentions: np.ndarray
    model: str
    truncated: bool
    special: tuple[bool, ...]
    segment: tuple[int, ...]
    word: tuple[int, ...]
    spans: tuple[tuple[int, int, int], ...]
    text: str
    text_pair: str | None
    n_input_tokens: int
    seconds: float
    causal: bool = False
    kv_heads: int = 0
    labels: tuple[str, ...] = ()

    @property
    def layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def heads(self) -> int:
        return int(self.attentions.shape[1])

    @property
    def kv_group(self) -> int:
        """Query heads per key/value head (7 for 14 query heads over 2); 1 without grouping."""
        return self.heads // self.kv_heads if self.kv_heads else 1

    def token_labels(self) -> tuple[str, ...]:
        """``(T,)`` one readable label per token (``labels``, else the tokens)."""
        return self.labels if len(self.labels) == len(self.tokens) else self.tokens

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def notes(self) -> tuple[str, ...]:
        """Codes of what the reader should know (the ``ui`` translates them):
        ``"truncated"`` (only the first ``len(self)`` of ``n_input_tokens`` tokens are
        shown), ``"no-text-tokens"`` (the model saw only special tokens), ``"causal"`` (a
        causal language model: each token attends only to itself and earlier tokens, so
        the upper triangle of every map is empty, by design), ``"grouped-kv"`` (the
        ``heads`` query heads share ``kv_heads`` key/value heads, ``kv_group`` each)."""
        out: tuple[str, ...] = ("truncated",) if self.truncated else ()
        out += ("no-text-tokens",) if all(self.special) else ()
        out += ("causal",) if self.causal else ()
        return out + (("grouped-kv",) if self.kv_heads else ())

    def view(self, *, hide_special: bool = False, merge: bool = False) -> View:
        """The :class:`View` the page draws: special tokens hidden or not, word pieces merged
        into words (labelled by their text) or not (labelled by their readable tokens)."""
        return make_view(
            self.tokens,
            self.special,
            hide_special=hide_special,
            groups=self.word if merge else None,
            labels=self.word_labels() if merge else self.token_labels(),
        )

    def span_text(self, i: int) -> str:
        """The original characters behind token ``i`` (the token itself for special tokens)."""
        seg, start, end = self.spans[i]
        if seg < 0 or end <= start:
            return self.tokens[i]
        src = self.text if seg == 0 else (self.text_pair or "")
        return src[start:end]

    def word_labels(self) -> list[str]:
        """One label per merged group (see ``word``): the original text of its pieces
        (from the first piece's start to the last one's end, pieces without characters such
        as SentencePiece's lone "▁" left out); a special token's own name, a piece without
        characters (a line break) its label."""
        labels: list[str] = []
        n_groups = max(self.word) + 1 if self.word else 0
        for g in range(n_groups):
            idx = [i for i, w in enumerate(self.word) if w == g]
            real = [self.spans[i] for i in idx if self.spans[i][0] >= 0 and self.spans[i][2] > self.spans[i][1]]
            if not real:
                labels.append(self.token_labels()[idx[0]])
                continue
            seg = real[0][0]
            src = self.text if seg == 0 else (self.text_pair or "")
            labels.append(src[real[0][1] : real[-1][2]])
        return labels


def readable(text: str) -> bool:
    """Is there something to read in ``text`` once control and invisible characters are
    dropped? (:func:`attention_maps` raises ``ValueError`` when not.)"""
    return bool(text) and bool(clean(text).strip())


def is_causal(model: Any, attentions: np.ndarray | None = None) -> bool:
    """Is ``model`` a decoder whose tokens attend only to earlier ones? Its config says so
    (a ``...ForCausalLM`` / ``...LMHeadModel`` class or architecture, ``is_decoder``, or a
    decoder-only ``model_type``), or the maps show it: ``attentions`` ``(L, H, T, T)`` with
    ``T >= 2`` and nothing at all above the diagonal (a softmax never gives an exact 0
    unless the position is masked)."""
    cfg = getattr(model, "config", None)
    if cfg is not None and not getattr(cfg, "is_encoder_decoder", False):
        names = [type(model).__name__, *(getattr(cfg, "architectures", None) or [])]
        if any(str(n).endswith(("ForCausalLM", "LMHeadModel")) for n in names):
            return True
        if getattr(cfg, "is_decoder", False) is True or getattr(cfg, "model_type", None) in CAUSAL_TYPES:
            return True
    if attentions is None or attentions.ndim != 4 or attentions.shape[-1] < 2:
        return False
    return not np.triu(attentions, k=1).any()


def kv_heads(model: Any, heads: int) -> int:
    """Key/value heads shared by ``heads`` query heads (grouped-query attention: Qwen2.5
    0.5B has 2 for 14), from the model's config; 0 when each head has its own."""
    cfg = getattr(model, "config", None)
    for name in ("num_key_value_heads", "num_kv_heads"):
        kv = getattr(cfg, name, None)
        if isinstance(kv, int) and 0 < kv < heads and heads % kv == 0:
            return kv
    return 0


def _forward(model: Any, enc: dict[str, Any]) -> np.ndarray:
    """Forward (the caller holds the model's lock): ``(layers, heads, T, T)`` float32.

    A model whose output has no attentions but which holds its transformers encoder as
    ``model.bert`` (a pooled-feature classifier of ours) shows that encoder's attention.
    A causal language model keeps no cache and computes the logits of the last token only
    (not ``T x vocabulary``), when its ``forward`` takes those arguments."""
    import inspect

    import torch

    params = inspect.signature(model.forward).parameters
    extra: dict[str, Any] = {}
    if "logits_to_keep" in params:
        extra["logits_to_keep"] = 1
    if "use_cache" in params:
        extra["use_cache"] = False
    out = model(**enc, **extra, output_attentions=True)
    atts = getattr(out, "attentions", None)
    encoder = getattr(model, "bert", None)
    if not atts and isinstance(encoder, torch.nn.Module):
        atts = getattr(encoder(**enc, output_attentions=True), "attentions", None)
    if not atts or any(a is None for a in atts):
        raise NoAttentionMaps("the model returned no attention maps (it must be loaded with eager attention)")
    return torch.stack([a[0] for a in atts]).float().cpu().numpy().astype(np.float32, copy=False)


def _attention(
    bundle: Any, tokenizer: Any, text: str, text_pair: str | None, max_tokens: int, key: str
) -> AttentionResult:
    """preprocess -> forward under :func:`core.inference.locked` -> postprocess."""
    x = encode(bundle.model, tokenizer, text, text_pair, max_tokens)
    device = next(bundle.model.parameters()).device
    t0 = time.perf_counter()
    with locked(bundle):
        arr = _forward(bundle.model, model_inputs(bundle.model, x.enc, device))
    seconds = time.perf_counter() - t0
    heads = int(arr.shape[1])
    return AttentionResult(
        tokens=tuple(x.tokens),
        attentions=arr,
        model=key,
        truncated=x.n_input > len(x.tokens),
        special=tuple(bool(s) for s in x.special),
        segment=tuple(x.segment),
        word=tuple(x.groups),
        spans=tuple(x.spans),
        text=x.text,
        text_pair=x.pair,
        n_input_tokens=x.n_input,
        seconds=seconds,
        causal=is_causal(bundle.model, arr),
        kv_heads=kv_heads(bundle.model, heads),
        labels=tuple(x.labels),
    )


def attention_from_model(
    model: Any,
    tokenizer: Any,
    text: str,
    *,
    text_pair: str | None = None,
    max_tokens: int = MAX_TOKENS,
    key: str = "custom",
    lock: Any = None,
) -> AttentionResult:
    """Attention of any transformers encoder, sequence classifier or causal language model
    (``...ForCausalLM``) loaded with eager attention (``attn_implementation="eager"``).

    ``model(**enc, output_attentions=True).attentions`` is a tuple of ``layers`` tensors
    ``(1, heads, T, T)``; they are stacked, cast to float32 and moved to the CPU. The
    forward pass runs under ``lock`` when one is given (a loaded model's lock).

    Wrappers of our own are unwrapped: a model whose output has no attentions but which
    holds its transformers encoder as ``model.bert`` (a pooled-feature classifier) shows
    that encoder's attention; a tokenizer that puts a fixed ``prefix`` before every text
    (with the real one as ``tokenizer.tokenizer``) is replaced by the real one on
    ``prefix + text``, so the prefix's tokens are shown, as the model reads them.
    Raises :class:`NoAttentionMaps` (a ``RuntimeError``) when none come back.
    """
    return _attention(SimpleNamespace(model=model, lock=lock), tokenizer, text, text_pair, max_tokens, key)


def attention_maps(
    text: str, model: str | None = None, *, text_pair: str | None = None, max_tokens: int = MAX_TOKENS
) -> AttentionResult:
    """Every layer's and head's attention for ``text`` (and ``text_pair``) under ``model``.

    ``model`` is a registry key, any for which :func:`can_show` is true (QA and sentiment
    models included); ``None`` picks the default attention model for the text's language.
    Returns ``attentions`` of shape ``(layers, heads, T, T)`` with ``T <= max_tokens``.
    Raises ``ValueError`` for empty text (see :func:`readable`), ``ModelLoadError`` (with
    a ``code``: ``no-model-for-language``, ``not-a-text-model``, ``no-attention-maps``, or
    the loader's) when the model cannot be loaded or has no attention to show.
    """
    from core import loaders
    from core.availability import default_model
    from core.text import detect_language

    if not text or not text.strip():
        raise ValueError("empty text")
    if model is None:
        lang = detect_language(text)
        model = default_model("attention", lang)
        if model is None:
            raise loaders.ModelLoadError(
                "attention",
                "no attention model is available for this language",
                code="no-model-for-language",
                params={"lang": lang},
            )
    elif not can_show(model):
        from core import registry

        try:
            registry.get(model)
        except KeyError:
            raise loaders.ModelLoadError(
                model, "unknown model", "Pick a model from the list.", "unknown-model"
            ) from None
        raise loaders.ModelLoadError(
            model,
            "this model has no attention maps to show (not a text transformer)",
            "Pick a model from the list.",
            code="not-a-text-model",
        )
    bundle = loaders.load(model, attention=True)
    tokenizer = bundle.preprocessor
    if not callable(tokenizer) and callable(getattr(tokenizer, "tokenizer", None)):
        tokenizer = tokenizer.tokenizer  # a reader's bundle of tokenizer and vocabulary
    if tokenizer is None or not callable(tokenizer):
        raise loaders.ModelLoadError(
            model,
            "this model has no tokenizer, so no attention over text",
            "Pick a model from the list.",
            code="not-a-text-model",
        )
    try:
        return _attention(bundle, tokenizer, text, text_pair, max_tokens, model)
    except NoAttentionMaps as exc:
        raise loaders.ModelLoadError(model, str(exc), "Pick a model from the list.", code="no-attention-maps") from exc
