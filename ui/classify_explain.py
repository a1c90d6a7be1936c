"""The classification page's "why": the method picker, the text coloured on a diverging scale
centred on zero, and how far to trust it for this text (the measured drop). Pure views over
:class:`core.explain.Attribution`; strings in ``ui/strings/classify.toml``."""

from __future__ import annotations

import html
from collections.abc import Sequence

import streamlit as st

from core.explain import TOP_FRACTION, Attribution
from ui.i18n import t

METHODS = ("auto", "shapley", "integrated-gradients", "occlusion")
# bench/explain.py, 2026-12-07, 200 held-out test reviews per language, on the served models:
# comprehensiveness at 20 %
# (probability points), the same for random words, and the share of reviews where the method
# beats random deletion (AOPC).
MEASURED: dict[tuple[str, str], tuple[float, float, float]] = {
    ("en", "shapley"): (49.0, 5.7, 99.5),
    ("en", "occlusion"): (45.5, 5.7, 98.0),
    ("en", "integrated-gradients"): (42.9, 5.7, 97.5),
    ("zh", "shapley"): (39.3, 4.8, 100.0),
    ("zh", "occlusion"): (40.9, 4.8, 99.5),
    ("zh", "integrated-gradients"): (19.4, 4.8, 87.0),
}
AGAINST = (37, 99, 235)  # blue: pushed against the predicted label
FOR = {"positive": (22, 163, 74), "negative": (220, 38, 38)}  # the label's own colour
FOR_OTHER = (217, 119, 6)  # any other label: amber


def method_picker() -> str:
    """The explanation method, bound to ``?why_method=`` (``auto``: the measured default)."""
    method = st.segmented_control(
        t("classify.why_method"),
        METHODS,
        default="auto",
        key="why_method",
        bind="query-params",
        required=True,
        format_func=lambda m: t(f"classify.why_method.{m}"),
        help=t("classify.why_method_help"),
    )
    return method if method in METHODS else "auto"


def _rgba(rgb: tuple[int, int, int], alpha: float) -> str:
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{alpha:.2f})"


def attribution_html(
    pieces: Sequence[str],
    weights: Sequence[float],
    label: str,
    *,
    legend_for: str,
    legend_against: str,
    legend_zero: str = "0",
) -> str:
    """The text with each word tinted on a diverging scale centred on zero: the label's colour
    where it pushed towards the label, blue where against it, stronger for larger |weight|
    (scaled to the largest), no tint at zero; a gradient legend below. Escaped."""
    support = FOR.get(label, FOR_OTHER)
    top = max((abs(w) for w in weights), default=0.0) or 1.0
    out = []
    for piece, w in zip(pieces, weights):
        text = html.escape(piece).replace("\n", "<br>")
        if abs(w) < 0.02 * top or not piece.strip():
            out.append(text)
            continue
        alpha = 0.1 + 0.7 * min(abs(w) / top, 1.0)
        tip = html.escape(f"{w:+.3f}")
        colour = _rgba(support if w > 0 else AGAINST, alpha)
        out.append(f'<span class="cls-w" style="background:{colour}" title="{tip}">{text}</span>')
    gradient = f"linear-gradient(90deg,{_rgba(AGAINST, 0.8)},rgba(128,128,128,0.05) 50%,{_rgba(support, 0.8)})"
    legend = (
        '<div class="cls-legend">'
        f"<span>{html.escape(legend_against)}</span>"
        f'<span class="cls-bar" style="background:{gradient}"><i>{html.escape(legend_zero)}</i></span>'
        f"<span>{html.escape(legend_for)}</span></div>"
    )
    style = (
        "<style>.cls-explain{font-size:1.1rem;line-height:2.1;padding:0.8rem 1rem;border-radius:0.5rem;"
        "border:1px solid rgba(128,128,128,0.3);word-break:break-word}"
        ".cls-w{border-radius:0.3rem;padding:0.1rem 0.15rem}"
        ".cls-legend{display:flex;align-items:center;gap:0.6rem;font-size:0.85rem;opacity:0.85;margin-top:0.5rem}"
        ".cls-bar{position:relative;display:inline-block;width:11rem;height:0.9rem;border-radius:0.3rem;"
        "border:1px solid rgba(128,128,128,0.3)}"
        ".cls-bar i{position:absolute;left:50%;top:0.95rem;transform:translateX(-50%);font-style:normal;"
        "font-size:0.7rem;opacity:0.7}</style>"
    )
    return f'{style}<div class="cls-explain">{"".join(out)}</div>{legend}'


def percent(p: float) -> str:
    """A probability as a percentage: one decimal near 0 % and 100 %, else whole numbers."""
    p = max(0.0, min(1.0, float(p))) * 100
    return f"{p:.1f}%" if p >= 99.5 or p < 1 else f"{p:.0f}%"


def trust_text(attr: Attribution, label_name: str, probability: float) -> str | None:
    """One sentence: how much the label's probability falls for THIS text when its top words
    go, against as many random words (``None`` where not measured)."""
    if attr.drop is None or attr.random_drop is None:
        return None
    n_units = sum(1 for p, w in zip(attr.pieces, attr.weights) if p.strip() and w != 0.0) or 1
    k = max(1, round(TOP_FRACTION * n_units))
    key = "classify.why_trust" if attr.drop > attr.random_drop else "classify.why_trust_weak"
    return t(
        key,
        k=k,
        share=f"{100 * TOP_FRACTION:.0f} %",
        label=label_name,
        before=percent(probability),
        after=percent(max(0.0, probability - attr.drop)),
        random=percent(max(0.0, probability - attr.random_drop)),
    )


def measured_text(method: str, lang: str) -> str | None:
    """The benchmark's figures for ``method`` on held-out reviews of ``lang``, in one sentence."""
    fig = MEASURED.get((lang, method))
    if fig is None:
        return None
    top, rnd, share = fig
    return t(
        "classify.why_measured",
        lang=t(f"lang.{lang}"),
        top=f"{top:.0f}",
        random=f"{rnd:.0f}",
        share=f"{share:.1f}".rstrip("0").rstrip("."),
    )


def show_explanation(
    attr: Attribution | None, error: str | None, label: str, label_name: str, p: float, lang: str = "en"
) -> None:
    """The "why" block of one text: coloured words and legend, the method (and the
    completeness error of integrated gradients), the measured drop, notes; or why there is none."""
    st.markdown(f"**{t('classify.why')}**", help=t(f"classify.why_help.{attr.method if attr else 'none'}"))
    if attr is None:
        st.info(t(f"classify.why_error.{error or 'none'}"), icon="🤷")
        return
    st.html(
        attribution_html(
            attr.pieces,
            attr.weights,
            label,
            legend_for=t("classify.why_for", label=label_name),
            legend_against=t("classify.why_against"),
        )
    )
    facts = [t("classify.why_by", method=t(f"classify.why_method.{attr.method}"), s=f"{attr.seconds:.1f}")]
    if attr.completeness_error is not None:
        facts.append(t("classify.why_completeness", e=f"{100 * attr.completeness_error:.1f} %"))
    st.caption(" · ".join(facts))
    trust = trust_text(attr, label_name, p)
    if trust:
        st.caption(trust)
    measured = measured_text(attr.method, lang)
    if measured:
        st.caption(measured)
    for note in attr.notes:
        if note in ("capped", "char-fallback"):
            st.caption(t(f"classify.why_note.{note}"))
