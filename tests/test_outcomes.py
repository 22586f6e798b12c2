"""Tests of pmm_lib.analysis.outcomes: textbook OLS/HC3, partial correlations, known groups, real LPI-DB relation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pmm_lib.analysis import outcomes as o
from pmm_lib.errors import InputError, SpecError
from pmm_lib.paths import EXTERNAL_DIR


def _tidy(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    g = np.random.default_rng(seed)
    mem = [f"M{i:03d}" for i in range(n)]
    lat = g.standard_normal(n)
    rows = []
    for i, m in enumerate(mem):
        rows += [
            {"member": m, "year": 2018, "variable": "lpi_customs", "value": 3 + 0.5 * lat[i] + 0.3 * g.standard_normal()},
            {"member": m, "year": 2023, "variable": "lpi_customs", "value": 3 + 0.5 * lat[i] + 0.3 * g.standard_normal()},
            {"member": m, "year": 2020, "variable": "db_time_import_border_h",
             "value": float(np.exp(3 - 0.6 * lat[i] + 0.4 * g.standard_normal()))},
            {"member": m, "year": 2021, "variable": "gdp_pc_ppp", "value": float(np.exp(9 + lat[i]))},
            {"member": m, "year": 2022, "variable": "wgi_ge", "value": lat[i] + g.standard_normal()},
        ]
    return pd.DataFrame(rows).assign(source="test"), lat, mem


def test_outcome_table_years_logs_and_errors():
    tidy, _, mem = _tidy()
    w = o.outcome_table(tidy, {"lpi_customs": 2018, "db_time_import_border_h": 2020})
    assert list(w.columns) == ["lpi_customs", "log_db_time_import_border_h"]
    ref = tidy[(tidy["variable"] == "lpi_customs") & (tidy["year"] == 2018)].set_index("member")["value"]
    pd.testing.assert_series_equal(w["lpi_customs"], ref.sort_index(), check_names=False)
    raw = tidy[tidy["variable"] == "db_time_import_border_h"].set_index("member")["value"]
    assert np.allclose(w["log_db_time_import_border_h"], np.log1p(raw.sort_index()))
    latest = o.outcome_table(tidy, ["lpi_customs"])  # latest year = 2023
    ref23 = tidy[(tidy["variable"] == "lpi_customs") & (tidy["year"] == 2023)].set_index("member")["value"]
    assert np.allclose(latest["lpi_customs"], ref23.sort_index())
    as_of = o.outcome_table(tidy, ["lpi_customs"], as_of=2020)
    assert np.allclose(as_of["lpi_customs"], ref.sort_index())
    sub = o.outcome_table(tidy, ["wgi_ge"], members=["M002", "XXX"])
    assert list(sub.index) == ["M002", "XXX"] and math.isnan(sub.loc["XXX", "wgi_ge"])
    with pytest.raises(InputError, match="unknown outcome variable.*lpi_custom"):
        o.outcome_table(tidy, ["lpi_custom"])
    with pytest.raises(InputError, match="no values in 2019.*2018, 2023"):
        o.outcome_table(tidy, {"lpi_customs": 2019})
    with pytest.raises(InputError, match="columns"):
        o.outcome_table(tidy.drop(columns="year"), ["lpi_customs"])


def test_outcome_correlations_match_scipy_and_fisher():
    tidy, lat, mem = _tidy()
    w = o.outcome_table(tidy, ["lpi_customs", "db_time_import_border_h"])
    scores = pd.DataFrame({"PMM": lat, "TF": np.r_[np.nan, np.nan, lat[2:] ** 2]}, index=mem)
    tab = o.outcome_correlations(scores, w)
    assert len(tab) == 2 * 2 * 2
    for row in tab.itertuples():
        d = pd.concat([scores[row.code], w[row.variable]], axis=1).dropna()
        f = stats.pearsonr if row.method == "pearson" else stats.spearmanr
        ref = f(d.iloc[:, 0], d.iloc[:, 1])
        assert row.n == len(d)
        assert row.estimate == pytest.approx(ref.statistic, abs=1e-12)
        assert row.p_value == pytest.approx(ref.pvalue, rel=1e-6)
        c = 1.06 if row.method == "spearman" else 1.0
        half = stats.norm.ppf(0.975) * math.sqrt(c / (row.n - 3))
        assert row.ci_low == pytest.approx(math.tanh(math.atanh(row.estimate) - half))
    pmm = tab[(tab["code"] == "PMM") & (tab["method"] == "pearson")].set_index("variable")["estimate"]
    assert pmm["lpi_customs"] > 0.6 and pmm["log_db_time_import_border_h"] < -0.6
    with pytest.raises(InputError, match="share no Member"):
        o.outcome_correlations(scores.set_axis([f"X{i}" for i in range(len(mem))]), w)


def _ols_data(n: int = 80, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    g = np.random.default_rng(seed)
    idx = [f"M{i:03d}" for i in range(n)]
    x = g.standard_normal(n)
    gdp = 0.5 * x + g.standard_normal(n)
    land = g.random(n) < 0.3
    region = g.choice(["AMS", "EUR", "WCA"], n)
    eff = {"AMS": 0.0, "EUR": 0.5, "WCA": -0.4}
    # heteroskedastic errors so that HC3 differs from the classical errors
    y = 1.0 + 0.8 * x + 0.3 * gdp - 0.2 * land + np.array([eff[r] for r in region]) + g.standard_normal(n) * (0.5 + np.abs(x))
    scores = pd.DataFrame({"PMM": x}, index=idx)
    outs = pd.DataFrame({"lpi_customs": y}, index=idx)
    cov = pd.DataFrame({"log_gdp_pc_ppp": gdp, "landlocked": land, "region": region}, index=idx)
    return scores, outs, cov


def test_ols_matches_lstsq_and_textbook_hc3():
    scores, outs, cov = _ols_data()
    res = o.ols_outcomes(scores, outs, cov)
    assert set(res["term"]) == {"Intercept", "PMM", "log_gdp_pc_ppp", "landlocked", "C(region)[T.EUR]", "C(region)[T.WCA]"}
    # the same design by hand: intercept, x, gdp, landlocked, EUR, WCA
    X = np.column_stack([np.ones(len(scores)), scores["PMM"], cov["log_gdp_pc_ppp"], cov["landlocked"].astype(float),
                         (cov["region"] == "EUR").astype(float), (cov["region"] == "WCA").astype(float)])
    y = outs["lpi_customs"].to_numpy()
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    e = y - X @ beta
    xtx_inv = np.linalg.inv(X.T @ X)
    h = np.einsum("ij,jk,ik->i", X, xtx_inv, X)
    # MacKinnon & White (1985) HC3: (X'X)^-1 X' diag(e^2 / (1 - h)^2) X (X'X)^-1
    meat = X.T @ (X * (e**2 / (1 - h) ** 2)[:, None])
    se = np.sqrt(np.diag(xtx_inv @ meat @ xtx_inv))
    names = ["Intercept", "PMM", "log_gdp_pc_ppp", "landlocked", "C(region)[T.EUR]", "C(region)[T.WCA]"]
    got = res.set_index("term").loc[names]
    assert got["estimate"].to_numpy() == pytest.approx(beta, abs=1e-10)
    assert got["std_error"].to_numpy() == pytest.approx(se, rel=1e-8)
    z = stats.norm.ppf(0.975)  # statsmodels uses the normal for robust covariances
    assert got.loc["PMM", "ci_low"] == pytest.approx(beta[1] - z * se[1], rel=1e-6)
    assert (got["n"] == 80).all() and (got["cov_type"] == "HC3").all()
    classical = o.ols_outcomes(scores, outs, cov, cov_type="nonrobust").set_index("term")
    assert classical.loc["PMM", "estimate"] == pytest.approx(beta[1])
    assert classical.loc["PMM", "std_error"] != pytest.approx(se[1], rel=1e-3)
    beta_std = o.ols_outcomes(scores, outs, cov, standardise=True).set_index("term").loc["PMM", "estimate"]
    assert beta_std == pytest.approx(beta[1] * scores["PMM"].std() / outs["lpi_customs"].std(), rel=1e-8)
    with pytest.raises(SpecError, match="names no column"):
        o.ols_outcomes(scores, outs, cov, controls=("log_gdp",))
    with pytest.raises(SpecError, match="allowed: HC3"):
        o.ols_outcomes(scores, outs, cov, cov_type="HC9")


def test_partial_correlation_textbook_cases():
    g = np.random.default_rng(4)
    n = 200
    z1, z2 = g.standard_normal(n), g.standard_normal(n)
    x = z1 + 0.5 * z2 + g.standard_normal(n)
    y = z1 - 0.3 * z2 + g.standard_normal(n)
    d = pd.DataFrame({"x": x, "y": y, "z1": z1, "z2": z2})
    res = o.partial_correlation(d, "x", "y", ["z1", "z2"]).iloc[0]
    # inverse-correlation (precision matrix) formula: r_xy.z = -P_xy / sqrt(P_xx P_yy)
    p = np.linalg.inv(d.corr().to_numpy())
    assert res["estimate"] == pytest.approx(-p[0, 1] / math.sqrt(p[0, 0] * p[1, 1]), abs=1e-12)
    # first-order formula with one covariate
    one = o.partial_correlation(d, "x", "y", ["z1"]).iloc[0]
    r = d.corr()
    expected = (r.loc["x", "y"] - r.loc["x", "z1"] * r.loc["y", "z1"]) / math.sqrt(
        (1 - r.loc["x", "z1"] ** 2) * (1 - r.loc["y", "z1"] ** 2))
    assert one["estimate"] == pytest.approx(expected, abs=1e-12)
    # p-value on n - 2 - q df
    t = res["estimate"] * math.sqrt((n - 4) / (1 - res["estimate"] ** 2))
    assert res["p_value"] == pytest.approx(2 * stats.t.sf(abs(t), n - 4))
    assert res["n"] == n and res["ci_low"] < res["estimate"] < res["ci_high"]
    # a categorical covariate enters as dummies: with a group shift only, the partial r is ~0
    grp = g.choice(["a", "b", "c"], n)
    shift = pd.Series(grp).map({"a": 0.0, "b": 3.0, "c": -3.0}).to_numpy()
    d2 = pd.DataFrame({"x": shift + g.standard_normal(n), "y": shift + g.standard_normal(n), "grp": grp})
    assert d2[["x", "y"]].corr().iloc[0, 1] > 0.8
    assert abs(o.partial_correlation(d2, "x", "y", ["grp"]).iloc[0]["estimate"]) < 0.2
    with pytest.raises(InputError, match="not in data"):
        o.partial_correlation(d, "x", "w", ["z1"])


def test_partial_correlations_tidy():
    scores, outs, cov = _ols_data()
    tab = o.partial_correlations(scores, outs, cov, ["log_gdp_pc_ppp", "region"])
    assert list(tab.columns) == ["code", "variable", "covar", "method", "estimate", "ci_low", "ci_high", "p_value", "n"]
    assert tab.iloc[0]["code"] == "PMM" and tab.iloc[0]["estimate"] > 0.3


def test_known_groups_against_scipy_and_effect_sizes():
    g = np.random.default_rng(6)
    groups = pd.Series(np.repeat(["L", "LM", "UM", "H"], 25), index=[f"M{i}" for i in range(100)])
    shift = groups.map({"L": 0.0, "LM": 0.8, "UM": 1.6, "H": 2.4}).to_numpy()
    scores = pd.DataFrame({"PMM": shift + g.standard_normal(100), "noise": g.standard_normal(100)}, index=groups.index)
    res = o.known_groups(scores, groups).set_index("code")
    h, p = stats.kruskal(*[scores.loc[groups == lv, "PMM"] for lv in ["L", "LM", "UM", "H"]])
    assert res.loc["PMM", "statistic"] == pytest.approx(h) and res.loc["PMM", "p_value"] == pytest.approx(p)
    assert res.loc["PMM", "epsilon_sq"] == pytest.approx(h / 99)
    assert res.loc["PMM", "eta_sq_h"] == pytest.approx((h - 3) / 96)
    assert res.loc["PMM", "df"] == 3 and res.loc["PMM", "n"] == 100 and res.loc["PMM", "groups"] == 4
    rank = groups.map({"L": 0, "LM": 1, "UM": 2, "H": 3})
    assert res.loc["PMM", "trend_rho"] == pytest.approx(stats.spearmanr(scores["PMM"], rank).statistic)
    assert res.loc["PMM", "trend_rho"] > 0.3 and res.loc["PMM", "p_value"] < 1e-4
    assert res.loc["noise", "p_value"] > 0.01
    med = o.group_medians(scores, groups).set_index(["code", "group"])
    assert med.loc[("PMM", "L"), "estimate"] == pytest.approx(scores.loc[groups == "L", "PMM"].median())
    small = o.group_medians(scores.iloc[:27], groups.iloc[:27], min_n=3)
    assert set(small["group"]) == {"L"}  # LM has only 2 Members here: suppressed


def test_lagged_correlations_only_where_years_exist():
    tidy, lat, mem = _tidy()
    scores = pd.DataFrame({"PMM": lat}, index=mem)
    res = o.lagged_correlations({2022: scores, 2024: scores}, tidy, ["lpi_customs", "wgi_ge"], lags=(0, 1))
    designs = set(map(tuple, res[["cycle", "year", "variable"]].drop_duplicates().to_numpy()))
    assert designs == {(2022, 2022, "wgi_ge"), (2022, 2023, "lpi_customs")}
    assert (res["year"] - res["cycle"] == res["lag"]).all()
    empty = o.lagged_correlations({2030: scores}, tidy, ["wgi_ge"])
    assert empty.empty and "estimate" in empty.columns


def test_lpi_vs_db_synthetic_known_answer():
    tidy, _, _ = _tidy(n=120, seed=9)
    tab = o.lpi_vs_db(tidy).set_index("method")
    d = o.lpi_vs_db_data(tidy)
    ref = stats.pearsonr(d["lpi_customs"], np.log1p(d["db_time_import_border_h"]))
    assert tab.loc["pearson", "estimate"] == pytest.approx(ref.statistic)
    assert tab.loc["spearman", "estimate"] == pytest.approx(
        stats.spearmanr(d["lpi_customs"], d["db_time_import_border_h"]).statistic)
    slope = np.polyfit(d["lpi_customs"], d["log_db_time_import_border_h"], 1)[0]
    assert tab.loc["ols_slope_hc3", "estimate"] == pytest.approx(slope)
    assert (tab["n"] == 120).all()
    with pytest.raises(InputError, match="only 0 Members"):
        o.lpi_vs_db(tidy, members=["nobody"])


def test_lpi_vs_db_on_real_outcome_data():
    """LPI Customs 2018 vs DB2020 import border time, recomputed straight from the bundled CSVs."""
    lpi_file = EXTERNAL_DIR / "lpi_scores_2007_2023.csv"
    db_file = EXTERNAL_DIR / "doing_business_trading_across_borders_db2015_2020.csv"
    if not lpi_file.exists() or not db_file.exists():
        pytest.skip("bundled external data not present")
    from pmm_lib.inputs.data import load_members, load_outcomes

    read = {"keep_default_na": False, "na_values": [""]}
    members = set(load_members()["member"])
    lpi = pd.read_csv(lpi_file, **read).query("edition == 2018").set_index("iso3")["customs_score"]
    db = pd.read_csv(db_file, **read).query("db_edition == 2020").set_index("iso3")["time_import_border_h"]
    both = pd.concat([lpi, db], axis=1, join="inner").dropna()
    both = both[both.index.isin(members)]
    ref = stats.pearsonr(both["customs_score"], np.log1p(both["time_import_border_h"]))
    tab = o.lpi_vs_db(load_outcomes()).set_index("method")
    assert tab.loc["pearson", "n"] == len(both) > 140
    assert tab.loc["pearson", "estimate"] == pytest.approx(ref.statistic, abs=1e-9)
    assert tab.loc["pearson", "p_value"] == pytest.approx(ref.pvalue, rel=1e-6)
    # a clearly negative relation: better-rated customs, shorter border compliance
    assert tab.loc["pearson", "ci_high"] < -0.4 and tab.loc["spearman", "ci_high"] < -0.4
