"""View transforms on hand-made matrices with answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from core.attention.views import (
    apply_view,
    apply_view_vector,
    downsample,
    head_average,
    head_stats,
    make_view,
    rollout,
)
from ui.attention_figures import figure_bytes, grid_figure, heatmap_figure, rollout_figure, safe_labels

TOKENS = ["[CLS]", "un", "##real", "cat", "[SEP]"]
SPECIAL = [True, False, False, False, True]
# rows sum to 1
A = np.array(
    [
        [0.5, 0.1, 0.1, 0.1, 0.2],
        [0.2, 0.2, 0.2, 0.2, 0.2],
        [0.1, 0.4, 0.1, 0.2, 0.2],
        [0.0, 0.3, 0.3, 0.3, 0.1],
        [0.25, 0.25, 0.25, 0.0, 0.25],
    ],
    dtype=np.float32,
)


def test_hide_special_drops_rows_and_columns_and_renormalises():
    view = make_view(TOKENS, SPECIAL, hide_special=True)
    assert view.labels == ("un", "##real", "cat")
    got = apply_view(A, view)
    # row "un": 0.2 0.2 0.2 over the kept columns -> 1/3 each
    # row "##real": 0.4 0.1 0.2 -> /0.7 ; row "cat": 0.3 0.3 0.3 -> 1/3 each
    want = np.array([[1 / 3, 1 / 3, 1 / 3], [4 / 7, 1 / 7, 2 / 7], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_merge_sums_columns_and_averages_rows():
    groups = [0, 1, 1, 2, 3]
    view = make_view(TOKENS, SPECIAL, groups=groups, labels=["[CLS]", "unreal", "cat", "[SEP]"])
    assert view.labels == ("[CLS]", "unreal", "cat", "[SEP]")
    got = apply_view(A, view)
    want = np.array(
        [
            [0.5, 0.2, 0.1, 0.2],
            # rows "un" and "##real" averaged: (0.2+0.1)/2, (0.4+0.5)/2, (0.2+0.2)/2, (0.2+0.2)/2
            [0.15, 0.45, 0.2, 0.2],
            [0.0, 0.6, 0.3, 0.1],
            [0.25, 0.5, 0.0, 0.25],
        ]
    )
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-6)


def test_hide_then_merge_and_batched_shapes():
    view = make_view(
        TOKENS, SPECIAL, hide_special=True, groups=[0, 1, 1, 2, 3], labels=["[CLS]", "unreal", "cat", "[SEP]"]
    )
    assert view.labels == ("unreal", "cat")
    got = apply_view(A, view)
    # hidden rows: un -> [1/3,1/3,1/3], ##real -> [4/7,1/7,2/7], cat -> [1/3,1/3,1/3]
    r_unreal = [(2 / 3 + 5 / 7) / 2, (1 / 3 + 2 / 7) / 2]
    want = np.array([r_unreal, [2 / 3, 1 / 3]])
    np.testing.assert_allclose(got, want, atol=1e-6)
    stack = np.broadcast_to(A, (2, 3, 5, 5))
    assert apply_view(stack, view).shape == (2, 3, 2, 2)


def test_vector_view():
    v = np.array([0.4, 0.1, 0.2, 0.1, 0.2])
    view = make_view(TOKENS, SPECIAL, hide_special=True, groups=[0, 1, 1, 2, 3])
    np.testing.assert_allclose(apply_view_vector(v, view), [0.75, 0.25], atol=1e-6)


def test_hiding_everything_keeps_everything():
    view = make_view(["[CLS]", "[SEP]"], [True, True], hide_special=True)
    assert view.labels == ("[CLS]", "[SEP]")


def test_head_average():
    a = np.stack([np.eye(3), np.full((3, 3), 1 / 3)])[None]  # (1, 2, 3, 3)
    np.testing.assert_allclose(head_average(a)[0], 0.5 * np.eye(3) + 1 / 6, atol=1e-6)


def test_rollout_known_answers():
    t = 3
    # identity attention everywhere: rollout is the identity
    eye = np.broadcast_to(np.eye(t), (4, 2, t, t))
    np.testing.assert_allclose(rollout(eye), np.eye(t), atol=1e-6)
    # one layer, everyone attends to token 0: A' = 0.5 I + 0.5 * [1,0,0 rows]
    to_first = np.zeros((1, 1, t, t))
    to_first[..., 0] = 1.0
    want = 0.5 * np.eye(t)
    want[:, 0] += 0.5
    np.testing.assert_allclose(rollout(to_first), want, atol=1e-6)
    # two such layers compose: R = A'A'
    np.testing.assert_allclose(rollout(np.concatenate([to_first, to_first])), want @ want, atol=1e-6)
    assert np.allclose(rollout(np.random.default_rng(0).dirichlet(np.ones(t), size=(3, 2, t))).sum(-1), 1)


def test_head_stats_on_a_previous_token_head():
    t = 4
    prev = np.zeros((t, t))
    prev[0, 0] = 1.0
    for i in range(1, t):
        prev[i, i - 1] = 1.0
    uniform = np.full((t, t), 1 / t)
    att = np.stack([prev, uniform])[None]  # (1 layer, 2 heads, T, T)
    s = head_stats(att, [True, False, False, True])
    assert s.entropy.shape == (1, 2)
    assert s.entropy[0, 0] == pytest.approx(0.0) and s.entropy[0, 1] == pytest.approx(2.0)
    assert s.to_prev[0, 0] == pytest.approx(1.0) and s.to_next[0, 0] == pytest.approx(0.0)
    assert s.to_self[0, 0] == pytest.approx(0.25)  # only row 0 attends to itself
    assert s.to_special[0, 0] == pytest.approx(0.5)  # rows 0 and 1 look at [CLS]; rows 2, 3 at real tokens
    assert s.to_special[0, 1] == pytest.approx(0.5)
    assert s.to_prev[0, 1] == pytest.approx(0.25)


def test_downsample_block_means():
    m = np.arange(16, dtype=np.float32).reshape(4, 4)
    np.testing.assert_allclose(downsample(m, 2), [[2.5, 4.5], [10.5, 12.5]])
    assert downsample(m, 8).shape == (4, 4)


def test_safe_labels_escape_and_stay_unique():
    out = safe_labels(["<b>", "the", "the", "&", ""])
    assert out[0] == "&lt;b&gt;" and out[3] == "&amp;" and out[4] == "␣"
    assert len(set(out)) == 5 and out[1].startswith("the") and out[2].startswith("the")


def test_figures_stay_small_for_128_tokens():
    rng = np.random.default_rng(0)
    att = rng.dirichlet(np.ones(128), size=(6, 12, 128)).astype(np.float32)
    labels = [f"tok{i}" for i in range(128)]
    grid = grid_figure(att, selected=(0, 0))
    one = heatmap_figure(att[0, 0], labels)
    bar = rollout_figure(rollout(att)[0], labels)
    # the grid sends thumbnails, not 72 full 128x128 matrices (72*128*128 = 1.2 M numbers)
    assert figure_bytes(grid) < 400_000
    assert figure_bytes(one) < 400_000 and figure_bytes(bar) < 50_000
    assert len(grid.data[1].x) == 72  # one clickable marker per head


def test_pair_split_draws_a_line_on_both_axes():
    m = np.full((4, 4), 0.25, dtype=np.float32)
    assert len(heatmap_figure(m, ["a", "b", "c", "d"], split=2).layout.shapes) == 2
    assert len(heatmap_figure(m, ["a", "b", "c", "d"]).layout.shapes) == 0
