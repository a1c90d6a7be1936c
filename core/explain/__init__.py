"""Explanations: which parts of an input decided a model's output, from maintained libraries
(Captum), over units a person reads, with their faithfulness measured.

One shape for every task (:class:`Attribution`): text classification
(:mod:`core.classify.explain`), the span model's answer (:mod:`core.qa.explain`) and digits
(:mod:`core.digits.explain`). Methods (codes in :data:`METHODS`):

- ``occlusion``: each unit deleted in turn (Captum ``FeatureAblation``), the fall of the
  target is its weight;
- ``shapley``: Shapley values over the units (Captum ``ShapleyValueSampling``, a fixed number
  of sampled permutations);
- ``integrated-gradients``: Captum ``LayerIntegratedGradients`` on the embedding layer from a
  padding baseline (text) or ``IntegratedGradients`` from a blank image (digits), token
  attributions summed per unit; ``completeness_error`` reports how far the attributions' sum
  is from ``f(input) - f(baseline)``;
- ``gradient-x-input`` (digits): Captum ``InputXGradient``.

Faithfulness (:mod:`core.explain.faithfulness`, ERASER): ``drop`` is how much the explained
probability falls when the top :data:`TOP_FRACTION` of units (by weight) are deleted, and
``random_drop`` the same for as many random units (mean of a few fixed draws): an explanation
is faithful for this input when ``drop`` clearly exceeds ``random_drop``.
"""

from __future__ import annotations

from dataclasses import dataclass

METHODS = ("occlusion", "shapley", "integrated-gradients", "gradient-x-input")
TOP_FRACTION = 0.2  # the per-input faithfulness figure deletes this share of the units


class ExplainError(ValueError):
    """An input that cannot be explained; ``code`` is for the interface to translate
    (``empty``, ``unknown-method``, ``too-slow``, ``no-units``)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Attribution:
    """Weights over the units of one input, for one target.

    ``pieces``: text inputs, the input in order, whitespace included (``"".join(pieces)`` is
    the explained text), one weight per piece (0 for whitespace and unexplained pieces);
    image inputs: empty, and ``weights`` holds ``shape`` (e.g. ``(28, 28)``) row-major.
    ``weights``: positive = pushed towards ``target``, negative = against it, in the units of
    the explained quantity (log-odds of the label for text, the start + end score for an
    answer, the probability for digits; see ``scale``).
    ``method``: one of :data:`METHODS`. ``target``: what is explained (a label, ``answer``, a
    digit). ``completeness_error``: |sum(weights) - (f(x) - f(baseline))| / max(|f(x) -
    f(baseline)|, eps) for integrated gradients, else ``None``. ``drop`` / ``random_drop``:
    the explained probability's fall when the top :data:`TOP_FRACTION` of units (by weight) /
    as many random ones are deleted (``None`` where not measured). ``notes``: codes
    (``capped``: only the first units were explained; ``char-fallback``: Chinese split into
    characters because word segmentation failed). ``seconds``: time to explain."""

    pieces: tuple[str, ...]
    weights: tuple[float, ...]
    method: str
    target: str
    scale: str = "log-odds"
    completeness_error: float | None = None
    drop: float | None = None
    random_drop: float | None = None
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    shape: tuple[int, ...] = ()

    @property
    def faithful(self) -> bool | None:
        """Does deleting the top units lower the prediction more than deleting random ones?"""
        if self.drop is None or self.random_drop is None:
            return None
        return self.drop > self.random_drop


__all__ = ["METHODS", "TOP_FRACTION", "Attribution", "ExplainError"]
