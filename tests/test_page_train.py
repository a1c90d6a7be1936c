"""The Train page (issue 24) and "your model" on the Digits and Classification pages.

- the page in both languages with no job, its inputs bound to the URL;
- the pure views on hand-made :class:`core.train.JobStatus` objects: the curves, the
  confusion matrix, the mistakes, every state's and error code's message (en and zh),
  the clamped notes;
- the page against a fake runner (``core.train``'s functions replaced): Train submits for
  this session, the live view shows progress / queue / every end state, never a traceback;
  a finished digits model shows side by side on the Digits page, a sentiment model as a
  line on the Classification page;
- slow: the real runner (``core.train.jobs``) trains a small MLP to ``done`` and the
  Digits page then reads a drawing with it.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core.train as ct
from core.train import EpochPoint, JobStatus, Mistake, TrainError, TrainSpec
from tests.apptest_pages import open_page
from ui.i18n import TABLE
from ui.train_figures import confusion_figure, curve_series, curves_figure, mistake_image

STATES = ("queued", "running", "done", "stopped", "diverged", "timeout", "failed", "lost")
RUNNER = importlib.util.find_spec("core.train.jobs") is not None


def _history(n: int = 3) -> tuple[EpochPoint, ...]:
    pts = []
    for i in range(1, n + 1):
        pts.append(EpochPoint(i - 0.5, 1.0 / i, 0.8 + 0.03 * i, None, None, i * 1.0))
        pts.append(EpochPoint(float(i), 0.8 / i, 0.82 + 0.03 * i, 0.9 / i, 0.81 + 0.03 * i, i * 2.0))
    return tuple(pts)


def _status(state: str = "running", task: str = "digits", **kw) -> JobStatus:
    spec = TrainSpec(task=task, preset="mlp" if task == "digits" else "textcnn", epochs=5, lang="zh")
    labels = tuple(str(d) for d in range(10)) if task == "digits" else ("negative", "positive")
    base = dict(
        id="job-1",
        state=state,
        spec=spec,
        progress=0.4,
        eta_s=12.0,
        elapsed_s=8.0,
        history=_history(2),
        labels=labels,
        mistakes=(
            Mistake("7", "1", 0.83, image=np.zeros((28, 28), np.float32))
            if task == "digits"
            else Mistake("positive", "negative", 0.7, text="还不错，就是物流慢"),
        ),
    )
    if state in ("done", "stopped"):
        k = len(labels)
        conf = tuple(tuple(90 if i == j else (3 if j == (i + 1) % k else 0) for j in range(k)) for i in range(k))
        base.update(confusion=conf, test_accuracy=0.961, shipped_accuracy=0.991, finished_at=time.time() - 150)
        base.update(progress=1.0, eta_s=0.0)
    if state == "queued":
        base.update(queue_position=2, history=(), mistakes=(), progress=0.0)
    if state in ("failed", "diverged", "timeout", "lost"):
        base.update(error={"failed": "no-data"}.get(state, state))
    base.update(kw)
    return JobStatus(**base)


# ---- pure views ------------------------------------------------------------------------


def test_curves_grow_and_skip_missing_validation():
    hist = _history(3)
    s = curve_series(hist)
    assert s["epoch"] == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0] and s["val_loss"][0] is None
    fig = curves_figure(
        hist, epochs=5, titles=("Loss", "Accuracy"), names=("training", "validation"), epoch_label="epoch"
    )
    train_loss, val_loss, train_acc, val_acc = fig.data
    assert list(train_loss.x) == s["epoch"] and list(val_loss.x) == [1.0, 2.0, 3.0]
    assert val_acc.y[-1] == pytest.approx(90.0) and train_acc.y[0] == pytest.approx(83.0)  # percent
    assert tuple(fig.layout.xaxis.range) == (0, 5)  # the whole run from the start: the curve grows into it
    nan = (EpochPoint(1.0, float("nan"), 0.1, None, None, 1.0),)
    assert curve_series(nan)["train_loss"] == [None]  # a diverged point is a gap, not a crash
    assert len(curves_figure((), epochs=3, titles=("a", "b"), names=("c", "d"), epoch_label="e").data) == 4


def test_confusion_figure_counts_and_colours_mistakes_only():
    conf = ((50, 2), (5, 43))
    fig = confusion_figure(conf, ["neg", "pos"], true_label="true", predicted_label="predicted")
    off, diag, text = fig.data
    assert np.isnan(off.z[0][0]) and off.z[1][0] == 5 and off.zmax == 5
    assert list(text.text) == ["50", "2", "5", "43"]
    assert fig.layout.yaxis.autorange == "reversed" and fig.layout.xaxis.title.text == "predicted"
    zero = confusion_figure(((3, 0), (0, 3)), ["a", "b"], true_label="t", predicted_label="p")  # no mistakes
    assert zero.data[0].zmax == 1.0


def test_mistake_image_is_enlarged_with_hard_edges():
    img = np.zeros((28, 28), np.float32)
    img[0, 0] = 1.0
    big = mistake_image(img, 84)
    assert big.shape == (84, 84) and big.dtype == np.uint8 and big[:3, :3].min() == 255 and big[3, 3] == 0


@pytest.fixture(params=["en", "zh"])
def in_lang(request, monkeypatch):
    """Pure views in a language (``ui.i18n.lang`` outside a script run)."""
    import ui.i18n

    monkeypatch.setattr(ui.i18n, "lang", lambda: request.param)
    return request.param


@pytest.mark.parametrize("state", STATES)
def test_every_state_has_a_message_in_both_languages(in_lang, state):
    from ui.train_view import progress_text, state_message

    msg = state_message(_status(state))
    if state == "running":
        assert msg is None
        text = progress_text(_status(state))
        assert ("Epoch 2.0 of 5 · about 12 s left" if in_lang == "en" else "第 2.0 / 5 轮 · 预计还需 12 秒") == text
        return
    kind, text = msg
    assert text and "{" not in text and "Traceback" not in text
    assert kind == {
        "queued": "info",
        "done": "success",
        "stopped": "info",
        "timeout": "warning",
        "lost": "warning",
    }.get(state, "error")
    if in_lang == "zh":
        assert any("\u4e00" <= c <= "\u9fff" for c in text)
    expected = {
        "queued": ("number 2 in the queue", "第 2 位"),
        "done": ("96.1%", "96.1%"),
        "diverged": ("NaN", "NaN"),
        "timeout": ("8 s per job", "8 秒"),
        "failed": ("not on this server", "没有这个任务的训练数据"),
        "lost": ("server restarted", "服务器重启"),
        "stopped": ("Stopped after 2.0 epochs", "第 2.0 轮后停止"),
    }[state]
    assert expected[in_lang == "zh"] in text


def test_errors_and_notes(in_lang):
    from ui.train_view import error_message, notes_text, own_model_name

    for code in ("busy", "queue-full", "no-data", "unknown-job", "bad-spec", "weird"):
        text = error_message(code, "width")
        assert text and "{" not in text
        if in_lang == "zh":
            assert any("\u4e00" <= c <= "\u9fff" for c in text)
    assert "weird" in error_message("weird")
    spec = TrainSpec(width=512, epochs=1, lr=10.0)
    notes = notes_text(("clamped-width", "clamped-epochs", "clamped-lr", "one-thread", "other"), spec)
    assert len(notes) == 4
    assert "512" in notes[0] and "10" in notes[2]
    assert ("Width set to 512" if in_lang == "en" else "宽度已调整为 512") in notes[0]
    st_ = _status("done")
    assert own_model_name(st_) == ("your MLP (trained 2 min ago)" if in_lang == "en" else "你的 MLP（2 分钟前训练）")
    assert own_model_name(replace(st_, finished_at=time.time())) in (
        "your MLP (trained just now)",
        "你的 MLP（刚刚训练）",
    )


def test_every_train_string_has_both_languages():
    keys = [k for k in TABLE if k.startswith("train.") or k == "nav.train"]
    assert len(keys) > 60
    assert all(TABLE[k]["en"] and TABLE[k]["zh"] for k in keys)


# ---- the page --------------------------------------------------------------------------


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [i.value for i in at.info] + [w.value for w in at.warning]
    parts += [c.value for c in at.caption] + [e.value for e in at.error] + [s.value for s in at.success]
    return "\n".join(parts)


@pytest.mark.parametrize(("lang", "idle"), [("en", "press **Train**"), ("zh", "点击 **开始训练**")])
def test_page_renders_without_a_job(lang, idle):
    at = open_page("pages/train.py", lang)
    assert idle in _text(at)
    assert at.button(key="train_stop").disabled and not at.button(key="train_start").disabled
    assert not at.error and not at.exception


def test_inputs_come_from_the_url():
    label = TABLE["train.task.sentiment"]["zh"]  # a bound segmented control keeps its shown label in the URL
    at = open_page("pages/train.py", "zh", task=label, epochs="3", lr="0.01", n_texts="2000")
    assert at.session_state["task"] == "sentiment" and at.radio(key="text_preset").value == "textcnn"
    assert at.slider(key="epochs").value == 3 and at.slider(key="n_texts").value == 2000
    assert at.select_slider(key="lr").value == 0.01
    at = open_page("pages/train.py", "en", epochs="0", width="100000")  # out of range: dropped, defaults kept
    mlp = ct.PRESET_DEFAULTS["mlp"]
    assert at.slider(key="epochs").value == mlp["epochs"] and at.select_slider(key="width").value == mlp["width"]
    assert not at.exception
    at.segmented_control(key="task").set_value("sentiment").run()  # another task: its preset's settings
    textcnn = ct.PRESET_DEFAULTS["textcnn"]
    assert at.radio(key="text_preset").value == "textcnn" and at.select_slider(key="width").value == textcnn["width"]
    assert not at.exception


class FakeRunner:
    """``core.train``'s functions over hand-made statuses."""

    def __init__(self, statuses: list[JobStatus], model=None, submit_error: TrainError | None = None):
        self.statuses, self.model, self.submit_error = statuses, model, submit_error
        self.specs: list[tuple[TrainSpec, str]] = []
        self.cancelled: list[str] = []

    def submit(self, spec, owner):
        if self.submit_error:
            raise self.submit_error
        self.specs.append((spec, owner))
        return "job-1"

    def status(self, job_id):
        if job_id != "job-1":
            raise TrainError("unknown-job")
        return self.statuses[0] if len(self.statuses) == 1 else self.statuses.pop(0)

    def cancel(self, job_id):
        self.cancelled.append(job_id)
        return self.status(job_id)

    def trained_model(self, job_id):
        return self.model

    def install(self, monkeypatch):
        for name in ("submit", "status", "cancel", "trained_model"):
            monkeypatch.setattr(ct, name, getattr(self, name))
        return self


def _train(lang: str = "en", **params) -> AppTest:
    at = open_page("pages/train.py", lang, **params)
    at.button(key="train_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_train_submits_this_sessions_spec_and_shows_progress(monkeypatch):
    fake = FakeRunner([_status("running")]).install(monkeypatch)
    at = _train("en", epochs="7", lr="0.003")
    ((spec, owner),) = fake.specs
    assert spec.task == "digits" and spec.preset == "mlp" and spec.epochs == 7 and spec.lr == 0.003
    assert owner.startswith(("browser-", "st-")) and at.session_state["_train_job"] == "job-1"
    assert at.query_params["job"] == "job-1"  # in the URL: a reconnect after a restart knows it
    text = _text(at)
    assert "Learning curves" in text and "What it still gets wrong" in text and "7 → 1 (83%)" in text
    assert "train_curves" in [c.key for c in at.get("plotly_chart")]
    assert at.button(key="train_start").disabled and not at.button(key="train_stop").disabled
    at.button(key="train_stop").click().run()
    assert fake.cancelled == ["job-1"]


def test_choosing_the_cnn_preset_fills_in_its_settings(monkeypatch):
    at = open_page("pages/train.py", "en")
    at.radio(key="preset").set_value("cnn").run()
    cnn = ct.PRESET_DEFAULTS["cnn"]
    assert at.select_slider(key="width").value == cnn["width"] and at.slider(key="depth").value == cnn["depth"]
    assert at.select_slider(key="lr").value == cnn["lr"] and at.slider(key="epochs").value == cnn["epochs"]
    assert not at.exception


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("state", ["queued", "done", "stopped", "diverged", "timeout", "failed", "lost"])
def test_every_state_on_the_page(monkeypatch, lang, state):
    FakeRunner([_status(state, notes=("clamped-width", "one-thread"))]).install(monkeypatch)
    at = _train(lang)
    text = _text(at)
    assert not at.exception and "Traceback" not in text
    assert ("shared server allows" if lang == "en" else "共享服务器允许") in text
    if state == "done":
        assert "train_confusion" in [c.key for c in at.get("plotly_chart")]
        assert [m.value for m in at.metric] == ["96.1%", "99.1%"]
        assert ("side by side with the shipped CNN" if lang == "en" else "与内置 CNN 并排对比") in str(
            [p.proto for p in at.get("page_link")]
        )
    if state == "queued":
        assert ("number 2 in the queue" if lang == "en" else "第 2 位") in text


@pytest.mark.parametrize("code", ["busy", "queue-full"])
def test_submit_errors_are_said(monkeypatch, code):
    FakeRunner([_status("running")], submit_error=TrainError(code)).install(monkeypatch)
    at = _train("zh")
    assert TABLE[f"train.error.{code}"]["zh"] in _text(at)


def test_a_job_lost_in_a_restart_is_said(monkeypatch):
    FakeRunner([_status("running")]).install(monkeypatch)
    at = _train("en")
    monkeypatch.setattr(ct, "status", lambda job_id: (_ for _ in ()).throw(TrainError("unknown-job")))
    at.run()
    assert "server restarted" in _text(at) and not at.exception
    assert not at.button(key="train_start").disabled


def test_the_visitors_job_from_another_tab_is_shown_and_another_visitors_url_job_is_not(monkeypatch):
    FakeRunner([_status("running")]).install(monkeypatch)
    monkeypatch.setattr(ct, "job_of", lambda owner: "job-1")  # a job this browser started in another tab
    at = open_page("pages/train.py", "en")
    assert at.session_state["_train_job"] == "job-1" and at.query_params["job"] == "job-1"
    assert at.button(key="train_start").disabled and not at.button(key="train_stop").disabled
    monkeypatch.setattr(ct, "job_of", lambda owner: None)
    monkeypatch.setattr(ct, "owner_of", lambda job: "browser-someone-else")  # a shared link's ?job=
    at = open_page("pages/train.py", "en", job="job-1")
    assert "_train_job" not in at.session_state and "press **Train**" in _text(at)
    monkeypatch.setattr(ct, "owner_of", lambda job: None)  # unknown here: lost in a restart
    at = open_page("pages/train.py", "en", job="job-0")
    assert "server restarted" in _text(at) and not at.exception


class FakeDigitsModel:
    labels = tuple(str(d) for d in range(10))

    def predict(self, images):
        assert images.shape[1:] == (28, 28)
        probs = np.full((len(images), 10), 0.02)
        probs[:, 3] = 0.82
        return probs


class FakeTextModel:
    labels = ("negative", "positive")

    def predict(self, texts):
        return np.array([[0.13, 0.87] for _ in texts])


def test_your_digits_model_side_by_side_on_the_digits_page(monkeypatch):
    FakeRunner([_status("done")], model=FakeDigitsModel()).install(monkeypatch)
    at = _train("en")
    at.switch_page("pages/digits.py").run()
    assert not at.exception
    at.query_params["example"] = "7"
    at.pills(key="example").set_value(7).run()
    text = _text(at)
    assert "Side by side with your MLP (trained 2 min ago)" in [tg.label for tg in at.toggle]
    assert "Shipped CNN" in text and "Your MLP (trained 2 min ago)" in text
    assert '800;line-height:1;color:#ff4b4b;">3</span>' in text  # the fake model's reading
    assert {"own_chart_shipped", "own_chart_mine"} <= {c.key for c in at.get("plotly_chart")}
    at.toggle(key="own_side_by_side").set_value(False).run()
    assert "own_chart_mine" not in {c.key for c in at.get("plotly_chart")}


def test_no_side_by_side_without_a_model():
    at = open_page("pages/digits.py", "en", example="7")
    assert "own_side_by_side" not in [tg.key for tg in at.toggle] and not at.exception


def test_your_sentiment_model_on_the_classification_page(monkeypatch):
    FakeRunner([_status("done", task="sentiment")], model=FakeTextModel()).install(monkeypatch)
    at = _train("zh")
    at.switch_page("pages/classify.py").run()
    assert not at.exception
    assert "你的 TextCNN（2 分钟前训练）：正面 87%（用中文评论训练）" in _text(at)


# ---- the real runner -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not RUNNER, reason="core.train.jobs not written yet")
def test_a_short_mlp_run_is_done_and_reads_a_drawing(monkeypatch):
    monkeypatch.setenv("TRAIN_MAX_SECONDS", "60")
    at = _train("en", epochs="2", n_train="1000")
    deadline = time.time() + 90
    while time.time() < deadline:
        got = ct.status(at.session_state["_train_job"])
        if got.state not in ("queued", "running"):
            break
        time.sleep(1)
    assert got.state in ("done", "timeout"), got
    at.run()
    assert not at.exception
    if got.state == "done":
        assert "train_confusion" in [c.key for c in at.get("plotly_chart")]
    at.switch_page("pages/digits.py").run()
    at.pills(key="example").set_value(7).run()
    assert not at.exception
    assert any(tg.key == "own_side_by_side" for tg in at.toggle)
    assert {"own_chart_shipped", "own_chart_mine"} <= {c.key for c in at.get("plotly_chart")}
