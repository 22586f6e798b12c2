"""Tests of pmm_lib.analysis.validity against hand-computed cases, textbook formulas and planted truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pmm_lib.analysis import validity as v
from pmm_lib.errors import InputError, SpecError
from pmm_lib.inputs.framework import load_framework

META = load_framework().meta()


def _exact_corr_data(corr: np.ndarray, n: int, seed: int = 0) -> pd.DataFrame:
    """Data whose sample correlation matrix equals ``corr`` exactly (whiten, then colour)."""
    g = np.random.default_rng(seed)
    z = g.standard_normal((n, corr.shape[0]))
    z = z - z.mean(axis=0)
    w = np.linalg.cholesky(np.cov(z, rowvar=False))
    z = z @ np.linalg.inv(w).T
    x = z @ np.linalg.cholesky(corr).T
    return pd.DataFrame(x, columns=[f"V{i + 1}" for i in range(corr.shape[0])])


# ----------------------------------------------------------------- alpha
def test_alpha_hand_computed():
    # item variances 5/3, 4/3, 8/3 (sum 17/3); row sums 4, 7, 10, 13 -> variance 15
    # alpha = 3/2 * (1 - (17/3)/15) = 14/15
    df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 2, 4, 4], "c": [1, 3, 3, 5]})
    assert v.cronbach_alpha(df) == pytest.approx(14 / 15, abs=1e-12)


def test_alpha_listwise_drops_incomplete_rows():
    df = pd.DataFrame({"a": [1, 2, 3, 4, 9], "b": [2, 2, 4, 4, np.nan], "c": [1, 3, 3, 5, 0]})
    assert v.cronbach_alpha(df) == pytest.approx(14 / 15, abs=1e-12)


def test_alpha_textbook_spearman_brown_for_equicorrelated_items():
    # standardized items with common correlation r: alpha = k r / (1 + (k - 1) r)
    k, r = 5, 0.4
    corr = np.full((k, k), r) + (1 - r) * np.eye(k)
    df = _exact_corr_data(corr, 60)
    z = (df - df.mean()) / df.std(ddof=1)
    assert v.cronbach_alpha(z) == pytest.approx(k * r / (1 + (k - 1) * r), abs=1e-10)


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 30), st.integers(2, 6), st.integers(0, 10_000))
def test_alpha_equals_hoyt_anova_reliability(n, k, seed):
    # Hoyt (1941): alpha = (MS_units - MS_residual) / MS_units in the two-way units x items ANOVA
    x = np.random.default_rng(seed).normal(size=(n, k)) + np.random.default_rng(seed + 1).normal(size=(n, 1))
    grand = x.mean()
    ss_units = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_items = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_res = ((x - grand) ** 2).sum() - ss_units - ss_items
    ms_units, ms_res = ss_units / (n - 1), ss_res / ((n - 1) * (k - 1))
    expected = (ms_units - ms_res) / ms_units
    df = pd.DataFrame(x)
    assert v.cronbach_alpha(df) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert v.cronbach_alpha(df, missing="pairwise") == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_alpha_input_errors():
    with pytest.raises(InputError, match="at least 2 items"):
        v.cronbach_alpha(pd.DataFrame({"a": [1.0, 2.0]}))
    with pytest.raises(InputError, match="not numeric"):
        v.cronbach_alpha(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))
    with pytest.raises(SpecError, match="allowed: listwise, pairwise"):
        v.cronbach_alpha(pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 3.0]}), missing="all")


def test_alpha_ci_bootstrap_and_feldt():
    g = np.random.default_rng(3)
    lat = g.standard_normal(200)
    df = pd.DataFrame({f"i{j}": lat + g.standard_normal(200) for j in range(4)})
    a = v.cronbach_alpha(df)
    boot = v.alpha_ci(df, n_boot=500, seed=1).iloc[0]
    assert boot["estimate"] == pytest.approx(a)
    assert boot["ci_low"] < a < boot["ci_high"]
    assert boot["n"] == 200 and boot["k"] == 4 and boot["n_boot"] == 500
    again = v.alpha_ci(df, n_boot=500, seed=1).iloc[0]
    assert again["ci_low"] == boot["ci_low"] and again["ci_high"] == boot["ci_high"]
    feldt = v.alpha_ci(df, method="feldt").iloc[0]
    # Feldt (1965): 1 - (1 - a) F_{.975; n-1, (n-1)(k-1)}, 1 - (1 - a) F_{.025; ...}
    assert feldt["ci_low"] == pytest.approx(1 - (1 - a) * stats.f.ppf(0.975, 199, 597))
    assert feldt["ci_high"] == pytest.approx(1 - (1 - a) * stats.f.ppf(0.025, 199, 597))
    # the two intervals agree roughly for normal data (true alpha = 4/5 here)
    assert abs(feldt["ci_low"] - boot["ci_low"]) < 0.03 and abs(feldt["ci_high"] - boot["ci_high"]) < 0.03
    assert boot["ci_low"] < 0.8 < boot["ci_high"]


def test_item_analysis_matches_definitions():
    df = pd.DataFrame({"a": [1, 2, 3, 4, 5.0], "b": [2, 2, 4, 4, 5.0], "c": [1, 3, 3, 5, 2.0]})
    out = v.item_analysis(df).set_index("item")
    a = v.cronbach_alpha(df)
    for item in df.columns:
        rest = df.drop(columns=item)
        assert out.loc[item, "item_rest_r"] == pytest.approx(np.corrcoef(df[item], rest.sum(axis=1))[0, 1])
        assert out.loc[item, "alpha_if_deleted"] == pytest.approx(v.cronbach_alpha(rest))
        assert out.loc[item, "alpha_change"] == pytest.approx(v.cronbach_alpha(rest) - a)
        assert out.loc[item, "n"] == 5


def test_consistency_table_per_dimension_and_outcome():
    g = np.random.default_rng(11)
    n = 300
    lat = g.standard_normal(n)
    kpis = META.loc[META["level"] == 1, "code"].tolist()
    x = pd.DataFrame({k: lat + g.standard_normal(n) for k in kpis})
    out = v.consistency_table(x, META, n_boot=200, seed=2)
    dims = out[out["level"] == 3].set_index("code")
    assert list(dims.index) == ["TF", "RC", "ES", "OD"]
    # population alpha with loading 1/sqrt(2) items: r = 1/2 -> k/(k+1)
    for code, row in dims.iterrows():
        assert row["k"] == len(v.groups_from_meta(META, kpis)[code])
        assert row["alpha"] == pytest.approx(row["k"] / (row["k"] + 1), abs=0.03)
        assert row["ci_low"] < row["alpha"] < row["ci_high"]
    single = out[(out["level"] == 2) & (out["k"] == 1)]
    assert len(single) > 0 and single["alpha"].isna().all()


# ----------------------------------------------------------------- correlations
def test_fisher_ci_hand_computed():
    # z = atanh(.5) = .549306, se = 1/sqrt(27) = .192450, 1.959964 * se = .377190
    lo, hi = v.fisher_ci(0.5, 30)
    assert lo == pytest.approx(math.tanh(0.549306 - 0.377190), abs=1e-5)
    assert hi == pytest.approx(math.tanh(0.549306 + 0.377190), abs=1e-5)
    lo_s, hi_s = v.fisher_ci(0.5, 30, method="spearman")
    assert lo_s < lo and hi_s > hi  # wider by sqrt(1.06)


def test_correlation_table_matches_scipy_pairwise_complete():
    g = np.random.default_rng(5)
    df = pd.DataFrame(g.standard_normal((40, 3)), columns=["a", "b", "c"])
    df["b"] += df["a"]
    df.loc[[1, 5, 7], "a"] = np.nan
    df.loc[[2, 3], "c"] = np.nan
    tab = v.correlation_table(df)
    assert len(tab) == 6
    for row in tab.itertuples():
        ok = df[[row.var1, row.var2]].dropna()
        f = stats.pearsonr if row.method == "pearson" else stats.spearmanr
        ref = f(ok[row.var1], ok[row.var2])
        assert row.n == len(ok)
        assert row.estimate == pytest.approx(ref.statistic, abs=1e-12)
        assert row.p_value == pytest.approx(ref.pvalue, rel=1e-6)
        assert row.ci_low < row.estimate < row.ci_high
    m = v.correlation_matrix(tab, "pearson")
    assert m.loc["a", "b"] == m.loc["b", "a"] and m.loc["c", "c"] == 1.0


def test_correlation_matrix_is_pandas_pairwise_correlation_matrix():
    g = np.random.default_rng(3)
    df = pd.DataFrame(g.standard_normal((40, 7)), columns=[f"K{i:02d}" for i in range(7)])
    df = df.mask(g.random(df.shape) < 0.15)  # pairwise-complete cases differ by pair
    tab = v.correlation_table(df, method=("pearson", "spearman"))
    for method in ("pearson", "spearman"):
        m = v.correlation_matrix(tab, method)
        pd.testing.assert_frame_equal(m, df.corr(method=method), rtol=1e-10, check_names=False)
    p = v.correlation_matrix(tab, "pearson", value="p_value")
    assert np.isnan(np.diag(p)).all() and (p.to_numpy() == p.to_numpy().T)[~np.eye(7, dtype=bool)].all()
    row = tab[(tab["method"] == "pearson") & (tab["var1"] == "K02") & (tab["var2"] == "K05")].iloc[0]
    assert p.loc["K05", "K02"] == row.p_value


def test_correlation_flags_find_planted_problems():
    g = np.random.default_rng(8)
    n = 200
    lat = g.standard_normal(n)
    kpis = META.loc[META["level"] == 1, "code"].tolist()
    x = pd.DataFrame({k: lat + 0.8 * g.standard_normal(n) for k in kpis})
    x["K02"] = x["K01"] + 0.05 * g.standard_normal(n)  # collinear
    x["K05"] = -x["K05"]  # against its dimension (TF)
    x["K06"] = g.standard_normal(n)  # unrelated: weak with parent
    flags = v.correlation_flags(x, META)
    coll = flags[flags["flag"] == "collinear"]
    assert set(map(tuple, coll[["code", "other"]].to_numpy())) == {("K01", "K02")}
    neg = flags[flags["flag"] == "negative_within_dimension"]
    assert set(neg["code"]).union(neg["other"]) >= {"K05"}
    assert all("K05" in (a, b) or "K06" in (a, b) for a, b in zip(neg["code"], neg["other"], strict=True))
    weak = flags[flags["flag"] == "weak_with_parent"]
    assert set(weak["code"]) == {"K05", "K06"}


# ----------------------------------------------------------------- PCA / EFA / KMO / Bartlett
def test_pca_eigenvalues_of_equicorrelation_matrix():
    # R = (1 - rho) I + rho J has eigenvalues 1 + (k - 1) rho and 1 - rho (k - 1 times)
    k, rho = 6, 0.5
    corr = np.full((k, k), rho) + (1 - rho) * np.eye(k)
    res = v.pca(_exact_corr_data(corr, 200), n_iter=200, seed=1)
    ev = res.eigen["eigenvalue"].to_numpy()
    assert ev[0] == pytest.approx(1 + (k - 1) * rho, abs=1e-10)
    assert ev[1:] == pytest.approx(np.full(k - 1, 1 - rho), abs=1e-10)
    assert res.eigen["explained"].iloc[0] == pytest.approx(3.5 / 6)
    assert res.eigen["cumulative"].iloc[-1] == pytest.approx(1.0)
    assert res.n_kaiser == 1 and res.n_parallel == 1 and res.n == 200
    first = res.loadings[res.loadings["component"] == "PC1"]["estimate"]
    assert np.allclose(first, math.sqrt(3.5 / 6))  # sqrt(lambda) / sqrt(k) each, positive sign


def test_pca_two_blocks_retains_two_components():
    b = np.full((3, 3), 0.7) + 0.3 * np.eye(3)
    corr = np.block([[b, np.zeros((3, 3))], [np.zeros((3, 3)), b]])
    res = v.pca(_exact_corr_data(corr, 150), n_iter=200, seed=2)
    assert res.eigen["eigenvalue"].iloc[:2].to_numpy() == pytest.approx([2.4, 2.4])
    assert res.n_kaiser == 2 and res.n_parallel == 2


def test_parallel_analysis_thresholds():
    thr = v.parallel_analysis(100, 5, n_iter=300, seed=4)
    assert np.all(np.diff(thr) < 0) and thr[0] > 1 > thr[-1]
    assert np.array_equal(thr, v.parallel_analysis(100, 5, n_iter=300, seed=4))
    big = v.parallel_analysis(5000, 5, n_iter=50, seed=4)
    assert np.all(np.abs(big - 1) < 0.1)  # random eigenvalues shrink to 1 as n grows


R3 = np.array([[1, 0.5, 0.4], [0.5, 1, 0.3], [0.4, 0.3, 1.0]])


def test_kmo_hand_computed():
    # first-order partials: r12.3 = (.5 - .4*.3)/sqrt(.84*.91), r13.2 = (.4 - .5*.3)/sqrt(.75*.91),
    # r23.1 = (.3 - .5*.4)/sqrt(.75*.84)
    q12 = 0.38 / math.sqrt(0.84 * 0.91)
    q13 = 0.25 / math.sqrt(0.75 * 0.91)
    q23 = 0.10 / math.sqrt(0.75 * 0.84)
    r2 = 0.25 + 0.16 + 0.09
    q2 = q12**2 + q13**2 + q23**2
    res = v.kmo(corr=R3)
    assert res.overall == pytest.approx(r2 / (r2 + q2), abs=1e-12)
    assert res.overall == pytest.approx(0.62787, abs=1e-5)
    assert res.items.iloc[0] == pytest.approx(0.41 / (0.41 + q12**2 + q13**2), abs=1e-12)
    same = v.kmo(_exact_corr_data(R3, 80))
    assert same.overall == pytest.approx(res.overall, abs=1e-10)


def test_bartlett_hand_computed():
    # |R| = 1 + 2(.5)(.4)(.3) - .25 - .16 - .09 = .62; chi2 = -(49 - 11/6) ln .62, df = 3
    out = v.bartlett_sphericity(corr=R3, n=50).iloc[0]
    expected = -(49 - 11 / 6) * math.log(0.62)
    assert out["statistic"] == pytest.approx(expected, abs=1e-10)
    assert out["statistic"] == pytest.approx(22.5474, abs=1e-3)
    assert out["df"] == 3 and out["p_value"] == pytest.approx(stats.chi2.sf(expected, 3))
    ident = v.bartlett_sphericity(corr=np.eye(4), n=30).iloc[0]
    assert ident["statistic"] == pytest.approx(0.0) and ident["p_value"] == pytest.approx(1.0)
    with pytest.raises(InputError, match="n \\(number of units\\)"):
        v.bartlett_sphericity(corr=R3)


def test_efa_recovers_known_loadings():
    g = np.random.default_rng(12)
    n = 3000
    lam = np.array([0.8, 0.7, 0.6, 0.5, 0.75])
    f = g.standard_normal(n)
    x = pd.DataFrame(np.outer(f, lam) + g.standard_normal((n, 5)) * np.sqrt(1 - lam**2),
                     columns=[f"x{i}" for i in range(5)])
    out = v.efa(x, 1)
    assert out["estimate"].to_numpy() == pytest.approx(lam, abs=0.05)
    assert out["communality"].to_numpy() == pytest.approx(lam**2, abs=0.06)
    # two orthogonal factors, varimax: each item loads on one factor
    f2 = g.standard_normal((n, 2))
    y = pd.DataFrame(np.hstack([np.outer(f2[:, 0], [0.8, 0.7, 0.75]), np.outer(f2[:, 1], [0.8, 0.7, 0.75])])
                     + 0.6 * g.standard_normal((n, 6)), columns=[f"y{i}" for i in range(6)])
    two = v.efa(y, 2).pivot(index="item", columns="factor", values="estimate").abs()
    primary = two.idxmax(axis=1)
    assert primary.iloc[:3].nunique() == 1 and primary.iloc[3:].nunique() == 1
    assert primary.iloc[0] != primary.iloc[3]
    assert (two.min(axis=1) < 0.1).all()


def test_pca_table_per_dimension():
    g = np.random.default_rng(1)
    kpis = META.loc[META["level"] == 1, "code"].tolist()
    lat = g.standard_normal(120)
    x = pd.DataFrame({k: lat + g.standard_normal(120) for k in kpis})
    tab = v.pca_table(x, META, n_iter=100, seed=3)
    assert set(tab["code"]) == {"TF", "RC", "ES", "OD"}
    first = tab.groupby("code").first()
    assert (first["n_parallel"] == 1).all() and (first["bartlett_p"] < 1e-6).all() and (first["kmo"] > 0.8).all()


# ----------------------------------------------------------------- scorecard
def test_thresholds_from_dict():
    th = v.ScorecardThresholds.from_dict({"collinear_review": 0.95, "outcome_review": None, "min_n": "12"})
    assert th.collinear_review == 0.95 and th.outcome_review is None and th.min_n == 12
    with pytest.raises(SpecError, match="unknown name\\(s\\) colinear.*allowed: coverage_drop"):
        v.ScorecardThresholds.from_dict({"colinear": 0.9})
    with pytest.raises(SpecError, match="min_n must be a whole number"):
        v.ScorecardThresholds.from_dict({"min_n": "many"})
    assert v.ScorecardThresholds.from_dict(th.to_dict()) == th


def test_scorecard_hand_planted_cases():
    g = np.random.default_rng(21)
    n = 150
    lat = g.standard_normal(n)
    kpis = META.loc[META["level"] == 1, "code"].tolist()
    direction = META.set_index("code")["direction"]
    raw = pd.DataFrame({k: direction[k] * (0.75 * lat + 0.66 * g.standard_normal(n)) for k in kpis})
    raw["K05"] = g.standard_normal(n)  # unrelated
    raw["K07"] = -raw["K07"]  # misdirected
    raw["K16"] = raw["K17"] + 0.05 * g.standard_normal(n)  # collinear pair
    raw.loc[: int(0.7 * n), "K30"] = np.nan  # 30 % coverage
    sc = v.scorecard(raw, META, oriented=False).set_index("code")
    assert sc.loc["K05", "verdict"] in ("review", "drop")
    assert sc.loc["K07", "verdict"] == "drop" and sc.loc["K07", "item_rest_r"] < 0
    assert sc.loc["K16", "verdict"] == sc.loc["K17", "verdict"] == "review"
    assert sc.loc["K16", "r_max_with"] == "K17" and "collinear" in sc.loc["K16", "reasons"]
    assert sc.loc["K30", "verdict"] == "drop" and sc.loc["K30", "coverage"] == pytest.approx(44 / 150)
    kept = sc.drop(index=["K05", "K07", "K16", "K17", "K30"])
    assert (kept["verdict"] == "keep").all(), kept[kept["verdict"] != "keep"]["reasons"]
    # raw with orientation == oriented input; pearson and spearman agree on the verdicts here
    same = v.scorecard(v.orient(raw, META), META).set_index("code")
    pd.testing.assert_series_equal(same["item_rest_r"], sc["item_rest_r"])
    pear = v.scorecard(raw, META, oriented=False, method="pearson").set_index("code")
    assert (pear["verdict"] == sc["verdict"]).all()
    # a team override: a looser collinearity rule keeps the pair
    loose = v.scorecard(raw, META, oriented=False, thresholds={"collinear_review": 0.999}).set_index("code")
    assert loose.loc["K16", "verdict"] == "keep"


@pytest.mark.parametrize("source", ["bundled", 7])
@pytest.mark.parametrize("cycle", [2024, 2022])
def test_scorecard_on_synthetic_truth(source, cycle):
    """Bundled returns with truth.json, and a second generator seed with its in-memory truth."""
    import json

    from pmm_lib.inputs.data import load_observations, to_matrix
    from pmm_lib.inputs.synthetic import generate
    from pmm_lib.paths import QUESTIONNAIRE_DIR

    if source == "bundled":
        truth = json.loads((QUESTIONNAIRE_DIR / "truth.json").read_text())
        observations = load_observations()
    else:
        ds = generate(source)
        truth, observations = ds.truth, ds.observations
    matrix = to_matrix(observations, cycle)
    sc = v.scorecard(matrix, META, oriented=False).set_index("code")
    flagged = sc["verdict"] != "keep"
    for k in truth["unrelated_kpis"]:
        assert flagged[k], (k, sc.loc[k, "reasons"])
    mis = truth["misdirected_kpi"]
    assert sc.loc[mis, "verdict"] == "drop" and sc.loc[mis, "item_rest_r"] < 0 and sc.loc[mis, "index_r"] < 0
    for k in truth["collinear_pair"]:
        assert sc.loc[k, "verdict"] == "review" and sc.loc[k, "r_max"] > 0.9
    assert set(sc.loc[list(truth["collinear_pair"]), "r_max_with"]) == set(truth["collinear_pair"])
    sound = sc.loc[truth["sound_kpis"]]
    assert (sound["verdict"] == "keep").all(), sound[sound["verdict"] != "keep"]["reasons"]


def test_bundled_truth_file_matches_generator():
    import json

    from pmm_lib.paths import QUESTIONNAIRE_DIR

    path = QUESTIONNAIRE_DIR / "truth.json"
    if not path.exists():
        pytest.skip("bundled truth.json not written yet")
    truth = json.loads(path.read_text())
    from pmm_lib.inputs.synthetic import generate

    gen = generate(truth["seed"]).truth
    for key in ("unrelated_kpis", "misdirected_kpi", "collinear_pair", "sound_kpis"):
        assert truth[key] == gen[key]


# ----------------------------------------------------------------- missing data (pairwise)
def test_pairwise_covariance_batch_matches_pandas():
    g = np.random.default_rng(13)
    x = g.standard_normal((3, 25, 4))
    x[g.random(x.shape) < 0.2] = np.nan
    got = v._pairwise_cov_batch(x)
    for b in range(3):
        ref = pd.DataFrame(x[b]).cov(min_periods=2).to_numpy()
        assert np.allclose(got[b], ref, equal_nan=True)


def test_alpha_pairwise_with_missing_and_its_ci():
    g = np.random.default_rng(14)
    lat = g.standard_normal(150)
    df = pd.DataFrame({f"i{j}": lat + g.standard_normal(150) for j in range(5)})
    holes = df.mask(g.random(df.shape) < 0.25)
    pair = v.alpha_ci(holes, n_boot=300, seed=2, missing="pairwise").iloc[0]
    assert pair["estimate"] == pytest.approx(v.cronbach_alpha(holes, missing="pairwise"))
    assert pair["estimate"] == pytest.approx(
        5 / 4 * (1 - np.trace(holes.cov().to_numpy()) / holes.cov().to_numpy().sum()))
    pres = holes.notna().astype(int).to_numpy()
    assert pair["n"] == (pres.T @ pres).min() < 150
    assert pair["ci_low"] < pair["estimate"] < pair["ci_high"]
    # true alpha 5/6; pairwise keeps every unit, listwise only ~24 % of them
    assert abs(pair["estimate"] - 5 / 6) < 0.05
    assert v.alpha_ci(holes, n_boot=300, seed=2).iloc[0]["n"] == len(holes.dropna())
    tab = v.consistency_table(pd.DataFrame({"K01": df["i0"], "K02": holes["i1"], "K03": holes["i2"], "K04": df["i3"]}),
                              META, n_boot=100, seed=1, missing="pairwise").set_index("code")
    assert tab.loc["TF", "k"] == 4 and tab.loc["TF", "n"] < 150 and np.isfinite(tab.loc["TF", "alpha"])


def test_pca_pairwise_and_degenerate_matrices():
    k, rho = 5, 0.6
    corr = np.full((k, k), rho) + (1 - rho) * np.eye(k)
    df = _exact_corr_data(corr, 300)
    same = v.pca(df, n_iter=50, seed=1, missing="pairwise")
    assert same.eigen["eigenvalue"].iloc[0] == pytest.approx(1 + (k - 1) * rho)
    with pytest.raises(InputError, match="positive definite"):
        v.kmo(corr=np.ones((3, 3)))
    with pytest.raises(InputError, match="too small"):
        v.bartlett_sphericity(corr=np.eye(10), n=5)


def test_efa_table_per_dimension():
    g = np.random.default_rng(15)
    kpis = META.loc[META["level"] == 1, "code"].tolist()
    lat = g.standard_normal(400)
    x = pd.DataFrame({k: 0.8 * lat + 0.6 * g.standard_normal(400) for k in kpis})
    tab = v.efa_table(x, META, n_factors=1, seed=1)
    assert set(tab["code"]) == {"TF", "RC", "ES", "OD"} and (tab["n"] == 400).all()
    assert tab["estimate"].between(0.65, 0.95).all()


# pingouin's example data set 'cronbach_wide_missing' (12 respondents x 11 binary items, from
# www.real-statistics.com); reference values from pingouin's documented examples, which it checks
# against R's psych::alpha.
PINGOUIN_WIDE_MISSING = """Q1,Q2,Q3,Q4,Q5,Q6,Q7,Q8,Q9,Q10,Q11
1,1,1,1,1,1,1,1,1,1,1
1,1,1,1,1,1,1,1,0,1,0
,0,1,1,,1,1,1,1,0,0
1,1,1,0,1,1,0,1,1,0,0
1,1,1,1,1,0,0,0,1,0,0
0,1,,0,1,1,1,1,0,0,0
1,1,1,1,0,0,1,0,0,0,0
1,1,1,1,1,0,0,0,0,0,0
0,1,0,1,1,0,0,0,0,1,0
1,0,0,1,0,1,0,0,,0,0
1,1,1,0,0,0,0,0,0,0,0
1,0,0,1,0,0,0,0,0,0,0
"""


def test_alpha_matches_pingouin_and_psych_reference_values():
    import io

    d = pd.read_csv(io.StringIO(PINGOUIN_WIDE_MISSING))
    # psych::alpha(data, use="pairwise") and use="complete.obs"
    assert v.cronbach_alpha(d, missing="pairwise") == pytest.approx(0.732660835214447, abs=1e-12)
    assert v.cronbach_alpha(d) == pytest.approx(0.8016949152542373, abs=1e-12)
    # median-imputed (complete) data: estimate and Feldt interval as pingouin reports them
    full = v.alpha_ci(d.fillna(d.median()), method="feldt").iloc[0]
    assert full["estimate"] == pytest.approx(0.7380191693290734, abs=1e-12)
    assert round(full["ci_low"], 3) == 0.447 and round(full["ci_high"], 3) == 0.911
    # with missing rows pingouin keeps n = 12 in Feldt's degrees of freedom; we use the rows (or
    # pairs) actually used, so our interval is wider: 9 complete rows here
    listwise = v.alpha_ci(d, method="feldt").iloc[0]
    assert listwise["n"] == 9 and listwise["ci_low"] < 0.581 and listwise["ci_high"] > 0.933


def test_pca_loadings_per_dimension_and_outcome_rule():
    g = np.random.default_rng(16)
    kpis = META.loc[META["level"] == 1, "code"].tolist()
    lat = g.standard_normal(300)
    x = pd.DataFrame({k: 0.8 * lat + 0.6 * g.standard_normal(300) for k in kpis})
    load = v.pca_loadings(x, META, n_iter=50, seed=1)
    assert set(load["component"]) == {"PC1"} and set(load["code"]) == {"TF", "RC", "ES", "OD"}
    assert load["estimate"].between(0.7, 0.95).all()  # sqrt(.64 + (.36 ... ) share) ~ .8-.85
    two = v.pca_loadings(x, META, n_components=2, n_iter=50, seed=1)
    assert set(two["component"]) == {"PC1", "PC2"}
    # the outcome rule: off by default, fires when set
    outcome = pd.Series(g.standard_normal(300), index=x.index)
    base = v.scorecard(x, META, outcome=outcome).set_index("code")
    assert (base["verdict"] == "keep").all() and base["outcome_r"].abs().max() < 0.3
    strict = v.scorecard(x, META, outcome=outcome, thresholds={"outcome_review": 0.3}).set_index("code")
    assert (strict["verdict"] == "review").all() and strict["reasons"].str.contains("outcome r").all()
    flipped = v.scorecard(x, META, outcome=pd.Series(lat, index=x.index), outcome_direction=-1).set_index("code")
    assert (flipped["outcome_r"] < -0.5).all()
    with pytest.raises(InputError, match="pandas Series"):
        v.scorecard(x, META, outcome=lat)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 0.4), st.booleans())
def test_vectorised_correlations_equal_pair_by_pair(seed, hole_rate, ties):
    g = np.random.default_rng(seed)
    x = g.standard_normal((25, 5))
    if ties:
        x = np.round(x)  # many ties: mid-ranks
    x[g.random(x.shape) < hole_rate] = np.nan
    tab = v.correlation_table(pd.DataFrame(x, columns=list("abcde")))
    for row in tab.itertuples():
        i, j = "abcde".index(row.var1), "abcde".index(row.var2)
        r, n = v._pair_corr(x[:, i], x[:, j], row.method)
        assert row.n == n
        assert (math.isnan(r) and math.isnan(row.estimate)) or row.estimate == pytest.approx(r, abs=1e-10)


def test_efa_pairwise_equals_listwise_on_complete_data_and_negative_p():
    g = np.random.default_rng(17)
    lat = g.standard_normal(300)
    x = pd.DataFrame({f"x{i}": 0.7 * lat + 0.7 * g.standard_normal(300) for i in range(5)})
    a = v.efa(x, 1)["estimate"].to_numpy()
    b = v.efa(x, 1, missing="pairwise")["estimate"].to_numpy()
    assert a == pytest.approx(b, abs=1e-5)
    # a weak negative pair is noise unless it is distinguishable from 0 (negative_p=None: any r < 0)
    kp = META.loc[META["level"] == 1, "code"].tolist()[:4]  # K01-K04, all in TF
    y = pd.DataFrame({k: g.standard_normal(40) for k in kp})
    any_neg = v.correlation_flags(y, META, negative_p=None)
    sig_neg = v.correlation_flags(y, META)
    neg_all = any_neg[any_neg["flag"] == "negative_within_dimension"]
    neg_sig = sig_neg[sig_neg["flag"] == "negative_within_dimension"]
    assert len(neg_all) > 0 and (neg_all["estimate"] < 0).all()
    assert (neg_sig["p_value"] < 0.05).all() and len(neg_sig) <= len(neg_all)


def test_thresholds_from_yaml(tmp_path):
    spec = tmp_path / "scenario.yaml"
    spec.write_text("normalise: {method: minmax}\nscorecard:\n  item_rest_review: 0.25\n  parent_review: null\n")
    th = v.ScorecardThresholds.from_yaml(spec)
    assert th.item_rest_review == 0.25 and th.parent_review is None and th.collinear_review == 0.9
    flat = tmp_path / "flat.yaml"
    flat.write_text("min_n: 20\n")
    assert v.ScorecardThresholds.from_yaml(flat).min_n == 20
    bad = tmp_path / "bad.yaml"
    bad.write_text("scorecard: {item_rest: 0.2}\n")
    with pytest.raises(SpecError, match="bad.yaml: scorecard thresholds: unknown name\\(s\\) item_rest"):
        v.ScorecardThresholds.from_yaml(bad)
    with pytest.raises(InputError, match="not found"):
        v.ScorecardThresholds.from_yaml(tmp_path / "missing.yaml")


def test_interval_coverage_by_simulation():
    """Fisher-z and Feldt intervals cover the true value about 95% of the time (known truth)."""
    g = np.random.default_rng(2024)
    sims, n, rho = 4000, 30, 0.5
    a = g.standard_normal((sims, n))
    b = rho * a + math.sqrt(1 - rho**2) * g.standard_normal((sims, n))
    ac, bc = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    r = (ac * bc).sum(axis=1) / np.sqrt((ac**2).sum(axis=1) * (bc**2).sum(axis=1))
    lo, hi = v.fisher_ci(r, np.full(sims, n))
    cover = np.mean((lo < rho) & (rho < hi))
    assert 0.935 < cover < 0.965  # binomial s.e. 0.0034
    # Feldt: parallel items (loading .7, unique .71) -> true alpha = k r / (1 + (k - 1) r), r = .49
    k, reps, m = 4, 400, 60
    true_alpha = k * 0.49 / (1 + (k - 1) * 0.49)
    hits = 0
    for _ in range(reps):
        lat = g.standard_normal((m, 1))
        x = pd.DataFrame(0.7 * lat + math.sqrt(0.51) * g.standard_normal((m, k)))
        ci = v.alpha_ci(x, method="feldt").iloc[0]
        hits += ci["ci_low"] < true_alpha < ci["ci_high"]
    assert 0.91 < hits / reps < 0.98  # binomial s.e. 0.011


# ------------------------------------------------------------------------------ EFA numerics vs R

#: Harman (1976), Table 2.3: eight physical variables of 305 girls; R's datasets::Harman23.cor.
HARMAN23 = np.array([
    [1.000, 0.846, 0.805, 0.859, 0.473, 0.398, 0.301, 0.382],
    [0.846, 1.000, 0.881, 0.826, 0.376, 0.326, 0.277, 0.415],
    [0.805, 0.881, 1.000, 0.801, 0.380, 0.319, 0.237, 0.345],
    [0.859, 0.826, 0.801, 1.000, 0.436, 0.329, 0.327, 0.365],
    [0.473, 0.376, 0.380, 0.436, 1.000, 0.762, 0.730, 0.629],
    [0.398, 0.326, 0.319, 0.329, 0.762, 1.000, 0.583, 0.577],
    [0.301, 0.277, 0.237, 0.327, 0.730, 0.583, 1.000, 0.539],
    [0.382, 0.415, 0.345, 0.365, 0.629, 0.577, 0.539, 1.000]])
HARMAN23_NAMES = ["height", "arm.span", "forearm", "lower.leg", "weight", "bitro.diameter", "chest.girth",
                  "chest.width"]
#: R: factanal(factors = 2, covmat = Harman23.cor) (varimax, Kaiser-normalised, R's eps 1e-5),
#: as printed in the example of ?Harman23.cor: uniquenesses and loadings to three decimals.
FACTANAL_UNIQUENESS = [0.170, 0.107, 0.166, 0.199, 0.089, 0.364, 0.416, 0.537]
FACTANAL_LOADINGS = [[0.865, 0.287], [0.927, 0.181], [0.895, 0.179], [0.859, 0.252],
                     [0.233, 0.925], [0.194, 0.774], [0.134, 0.752], [0.278, 0.621]]


def _frame_with_corr(corr: np.ndarray, n: int, names: list[str] | None = None, seed: int = 0) -> pd.DataFrame:
    """Data whose sample correlation matrix is exactly ``corr`` (whitened, then coloured)."""
    g = np.random.default_rng(seed)
    z = g.normal(size=(n, corr.shape[0]))
    z = (z - z.mean(0)) / z.std(0, ddof=1)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.corrcoef(z, rowvar=False))).T
    x = z @ np.linalg.cholesky(corr).T
    return pd.DataFrame(x, columns=names or [f"x{i}" for i in range(corr.shape[0])])


def test_ml_efa_reproduces_factanal_on_harman23():
    fit = v.factor_ml(HARMAN23, 2)
    assert fit.converged and fit.heywood == ()
    assert np.round(fit.uniqueness, 3).tolist() == FACTANAL_UNIQUENESS
    rotated, t = v.varimax(fit.loadings)
    assert np.allclose(t @ t.T, np.eye(2), atol=1e-12)  # an orthogonal rotation
    got = np.abs(rotated)
    got = got[:, np.argsort(-got[0])]  # factanal's factor order: height loads on Factor1
    assert np.round(got, 3).tolist() == FACTANAL_LOADINGS
    # the same through efa() on data with exactly that correlation matrix (n = 305)
    out = v.efa(_frame_with_corr(HARMAN23, 305, HARMAN23_NAMES), 2)
    wide = out.pivot(index="item", columns="factor", values="estimate").loc[HARMAN23_NAMES].abs()
    wide = wide[wide.loc["height"].sort_values(ascending=False).index]
    assert np.round(wide.to_numpy(), 3).tolist() == FACTANAL_LOADINGS
    uniq = out.drop_duplicates("item").set_index("item").loc[HARMAN23_NAMES, "uniqueness"]
    assert np.round(uniq.to_numpy(), 3).tolist() == FACTANAL_UNIQUENESS
    assert out["converged"].all() and (out["communality"] + out["uniqueness"] - 1).abs().max() < 1e-12


def test_kaiser_normalisation_is_the_default_and_can_be_turned_off():
    x = _frame_with_corr(HARMAN23, 305, HARMAN23_NAMES)
    on = v.efa(x, 2).pivot(index="item", columns="factor", values="estimate").abs()
    same = v.efa(x, 2, kaiser=True).pivot(index="item", columns="factor", values="estimate").abs()
    off = v.efa(x, 2, kaiser=False).pivot(index="item", columns="factor", values="estimate").abs()
    assert on.equals(same)
    assert (on - off).abs().to_numpy().max() > 0.005  # R/psych/SPSS's default differs from raw varimax

    def raw_criterion(load: np.ndarray) -> float:
        sq = load**2
        return float(((sq**2).mean(0) - sq.mean(0) ** 2).sum())

    fit = v.factor_ml(HARMAN23, 2)
    raw, _ = v.varimax(fit.loadings, normalize=False, eps=1e-12)
    kaiser, _ = v.varimax(fit.loadings, normalize=True, eps=1e-12)
    # without normalisation the rotation maximises the raw criterion; with it, the normalised one
    assert raw_criterion(raw) >= raw_criterion(kaiser) - 1e-12
    h = np.sqrt((fit.loadings**2).sum(1))[:, None]
    assert raw_criterion(kaiser / h) >= raw_criterion(raw / h) - 1e-12
    # communalities are invariant under any orthogonal rotation
    assert np.allclose((raw**2).sum(1), (fit.loadings**2).sum(1), atol=1e-12)


def test_heywood_case_is_bounded_at_0_005_like_factanal():
    # one factor, r12 r13 / r23 = 0.85 * 0.85 / 0.6 = 1.204 > 1: item 1 would need a negative uniqueness
    corr = np.array([[1.0, 0.85, 0.85], [0.85, 1.0, 0.6], [0.85, 0.6, 1.0]])
    fit = v.factor_ml(corr, 1)
    assert fit.heywood == (0,) and fit.uniqueness[0] == pytest.approx(v.UNIQUENESS_LOWER)
    assert (fit.uniqueness >= v.UNIQUENESS_LOWER).all() and np.isfinite(fit.loadings).all()
    pa = v.factor_pa(corr, 1)
    assert (pa.uniqueness >= v.UNIQUENESS_LOWER - 1e-15).all() and 0 in pa.heywood
    out = v.efa(_frame_with_corr(corr, 200), 1)
    assert out["uniqueness"].min() >= v.UNIQUENESS_LOWER and np.isfinite(out["estimate"]).all()


def test_efa_is_reproducible_and_seed_only_drives_parallel_analysis():
    x = _frame_with_corr(HARMAN23, 305, HARMAN23_NAMES)
    a, b = v.efa(x, 2, seed=1), v.efa(x, 2, seed=1)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, v.efa(x, 2, seed=999))  # deterministic start: no random start
    c, d = v.efa(x, None, seed=5), v.efa(x, None, seed=5)
    pd.testing.assert_frame_equal(c, d)
    assert c["factor"].nunique() == 2  # parallel analysis keeps two factors on Harman's data


def test_principal_axis_runs_to_convergence_and_reports_it():
    # exact one-factor structure, one strong and three weak items: the fixed point is known (the
    # loadings) and the iteration approaches it slowly (513 iterations to a 1e-9 step)
    lam = np.array([0.7, 0.25, 0.2, 0.15])
    corr = np.outer(lam, lam)
    np.fill_diagonal(corr, 1.0)
    fit = v.factor_pa(corr, 1)
    assert fit.converged and fit.iterations > 50  # psych's max.iter = 50 would stop short here
    assert np.abs(np.abs(fit.loadings[:, 0]) - lam).max() < 1e-6
    short = v.factor_pa(corr, 1, max_iter=50)
    assert not short.converged and short.iterations == 50
    assert np.abs(np.abs(short.loadings[:, 0]) - lam).max() > 0.01  # the kind of gap the issue measured
    out = v.efa(_frame_with_corr(corr, 400), 1, method="pa")
    assert out["converged"].all() and (out["iterations"] > 50).all()
    assert np.abs(out["estimate"].abs().to_numpy() - lam).max() < 1e-5
