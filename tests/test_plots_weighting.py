"""Tests of pmm_lib.plots.weighting: the plots draw what the data say, labelled, on given axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from pmm_lib.errors import InputError  # noqa: E402
from pmm_lib.plots import weighting as pw  # noqa: E402


@pytest.fixture
def comparison() -> pd.DataFrame:
    return pd.DataFrame({
        "unit": ["A", "B", "C"] * 3,
        "scheme": ["framework"] * 3 + ["equal"] * 3 + ["pca"] * 3,
        "rank": [1, 2, 3, 2, 1, 3, 3, 2, 1],
    })


def test_plot_rank_shift(comparison):
    fig, ax = plt.subplots()
    out = pw.plot_rank_shift(comparison, labels={"A": "Member-1"}, ax=ax)
    assert out is ax
    assert ax.get_xlabel() == "Rank (1 = best)" and "framework" in ax.get_ylabel()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["Member-1", "B", "C"]  # ordered by the reference ranks
    # one marker collection per scheme; the equal-weights ranks of A, B, C are 2, 1, 3
    offsets = {c.get_label(): c.get_offsets() for c in ax.collections if c.get_label()}
    np.testing.assert_array_equal(np.asarray(offsets["equal"])[:, 0], [2, 1, 3])
    assert {"equal", "pca", "framework (reference)"} <= set(offsets)
    plt.close(fig)
    with pytest.raises(InputError, match="reference scheme 'ahp'"):
        pw.plot_rank_shift(comparison, reference="ahp")
    with pytest.raises(InputError, match="lack column"):
        pw.plot_rank_shift(comparison.drop(columns="rank"))


def test_plot_scheme_weights_and_effective():
    w = pd.DataFrame({"scheme": ["a", "a", "b", "b"], "code": ["TF", "RC", "TF", "RC"],
                      "weight": [0.5, 0.5, 0.7, 0.3]})
    ax = pw.plot_scheme_weights(w, codes=["TF", "RC"])
    heights = sorted(round(p.get_height(), 6) for p in ax.patches if p.get_height() > 0)
    assert heights == [30.0, 50.0, 50.0, 70.0]
    assert "%" in ax.get_ylabel()
    plt.close(ax.figure)
    eff = pd.DataFrame({"code": ["x", "y", "X"], "parent": ["X", "X", "I"], "level": [1, 1, 2],
                        "nominal": [0.5, 0.5, 1.0], "effective": [0.2, 0.8, 1.0]})
    ax = pw.plot_effective_weights(eff, level=1)
    widths = sorted(round(p.get_width(), 6) for p in ax.patches if p.get_width() > 0)
    assert widths == [20.0, 50.0, 50.0, 80.0]
    assert ax.get_xlabel() == "Share within parent (%)"
    plt.close(ax.figure)
