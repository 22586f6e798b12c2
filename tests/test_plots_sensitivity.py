"""Tests of pmm_lib.plots.sensitivity: the drawn marks are the data, in nominal-rank order."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from pmm_lib.errors import InputError  # noqa: E402
from pmm_lib.plots.sensitivity import plot_rank_intervals, plot_score_distributions, plot_sobol  # noqa: E402


@pytest.fixture
def intervals() -> pd.DataFrame:
    return pd.DataFrame({
        "code": ["I"] * 3 + ["D"] * 3, "unit": ["A", "B", "C"] * 2,
        "score": [50.0, 70.0, 60.0, 1.0, 2.0, 3.0], "rank": [3.0, 1.0, 2.0, 3.0, 2.0, 1.0],
        "rank_q50": [3.0, 1.0, 2.0, 3.0, 2.0, 1.0], "rank_low": [2.0, 1.0, 1.0, 2.0, 1.0, 1.0],
        "rank_high": [3.0, 2.0, 3.0, 3.0, 3.0, 2.0], "mean_abs_rank_shift": 0.0,
        "score_low": [40.0, 60.0, 50.0, 0.5, 1.5, 2.5], "score_q25": [45.0, 65.0, 55.0, 0.7, 1.7, 2.7],
        "score_q50": [50.0, 70.0, 60.0, 1.0, 2.0, 3.0], "score_q75": [55.0, 75.0, 65.0, 1.2, 2.2, 3.2],
        "score_high": [60.0, 80.0, 70.0, 1.5, 2.5, 3.5], "n": 100})


def test_rank_intervals_draws_intervals_in_nominal_order(intervals):
    ax = plot_rank_intervals(intervals, code="I", labels={"B": "Member-1"})
    segs = ax.collections[0].get_segments()
    assert [(s[0][1], s[1][1]) for s in segs] == [(1.0, 2.0), (1.0, 3.0), (2.0, 3.0)]  # B, C, A
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Member-1", "C", "A"]
    assert ax.yaxis_inverted() and "rank" in ax.get_ylabel()
    plt.close(ax.figure)


def test_sobol_bars_are_the_estimates_with_ci():
    idx = pd.DataFrame({
        "code": "I", "output": "mean_abs_rank_shift", "unit": "",
        "factor": ["w", "a", "w", "a"], "order": ["first", "first", "total", "total"],
        "estimate": [0.2, 0.5, 0.3, 0.7], "ci_low": [0.1, 0.4, 0.25, 0.6],
        "ci_high": [0.3, 0.6, 0.35, 0.8], "n": 64})
    ax = plot_sobol(idx)
    heights = [round(p.get_height(), 6) for p in ax.patches]
    assert heights == [0.2, 0.5, 0.3, 0.7]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["w", "a"]
    plt.close(ax.figure)
    with pytest.raises(InputError, match="no rows for output"):
        plot_sobol(idx, output="rank")
    with pytest.raises(InputError, match="lack column"):
        plot_sobol(idx.drop(columns="ci_low"))


def test_score_distributions_boxes_from_quantiles(intervals):
    fig, ax = plt.subplots()
    out = plot_score_distributions(intervals, code="D", ax=ax)
    assert out is ax
    medians = [line.get_ydata()[0] for line in ax.lines if line.get_gid() == "median"]
    assert medians == [3.0, 2.0, 1.0]  # C, B, A by nominal rank in D
    with pytest.raises(InputError, match="code 'X' not in data"):
        plot_score_distributions(intervals, code="X")
    plt.close(fig)
