"""Holding a crowd: queue notices through the model lock hooks, per-session rate limit,
friendly errors instead of tracebacks, background warm-up."""

import threading

from streamlit.testing.v1 import AppTest

from core import loaders, warmup


def test_forward_hooks_report_queue_position_then_clear():
    lock = loaders.QueuedLock()
    seen: list[int] = []
    before_calls: list[int] = []
    holder_in, release = threading.Event(), threading.Event()

    def holder():
        with lock:
            holder_in.set()
            release.wait(10)  # held until the second caller is seen waiting: no timing race

    def on_wait(position: int) -> None:
        seen.append(position)
        if position:
            release.set()

    t = threading.Thread(target=holder)
    t.start()
    holder_in.wait(5)
    with loaders.forward_hooks(before=lambda: before_calls.append(1), on_wait=on_wait):
        with lock:
            pass
    t.join()
    assert seen == [1, 0] and before_calls == [1]
    with lock:  # outside the block no hook is called
        pass
    assert seen == [1, 0]


def _rate_script():
    import streamlit as st

    from core.loaders import QueuedLock
    from ui.errors import friendly_errors

    lock = QueuedLock()
    for i in range(4):
        with friendly_errors():
            with lock:  # a model forward pass
                st.write(f"prediction {i}")


def test_rate_limit_becomes_a_friendly_message(monkeypatch):
    monkeypatch.setenv("DEMO_RATE_LIMIT", "3")
    at = AppTest.from_function(_rate_script, default_timeout=30)
    at.run()
    assert not at.exception
    written = [m.value for m in at.markdown]
    assert written == ["prediction 0", "prediction 1", "prediction 2"]
    assert len(at.warning) == 1 and "3" in at.warning[0].value
    at.run()  # still limited on the next run: nothing predicted
    assert [m.value for m in at.markdown] == [] and len(at.warning) == 4


def _error_script():
    from core.loaders import load
    from ui.errors import friendly_errors

    with friendly_errors():
        load("qa-roberta-squad2")  # not cached, offline
    with friendly_errors():
        raise RuntimeError("boom")


def test_errors_become_messages_not_tracebacks(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    at = AppTest.from_function(_error_script, default_timeout=30)
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 2
    assert "RoBERTa" in errors[0] and "boom" not in errors[1]


def test_warm_defaults_loads_the_offline_defaults():
    warmed = warmup.warm_defaults()
    assert "qa-e5" in warmed and "e5-small (attention)" in warmed
    assert "qa-e5" in loaders.loaded_models()


def test_background_warmup_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("DEMO_WARMUP", "0")
    monkeypatch.setattr(warmup, "_started", threading.Event())
    assert warmup.start_background_warmup() is False
