"""How the shipped models were trained: ``core.model_history`` reads each model's committed
files (the figures its card states, the training curves where a log exists), stays calm on
missing or garbled files, and the "How this model was trained" expander renders in English
and Chinese (AppTest of the Digits page)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.model_history import history, model_folder, parse_log
from core.registry import REPO_ROOT
from ui.i18n import TABLE


def _fig(h, name: str, metric: str = "accuracy") -> float:
    return next(f.value for f in h.figures if f.name == name and f.metric == metric)


def _card(folder: str) -> str:
    return (REPO_ROOT / "models" / folder / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_digits_history_matches_card():
    h = history("digits")
    assert h is not None and h.key == "digits-cnn" and h.x_axis == "epoch"
    card = _card("digits")
    assert f"{_fig(h, 'mnist_test'):.2f} %" == "99.49 %" and "**99.49 %**" in card
    assert f"{_fig(h, 'mnist_test_canvas'):.2f} %" == "99.44 %" and "**99.44 %**" in card
    assert f"{_fig(h, 'mnist_val'):.2f} %" == "99.40 %" and "99.40 %" in card
    assert {f.role for f in h.figures if f.name.startswith("mnist_test")} == {"test"}
    names = {s.name: s for s in h.series}
    assert set(names) == {"train_loss", "val_accuracy", "val_accuracy_ema"}
    assert len(names["train_loss"].x) == h.facts["epochs"] == 24  # the card's 24 epochs
    assert names["val_accuracy_ema"].y[-1] == pytest.approx(99.4, abs=0.05)  # the EMA ships: its last validation
    assert h.facts["n_train"] == 9000 and h.facts["n_val"] == 1000 and h.facts["n_test"] == 10000
    assert "models/digits/training_log.json" in h.sources


def test_sentiment_en_history_matches_card():
    h = history("sentiment-en-minilm")
    assert h is not None
    card = _card("sentiment-en")
    assert f"{_fig(h, 'test'):.1f} %" == "83.1 %" and "83.1 %" in card
    assert h.facts["n_test"] == 1067 and "1,067" in card
    (val,) = h.curves("accuracy")
    assert val.x == (1.0, 2.0, 3.0)  # three one-epoch stages: val 80.9 %, 82.6 %, 83.1 % in the card
    assert list(val.y) == pytest.approx([80.9, 82.6, 83.1], abs=0.051)
    assert all(f"val {y} %" in card for y in ("80.9", "82.6", "83.1"))
    assert not h.curves("loss")  # that run did not record it: nothing invented
    assert "regenerated" in h.log_note


def test_sentiment_zh_e5_history_matches_card_without_a_log():
    h = history("sentiment-zh-e5")
    assert h is not None and h.series == ()  # no per-epoch log from the recorded run: the card's figures only
    card = _card("sentiment-zh-e5")
    assert f"{_fig(h, 'test'):.2f} %" == "87.53 %" and "**87.53 %**" in card
    assert f"{_fig(h, 'test_unseen'):.2f} %" == "85.35 %" and "**85.35 %**" in card
    assert h.facts["n_train"] == 4000 and h.facts["n_test_unseen"] == 662


def test_qa_history_matches_card():
    h = history("qa-e5")
    assert h is not None and h.x_axis == "step"
    card = _card("qa-e5")
    for name, metric, shown in (
        ("xquad_heldout_en", "f1", "**75.8**"),
        ("xquad_heldout_en", "em", "**62.7**"),
        ("xquad_heldout_zh", "f1", "**79.9**"),
        ("xquad_heldout_zh", "em", "**69.7**"),
        ("qa_val_en", "f1", "**79.6**"),
        ("qa_val_zh", "f1", "**83.8**"),
    ):
        assert f"**{_fig(h, name, metric):.1f}**" == shown and shown in card, (name, metric)
    assert f"{_fig(h, 'squad_dev', 'f1'):.1f}" == "83.2" and "EM 74.2 / F1 83.2" in card
    assert {f.role for f in h.figures if f.name == "squad_dev"} == {"report"}
    (loss,) = h.curves("loss")
    assert loss.x[0] == 20 and max(loss.x) <= h.facts["steps"] == 4730  # only the shipped run's steps
    assert loss.y[-1] == pytest.approx(h.facts["final_loss"], abs=0.05)
    assert round(h.facts["train_minutes"]) == 488 and "4,730 steps" in card and "488 min in all" in card


def test_not_ours_or_unknown_gives_none():
    assert history("minilm") is None  # a bundled encoder we did not train
    assert history("qa-distilbert-squad") is None  # a Hub model
    assert history("no-such-model") is None
    assert model_folder("no-such-model") is None


def _copy(tmp_path: Path, folder: str) -> Path:
    dst = tmp_path / folder
    dst.mkdir()
    for f in (REPO_ROOT / "models" / folder).glob("*.json"):
        shutil.copy(f, dst / f.name)
    return dst


def test_missing_files_give_none_or_fewer_fields(tmp_path):
    assert history("digits", folder=tmp_path / "absent") is None
    empty = tmp_path / "empty"
    empty.mkdir()
    assert history("digits", folder=empty) is None
    d = _copy(tmp_path, "digits")
    (d / "eval.json").unlink()
    h = history("digits", folder=d)
    assert h is not None and {f.name for f in h.figures} == {"mnist_val"} and "n_test" not in h.facts
    (d / "config.json").unlink()
    (d / "training_log.json").unlink()
    assert history("digits", folder=d) is None


@pytest.mark.parametrize(
    "garbage",
    ["", "{not json", "null", "[1, 2, 3]", '{"entries": "x"}', '[{"epoch": "one", "loss": null}]', "\xff\xfe"],
)
def test_garbled_log_gives_figures_only(tmp_path, garbage):
    d = _copy(tmp_path, "digits")
    (d / "training_log.json").write_bytes(garbage.encode("latin-1"))
    h = history("digits", folder=d)
    assert h is not None and h.series == () and len(h.figures) == 3


def test_garbled_metrics_keep_what_is_readable(tmp_path):
    d = _copy(tmp_path, "qa-e5")
    m = json.loads((d / "metrics.json").read_text())
    m["report"] = "lost"
    m["validation"]["en"] = {"f1": "seventy", "n": None}
    m["trained_from"] = [1, 2]
    (d / "metrics.json").write_text(json.dumps(m))
    h = history("qa-e5", folder=d)
    assert h is not None
    assert {f.name for f in h.figures} == {"qa_val_zh"}
    assert h.curves("loss") and h.facts.get("steps") == max(h.curves("loss")[0].x)
    (d / "metrics.json").write_text('{"validation": {"en": {"f1": NaN}}}')
    h = history("qa-e5", folder=d)
    assert h is not None and h.figures == ()  # the log alone
    (d / "metrics.json").write_text("[]")
    (d / "training_log.json").unlink()
    assert history("qa-e5", folder=d) is None


def test_parse_log_both_forms():
    axis, series, note = parse_log([{"epoch": 1, "loss": 0.5, "val": 0.9}, {"epoch": 2, "loss": 0.4, "val": 0.95}])
    assert axis == "epoch" and note == ""
    assert {s.name: s.y for s in series} == {"train_loss": (0.5, 0.4), "val_accuracy": (90.0, 95.0)}
    axis, series, note = parse_log({"x": "step", "note": "n", "entries": [{"step": 20, "loss": 2.0}, "junk"]})
    assert axis == "step" and note == "n" and series[0].x == (20.0,)


def test_training_scripts_write_logs(tmp_path):
    """The sentiment scripts' log writers produce what ``core.model_history`` reads (no training)."""
    import numpy as np

    from training.qa import loss_log
    from training.sentiment_en import write_log
    from training.sentiment_zh_e5 import train_mlp

    write_log(tmp_path, [{"epoch": 1, "train_loss": 0.6, "val_accuracy": 0.8}], "note")
    axis, series, _ = parse_log(json.loads((tmp_path / "training_log.json").read_text()))
    assert [s.name for s in series] == ["train_loss", "val_accuracy"]
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 6)).astype("float32"), rng.integers(0, 2, 64)
    log: list[dict] = []
    train_mlp(x, y, x[:16], y[:16], [0, 1, 2], 8, seed=0, epochs=3, log=log)
    assert [e["epoch"] for e in log] == [1, 2, 3]
    _, series, _ = parse_log({"x": "epoch", "entries": log})
    assert {s.name for s in series} == {"train_loss", "val_accuracy", "val_accuracy_unseen"}
    assert [e["step"] for e in loss_log([1.0] * 45)] == [20, 40]


def test_every_history_string_has_both_languages():
    keys = [k for k in TABLE if k.startswith("history.")]
    assert len(keys) > 40
    assert all(TABLE[k].get("en") and TABLE[k].get("zh") for k in keys)


@pytest.mark.parametrize(
    ("lang", "title", "rule"),
    [
        ("en", "How this model was trained", "never used for training or selection"),
        ("zh", "这个模型是怎样训练的", "从未用于训练或挑选模型"),
    ],
)
def test_expander_renders_on_digits_page(lang, title, rule):
    from tests.apptest_pages import open_page

    at = open_page("pages/digits.py", lang, timeout=120)
    (exp,) = [e for e in at.expander if title in e.label]
    text = "\n".join(m.value for m in exp.markdown) + "\n".join(c.value for c in exp.caption)
    assert rule in text and "10,000" in text
    assert "history_chart_digits-cnn" in [c.key for c in at.get("plotly_chart")]
    (table,) = exp.dataframe
    assert "99.49 %" in table.value.to_string()
