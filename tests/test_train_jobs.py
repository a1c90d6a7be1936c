"""The live-training job runner (core.train.jobs, issue 24): caps, queue, one job per owner,
Stop, the wall-time cap, divergence, the idle cancel, one torch thread, unknown ids, missing
data, a short real MLP run that learns, and the HTTP routes. Each test has its own runner;
the children are real processes (the fork server starts once per test session)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from core.train import JobStatus, TrainError, TrainSpec, clamp
from core.train.jobs import Runner

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist-train-10k"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="the bundled MNIST digits (../shared/data) are missing")
SMALL = TrainSpec(preset="mlp", width=64, epochs=2, n_train=1000)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runner]:
    for name in ("TRAIN_MAX_JOBS", "TRAIN_MAX_QUEUE", "TRAIN_MAX_SECONDS", "TRAIN_IDLE_SECONDS", "TRAIN_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    r = Runner()
    yield r
    r.shutdown()


def wait(r: Runner, job: str, until: Callable[[JobStatus], bool], timeout: float = 40.0) -> JobStatus:
    deadline = time.monotonic() + timeout
    while True:
        st = r.status(job)
        if until(st) or time.monotonic() > deadline:
            return st
        time.sleep(0.1)


def ended(st: JobStatus) -> bool:
    return st.state not in ("queued", "running") and not st.extra.get("finishing")


def test_caps_are_clamped_and_said() -> None:
    spec, notes = clamp(TrainSpec(width=10**6, depth=9, epochs=0, batch_size=1, lr=1e3, n_train=5))
    assert (spec.width, spec.depth, spec.epochs, spec.batch_size, spec.lr, spec.n_train) == (1024, 3, 1, 8, 10.0, 100)
    assert set(notes) == {f"clamped-{f}" for f in ("width", "depth", "epochs", "batch_size", "lr", "n_train")}
    assert clamp(TrainSpec(preset="cnn", width=500))[0].width == 64
    assert clamp(TrainSpec())[1] == ()  # the defaults are within the caps
    nan, notes = clamp(TrainSpec(lr=float("nan")))
    assert math.isnan(nan.lr) and notes == ()  # left to the divergence path
    big, _ = clamp(TrainSpec(task="sentiment", preset="bow", lang="zh", n_train=10**9))
    assert big.n_train == 29_855
    for bad in (TrainSpec(preset="textcnn"), TrainSpec(task="sentiment", preset="bow", lang="fr")):
        with pytest.raises(TrainError) as e:
            clamp(bad)
        assert e.value.code == "bad-spec"


def test_unknown_and_lost_job_ids(runner: Runner) -> None:
    with pytest.raises(TrainError) as e:
        runner.status("nope")
    assert e.value.code == "unknown-job"
    with pytest.raises(TrainError) as e:
        runner.cancel("0123ab-1ffff")  # an id of another server process (a restart)
    assert e.value.code == "unknown-job" and "lost" in e.value.detail
    assert runner.trained_model("nope") is None


@needs_data
def test_queue_positions_one_job_per_owner_and_queue_full(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAIN_MAX_QUEUE", "2")
    a = runner.submit(TrainSpec(epochs=30), "a")
    assert wait(runner, a, lambda s: s.state == "running", 10).state == "running"
    b = runner.submit(SMALL, "b")
    c = runner.submit(SMALL, "c")
    assert (runner.status(b).queue_position, runner.status(c).queue_position) == (1, 2)
    assert runner.status(a).queue_position == 0
    with pytest.raises(TrainError) as e:
        runner.submit(SMALL, "a")  # a second tab of the same visitor
    assert e.value.code == "busy"
    with pytest.raises(TrainError) as e:
        runner.submit(SMALL, "d")
    assert e.value.code == "queue-full"
    runner.cancel(b)  # leaving the queue moves the others up
    assert runner.status(b).state == "stopped" and runner.status(c).queue_position == 1
    runner.cancel(a)
    st = wait(runner, c, lambda s: s.state != "queued", 20)
    assert st.state == "running" and st.queue_position == 0


@needs_data
def test_a_short_mlp_run_learns_in_one_thread(runner: Runner) -> None:
    job = runner.submit(TrainSpec(preset="mlp", width=128, epochs=3, n_train=3000, lr=2e-3), "me")
    st = wait(runner, job, ended, 60)
    assert st.state == "done", st
    assert "one-thread" in st.notes and st.extra["threads"] == 1
    assert st.progress == 1.0 and st.history[-1].epoch == pytest.approx(3.0)
    assert max(p.val_acc or 0 for p in st.history) > 0.8
    assert st.test_accuracy is not None and st.test_accuracy > 0.8
    assert st.shipped_accuracy and st.confusion is not None
    assert sum(map(sum, st.confusion)) == 10_000 and len(st.confusion) == 10
    assert st.mistakes and st.mistakes[0].image.shape == (28, 28)
    model = runner.trained_model(job)
    probs = model.predict(np.zeros((3, 28, 28), dtype=np.float32))
    assert probs.shape == (3, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert runner.trained_model(job) is model and runner.model_for_owner("other") is None


@needs_data
def test_stop_in_the_middle_of_an_epoch_keeps_the_model_so_far(runner: Runner) -> None:
    job = runner.submit(TrainSpec(preset="mlp", width=64, epochs=30, batch_size=8), "me")
    wait(runner, job, lambda s: len(s.history) >= 1)
    st = runner.cancel(job)
    assert st.state == "stopped"  # at once; the score of the model so far follows
    st = wait(runner, job, ended, 20)
    assert st.state == "stopped" and st.error is None
    assert 0 < st.extra["epochs_run"] < 1  # mid-epoch
    assert st.test_accuracy is not None and runner.trained_model(job) is not None


@needs_data
def test_the_wall_time_cap(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAIN_MAX_SECONDS", "1")
    job = runner.submit(TrainSpec(preset="mlp", width=64, epochs=30), "me")
    st = wait(runner, job, ended)
    assert st.state == "timeout" and st.error == "timeout"
    assert st.elapsed_s < 5 and st.extra["epochs_run"] < 30
    assert st.test_accuracy is not None and runner.trained_model(job) is not None  # the model so far


@needs_data
def test_a_huge_learning_rate_diverges(runner: Runner) -> None:
    job = runner.submit(TrainSpec(preset="mlp", lr=1e3, epochs=3), "me")
    assert "clamped-lr" in runner.status(job).notes
    st = wait(runner, job, ended)
    assert st.state == "diverged" and st.error == "diverged"
    assert runner.trained_model(job) is None
    nan = runner.submit(TrainSpec(preset="mlp", lr=float("nan")), "me")
    assert wait(runner, nan, ended).state == "diverged"


@needs_data
def test_a_job_nobody_polls_is_cancelled_and_freed(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAIN_IDLE_SECONDS", "1")
    job = runner.submit(TrainSpec(preset="mlp", epochs=30), "me")
    queued = runner.submit(SMALL, "other")
    time.sleep(3.5)  # no polls
    st = runner.status(job)
    assert st.state == "stopped" and st.error == "idle"
    assert runner.status(queued).state in ("stopped", "running")
    assert runner._jobs[job].proc is None  # the child is gone


def test_no_data_is_a_clear_failure(runner: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRAIN_DATA_DIR", str(tmp_path))
    job = runner.submit(SMALL, "me")
    st = wait(runner, job, ended)
    assert st.state == "failed" and st.error == "no-data" and "mnist" in st.extra["detail"].lower()
    text = runner.submit(TrainSpec(task="sentiment", preset="bow", lang="en"), "me")
    st = wait(runner, text, ended)
    assert st.state == "failed" and st.error == "no-data"


@pytest.mark.slow
def test_a_short_english_bag_of_words_run(runner: Runner) -> None:
    if not (DATA.parent / "rt-polarity").is_dir():
        pytest.skip("no rt-polarity")
    job = runner.submit(TrainSpec(task="sentiment", preset="bow", lang="en", width=64, epochs=5, lr=1e-2), "me")
    st = wait(runner, job, ended, 90)
    assert st.state == "done" and st.labels == ("negative", "positive")
    assert st.test_accuracy is not None and st.test_accuracy > 0.65 and st.shipped_accuracy
    assert st.mistakes and st.mistakes[0].text
    probs = runner.trained_model(job).predict(["a wonderful, moving film", "dull and lifeless"])
    assert probs.shape == (2, 2)


# --- the HTTP API ---------------------------------------------------------------------------


@needs_data
def test_the_api_routes(api_client, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.train.jobs import RUNNER

    monkeypatch.setenv("TRAIN_MAX_SECONDS", "3")
    r = api_client.post("/api/train", json={"preset": "mlp", "width": 5000, "epochs": 2, "n_train": 1000})
    assert r.status_code == 202, r.text
    job = r.json()
    assert "clamped-width" in job["notes"] and job["id"]
    again = api_client.post("/api/train", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "busy"
    deadline = time.monotonic() + 40
    while True:
        st = api_client.get(f"/api/train/{job['id']}?images=true").json()
        if st["state"] not in ("queued", "running") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert st["state"] in ("done", "timeout"), st
    assert st["spec"]["width"] == 1024 and st["history"] and st["confusion"]
    assert len(st["mistakes"][0]["image"]) == 28
    assert api_client.delete(f"/api/train/{job['id']}").json()["state"] == st["state"]
    missing = api_client.get("/api/train/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown-job"
    bad = api_client.post("/api/train", json={"task": "digits", "preset": "bow"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad-spec"
    assert api_client.post("/api/train", json={"epochs": "3"}).status_code == 422  # strict
    RUNNER.shutdown()


def test_the_api_documents_its_errors(api_client) -> None:
    doc = api_client.get("/openapi.json").json()["paths"]
    assert {"409", "422", "429"} <= set(doc["/api/train"]["post"]["responses"])
    assert "404" in doc["/api/train/{job_id}"]["get"]["responses"]
    assert "404" in doc["/api/train/{job_id}"]["delete"]["responses"]


def test_ray_cluster_cpus_are_asked_once_per_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    """max_jobs() runs on every pump tick while jobs queue under Ray Serve: Ray's CPU count is
    asked at most once per CPUS_TTL seconds (a stand-in ``ray`` module counts the calls)."""
    import sys
    import types

    from core.train import ray_jobs

    asked: list[int] = []

    def cluster_resources() -> dict[str, float]:
        asked.append(1)
        return {"CPU": 8.0}

    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(cluster_resources=cluster_resources))
    monkeypatch.setattr(ray_jobs, "_cpus", None)
    assert [ray_jobs.cluster_cpus() for _ in range(50)] == [8] * 50 and len(asked) == 1
    at, cpus = ray_jobs._cpus
    monkeypatch.setattr(ray_jobs, "_cpus", (at - ray_jobs.CPUS_TTL - 1, cpus))  # the count grew old
    assert ray_jobs.cluster_cpus() == 8 and len(asked) == 2
