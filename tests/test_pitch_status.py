"""Pitch mode and the system-check page (AppTest, both languages)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import health, registry
from ui import pitch

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pitch_mode_shows_the_guided_step_and_hides_developer_footer(lang):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"lang": lang, "pitch": "1", "step": "0"})
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert ("Step 1 of" if lang == "en" else "第 1 步") in text
    assert not any("Last prediction" in m.value or "最近一次预测" in m.value for m in at.sidebar.markdown)


def test_every_pitch_step_links_to_a_routed_page():
    from pathlib import Path

    from ui.layout import PAGE_FILES

    root = Path(APP).parent
    app_src = Path(APP).read_text(encoding="utf-8")
    for step in pitch.STEPS:
        path = PAGE_FILES[step.page]  # KeyError here was a crash of the tour
        assert (root / path).exists() and f'"{path}"' in app_src


def test_pitch_steps_cover_every_page_with_prefill_in_both_languages():
    pages = [s.page for s in pitch.STEPS]
    assert {"home", "qa", "classify", "digits", "attention", "status"} <= set(pages)
    for s in pitch.STEPS:
        if s.page != "home" and s.page != "status":
            assert set(s.params) == {"en", "zh"}, s.page
    assert pitch.STEPS[pages.index("qa")].params["zh"]["question"] == "什么是人工智能？"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_status_page_lists_models_and_offline_readiness(lang):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("pages/status.py")
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == len(health.model_states())
    assert "minilm" in table["Key" if lang == "en" else "键"].tolist()
    ready = health.offline_readiness()
    assert (len(at.success) == 1) == ready.ready and (len(at.error) == 1) == (not ready.ready)


def test_offline_readiness_requires_every_default():
    ready = health.offline_readiness()
    assert ready.defaults["qa/en"] == "qa-e5" and ready.defaults["qa/zh"] == "qa-e5"
    assert ready.ready == all(ready.defaults.values())


def test_live_latency_of_bundled_minilm():
    ms = health.measure_latency("minilm", repeats=3)
    assert 0 < ms < 10_000


def test_status_page_measures_latency_and_says_why_in_chinese():
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["lang"] = "zh"
    at.run()
    at.switch_page("pages/status.py")
    at.run()
    table = at.dataframe[0].value
    assert (table["延迟 (毫秒)"] == "—").all()  # nothing measured yet: a dash, not "None"
    reasons = [r for r in table["原因"] if r]
    assert reasons and all(any("\u4e00" <= ch <= "\u9fff" for ch in r) for r in reasons)  # translated codes
    assert set(table["来源"]) <= {"内置", "Hub"}
    at.toggle(key="measure").set_value(True).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    available = table["状态"].str.contains("可用") & ~table["状态"].str.contains("不可用")
    llm = table["键"].map(lambda k: registry.get(k).is_llm)
    assert (~llm).any() and table.loc[available & llm, "延迟 (毫秒)"].eq("—").all()  # loads on demand only
    available &= ~llm
    assert table.loc[available, "延迟 (毫秒)"].astype(float).gt(0).all()
    assert table.loc[available, "加载耗时 (秒)"].astype(float).ge(0).all()  # loaded to be measured
