"""What frames every page: the title, links between pages (carrying inputs and the
language), and the sidebar footer (model, where it ran and latency of the last prediction:
this process's device, or the inference API, e.g. "Ray Serve · http://host:8000").

Nothing here imports torch: the home page stays light."""

from __future__ import annotations

import time
from collections.abc import Mapping

import streamlit as st

from core import registry, remote
from core.device import DeviceInfo, describe_device
from ui.i18n import TABLE, lang, t

PAGE_FILES = {
    "home": "pages/home.py",
    "qa": "pages/qa.py",
    "classify": "pages/classify.py",
    "digits": "pages/digits.py",
    "attention": "pages/attention.py",
    "status": "pages/status.py",
}


def page_header(title: str, subtitle: str = "") -> None:
    st.title(title)
    if subtitle:
        st.caption(subtitle)


ENGINES = {"ray-serve": "Ray Serve", "single-process": "API"}  # /healthz "engine" -> what the footer says


def record_prediction(model_key: str, latency_ms: float, *, remote: str | None = None) -> None:
    """Remember the last prediction of this session for the sidebar footer; ``remote``: the
    inference API's address when it ran there."""
    st.session_state["_last_prediction"] = {
        "model": model_key,
        "latency_ms": float(latency_ms),
        "at": time.time(),
        "remote": remote,
    }


def device_label(dev=None) -> str:
    """The device in words, in the interface language (e.g. "CPU · 2 threads · 24 GB RAM")."""
    dev = dev or describe_device()
    if dev.kind == "cpu":
        return t("device.cpu", threads=dev.threads, ram=dev.memory_gb or 0)
    mem = f"{dev.memory_gb:.0f} GB" if dev.memory_gb else ""
    return t("device.gpu", kind=dev.kind.upper(), name=dev.name, mem=mem).rstrip(" ·")


def served_by(url: str) -> tuple[str, str | None]:
    """Where a prediction runs on the inference API at ``url``, in Markdown: ("Ray Serve ·
    url" or "API · url", the API's device in words or ``None`` when it does not answer). The
    address is an explicit link, so a following "）" is not taken into it."""
    link = f"[{url}]({url})"
    if url != remote.base_url():  # DEMO_INFERENCE_URL changed since: nothing to ask
        return f"API · {link}", None
    info = remote.server_info()
    engine = ENGINES.get(str(info.get("engine", "")), "API")
    if not info:
        return f"{engine} · {link} ({t('footer.unreachable')})", None
    device = info.get("device")
    fields = info.get("device_info")
    if isinstance(fields, dict):  # the parts, so the device is said in the interface language
        try:
            device = device_label(DeviceInfo(**fields))
        except (TypeError, ValueError, KeyError):
            pass
    return f"{engine} · {link}", str(device) if device else None


def _where(url: str | None, *, ran: bool = True) -> str:
    """The footer's lines saying where predictions run (``ran``: where the last one ran):
    this process's device, or the API."""
    if not url:
        return f"{t('footer.device')}: {device_label()}"
    where, device = served_by(url)
    label = t("footer.ran_on") if ran else t("footer.runs_on")
    return f"{label}: {where}" + (f"  \n{t('footer.device')}: {device}" if device else "")


def footer() -> None:
    """Sidebar block on every page: model used, where it ran (device or inference API),
    latency of the last prediction."""
    box = st.sidebar.container(border=True)
    box.markdown(f"**{t('footer.title')}**")
    last = st.session_state.get("_last_prediction")
    if not last:
        box.caption(t("footer.none"))
        box.caption(_where(remote.base_url(), ran=False))
        return
    try:
        name = registry.get(last["model"]).name
    except KeyError:  # not a registry model (e.g. "lexical" retrieval): its translated name
        name = t(f"model.{last['model']}") if f"model.{last['model']}" in TABLE else last["model"]
    box.caption(
        f"{t('footer.model')}: {name}  \n{_where(last.get('remote'))}  \n"
        f"{t('footer.latency')}: {last['latency_ms']:.0f} ms"
    )


def page_link_to(
    page: str, label: str, query_params: Mapping[str, str] | None = None, *, icon: str | None = None
) -> None:
    """A link to another page of the app (``page`` is a key of ``PAGE_FILES``) carrying
    ``query_params`` (prefill) and the current language."""
    params = {k: str(v) for k, v in (query_params or {}).items() if v not in (None, "")}
    params["lang"] = lang()
    st.page_link(PAGE_FILES[page], label=label, icon=icon, query_params=params)
