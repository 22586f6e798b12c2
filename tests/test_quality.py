"""Tests of pmm_lib.analysis.quality (coverage, missingness tests, robust z, outliers) and its plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pmm_lib.analysis import quality
from pmm_lib.inputs.framework import load_framework
from pmm_lib.plots import quality as pq

FW = load_framework()


def _matrix():
    return pd.DataFrame({"K01": [10.0, 20.0, np.nan, 40.0], "K02": [50.0, np.nan, np.nan, 80.0],
                         "K03": [1.0, 2.0, 3.0, 4.0]}, index=pd.Index(["AAA", "BBB", "CCC", "DDD"], name="member"))


def test_coverage_by_kpi_hand_computed():
    cov = quality.coverage_by_kpi(_matrix(), FW)
    assert cov["n"].tolist() == [3, 2, 4]
    assert cov["coverage"].tolist() == [0.75, 0.5, 1.0]
    assert cov["n_members"].unique().tolist() == [4]
    assert cov.loc[0, "name"] == FW.kpi("K01").name and cov.loc[0, "dimension"] == "TF"


def test_coverage_by_member_hand_computed():
    cov = quality.coverage_by_member(_matrix())
    assert cov["member"].tolist() == ["CCC", "BBB", "AAA", "DDD"]
    assert np.allclose(cov["coverage"], [1 / 3, 2 / 3, 1.0, 1.0])


def test_missingness_by_group_matches_scipy_and_detects_planted_dependence():
    g = np.random.default_rng(3)
    members = [f"M{i:02d}" for i in range(60)]
    groups = pd.Series(["L"] * 30 + ["H"] * 30, index=members)
    values = g.normal(size=(60, 2))
    values[:30, 0][g.random(30) < 0.7] = np.nan  # K01 skipped mostly by low-income Members
    values[g.random(60) < 0.2, 1] = np.nan  # K02 skipped at random
    m = pd.DataFrame(values, index=members, columns=["K01", "K02"])
    out = quality.missingness_by_group(m, groups).set_index("kpi")
    miss = m["K01"].isna()
    table = pd.crosstab(groups, miss)
    ref = stats.chi2_contingency(table.to_numpy(), correction=False)
    assert out.loc["K01", "statistic"] == pytest.approx(ref.statistic)
    assert out.loc["K01", "p_value"] == pytest.approx(ref.pvalue)
    assert out.loc["K01", "p_value"] < 1e-4
    assert out.loc["K01", "missing_share_H"] == 0.0
    assert out.loc["K01", "dof"] == 1


def test_missingness_by_group_no_variation_gives_nan():
    out = quality.missingness_by_group(_matrix()[["K03"]], pd.Series({"AAA": "x", "BBB": "y", "CCC": "x",
                                                                       "DDD": "y"}))
    assert np.isnan(out.loc[0, "p_value"]) and out.loc[0, "n_missing"] == 0


def test_robust_z_hand_computed_and_zero_mad():
    m = pd.DataFrame({"K01": [1.0, 2.0, 3.0, 4.0, 100.0], "K02": [5.0] * 5})
    z = quality.robust_z(m)
    # median 3, MAD = median(2, 1, 0, 1, 97) = 1
    assert np.allclose(z["K01"], 0.6745 * np.array([-2, -1, 0, 1, 97]))
    assert z["K02"].isna().all()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=5, max_size=30), st.floats(0.1, 10), st.floats(-50, 50))
def test_robust_z_is_location_scale_invariant(values, scale, shift):
    m = pd.DataFrame({"K01": values})
    z1 = quality.robust_z(m)["K01"]
    z2 = quality.robust_z(m * scale + shift)["K01"]
    if z1.notna().all() and z2.notna().all():
        assert np.allclose(z1, z2, atol=1e-6)


def test_flag_outliers_finds_planted_values():
    g = np.random.default_rng(0)
    vals = g.normal(50, 5, size=30)
    vals[4] = 99.0  # extreme but within 0-100
    vals[7] = 130.0  # out of bounds for a % KPI
    m = pd.DataFrame({"K02": vals}, index=[f"M{i:02d}" for i in range(30)])
    out = quality.flag_outliers(m, FW)
    assert set(out["member"]) == {"M04", "M07"}
    row = out.set_index("member").loc["M07"]
    assert bool(row["out_of_bounds"]) and bool(row["extreme"]) and row["upper"] == 100
    assert out["member"].tolist() == ["M07", "M04"]  # largest |z| first
    clean = quality.flag_outliers(pd.DataFrame({"K02": g.normal(50, 5, 30)}), FW)
    assert clean.empty and list(clean.columns)[:3] == ["member", "kpi", "value"]


def test_scaled_long_uses_framework_bounds():
    long = quality.scaled_long(_matrix(), FW)
    k01 = long[long["kpi"] == "K01"]
    lo, hi = FW.kpi("K01").lower, FW.kpi("K01").upper
    assert np.allclose(k01["scaled"], (np.array([10, 20, 40]) - lo) / (hi - lo))
    assert len(long) == 9 and set(long["dimension"]) == {"TF"}


def test_plots_are_labelled_and_return_axes():
    m = _matrix()
    for ax in (pq.plot_coverage_kpi(quality.coverage_by_kpi(m, FW)),
               pq.plot_coverage_member(quality.coverage_by_member(m)),
               pq.plot_missingness(m),
               pq.plot_distributions(quality.scaled_long(m, FW))):
        assert isinstance(ax, plt.Axes) and ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    ax = pq.plot_coverage_kpi(quality.coverage_by_kpi(m, FW))
    assert [round(p.get_width()) for p in ax.patches[:3]] == [75, 50, 100]
    plt.close("all")
