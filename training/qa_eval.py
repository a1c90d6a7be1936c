"""Scoring the span QA model the way the app answers, choosing what ships, and the reports.

- :func:`evaluate`: EM / F1 per language and per source with the app's own decoder
  (``core.qa.answer_with_bundle``, the shipped inference window);
- :func:`validation_sample`: the fixed validation questions every choice is made on;
- :func:`ship_if_better`: scores a trained model and the shipped one on that sample and
  exports the new one only when it is better (see :func:`better`);
- :func:`report`: the held-out XQuAD test (articles 24-47) and all of SQuAD 1.1 dev, for the
  shipped model (PyTorch fp32, or as served: :func:`evaluate_served`); read once per shipped
  model, never used for a choice.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training import qa_data

# Windows the app answers with (core.qa reads them from the exported config.json). Chosen on
# validation (XQuAD 20-23 + CMRC/DRCD/COVID validation, F1 en / zh): 384/128 68.3 / 69.9,
# 512/128 67.3 / 67.0, 320/128 68.5 / 72.7, 256/96 68.3 / 76.9, 192/64 69.0 / 76.4,
# 256/128 70.4 / 77.5 (the first model was trained on 192-token windows; training now uses
# the same 256/128 windows).
INFER_WINDOW = {"max_length": 256, "stride": 128}

# validation questions scored per source: a few hundred from held-out SQuAD-train and
# CMRC-train articles (enough to tell models apart), every XQuAD 20-23 one, fewer of the
# long COVID-QA articles (about 60 windows each)
VAL_PER_SOURCE = {
    "squad_train_v1.1": 400,
    "cmrc2018_train": 200,
    "xquad.en": 1000,
    "xquad.zh": 1000,
    "cmrc2018_dev": 120,
    "drcd_test": 120,
    "covid_qa": 12,
}
VAL_SEED = 8


class _Bundle:
    """What ``core.qa.answer_with_bundle`` needs: model, tokenizer, device, a lock and the
    inference window."""

    def __init__(self, model: Any, tok: Any) -> None:
        self.model, self.preprocessor, self.device, self.lock = model, tok, torch.device("cpu"), threading.Lock()
        self.meta = {"window_tokens": INFER_WINDOW["max_length"], "window_stride": INFER_WINDOW["stride"]}


def predict(model: Any, tok: Any, examples: list[qa_data.Example]) -> list[tuple[str, float]]:
    """The app's own answering (``core.qa.answer_with_bundle``) on each example: (text, score)."""
    return _predict_with(_Bundle(model, tok), examples)


def _predict_with(bundle: Any, examples: list[qa_data.Example]) -> list[tuple[str, float]]:
    """:func:`predict` with any loaded span-model bundle (training's own, or the app's)."""
    from core.qa import answer_with_bundle

    out = []
    for ex in examples:
        best = answer_with_bundle(bundle, ex.question, ex.context, top_k=1).answers
        out.append((best[0].text, best[0].score) if best else ("", 0.0))
    return out


def summary(pairs: list[tuple[float, float]]) -> dict:
    """Count, mean exact match and mean F1 (percent) of (em, f1) pairs."""
    return {
        "n": len(pairs),
        "em": 100 * float(np.mean([x[0] for x in pairs])) if pairs else 0.0,
        "f1": 100 * float(np.mean([x[1] for x in pairs])) if pairs else 0.0,
    }


def evaluate(model: Any, tok: Any, examples: list[qa_data.Example]) -> dict:
    """EM / F1 (percent) per language and per source, plus every prediction's score and F1."""
    model.eval()
    return _scored(examples, predict(model, tok, examples))


def _scored(examples: list[qa_data.Example], preds: list[tuple[str, float]]) -> dict:
    """:func:`evaluate`'s result for the predictions ``preds`` (text, score) of ``examples``."""
    groups: dict[str, list[tuple[float, float]]] = {}
    rows = []
    for ex, (text, sc) in zip(examples, preds):
        em, f1 = qa_data.score(text, [a for a, _ in ex.answers], ex.lang)
        groups.setdefault(ex.lang, []).append((em, f1))
        groups.setdefault(ex.source, []).append((em, f1))
        rows.append({"lang": ex.lang, "score": sc, "f1": f1, "em": em, "pred": text, "len": len(text)})
    return {"scores": {key: summary(v) for key, v in groups.items()}, "rows": rows}


def calibrate_threshold(rows: list[dict]) -> dict:
    """The answer probability under which the page says the passage may not hold the
    answer: the highest threshold that flags at most 10 % of the validation answers
    that are right (F1 >= 0.5), and what share of wrong ones it flags."""
    right = sorted(r["score"] for r in rows if r["f1"] >= 0.5)
    wrong = [r["score"] for r in rows if r["f1"] < 0.5]
    thr = right[int(0.1 * len(right))] if right else 0.0
    caught = float(np.mean([s < thr for s in wrong])) if wrong else 0.0
    return {"threshold": float(thr), "right_flagged": 0.1, "wrong_flagged": caught}


def validation_sample(validation: list[qa_data.Example], seed: int = VAL_SEED) -> list[qa_data.Example]:
    """The fixed validation questions (:data:`VAL_PER_SOURCE`, shuffled with ``seed``)."""
    rng = random.Random(seed)
    out = []
    for source, n in VAL_PER_SOURCE.items():
        exs = [e for e in validation if e.source == source]
        rng.shuffle(exs)
        out += exs[:n]
    return out


def sample_id(examples: list[qa_data.Example]) -> str:
    """A short fingerprint of a question sample and the inference window it is scored with."""
    h = hashlib.sha256(json.dumps(INFER_WINDOW, sort_keys=True).encode())
    for e in examples:
        h.update(e.id.encode())
    return h.hexdigest()[:16]


def better(new: dict, old: dict, max_zh_drop: float = 1.0) -> bool:
    """Does ``new`` (validation scores by language) beat ``old``: a higher mean of English and
    Chinese F1, with Chinese F1 at most ``max_zh_drop`` lower (no Chinese regression for
    English gains)?"""
    mean_new = (new["en"]["f1"] + new["zh"]["f1"]) / 2
    mean_old = (old["en"]["f1"] + old["zh"]["f1"]) / 2
    return mean_new > mean_old and new["zh"]["f1"] >= old["zh"]["f1"] - max_zh_drop


def load_exported(folder: Path) -> Any:
    from transformers import BertForQuestionAnswering

    from core import e5

    return e5.build_model(
        BertForQuestionAnswering, weights=folder / "layers.safetensors", config_overrides={"num_labels": 2}
    )


def shipped_validation(out: Path, tok: Any, val: list[qa_data.Example]) -> dict:
    """The shipped model's validation scores on ``val``: from its metrics.json when they were
    computed on the same sample, else scored now (and remembered there)."""
    metrics_path = out / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    sid = sample_id(val)
    if metrics.get("validation_sample") == sid:
        return metrics["validation"]
    if sid in metrics.get("validation_by_sample", {}):
        return metrics["validation_by_sample"][sid]
    t0 = time.time()
    scores = evaluate(load_exported(out), tok, val)["scores"]
    print(f"shipped model scored on the validation sample in {time.time() - t0:.0f} s: {_brief(scores)}", flush=True)
    metrics.setdefault("validation_by_sample", {})[sid] = scores
    metrics_path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    return scores


def _brief(scores: dict) -> str:
    return ", ".join(f"{k} {v['f1']:.1f}" for k, v in scores.items())


def write_export(out: Path, model: Any, metrics: dict) -> None:
    """``layers.safetensors`` (fp16: every trained weight, not the shared word embeddings),
    ``config.json`` and ``metrics.json`` into ``out``, each written whole then renamed."""
    from safetensors.torch import save_file

    from core import e5

    out.mkdir(parents=True, exist_ok=True)
    state = e5.trainable_state(model, torch.float16)
    trained = set(metrics["trained"])
    tmp = out / "layers.safetensors.tmp"
    save_file({k: v.contiguous() for k, v in state.items() if k in trained}, str(tmp))
    tmp.replace(out / "layers.safetensors")
    frozen = sorted(
        {".".join(k.split(".")[1:4]) if ".layer." in k else "embeddings" for k in state if k not in trained}
    )
    config = {
        "architectures": ["BertForQuestionAnswering"],
        "num_labels": 2,
        "base": "e5-small",
        "frozen": frozen,
        "inference_window": INFER_WINDOW,
    }
    for name, obj in (("config.json", config), ("metrics.json", metrics)):
        tmp = out / (name + ".tmp")
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False))
        tmp.replace(out / name)


REPORT_SETS = ("xquad_heldout_en", "xquad_heldout_zh", "squad_dev")


def evaluate_served(examples: list[qa_data.Example]) -> tuple[dict, str]:
    """EM / F1 per language of ``qa-e5`` as the app serves it (``core.loaders.load``: the
    OpenVINO build its guard chose where one is current for these weights, else PyTorch),
    every window read as in :func:`evaluate`; and what it ran on (``"openvino int8"``)."""
    from core import loaders

    scores = _scored(examples, _predict_with(loaders.load("qa-e5"), examples))["scores"]
    scores = {lang: scores[lang] for lang in sorted({ex.lang for ex in examples})}  # not per source
    runtime, precision, note = loaders.loaded_runtimes()["qa-e5"]
    return scores, f"{runtime} {precision}" + (f" ({note})" if note else "")


def report(
    out: Path,
    tok: Any,
    data: Path,
    squad_dev_limit: int = 0,
    sets: tuple[str, ...] = REPORT_SETS,
    served: Path | None = None,
) -> dict:
    """Held-out XQuAD 24-47 (en, zh) and SQuAD 1.1 dev (all, or the first
    ``squad_dev_limit`` questions) of the model in ``out`` (PyTorch fp32, the app's decoding of
    every window), each of ``sets`` written into its metrics.json as it is scored. With
    ``served`` (the app's own ``models/qa-e5``, which ``out`` must be) the model is read as the
    app serves it (:func:`evaluate_served`) and each entry names its ``runtime``."""
    if served is not None and out.resolve() != served.resolve():
        raise SystemExit(f"--served scores the app's model ({served}), not {out}")
    model = None if served is not None else load_exported(out)
    rep: dict[str, Any] = {}
    for name in sets:
        if name == "squad_dev":
            exs = qa_data.squad_dev(data)
            exs = exs[:squad_dev_limit] if squad_dev_limit else exs
        else:
            exs = qa_data.heldout(name.rsplit("_", 1)[1], data)
        t0 = time.time()
        if model is None:
            scores, runtime = evaluate_served(exs)
            served_on = {"runtime": runtime}
        else:
            scores, served_on = evaluate(model, tok, exs)["scores"], {}
        rep[name] = scores[exs[0].lang] | {"seconds": round(time.time() - t0, 1)} | served_on
        print(name, rep[name], flush=True)
        metrics_path = out / "metrics.json"  # read again: another process may report other sets
        metrics = json.loads(metrics_path.read_text())
        metrics.setdefault("report", {})[name] = rep[name]
        metrics_path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    return rep
