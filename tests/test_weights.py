"""Tests of pmm_lib.core.weights: hand cases, published AHP example, planted factor structure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmm_lib.core import aggregate as agg
from pmm_lib.core import weights as W
from pmm_lib.errors import InputError, SpecError
from pmm_lib.paths import METHODOLOGY_DIR


@pytest.fixture
def meta() -> pd.DataFrame:
    return pd.DataFrame({
        "code": ["a", "b", "c", "d", "e", "X", "Y", "I"],
        "level": [1, 1, 1, 1, 1, 2, 2, 3],
        "parent": ["X", "X", "X", "Y", "Y", "I", "I", None],
        "direction": 1,
        "weight": [1.0, 1.0, 2.0, 3.0, 1.0, 1.0, 1.0, 1.0],
    })


def _sums_to_one_per_parent(w: pd.Series, meta: pd.DataFrame) -> None:
    parent = meta.set_index("code")["parent"].reindex(w.index)
    np.testing.assert_allclose(w.groupby(parent).sum().to_numpy(), 1.0, atol=1e-9)


# ------------------------------------------------------------------ normative weights


def test_equal_framework_explicit_hand_cases(meta):
    np.testing.assert_allclose(W.equal(meta)[["a", "b", "c", "d", "e", "X", "Y"]],
                               [1 / 3, 1 / 3, 1 / 3, 0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(W.framework(meta)[["a", "c", "d", "e"]], [0.25, 0.5, 0.75, 0.25])
    e = W.explicit({"e": 3.0, "X": 3.0}, meta)  # any level; others keep framework weights
    np.testing.assert_allclose(e[["d", "e", "X", "Y"]], [0.5, 0.5, 0.75, 0.25])
    np.testing.assert_allclose(W.explicit({"p": 1.0, "q": 3.0}).to_numpy(), [0.25, 0.75])
    with pytest.raises(SpecError, match="not below the top.*zz"):
        W.explicit({"zz": 1.0}, meta)
    with pytest.raises(SpecError, match=">= 0"):
        W.explicit({"a": -1.0}, meta)
    with pytest.raises(SpecError, match="every child of X"):
        W.explicit({"a": 0.0, "b": 0.0, "c": 0.0}, meta)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.01, 100.0), min_size=5, max_size=5), st.floats(1e-3, 1e3))
def test_explicit_weights_invariant_to_scaling(ws, c):
    meta = pd.DataFrame({"code": ["a", "b", "c", "d", "e", "X", "Y", "I"],
                         "level": [1, 1, 1, 1, 1, 2, 2, 3],
                         "parent": ["X", "X", "X", "Y", "Y", "I", "I", None], "weight": 1.0})
    given_ = dict(zip("abcde", ws, strict=True))
    scaled = {k: v * c for k, v in given_.items()}
    pd.testing.assert_series_equal(W.explicit(given_, meta), W.explicit(scaled, meta),
                                   rtol=1e-12)


def test_explicit_from_csv_and_yaml(meta, tmp_path):
    csv = tmp_path / "w.csv"
    csv.write_text("code,weight\na,2\nb,1\nc,1\n")
    np.testing.assert_allclose(W.explicit(csv, meta)[["a", "b", "c"]], [0.5, 0.25, 0.25])
    yml = tmp_path / "w.yaml"
    yml.write_text("weights:\n  a: 2\n  b: 1\n  c: 1\n")
    pd.testing.assert_series_equal(W.explicit(yml, meta), W.explicit(csv, meta))
    bad = tmp_path / "bad.csv"
    bad.write_text("code,weight\na,2\nb,heavy\n")
    with pytest.raises(InputError, match="row 3.*weight") as err:
        W.explicit(bad, meta)
    assert "bad.csv" in str(err.value)
    with pytest.raises(InputError, match="not found"):
        W.explicit(tmp_path / "none.csv", meta)


# ------------------------------------------------------------------ budget allocation


def test_budget_allocation_hand_case(meta):
    pts = pd.DataFrame({"expert": ["e1", "e2", "e3"], "a": [50, 70, 60], "b": [50, 30, 40],
                        "X": [10, 30, 20], "Y": [10, 10, 20]})
    out = W.budget_allocation(pts, meta.assign(parent=["X", "X", "X", "Y", "Y", "I", "I", None]))
    a = out.set_index("code")
    # shares of a within parent X among the columns given (a, b): .5, .7, .6
    assert a.loc["a", "weight"] == pytest.approx(0.6)
    assert a.loc["a", "sd"] == pytest.approx(0.1)
    assert a.loc["a", "q1"] == pytest.approx(0.55) and a.loc["a", "q3"] == pytest.approx(0.65)
    assert a.loc["a", "iqr"] == pytest.approx(0.1)
    assert a.loc["a", "cv"] == pytest.approx(0.1 / 0.6)
    # X within I: 0.5, 0.75, 0.5 -> mean 0.58333
    assert a.loc["X", "weight"] == pytest.approx(1.75 / 3)
    assert a.loc["X", "parent"] == "I" and (a["n"] == 3).all()
    np.testing.assert_allclose(a.loc[["X", "Y"], "weight"].sum(), 1.0)


def test_budget_allocation_errors(meta, tmp_path):
    with pytest.raises(InputError, match="expert 'e2'.*column 'b'|column 'b'.*expert 'e2'"):
        W.budget_allocation(pd.DataFrame({"a": [1, 2], "b": [1, -1]}, index=["e1", "e2"]))
    f = tmp_path / "pts.csv"
    f.write_text("expert,a,zz\ne1,1,2\n")
    with pytest.raises(InputError, match="not in the hierarchy: zz"):
        W.budget_allocation(f, meta)
    with pytest.raises(InputError, match="no points"):
        W.budget_allocation(pd.DataFrame({"a": [0, 1], "b": [0, 1]}, index=["e1", "e2"]), meta)


def test_shipped_budget_example_loads():
    from pmm_lib.inputs.framework import load_framework

    out = W.budget_allocation(METHODOLOGY_DIR / "weights" / "example_budget.csv",
                              load_framework().meta())
    assert set(out["code"]) == {"TF", "RC", "ES", "OD"}
    assert out["weight"].sum() == pytest.approx(1.0) and (out["n"] == 8).all()
    # TF: points 30, 40, 25, 35, 30, 20, 35, 30 out of 100 each -> mean 0.30625
    assert out.set_index("code").loc["TF", "weight"] == pytest.approx(0.30625)


# ------------------------------------------------------------------ AHP


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.05, 20.0), min_size=2, max_size=9))
def test_ahp_consistent_matrix_returns_generating_weights(ws):
    w = np.asarray(ws) / np.sum(ws)
    codes = [f"c{i}" for i in range(len(w))]
    a = pd.DataFrame(w[:, None] / w[None, :], index=codes, columns=codes)
    r = W.ahp(a)
    np.testing.assert_allclose(r.weights.to_numpy(), w, atol=1e-9)
    assert abs(r.cr) < 1e-9 and r.lambda_max == pytest.approx(len(w), abs=1e-9)


def test_ahp_saaty_wealth_of_nations():
    """Saaty (1990, EJOR 48, table 2): relative wealth of seven nations;
    published lambda_max = 7.61, CI = 0.10, CR = 0.08 and the eigenvector below."""
    c = ["US", "USSR", "China", "France", "UK", "Japan", "W. Germany"]
    a = np.array([[1, 4, 9, 6, 6, 5, 5],
                  [1 / 4, 1, 7, 5, 5, 3, 4],
                  [1 / 9, 1 / 7, 1, 1 / 5, 1 / 5, 1 / 7, 1 / 5],
                  [1 / 6, 1 / 5, 5, 1, 1, 1 / 3, 1 / 3],
                  [1 / 6, 1 / 5, 5, 1, 1, 1 / 3, 1 / 3],
                  [1 / 5, 1 / 3, 7, 3, 3, 1, 2],
                  [1 / 5, 1 / 4, 5, 3, 3, 1 / 2, 1]])
    r = W.ahp(pd.DataFrame(a, index=c, columns=c))
    np.testing.assert_allclose(r.weights.round(3).to_numpy(),
                               [0.427, 0.230, 0.021, 0.052, 0.052, 0.123, 0.094])
    assert round(r.lambda_max, 2) == 7.61
    assert round(r.ci, 2) == 0.10 and round(r.cr, 2) == 0.08
    assert r.ri == 1.32 and r.n == 7


def test_ahp_inconsistent_names_the_worst_judgement():
    w = np.array([0.4, 0.3, 0.2, 0.1])
    codes = ["TF", "RC", "ES", "OD"]
    a = w[:, None] / w[None, :]
    a[0, 3], a[3, 0] = 1 / 9, 9.0  # TF/OD should be 4, reversed to 1/9
    with pytest.raises(SpecError, match=r"CR = .* > 0.1.*TF/OD") as err:
        W.ahp(pd.DataFrame(a, index=codes, columns=codes))
    assert "implied" in str(err.value) or "imply" in str(err.value)
    r = W.ahp(pd.DataFrame(a, index=codes, columns=codes), max_cr=None)
    assert r.cr > 0.1 and r.worst == ("TF", "OD")


def test_ahp_input_forms_agree(tmp_path):
    m = W.ahp({"A/B": 3, "A/C": 5, "B/C": 2}).weights
    t = W.ahp([("A", "B", 3), ("C", "A", 1 / 5), ("B", "C", 2)]).weights
    pd.testing.assert_series_equal(m, t.reindex(m.index))
    f = tmp_path / "ahp.csv"
    f.write_text("code,A,B,C\nA,1,3,5\nB,0.3333333333,1,2\nC,0.2,0.5,1\n")
    pd.testing.assert_series_equal(W.ahp(f).weights, m, atol=1e-8)
    with pytest.raises(SpecError, match="missing judgement.*B/C"):
        W.ahp({"A/B": 3, "A/C": 5})
    with pytest.raises(SpecError, match="given twice"):
        W.ahp([("A", "B", 3), ("B", "A", 1 / 3)])
    f.write_text("code,A,B\nA,1,3\nB,0.5,1\n")
    with pytest.raises(InputError, match="not reciprocal at A/B"):
        W.ahp(f)


def test_ahp_random_index_beyond_saaty_table():
    # Alonso & Lamata's fit agrees with Saaty's table at n = 10 within 0.01
    assert W._random_index(10) == 1.49
    assert (1.7699 * 10 - 4.3513) / 9 == pytest.approx(1.49, abs=0.01)
    assert W._random_index(12) == pytest.approx((1.7699 * 12 - 4.3513) / 11)


def test_shipped_ahp_example_is_consistent():
    r = W.ahp(METHODOLOGY_DIR / "weights" / "example_ahp.csv")
    assert list(r.weights.index) == ["TF", "RC", "ES", "OD"] and r.cr < 0.1
    assert r.weights["RC"] == pytest.approx(r.weights["OD"])  # identical rows


# ------------------------------------------------------------------ PCA


def _two_factor(n: int = 4000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f1, f2 = rng.normal(size=n), rng.normal(size=n)
    cols = {f"a{i}": 0.9 * f1 + np.sqrt(1 - 0.81) * rng.normal(size=n) for i in range(3)}
    cols |= {f"b{i}": 0.7 * f2 + np.sqrt(1 - 0.49) * rng.normal(size=n) for i in range(3)}
    return pd.DataFrame(cols)


def test_pca_weights_recover_planted_two_factor_structure():
    out = W.pca_group_weights(_two_factor()).set_index("code")
    assert (out["n_factors"] == 2).all()
    assert out.loc[["a0", "a1", "a2"], "factor"].nunique() == 1
    assert out.loc[["b0", "b1", "b2"], "factor"].nunique() == 1
    assert out.loc["a0", "factor"] != out.loc["b0", "factor"]
    # population: block eigenvalues 1 + 2(0.81) = 2.62 and 1 + 2(0.49) = 1.98; within a block
    # the squared loadings are equal, so w = (2.62 / 4.60) / 3 and (1.98 / 4.60) / 3
    np.testing.assert_allclose(out.loc[["a0", "a1", "a2"], "weight"], 2.62 / 4.6 / 3, atol=0.01)
    np.testing.assert_allclose(out.loc[["b0", "b1", "b2"], "weight"], 1.98 / 4.6 / 3, atol=0.01)
    assert out["weight"].sum() == pytest.approx(1.0)
    assert (out["loading"] > 0.8).all()


def test_pca_one_factor_and_options():
    x = _two_factor()[["a0", "a1", "a2"]]
    one = W.pca_group_weights(x)
    assert (one["n_factors"] == 1).all()
    np.testing.assert_allclose(one["weight"], 1 / 3, atol=0.01)
    forced = W.pca_group_weights(_two_factor(), n_factors=1)
    assert (forced["n_factors"] == 1).all()
    with pytest.raises(SpecError, match="n_factors"):
        W.pca_group_weights(x, n_factors=5)
    with pytest.raises(InputError, match="constant"):
        W.pca_group_weights(x.assign(a2=1.0))


def test_pca_weights_in_hierarchy(meta):
    rng = np.random.default_rng(5)
    x = pd.DataFrame(rng.normal(size=(300, 5)), columns=list("abcde"))
    x["b"] = x["a"] + 0.1 * rng.normal(size=300)
    w = W.pca_weights(x, meta)
    _sums_to_one_per_parent(w, meta)
    only_1 = W.pca_weights(x, meta, levels=[1])
    assert only_1["X"] == pytest.approx(0.5)  # level 2 kept at framework weights


# ------------------------------------------------------------------ balanced


def test_balanced_weights_equalise_correlations():
    rng = np.random.default_rng(7)
    n = 500
    z = rng.normal(size=n)
    x = pd.DataFrame({"p": z + 0.2 * rng.normal(size=n), "q": z + 0.2 * rng.normal(size=n),
                      "r": rng.normal(size=n)})
    m = pd.DataFrame({"code": ["p", "q", "r", "I"], "level": [1, 1, 1, 2],
                      "parent": ["I", "I", "I", None], "weight": 1.0})
    w = W.balanced_weights(x, m)
    arr = x.to_numpy()

    def spread(ws):
        r = W._corr_with(arr, agg.arithmetic(arr, ws))
        return r.max() - r.min()

    eq = spread(np.full(3, 1 / 3))
    bal = spread(w[["p", "q", "r"]].to_numpy())
    assert bal < eq / 5  # the two collinear indicators no longer dominate
    # p and q are near duplicates, so only their sum is identified
    assert w["r"] > 0.4 and w["p"] + w["q"] == pytest.approx(1 - w["r"])
    assert w.sum() == pytest.approx(1.0)


def _spread_reference(x: np.ndarray, w: np.ndarray) -> float:
    """The balanced-weights objective written directly from its definition."""
    r = W._corr_with(x, agg.arithmetic(x, np.clip(w, 0, None)))
    return float(np.var(np.where(np.isfinite(r), r, 0.0)))


def _balanced_group_reference(x: pd.DataFrame, *, min_weight: float = 0.01) -> pd.Series:
    """The balanced weights as first written: SLSQP with a finite-difference gradient."""
    from scipy.optimize import minimize

    arr = x.to_numpy(dtype=float)
    k = arr.shape[1]
    if k == 1:
        return pd.Series([1.0], index=x.columns)
    w0 = np.full(k, 1.0 / k)
    res = minimize(lambda w: _spread_reference(arr, w), w0, method="SLSQP", bounds=[(min_weight, 1.0)] * k,
                   constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
                   options={"ftol": 1e-12, "maxiter": 500})
    w = res.x if np.isfinite(res.fun) and res.fun <= _spread_reference(arr, w0) else w0
    w = np.clip(w, 0, None)
    return pd.Series(w / w.sum(), index=x.columns)


def test_balanced_objective_value_and_gradient():
    g = np.random.default_rng(11)
    z = g.normal(size=60)
    x = np.column_stack([z + s * g.normal(size=60) for s in (0.3, 0.6, 1.0, 2.0)])
    x[g.uniform(size=x.shape) < 0.15] = np.nan
    x[0] = np.nan                       # a unit with no values (no aggregate)
    x = np.column_stack([x, np.r_[1.0, 2.0, np.full(58, np.nan)]])  # 2 units: no correlation (r = 0)
    for w in (np.full(5, 0.2), g.dirichlet(np.ones(5)), np.array([0.6, 0.1, 0.1, 0.1, 0.1])):
        f, grad = W._balanced_objective(x, w)
        assert f == pytest.approx(_spread_reference(x, w), rel=1e-12, abs=1e-15)
        h = 1e-6
        central = [(_spread_reference(x, w + h * e) - _spread_reference(x, w - h * e)) / (2 * h)
                   for e in np.eye(5)]
        np.testing.assert_allclose(grad, central, rtol=1e-6, atol=1e-10)


def test_balanced_weights_planted_inverse_sd():
    """Uncorrelated children: rho_i = w_i sd_i / sd(y), so equal correlations need w ∝ 1 / sd."""
    g = np.random.default_rng(2)
    q, _ = np.linalg.qr(g.normal(size=(80, 3)) - g.normal(size=(80, 3)).mean(axis=0))
    q = q - q.mean(axis=0)
    q, _ = np.linalg.qr(q)  # centred, exactly orthogonal columns
    sd = np.array([1.0, 2.0, 4.0])
    x = pd.DataFrame(q * sd + 50.0, columns=["p", "q", "r"])
    m = pd.DataFrame({"code": ["p", "q", "r", "I"], "level": [1, 1, 1, 2],
                      "parent": ["I", "I", "I", None], "weight": 1.0})
    w = W.balanced_weights(x, m)
    np.testing.assert_allclose(w[["p", "q", "r"]], (1 / sd) / (1 / sd).sum(), atol=1e-6)
    assert W._balanced_objective(x.to_numpy(), w[["p", "q", "r"]].to_numpy())[0] < 1e-12


def test_balanced_weights_reach_the_reference_optimum_on_bundled_data():
    """AMS 2024 (22 Members): the analytic-gradient weights are the finite-difference ones."""
    from pmm_lib.core.build import build
    from pmm_lib.core.hierarchy import compile_hierarchy
    from pmm_lib.core.spec import Spec
    from pmm_lib.inputs.data import load_observations, to_matrix
    from pmm_lib.inputs.framework import load_framework

    meta = load_framework().meta()
    normalised = build(to_matrix(load_observations(), 2024, "AMS"), meta, Spec.default()).normalised
    got = W.balanced_weights(normalised, meta)
    ref = W._level_by_level(normalised, meta, _balanced_group_reference)
    pd.testing.assert_index_equal(got.index, ref.index)
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), atol=1e-6)
    h = compile_hierarchy(meta)
    for kids in h.groups[2]:  # each KPI group: the objective is at least as low as the reference's
        names = [h.level_codes[1][k] for k in kids]
        arr = normalised[names].to_numpy(dtype=float)
        assert _spread_reference(arr, got[names].to_numpy()) <= _spread_reference(arr, ref[names].to_numpy()) + 1e-12


# ------------------------------------------------------------------ benefit of the doubt


def test_bod_weights_tidy():
    y = pd.DataFrame({"k1": [1.0, 0.0, 0.4, 2.0], "k2": [0.0, 1.0, 0.4, 2.0]},
                     index=["u1", "u2", "u3", "top"])
    out = W.bod_weights(y)
    score = out.groupby("unit")["score"].first()
    # 'top' dominates everyone: score 1; the others are judged against it
    assert score["top"] == pytest.approx(1.0)
    np.testing.assert_allclose(score[["u1", "u2", "u3"]], [0.5, 0.5, 0.2])  # 0.4 / 2
    np.testing.assert_allclose(out.groupby("unit")["share"].sum(), 1.0, atol=1e-9)
    np.testing.assert_allclose(out.groupby("unit")["relative"].sum(), 1.0, atol=1e-9)
    with pytest.raises(SpecError, match="allowed: share_lower"):
        W.bod_weights(y, floor=0.1)


# ------------------------------------------------------------------ effective weights


def test_effective_weights_hand_case():
    x1 = np.array([1.0, -1.0, 1.0, -1.0])
    x2 = np.array([2.0, 2.0, -2.0, -2.0])  # orthogonal to x1, variance 4x
    m = pd.DataFrame({"code": ["x1", "x2", "I"], "level": [1, 1, 2],
                      "parent": ["I", "I", None], "weight": 1.0})
    frame = agg.aggregate_hierarchy(pd.DataFrame({"x1": x1, "x2": x2}), m)
    for kind in ("correlation", "covariance"):
        out = W.effective_weights(frame, m, kind=kind).set_index("code")
        # var(y) = (1 + 4)/4; shares 0.25*1/1.25 = 0.2 and 0.25*4/1.25 = 0.8
        np.testing.assert_allclose(out.loc[["x1", "x2"], "effective"], [0.2, 0.8])
        np.testing.assert_allclose(out["nominal"], [0.5, 0.5])
    assert list(out.columns) == ["parent", "level", "nominal", "effective", "pearson", "n"]
    with pytest.raises(SpecError, match="allowed: correlation, covariance"):
        W.effective_weights(frame, m, kind="sobol")


def test_effective_weights_covariance_sums_to_one(meta):
    rng = np.random.default_rng(2)
    x = pd.DataFrame(rng.uniform(0, 100, size=(80, 5)), columns=list("abcde"))
    frame = agg.aggregate_hierarchy(x, meta)
    out = W.effective_weights(frame, meta, kind="covariance")
    np.testing.assert_allclose(out.groupby("parent")["effective"].sum(), 1.0, atol=1e-9)
    corr = W.effective_weights(frame, meta)
    np.testing.assert_allclose(corr.groupby("parent")["effective"].sum(), 1.0, atol=1e-9)
    assert list(corr["code"]) == ["a", "b", "c", "d", "e", "X", "Y"]


# ------------------------------------------------------------------ resolve_weights


def test_resolve_weights_every_method(meta, tmp_path):
    rng = np.random.default_rng(11)
    x = pd.DataFrame(rng.uniform(0, 100, size=(40, 5)), columns=list("abcde"))
    pts = tmp_path / "p.csv"
    pts.write_text("expert,X,Y\ne1,60,40\ne2,80,20\n")
    wfile = tmp_path / "w.csv"
    wfile.write_text("code,weight\nd,1\ne,1\n")
    cases = {
        "framework": {}, "equal": {}, "explicit": {"values": {"a": 5.0}},
        "file": {"path": str(wfile)}, "budget": {"points": str(pts)},
        "ahp": {"judgements": {"X/Y": 3}}, "pca": {}, "balanced": {"levels": [1]},
        "bod": {"share_lower": 0.05},
    }
    assert set(cases) == set(W.WEIGHT_METHODS)
    for method, opts in cases.items():
        w = W.resolve_weights(method, x, meta, **opts)
        assert set(w.index) == {"a", "b", "c", "d", "e", "X", "Y"}, method
        _sums_to_one_per_parent(w, meta)
    assert W.resolve_weights("budget", x, meta, points=str(pts))["X"] == pytest.approx(0.7)
    assert W.resolve_weights("ahp", x, meta, judgements={"X/Y": 3})["X"] == pytest.approx(0.75)
    assert W.resolve_weights("file", x, meta, path=str(wfile))["d"] == pytest.approx(0.5)


def test_resolve_weights_errors(meta):
    with pytest.raises(SpecError, match="allowed: framework, equal, explicit"):
        W.resolve_weights("entropy", None, meta)
    with pytest.raises(SpecError, match="unknown option.*n_factor.*allowed: levels, n_factors"):
        W.resolve_weights("pca", None, meta, n_factor=2)
    with pytest.raises(SpecError, match="needs the normalised data"):
        W.resolve_weights("pca", None, meta)
    with pytest.raises(SpecError, match="exactly one of matrix, judgements, path"):
        W.resolve_weights("ahp", None, meta)


def test_bundled_example_weights_give_their_hand_computed_answers():
    """The example inputs notebook 03 weights the dimensions with (methodology/weights/)."""
    folder = Path(METHODOLOGY_DIR, "weights")
    budget = W.budget_allocation(folder / "example_budget.csv").set_index("code")
    # mean of the eight experts' points / 100, e.g. TF = (30+40+25+35+30+20+35+30) / 8 / 100
    assert budget["weight"].to_dict() == pytest.approx({"TF": 0.30625, "RC": 0.29375, "ES": 0.18125, "OD": 0.21875})
    assert budget["n"].tolist() == [8, 8, 8, 8]
    assert budget.loc["ES", "iqr"] == pytest.approx(0.20 - 0.15)  # quartiles 15 and 20 points
    res = W.ahp(folder / "example_ahp.csv")
    a = res.matrix.to_numpy()
    vals, vecs = np.linalg.eig(a)  # principal eigenvector, computed independently
    k = int(np.argmax(vals.real))
    v = np.abs(vecs[:, k].real) / np.abs(vecs[:, k].real).sum()
    assert res.weights.to_numpy() == pytest.approx(v, abs=1e-9)
    assert res.weights["RC"] == pytest.approx(res.weights["OD"])  # identical rows, equal priority
    assert res.lambda_max == pytest.approx(vals.real[k])
    assert res.cr == pytest.approx((vals.real[k] - 4) / 3 / 0.90)  # Saaty's RI(4) = 0.90
    assert res.cr < 0.01 and res.worst == ("TF", "ES")  # 2 x 2 would make TF/ES = 4, the file says 3


# ------------------------------------------------------------------ comparing schemes


def test_compare_schemes_and_summary(meta):
    x = pd.DataFrame({"a": [100.0, 0.0, 50.0], "b": [100.0, 0.0, 50.0], "c": [100.0, 0.0, 50.0],
                      "d": [0.0, 100.0, 50.0], "e": [0.0, 100.0, 40.0]}, index=["u1", "u2", "u3"])
    schemes = {"framework": W.framework(meta), "x_heavy": W.explicit({"X": 9.0}, meta),
               "y_heavy": W.explicit({"Y": 9.0}, meta)}
    out = W.compare_schemes(x, meta, schemes)
    assert list(out.columns) == ["unit", "scheme", "score", "rank", "rank_shift"]
    s = out.set_index(["scheme", "unit"])
    # framework: X = 100/0/50, Y = 75/25 with d 3x e: u1 0, u2 100, u3 47.5 -> I = 50, 50, 48.75
    np.testing.assert_allclose(s.loc["framework", "score"], [50.0, 50.0, 48.75])
    assert s.loc["framework", "rank"].tolist() == [1, 1, 3]  # ties share the best rank
    # X weighted 0.9: u1 = 90, u2 = 10, u3 = 45 + 4.75
    np.testing.assert_allclose(s.loc["x_heavy", "score"], [90.0, 10.0, 49.75])
    assert s.loc["x_heavy", "rank_shift"].tolist() == [0, -2, 1]
    summ = W.rank_shift_summary(out).set_index("scheme")
    assert summ.loc["framework", "mean_abs_shift"] == 0 and summ.loc["framework", "spearman"] == 1
    assert summ.loc["x_heavy", "max_abs_shift"] == 2 and summ.loc["x_heavy", "share_moved"] == 2 / 3
    bod = W.compare_schemes(x, meta, schemes, methods={"y_heavy": ["arithmetic", "bod"]})
    assert bod.set_index(["scheme", "unit"]).loc["y_heavy", "score"].max() == pytest.approx(1.0)
    with pytest.raises(SpecError, match="unknown scheme"):
        W.compare_schemes(x, meta, schemes, methods={"zz": "bod"})


def test_scheme_table(meta):
    t = W.scheme_table({"eq": W.equal(meta), "ahp": {"X": 3.0, "Y": 1.0}}, meta)
    assert list(t.columns) == ["scheme", "code", "parent", "level", "weight"]
    s = t.set_index(["scheme", "code"])["weight"]
    assert s["ahp", "X"] == pytest.approx(0.75) and s["ahp", "c"] == pytest.approx(0.5)
    assert s["eq", "c"] == pytest.approx(1 / 3) and len(t) == 14


def test_docstring_examples():
    import doctest

    result = doctest.testmod(W, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0
