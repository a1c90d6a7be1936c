"""Label names: what models call their classes, normalised; labels a visitor types."""

from __future__ import annotations

import re

_NAMED = (
    ("pos", "positive"),
    ("neg", "negative"),
    ("neu", "neutral"),
    ("正面", "positive"),
    ("积极", "positive"),
    ("好评", "positive"),
    ("负面", "negative"),
    ("消极", "negative"),
    ("差评", "negative"),
    ("中性", "neutral"),
)
_GENERIC = re.compile(r"^(label[_ ]?)?(\d+)$")


def normalise_label(raw: str, index: int | None = None, n_labels: int = 2) -> str:
    """``"POSITIVE"``, ``"positive (stars 4 and 5)"``, ``"LABEL_1"`` (of 2) -> ``"positive"``.

    Generic names (``LABEL_k`` or ``k``) follow the usual convention: of two labels 0 is
    negative and 1 positive; of three, negative / neutral / positive. Anything else is
    returned lower-cased."""
    name = str(raw).strip().lower()
    for needle, label in _NAMED:
        if name.startswith(needle) or re.search(rf"\b{needle}", name) or (not needle.isascii() and needle in name):
            return label
    m = _GENERIC.match(name)
    k = int(m.group(2)) if m else index
    if m and n_labels == 2 and k in (0, 1):
        return ("negative", "positive")[k]
    if m and n_labels == 3 and k in (0, 1, 2):
        return ("negative", "neutral", "positive")[k]
    return name


def label_names(id2label: dict[int, str]) -> list[str]:
    """Normalised names for class indices ``0..n-1``."""
    n = len(id2label)
    return [normalise_label(id2label.get(i, str(i)), i, n) for i in range(n)]


def parse_labels(text: str) -> list[str]:
    """``"sports, politics；科技"`` -> ``["sports", "politics", "科技"]`` (unique, in order)."""
    seen: list[str] = []
    for part in re.split(r"[,，;；、\n]+", text or ""):
        part = part.strip()
        if part and part not in seen:
            seen.append(part)
    return seen
