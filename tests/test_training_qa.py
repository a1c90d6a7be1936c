"""training.qa: languages of the data files, window labels, resume that refuses a changed plan
and continues exactly where it stopped, and shipping only a better model. Runs on a tiny data
folder with the real e5 encoder and tokenizer (a few training steps of short windows)."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
import torch

from training import qa_data

pytestmark = pytest.mark.slow

EN = [
    ("The Eiffel Tower is in Paris. It was finished in 1889 for the World's Fair.", "When was it finished?", "1889"),
    ("Marie Curie won two Nobel Prizes, in physics and in chemistry.", "How many Nobel Prizes?", "two"),
    (
        "The Nile flows north into the Mediterranean Sea through Egypt.",
        "Where does the Nile flow into?",
        "Mediterranean Sea",
    ),
]
ZH = [
    ("长城位于中国北部，全长两万多公里，是古代的防御工程。", "长城位于哪里？", "中国北部"),
    ("李白是唐朝著名的诗人，被称为诗仙。", "李白被称为什么？", "诗仙"),
]


def _article(items: list[tuple[str, str, str]], title: str) -> dict:
    paragraphs = []
    for i, (ctx, q, a) in enumerate(items):
        qas = [{"id": f"{title}-{i}", "question": q, "answers": [{"text": a, "answer_start": ctx.index(a)}]}]
        paragraphs.append({"context": ctx, "qas": qas})
    return {"title": title, "paragraphs": paragraphs}


def _write(folder: Path, name: str, articles: list[dict]) -> None:
    with gzip.open(folder / f"{name}.json.gz", "wt", encoding="utf-8") as f:
        json.dump({"data": articles, "version": "tiny"}, f, ensure_ascii=False)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every file ``qa_data.splits`` reads, tiny; SQuAD train has 427 articles so that article
    426 is English validation, CMRC train 2104 so that 2103 is Chinese validation."""
    folder = tmp_path_factory.mktemp("qa-data")
    held = [_article([], f"x{i}") for i in range(1, 24)]  # XQuAD 24-47: the held-out test
    _write(folder, "xquad.en", [_article(EN[:1], "xquad.en"), *held, _article(EN[1:2], "xt")])
    _write(folder, "xquad.zh", [_article(ZH[:1], "xquad.zh"), *held, _article(ZH[1:], "xt")])
    _write(folder, "covid_qa", [_article(EN[:1], "covid_qa")])
    _write(folder, "squad_dev_v1.1", [_article(EN, "dev")])
    for name in ("cmrc2018_trial", "drcd_dev"):
        _write(folder, name, [_article(ZH[:1], name)])
    for name in ("cmrc2018_dev", "drcd_test"):
        _write(folder, name, [_article(ZH[1:], name)])  # all validation (fewer than 250 questions)
    squad = [_article(EN[:2], "squad-0")] + [_article([], f"s{i}") for i in range(1, 426)] + [_article(EN[2:], "v")]
    _write(folder, "squad_train_v1.1", squad)
    cmrc = [_article(ZH[1:], "c0")] + [_article([], f"c{i}") for i in range(1, 2103)] + [_article(ZH[:1], "cv")]
    _write(folder, "cmrc2018_train", cmrc)
    return folder


def test_languages_are_fixed_per_file(tiny_data: Path) -> None:
    assert {e.lang for _, exs in qa_data.load("squad_train_v1.1", tiny_data) for e in exs} == {"en"}
    assert {e.lang for _, exs in qa_data.load("cmrc2018_train", tiny_data) for e in exs} == {"zh"}
    with pytest.raises(KeyError, match="LANGUAGE"):
        qa_data.load("some_new_set", tiny_data)
    sp = qa_data.splits(tiny_data)
    val = {(e.source, e.answers[0][0]) for e in sp["validation"]}
    assert ("squad_train_v1.1", "Mediterranean Sea") in val and ("cmrc2018_train", "中国北部") in val
    assert not any(e.source == "squad_train_v1.1" and e.answers[0][0] == "Mediterranean Sea" for e in sp["train"])
    # English is scored as SQuAD (words), Chinese as CMRC (characters)
    assert qa_data.score("the Mediterranean", ["Mediterranean Sea"], "en")[1] == pytest.approx(2 / 3)
    assert qa_data.score("中国", ["中国北部"], "zh")[1] == pytest.approx(2 * 2 / 6)


def test_windows_label_the_answer_tokens() -> None:
    from core import e5
    from training.qa_features import collate, featurize

    tok = e5.tokenizer()
    long_ctx = " ".join(["Filler sentence about nothing in particular."] * 60) + " The capital of Peru is Lima."
    exs = [qa_data.Example("a", q, c, ((a, c.index(a)),), "en", "t") for c, q, a in [*EN, *ZH]] + [
        qa_data.Example("b", "What is the capital of Peru?", long_ctx, (("Lima", long_ctx.index("Lima")),), "en", "t")
    ]
    feats = featurize(exs, tok, 64, 32, neg_keep=1.0, rng=random.Random(0), neg_keep_long=1.0)
    assert feats.count > len(exs)  # the long passage gives several windows
    assert feats.ids.dtype.name == "int32" and len(feats.offsets) == feats.count + 1
    answers = {a for _, a in [(0, e.answers[0][0]) for e in exs]}
    found = set()
    for i in range(feats.count):
        ids = feats.ids[feats.offsets[i] : feats.offsets[i + 1]].tolist()
        s, e = int(feats.starts[i]), int(feats.ends[i])
        if s == 0:
            assert e == 0
            continue
        found.add(tok.decode(ids[s : e + 1]).strip())
    assert found == answers
    ids, mask, starts, ends = collate(feats, [0, feats.count - 1], tok.pad_token_id)
    assert ids.shape == mask.shape and ids.shape[0] == 2 and starts.shape == (2,)


def _run(tiny_data: Path, run: Path, *extra: str) -> None:
    from training import qa

    base = ["--data", str(tiny_data), "--run", str(run), "--init-from", "base", "--batch", "2", "--epochs", "2"]
    qa.main([*base, "--threads", "1", *extra])


def _weights(run: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    return {**state["model"], **{"ema." + k: v for k, v in state["ema"].items()}}


def test_resume_continues_exactly_and_refuses_a_changed_plan(tiny_data: Path, tmp_path: Path) -> None:
    straight, split = tmp_path / "straight", tmp_path / "split"
    _run(tiny_data, straight, "--max-steps", "4")
    _run(tiny_data, split, "--max-steps", "2")
    state = torch.load(split / "checkpoint.pt", weights_only=False)
    assert state["step"] == 2 and state["plan"]["lr"] == 5e-5 and state["plan"]["batch"] == 2
    with pytest.raises(SystemExit, match="--resume"):
        _run(tiny_data, split, "--max-steps", "4")  # an existing run is never restarted silently
    with pytest.raises(SystemExit, match="--lr"):
        _run(tiny_data, split, "--resume", "--lr", "1e-3", "--max-steps", "4")
    _run(tiny_data, split, "--resume", "--max-steps", "4")
    a, b = _weights(straight), _weights(split)
    assert torch.load(split / "checkpoint.pt", weights_only=False)["step"] == 4
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed training differs from an uninterrupted one"
    assert any(not torch.equal(state["model"][k], b[k]) for k in state["model"])  # steps 3-4 trained


def test_ship_exports_only_a_better_model(tiny_data: Path, tmp_path: Path) -> None:
    from training import qa, qa_eval

    run, out = tmp_path / "run", tmp_path / "out"
    _run(tiny_data, run, "--max-steps", "2")
    qa.main(["--data", str(tiny_data), "--run", str(run), "--out", str(out), "--ship", "--threads", "1"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / "layers.safetensors").exists() and metrics["trained_from"]["step"] == 2
    assert set(metrics["validation"]) >= {"en", "zh", "squad_train_v1.1", "cmrc2018_train"}
    config = json.loads((out / "config.json").read_text())
    assert config["inference_window"] == qa_eval.INFER_WINDOW and "encoder.layer.0" in config["frozen"]
    model = qa_eval.load_exported(out)  # loads strictly through core.e5.build_model
    assert model.qa_outputs.weight.shape == (2, 384)
    stamp = (out / "layers.safetensors").stat().st_mtime_ns
    ship = ["--data", str(tiny_data), "--run", str(run), "--out", str(out), "--ship", "--threads", "1"]
    for shipped_f1, exported in ((100.0, False), (0.0, True)):  # the shipped model's validation F1
        for lang in ("en", "zh"):
            metrics["validation"][lang]["f1"] = shipped_f1
        (out / "metrics.json").write_text(json.dumps(metrics))
        qa.main(ship)
        assert ((out / "layers.safetensors").stat().st_mtime_ns != stamp) == exported
    assert json.loads((out / "metrics.json").read_text())["history"][-1]["validation"]["en"]["f1"] == 0.0
    # the report: held-out XQuAD (articles 24+ only) and SQuAD dev, into the shipped metrics
    qa.main(["--data", str(tiny_data), "--out", str(out), "--report", "--threads", "1"])
    rep = json.loads((out / "metrics.json").read_text())["report"]
    assert {k: v["n"] for k, v in rep.items()} == {"xquad_heldout_en": 1, "xquad_heldout_zh": 1, "squad_dev": 3}
    with pytest.raises(SystemExit, match="scores the app's model"):  # "as served" is the app's model only
        qa.main(["--data", str(tiny_data), "--out", str(out), "--report", "--served", "--threads", "1"])


def test_served_scoring_reads_the_app_model_and_names_its_runtime() -> None:
    """``--report --served``: the app's qa-e5 as loaded (OpenVINO where built), official scoring."""
    from training import qa_eval

    exs = [
        qa_data.Example(
            "en1", "Who wrote it?", "It was written by Jane Austen in 1813.", (("Jane Austen", 18),), "en", "t"
        ),
        qa_data.Example(
            "en2", "When was it written?", "It was written by Jane Austen in 1813.", (("1813", 33),), "en", "t"
        ),
        qa_data.Example(
            "zh1", "长城有多长？", "长城全长两万一千多公里，横跨中国北方。", (("两万一千多公里", 4),), "zh", "t"
        ),
    ]
    scores, runtime = qa_eval.evaluate_served(exs)
    assert {lang: s["n"] for lang, s in scores.items()} == {"en": 2, "zh": 1}
    assert scores["en"]["em"] == 100.0 and scores["zh"]["f1"] > 50
    assert runtime.split()[0] in ("openvino", "pytorch")


def test_recover_continues_a_lost_run_from_its_shipped_weights(tiny_data: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    from training import qa

    run, out, other = tmp_path / "run", tmp_path / "out", tmp_path / "other"
    _run(tiny_data, run, "--max-steps", "2")
    qa.main(["--data", str(tiny_data), "--run", str(run), "--out", str(out), "--ship", "--threads", "1"])
    (run / "checkpoint.pt").unlink()  # a new machine: the run's folder is gone, the export is not
    with pytest.raises(SystemExit, match="was not shipped by"):
        _run(tiny_data, other, "--out", str(out), "--recover", "--max-steps", "3")
    layers = load_file(out / "layers.safetensors")
    bias = next(k for k in layers if k.endswith("qa_outputs.bias"))
    layers[bias] = torch.full_like(layers[bias], 5.0)  # mark the shipped weights
    save_file(layers, out / "layers.safetensors")
    _run(tiny_data, run, "--out", str(out), "--recover", "--max-steps", "3")
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["step"] == 3 and state["recovered_at"] == 2 and len(state["losses"]) == 3
    head = next(v for k, v in state["model"].items() if k.endswith("qa_outputs.bias"))
    assert torch.allclose(head.float(), torch.full_like(head.float(), 5.0), atol=0.01)  # went on from the export
    assert state["plan"]["init_from"] == "base" and state["plan"]["batch"] == 2  # the run's own plan
    _run(tiny_data, run, "--out", str(out), "--resume", "--max-steps", "4")  # then a normal resume
    assert torch.load(run / "checkpoint.pt", weights_only=False)["step"] == 4


def test_better_needs_a_higher_mean_and_no_chinese_drop() -> None:
    from training.qa_eval import better

    def s(en: float, zh: float) -> dict:
        return {"en": {"f1": en}, "zh": {"f1": zh}}

    assert better(s(80, 75), s(75, 75))
    assert not better(s(75, 75), s(75, 75))
    assert not better(s(90, 73), s(75, 75))  # English gains do not pay for a Chinese loss
    assert better(s(80, 74.5), s(75, 75))
