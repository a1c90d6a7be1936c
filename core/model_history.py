"""How a shipped model was trained: its training curves and its card's headline figures.

:func:`history` reads the committed files of a bundled registry model (``repo:`` folders
under ``models/``): ``training_log.json`` (per epoch or per step, where the training script
writes one), ``metrics.json`` / ``eval.json`` / ``config.json`` (the held-out scores, the
data sizes and the time trained). It never imports torch and never raises on a missing or
garbled file: a model without a log gives the figures only, a model without any readable
file gives ``None``.

A ``training_log.json`` is either a list of per-epoch (or per-step) objects, as
``training/digits.py`` writes, or ``{"x": "epoch" | "step", "note": ..., "entries": [...]}``
(the sentiment and QA scripts). Known entry keys: ``epoch`` / ``step`` (the x axis),
``loss`` / ``train_loss`` (training loss), ``val`` / ``val_accuracy`` (validation accuracy,
0-1), ``val_ema`` (validation accuracy of the moving average of the weights),
``val_unseen`` (validation accuracy on reviews not in the training split).

Plain Python: the page's view is :mod:`ui.model_history_view`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core import registry

XAxis = Literal["epoch", "step"]
SeriesKind = Literal["loss", "accuracy"]
Role = Literal["validation", "test", "report"]
Metric = Literal["accuracy", "em", "f1"]

ALIASES = {"digits": "digits-cnn", "sentiment-en": "sentiment-en-minilm", "qa": "qa-e5"}
LOG_FILE = "training_log.json"

# the known keys of a log entry: (series name, kind, scale to percent for accuracies)
_SERIES_KEYS: tuple[tuple[tuple[str, ...], str, SeriesKind], ...] = (
    (("loss", "train_loss"), "train_loss", "loss"),
    (("val", "val_accuracy"), "val_accuracy", "accuracy"),
    (("val_ema",), "val_accuracy_ema", "accuracy"),
    (("val_unseen", "val_accuracy_unseen"), "val_accuracy_unseen", "accuracy"),
)


@dataclass(frozen=True)
class Series:
    """One curve: ``name`` (``train_loss``, ``val_accuracy``, ``val_accuracy_ema``,
    ``val_accuracy_unseen``), its ``kind`` and the points (accuracies in percent)."""

    name: str
    kind: SeriesKind
    x: tuple[float, ...]
    y: tuple[float, ...]


@dataclass(frozen=True)
class Figure:
    """One headline figure of the card: the score of ``metric`` on the set ``name`` (e.g.
    ``mnist_test``, ``xquad_heldout_en``), in percent (F1 and EM too), over ``n`` items;
    ``role`` says what the set was for (validation chose things; test and report sets never did)."""

    name: str
    metric: Metric
    value: float
    n: int | None
    role: Role


@dataclass(frozen=True)
class ModelHistory:
    """What the committed files say about how model ``key`` was trained.

    ``facts`` holds the numbers the card's prose needs (``n_train``, ``n_val``, ``n_test``,
    ``train_minutes``, ``epochs``, ``steps``, ``total_steps``...; only those found);
    ``sources`` the files read (relative to the repository); ``log_note`` what the log is
    (e.g. regenerated from the recorded run's metrics)."""

    key: str
    folder: str
    x_axis: XAxis = "epoch"
    series: tuple[Series, ...] = ()
    figures: tuple[Figure, ...] = ()
    facts: Mapping[str, float | int | str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    log_note: str = ""

    def curves(self, kind: SeriesKind) -> list[Series]:
        return [s for s in self.series if s.kind == kind]


# ---- reading files, never raising ------------------------------------------------------


def _read_json(path: Path) -> Any:
    """The parsed file, or ``None`` when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _num(value: Any) -> float | None:
    """A finite number, else ``None`` (booleans and strings are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _dig(data: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(k)
    return data


def _int(value: Any) -> int | None:
    v = _num(value)
    return int(v) if v is not None else None


def parse_log(data: Any) -> tuple[XAxis, tuple[Series, ...], str]:
    """The curves of a ``training_log.json`` (either form); entries that are not objects or
    lack a number are skipped. No usable entry gives no series."""
    note = ""
    axis: XAxis = "epoch"
    entries = data
    if isinstance(data, Mapping):
        entries = data.get("entries")
        note = str(data.get("note") or "")
        if data.get("x") == "step":
            axis = "step"
    if not isinstance(entries, list):
        return axis, (), note
    rows = [e for e in entries if isinstance(e, Mapping)]
    if rows and all("step" in e and "epoch" not in e for e in rows):
        axis = "step"
    series: list[Series] = []
    for keys, name, kind in _SERIES_KEYS:
        xs: list[float] = []
        ys: list[float] = []
        for i, e in enumerate(rows):
            x = _num(e.get(axis))
            x = float(i + 1) if x is None and axis == "epoch" else x
            y = next((v for k in keys if (v := _num(e.get(k))) is not None), None)
            if x is None or y is None:
                continue
            xs.append(x)
            ys.append(y * 100 if kind == "accuracy" and y <= 1.0 else y)
        if xs:
            series.append(Series(name, kind, tuple(xs), tuple(ys)))
    return axis, tuple(series), note


def _pct(value: Any) -> float | None:
    """A 0-1 accuracy as percent (a value above 1 is taken as percent already)."""
    v = _num(value)
    if v is None:
        return None
    return v * 100 if v <= 1.0 else v


def _add(figs: list[Figure], name: str, metric: Metric, value: float | None, n: Any, role: Role) -> None:
    if value is not None:
        figs.append(Figure(name, metric, value, _int(n), role))


def _facts(**values: Any) -> dict[str, float | int | str]:
    out: dict[str, float | int | str] = {}
    for k, v in values.items():
        if isinstance(v, str) and v.strip().isdigit():  # a command-line argument kept as text
            out[k] = int(v)
        elif isinstance(v, str) and v:
            out[k] = v
        elif (num := _num(v)) is not None:
            out[k] = int(num) if isinstance(v, int) else round(num, 3)
    return out


# ---- one reader per kind of card ---------------------------------------------------------


Files = dict[str, Any]  # file name -> parsed JSON (only those that parsed)
Reader = Callable[[Files], tuple[list[Figure], dict[str, float | int | str]]]


def _digits(files: Files) -> tuple[list[Figure], dict[str, float | int | str]]:
    cfg, ev = files.get("config.json"), files.get("eval.json")
    figs: list[Figure] = []
    _add(figs, "mnist_val", "accuracy", _pct(_dig(cfg, "val_accuracy")), _dig(cfg, "val_digits"), "validation")
    _add(figs, "mnist_test", "accuracy", _pct(_dig(ev, "accuracy_plain")), _dig(ev, "digits"), "test")
    _add(figs, "mnist_test_canvas", "accuracy", _pct(_dig(ev, "accuracy_simulated_canvas")), _dig(ev, "digits"), "test")
    secs = _num(_dig(cfg, "train_seconds"))
    facts = _facts(
        n_train=_dig(cfg, "train_digits"),
        n_val=_dig(cfg, "val_digits"),
        n_test=_dig(ev, "digits"),
        epochs=_dig(cfg, "epochs"),
        train_minutes=secs / 60 if secs is not None else None,
    )
    return figs, facts


def _sentiment(files: Files) -> tuple[list[Figure], dict[str, float | int | str]]:
    m = files.get("metrics.json")
    figs: list[Figure] = []
    n_val, n_test = _dig(m, "n_val"), _dig(m, "n_test")
    _add(figs, "val", "accuracy", _pct(_dig(m, "val_accuracy")), n_val, "validation")
    _add(figs, "val_unseen", "accuracy", _pct(_dig(m, "val_accuracy_unseen")), _dig(m, "n_val_unseen"), "validation")
    _add(figs, "test", "accuracy", _pct(_dig(m, "test_accuracy")), n_test, "test")
    _add(figs, "test_unseen", "accuracy", _pct(_dig(m, "test_accuracy_unseen")), _dig(m, "n_test_unseen"), "test")
    secs = _num(_dig(m, "wall_seconds")) or _num(_dig(m, "train_seconds_total"))
    stages = _dig(m, "stages")
    facts = _facts(
        n_train=_dig(m, "n_train") or _dig(m, "n_train_heads") or _dig(m, "n_train_distinct"),
        n_val=n_val,
        n_test=n_test,
        n_test_unseen=_dig(m, "n_test_unseen"),
        epochs=len(stages) if isinstance(stages, list) and stages else _dig(m, "args", "epochs"),
        train_minutes=secs / 60 if secs is not None else None,
    )
    return figs, facts


def _qa(files: Files) -> tuple[list[Figure], dict[str, float | int | str]]:
    m = files.get("metrics.json")
    figs: list[Figure] = []
    for lang in ("en", "zh"):
        v = _dig(m, "validation", lang)
        _add(figs, f"qa_val_{lang}", "f1", _num(_dig(v, "f1")), _dig(v, "n"), "validation")
    for name, role in (("xquad_heldout_en", "test"), ("xquad_heldout_zh", "test"), ("squad_dev", "report")):
        r = _dig(m, "report", name)
        _add(figs, name, "em", _num(_dig(r, "em")), _dig(r, "n"), role)  # type: ignore[arg-type]
        _add(figs, name, "f1", _num(_dig(r, "f1")), _dig(r, "n"), role)  # type: ignore[arg-type]
    tf = _dig(m, "trained_from")
    facts = _facts(
        steps=_dig(tf, "step"),
        total_steps=_dig(tf, "total_steps"),
        windows_seen=_dig(tf, "windows_seen"),
        run_windows=_dig(tf, "run_windows"),
        train_minutes=_dig(tf, "train_minutes"),
        final_loss=_dig(tf, "final_loss"),
    )
    return figs, facts


READERS: dict[str, tuple[Reader, tuple[str, ...]]] = {
    "digits-cnn": (_digits, ("config.json", "eval.json")),
    "sentiment-en-minilm": (_sentiment, ("metrics.json",)),
    "sentiment-zh-e5": (_sentiment, ("metrics.json",)),
    "sentiment-zh-char": (_sentiment, ("metrics.json",)),
    "qa-e5": (_qa, ("metrics.json",)),
}


def model_folder(key: str) -> Path | None:
    """The committed folder (``repo:`` location) of registry model ``key``, else ``None``."""
    try:
        entry = registry.get(ALIASES.get(key, key))
    except (KeyError, ValueError):
        return None
    if entry.source != "bundled" or not entry.location.startswith("repo:"):
        return None
    folder = registry.REPO_ROOT / entry.location.removeprefix("repo:")
    return folder if folder.is_dir() else None


def history(key: str, folder: Path | None = None) -> ModelHistory | None:
    """How model ``key`` (a registry key, or ``digits`` / ``sentiment-en`` / ``qa``) was
    trained, from its committed files (``folder`` overrides where they are read: tests).
    ``None`` for a model we did not train (or whose files are all missing or unreadable)."""
    key = ALIASES.get(key, key)
    if key not in READERS:
        return None
    folder = folder if folder is not None else model_folder(key)
    if folder is None or not folder.is_dir():
        return None
    reader, names = READERS[key]
    files: Files = {}
    for name in (*names, LOG_FILE):
        data = _read_json(folder / name)
        if data is not None:
            files[name] = data
    try:
        figs, facts = reader(files)
        axis, series, note = parse_log(files.get(LOG_FILE))
    except (TypeError, ValueError, AttributeError):  # a file of an unexpected shape: what we can
        figs, facts, (axis, series, note) = [], {}, ("epoch", (), "")
    if not figs and not series:
        return None
    try:
        shown = folder.resolve().relative_to(registry.REPO_ROOT)
    except ValueError:
        shown = folder
    read = tuple(str(shown / n) for n in (*names, LOG_FILE) if n in files)
    if axis == "step" and series and "steps" not in facts:
        facts["steps"] = int(max(series[0].x))
    return ModelHistory(
        key=key,
        folder=str(shown),
        x_axis=axis,
        series=series,
        figures=tuple(figs),
        facts=facts,
        sources=read,
        log_note=note,
    )
