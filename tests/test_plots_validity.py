"""Tests of pmm_lib.plots.validity: each plot draws the data it is given, labelled, on the given Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from pmm_lib.errors import InputError  # noqa: E402
from pmm_lib.plots import validity as pv  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_plot_coefficients_positions_and_intervals():
    data = pd.DataFrame({"predictor": ["PMM", "TF", "PMM", "TF"], "outcome": ["a", "a", "b", "b"],
                         "estimate": [0.5, -0.2, 0.3, 0.1], "ci_low": [0.3, -0.5, 0.1, -0.1],
                         "ci_high": [0.7, 0.1, 0.5, 0.3]})
    fig, ax = plt.subplots()
    out = pv.plot_coefficients(data, ax=ax)
    assert out is ax
    xs = np.concatenate([c.lines[0].get_xdata() for c in ax.containers])
    assert sorted(xs) == sorted(data["estimate"])
    ys = np.concatenate([c.lines[0].get_ydata() for c in ax.containers])
    assert np.allclose(sorted(ys), [-0.175, 0.175, 0.825, 1.175])  # two series dodged around 0 and 1
    assert [t.get_text() for t in ax.get_yticklabels()] == ["PMM", "TF"]
    assert ax.get_xlabel() and ax.get_ylabel() == "Predictor"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    with pytest.raises(InputError, match="lack column"):
        pv.plot_coefficients(data.drop(columns="ci_low"))


def test_plot_outcome_scatter_fit_and_labels():
    g = np.random.default_rng(0)
    x = np.linspace(1, 5, 40)
    y = 2 - 0.5 * x + 0.05 * g.standard_normal(40)
    y[7] += 3  # the outlier
    d = pd.DataFrame({"lpi": x, "log_time": y}, index=[f"M{i:02d}" for i in range(40)])
    ax = pv.plot_outcome_scatter(d, x="lpi", y="log_time", n_labels=1, xlabel="LPI", ylabel="log time")
    fit = ax.lines[0]
    slope, intercept = np.polyfit(x, y, 1)
    assert fit.get_ydata()[0] == pytest.approx(intercept + slope * x.min())
    assert [t.get_text() for t in ax.texts] == ["M07"]
    assert ax.get_xlabel() == "LPI" and ax.get_title() == "n = 40"


def test_plot_correlation_heatmap_limits():
    m = pd.DataFrame([[1, 0.5], [0.5, 1]], index=["a", "b"], columns=["a", "b"])
    ax = pv.plot_correlation_heatmap(m)
    mesh = ax.collections[0]
    assert mesh.get_clim() == (-1, 1)
    assert np.allclose(np.asarray(mesh.get_array()).ravel(), [1, 0.5, 0.5, 1])
    with pytest.raises(InputError, match="square"):
        pv.plot_correlation_heatmap(m.iloc[:, :1])


def test_plot_alpha_bars_skip_single_kpi_nodes():
    d = pd.DataFrame({"code": ["TF", "O01", "O04"], "level": [3, 2, 2], "alpha": [0.8, 0.6, np.nan],
                      "ci_low": [0.7, 0.4, np.nan], "ci_high": [0.9, 0.75, np.nan]})
    ax = pv.plot_alpha(d)
    widths = [p.get_width() for p in ax.patches if hasattr(p, "get_width") and p.get_width() > 0]
    assert widths[:2] == pytest.approx([0.8, 0.6])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["TF", "O01"]
    assert "alpha" in ax.get_xlabel()


def test_plot_scree_lines():
    d = pd.DataFrame({"code": ["TF"] * 3 + ["RC"] * 3, "component": ["PC1", "PC2", "PC3"] * 2,
                      "eigenvalue": [2.0, 0.6, 0.4, 1.8, 0.7, 0.5], "threshold": [1.3, 1.0, 0.8] * 2})
    ax = pv.plot_scree(d)
    assert list(ax.lines[0].get_ydata()) == [2.0, 0.6, 0.4]
    assert list(ax.lines[1].get_ydata()) == [1.3, 1.0, 0.8]
    assert ax.get_xlabel() == "Component" and "Eigenvalue" in ax.get_ylabel()
