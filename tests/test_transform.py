"""Transformation stages: hand-computed cases, textbook formulas, peer tools, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from pmm_lib.core import transform as T
from pmm_lib.errors import InputError, SpecError

# --------------------------------------------------------------------------- denominate


def test_denominate_by_hand():
    d = pd.DataFrame({"a": [10.0, 20.0, 30.0], "b": [1.0, 2.0, 3.0], "c": [5.0, np.nan, 1.0]},
                     index=["X", "Y", "Z"])
    meta = pd.DataFrame({"code": ["a", "b", "c"], "denominator": ["pop", None, "gdp"]})
    den = pd.DataFrame({"pop": [2.0, 4.0, 0.0], "gdp": [10.0, 1.0, 4.0]}, index=["Z", "X", "Y"][::-1])
    out, log = T.denominate(d, meta, den.loc[["X", "Y", "Z"]])
    den = den.loc[["X", "Y", "Z"]]
    assert out["a"].tolist()[:2] == [10.0 / den.loc["X", "pop"], 20.0 / den.loc["Y", "pop"]]
    assert np.isnan(out.loc["Z", "a"])  # zero denominator -> missing, never inf
    assert out["b"].tolist() == [1.0, 2.0, 3.0]  # no denominator: unchanged
    assert out.loc["X", "c"] == 5.0 / den.loc["X", "gdp"] and np.isnan(out.loc["Y", "c"])
    assert set(log.action) == {"denominated", "zero_denominator"}
    assert log.loc[log.action == "zero_denominator", "unit"].tolist() == ["Z"]
    assert d.loc["Z", "a"] == 30.0  # input untouched


def test_denominate_errors():
    d = pd.DataFrame({"a": [1.0]}, index=["X"])
    meta = pd.DataFrame({"code": ["a"], "denominator": ["pop"]})
    with pytest.raises(InputError, match="no denominator data"):
        T.denominate(d, meta, None)
    with pytest.raises(InputError, match="column 'pop'"):
        T.denominate(d, meta, pd.DataFrame({"gdp": [1.0]}, index=["X"]))
    with pytest.raises(InputError, match=r"units \['X'\] have no denominator"):
        T.denominate(d, meta, pd.DataFrame({"pop": [1.0]}, index=["Y"]))
    same, log = T.denominate(d, pd.DataFrame({"code": ["a"]}), None)
    assert same.equals(d) and log.empty


# --------------------------------------------------------------------------- screen


def test_screen_by_hand():
    d = pd.DataFrame({"a": [1, 2, np.nan, np.nan], "b": [1, np.nan, np.nan, 4],
                      "c": [1, 2, 3, np.nan], "d": [1, 2, 3, 4]}, index=list("WXYZ"), dtype=float)
    # coverage: W 1.0, X 0.75, Y 0.5, Z 0.5
    kept, log = T.screen(d, 0.75)
    assert kept.index.tolist() == ["W", "X"]
    assert log.unit.tolist() == ["Y", "Z"] and log.value.tolist() == [0.5, 0.5]
    assert T.screen(d, 0.5)[0].index.tolist() == list("WXYZ")
    assert T.screen(d, 0.0)[1].empty
    with pytest.raises(SpecError, match="screen.min_coverage"):
        T.screen(d, 1.2)


# --------------------------------------------------------------------------- impute


@pytest.fixture
def gappy():
    return pd.DataFrame({"a": [1.0, 3.0, np.nan, 10.0, 20.0], "b": [2.0, np.nan, 4.0, 7.0, np.nan]},
                        index=list("VWXYZ"))


def test_impute_mean_median_by_hand(gappy):
    out, log = T.impute(gappy, "mean")
    assert out.loc["X", "a"] == pytest.approx((1 + 3 + 10 + 20) / 4)
    assert out.loc["W", "b"] == out.loc["Z", "b"] == pytest.approx((2 + 4 + 7) / 3)
    assert len(log) == 3 and set(log.action) == {"imputed"}
    out, _ = T.impute(gappy, "median")
    assert out.loc["X", "a"] == 6.5 and out.loc["W", "b"] == 4.0
    assert T.impute(gappy, "none")[0].equals(gappy)


def test_impute_group_by_hand(gappy):
    g = pd.Series(["p", "p", "p", "q", "q"], index=list("VWXYZ"))
    out, log = T.impute(gappy, "group_mean", groups=g)
    assert out.loc["X", "a"] == 2.0  # mean of V, W
    assert out.loc["W", "b"] == 3.0  # mean of V, X
    assert out.loc["Z", "b"] == 7.0  # only Y in q
    g2 = pd.Series(["p", "p", "q", "p", "p"], index=list("VWXYZ"))
    out, log = T.impute(gappy, "group_median", groups=g2)
    assert out.loc["W", "b"] == 4.5  # median of V(2), Y(7)
    assert np.isnan(out.loc["X", "a"])  # group q has no 'a' at all
    assert log.loc[log.action == "not_imputed", ["unit", "code"]].values.tolist() == [["X", "a"]]
    out, log = T.impute(gappy, "group_mean", groups=g.iloc[:3])  # Y, Z without a group label
    assert np.isnan(out.loc["Z", "b"]) and out.loc["W", "b"] == 3.0
    assert ["Z", "b"] in log.loc[log.action == "not_imputed", ["unit", "code"]].values.tolist()
    with pytest.raises(SpecError, match="needs groups"):
        T.impute(gappy, "group_mean")


def test_impute_panel_previous_else_next(gappy):
    def full(v):
        return pd.DataFrame(v, index=gappy.index, columns=gappy.columns)

    prev = full(100.0)
    prev.loc["X", "a"] = np.nan  # 2022 lacks X.a -> comes from 2021
    older, later = full(50.0), full(999.0)
    panel = {2021: older, 2022: prev, 2025: later}
    out, log = T.impute(gappy, "panel", panel=panel, cycle=2023)
    assert out.loc["X", "a"] == 50.0
    assert out.loc["W", "b"] == 100.0 and out.loc["Z", "b"] == 100.0
    out, _ = T.impute(gappy, "panel", panel={2025: later}, cycle=2023)
    assert out.loc["X", "a"] == 999.0  # no earlier cycle: the next one
    with pytest.raises(SpecError, match="panel"):
        T.impute(gappy, "panel", cycle=2023)


def test_impute_iterative_recovers_linear_truth():
    r = np.random.default_rng(1)
    x1 = r.normal(size=60)
    x2 = r.normal(size=60)
    x3 = 2.0 * x1 - x2 + 0.5
    d = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3})
    miss = [3, 17, 40]
    d.loc[miss, "x3"] = np.nan
    out, log = T.impute(d, "iterative", seed=7)
    np.testing.assert_allclose(out.loc[miss, "x3"], x3[miss], atol=1e-3)
    assert len(log) == 3
    again, _ = T.impute(d, "iterative", seed=7)
    assert again.equals(out)  # same seed, same result
    assert out[["x1", "x2"]].equals(d[["x1", "x2"]])


def test_impute_unknown_method_lists_allowed(gappy):
    with pytest.raises(SpecError, match="allowed: none, mean, median"):
        T.impute(gappy, "knn")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- skew/kurtosis


def test_skew_kurtosis_hand_and_scipy():
    x = np.array([1.0, 2.0, 3.0, 10.0])
    # by hand: mean 4, d = -3,-2,-1,6; sum d2 = 50, d3 = 180, d4 = 1394
    g1 = np.sqrt(4) * 180 / 50**1.5 * np.sqrt(12) / 2
    r = 4 * 1394 / 50**2
    g2 = ((5) * (r - 3) + 6) * 3 / (2 * 1)
    assert T.skewness(x) == pytest.approx(g1, rel=1e-12)
    assert T.kurtosis(x) == pytest.approx(g2, rel=1e-12)
    y = np.random.default_rng(3).lognormal(size=40)
    assert T.skewness(y) == pytest.approx(stats.skew(y, bias=False), rel=1e-10)
    assert T.kurtosis(y) == pytest.approx(stats.kurtosis(y, bias=False), rel=1e-10)
    assert np.isnan(T.skewness([1.0, 2.0])) and np.isnan(T.kurtosis([1.0, 1.0, 1.0, 1.0]))
    assert T.skewness([1.0, np.nan, 2.0, 4.0]) == pytest.approx(T.skewness([1.0, 2.0, 4.0]))


# --------------------------------------------------------------------------- treat


def test_winsorise_one_point():
    d = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 100]}, index=list("ABCDEFGHIJ"))
    out, log = T.treat(d, "winsorise", winmax=5)
    assert out["a"].tolist() == [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 9]
    tab = T.treat_table(log).set_index("code")
    assert tab.loc["a", "n_winsorised"] == 1 and tab.loc["a", "transform"] == "winsorise"
    assert not tab.loc["a", "pass_before"] and tab.loc["a", "pass_after"]
    cell = log[log.action == "winsorised"]
    assert cell.unit.tolist() == ["J"] and cell.value.tolist() == [100.0]


def test_winsorise_tied_extremes_move_together_and_negative_skew():
    a = [1.0, 2, 3, 4, 5, 6, 7, 8, 4, 5, 6, 3, 2, 5, 4, 3, 6, 50, 50]
    d = pd.DataFrame({"a": a, "b": [-1.0, -2, -3, -4, -5, -6, -7, -8, -9, -100, -5, -4] + [-3.0] * 7})
    out, log = T.treat(d, "winsorise", winmax=5)
    assert out["a"].tolist() == a[:-2] + [8.0, 8.0]  # both 50s set to the next-highest, 8
    assert out["b"].min() == -9.0 and (out["b"] == -9.0).sum() == 2
    tab = T.treat_table(log).set_index("code")
    assert tab.loc["a", "n_winsorised"] == 2 and tab.loc["b", "n_winsorised"] == 1
    assert tab.loc["b", "skew_before"] < 0


def test_log_fallback_uses_original_values():
    x = np.array([1.0] * 12 + [2.0, 3.0, 30.0, 200.0, 2000.0, 20000.0])
    d = pd.DataFrame({"a": x})
    out, log = T.treat(d, "winsorise", winmax=1)
    expected = np.log(x - x.min() + 0.01 * (x.max() - x.min()))
    np.testing.assert_allclose(out["a"], expected, rtol=1e-12)
    tab = T.treat_table(log).set_index("code")
    assert tab.loc["a", "transform"] == "log" and tab.loc["a", "n_winsorised"] == 1
    assert not tab.loc["a", "pass_after"]
    assert tab.loc["a", "skew_final"] == pytest.approx(T.skewness(expected))
    # fallback none keeps the winsorised values
    out2, _ = T.treat(d, "winsorise", winmax=1, fallback="none")
    assert out2["a"].max() == 2000.0


def test_boxcox_maximises_likelihood():
    x = np.random.default_rng(5).lognormal(sigma=1.5, size=50)
    d = pd.DataFrame({"a": x, "ok": np.linspace(0, 1, 50)})
    out, log = T.treat(d, "boxcox")
    lam = log.loc[(log.code == "a") & (log.action == "lambda"), "value"].item()
    shifted = x - x.min() + 1.0
    np.testing.assert_allclose(out["a"], (shifted**lam - 1) / lam, rtol=1e-10)
    llf = stats.boxcox_llf(lam, shifted)
    assert llf >= stats.boxcox_llf(lam + 0.01, shifted) and llf >= stats.boxcox_llf(lam - 0.01, shifted)
    assert out["ok"].equals(d["ok"])  # passing indicator untouched
    assert np.all(np.diff(out["a"].to_numpy()[np.argsort(x)]) > 0)  # order preserved


def test_overrides_and_none_and_missing():
    x = [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 100, np.nan]
    d = pd.DataFrame({"a": x, "b": x})
    out, log = T.treat(d, "winsorise", overrides={"b": "none"})
    assert out["a"].max() == 9.0 and out["b"].max() == 100.0 and np.isnan(out["a"].iloc[-1])
    assert set(log.code) == {"a"}
    out, log = T.treat(d, "none")
    assert out.equals(d) and log.empty
    with pytest.raises(SpecError, match="unknown indicator code"):
        T.treat(d, "winsorise", overrides={"zz": "none"})
    few, log = T.treat(pd.DataFrame({"a": [1.0, 2.0, 50.0]}), "winsorise")
    assert log.action.tolist() == ["skipped"]


# --------------------------------------------------------------------------- normalise

X = pd.DataFrame({"up": [2.0, 4.0, 10.0, np.nan], "down": [2.0, 4.0, 10.0, 6.0]}, index=list("ABCD"))
META = pd.DataFrame({"code": ["up", "down"], "direction": [1, -1], "lower": [0.0, 0.0],
                     "upper": [8.0, 8.0], "target": [5.0, 3.0]})


def _n(method, **kw):
    return T.normalise(X, META, method, **kw)[0]


def test_minmax_by_hand():
    y = _n("minmax", low=0, high=100)
    assert y["up"].tolist()[:3] == [0.0, 25.0, 100.0] and np.isnan(y.loc["D", "up"])
    assert y["down"].tolist() == [100.0, 75.0, 0.0, 50.0]
    assert _n("minmax", low=1, high=11)["up"].tolist()[:3] == [1.0, 3.5, 11.0]


def test_zscore_by_hand():
    y = _n("zscore", mean=10, sd=2)
    m, s = 16 / 3, np.std([2, 4, 10], ddof=1)
    np.testing.assert_allclose(y["up"][:3], 10 + 2 * (np.array([2, 4, 10]) - m) / s)
    dm, ds = 5.5, np.std([2, 4, 10, 6], ddof=1)
    np.testing.assert_allclose(y["down"], 10 + 2 * (dm - np.array([2, 4, 10, 6])) / ds)


def test_rank_percentile_borda_by_hand():
    d = pd.DataFrame({"u": [5.0, 1.0, 5.0, 3.0]})
    m = pd.DataFrame({"code": ["u"], "direction": [-1]})
    assert T.normalise(d, None, "rank")[0]["u"].tolist() == [3.0, 1.0, 3.0, 2.0]
    assert T.normalise(d, m, "rank")[0]["u"].tolist() == [1.0, 4.0, 1.0, 3.0]
    assert T.normalise(d, None, "borda")[0]["u"].tolist() == [2.0, 0.0, 2.0, 1.0]
    assert T.normalise(d, None, "percentile", low=0, high=1)[0]["u"].tolist() == [2 / 3, 0.0, 2 / 3, 1 / 3]
    assert T.normalise(d, m, "percentile")[0]["u"].tolist() == [0.0, 100.0, 0.0, 200 / 3]


def test_goalposts_by_hand():
    y = _n("goalposts", low=0, high=100)
    assert y["up"].tolist()[:3] == [25.0, 50.0, 100.0]  # 10 capped at the upper goalpost 8
    assert y["down"].tolist() == [75.0, 50.0, 0.0, 25.0]  # (8 - x) / 8, 10 capped
    with pytest.raises(InputError, match="lower"):
        T.normalise(X, META[["code", "direction"]], "goalposts")


def test_distance_to_target_by_hand():
    y = _n("distance_to_target", low=0, high=1)
    # up: target 5, min 2: 1 - (5 - x)/(5 - 2), capped at 1
    assert y["up"].tolist()[:3] == [0.0, pytest.approx(2 / 3), 1.0]
    # down: x' = -x, t' = -3, min' = -10: 1 - (-3 + x)/(-3 + 10), capped
    assert y["down"].tolist() == [1.0, pytest.approx(6 / 7), 0.0, pytest.approx(4 / 7)]
    z = T.normalise(X, META, "distance_to_target", low=0, high=1, targets={"up": 10.0})[0]
    assert z["up"].tolist()[:3] == [0.0, 0.25, 1.0]
    no_target = META.drop(columns=["target"])
    w = T.normalise(X, no_target, "distance_to_target", low=0, high=1)[0]  # framework side bound
    assert w["up"].tolist()[:3] == [0.0, pytest.approx(2 / 6), 1.0]
    with pytest.raises(SpecError, match="no target"):
        T.normalise(X, META[["code", "direction"]], "distance_to_target")


def test_distance_to_best_and_fraction_of_max_by_hand():
    y = _n("distance_to_best", low=0, high=1)
    assert y["up"].tolist()[:3] == [0.0, 0.25, 1.0]  # 1 - (max - x)/(max - min)
    f = _n("fraction_of_max", low=0, high=1)
    assert f["up"].tolist()[:3] == [0.2, 0.4, 1.0]
    assert f["down"].tolist() == [1.0, 0.5, 0.2, pytest.approx(1 / 3)]  # min / x
    with pytest.raises(InputError, match="values <= 0"):
        T.normalise(pd.DataFrame({"up": [-1.0, 2.0]}), META, "fraction_of_max")


def test_constant_indicator_is_missing_and_logged():
    d = pd.DataFrame({"c": [3.0, 3.0, 3.0], "v": [1.0, 2.0, 3.0]})
    y, log = T.normalise(d, None, "minmax")
    assert y["c"].isna().all() and y["v"].tolist() == [0.0, 50.0, 100.0]
    assert log.loc[log.action == "constant", "code"].tolist() == ["c"]


def test_normalise_errors():
    with pytest.raises(SpecError, match="allowed: minmax, zscore"):
        T.normalise(X, META, "unit")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"\['up'\] are not in the meta table"):
        T.normalise(X, META.iloc[1:], "minmax")
    with pytest.raises(InputError, match="direction"):
        T.normalise(X, META.assign(direction=[1, 0]), "minmax")
    with pytest.raises(InputError, match="non-numeric"):
        T.normalise(pd.DataFrame({"up": ["a", "b"]}), META)


# --------------------------------------------------------------------------- properties

_cols = hnp.arrays(np.float64, st.integers(3, 30),
                   elements=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False))
_bounded = ("minmax", "percentile", "goalposts", "distance_to_target", "distance_to_best")


def _frame(x: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"up": x, "down": x})


def _meta(x: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"code": ["up", "down"], "direction": [1, -1],
                         "lower": [float(np.quantile(x, 0.2))] * 2,
                         "upper": [float(np.quantile(x, 0.8)) + 1.0] * 2,
                         "target": [float(np.median(x))] * 2})


@settings(max_examples=60, deadline=None)
@given(_cols, st.sampled_from(_bounded), st.floats(-50, 50), st.floats(1, 100))
def test_bounded_methods_stay_within_low_high(x, method, low, width):
    assume(np.ptp(x) > 1e-6 * max(1.0, np.abs(x).max()))
    y, _ = T.normalise(_frame(x), _meta(x), method, low=low, high=low + width)
    v = y.to_numpy()
    tol = 1e-9 * max(1.0, abs(low) + width)
    assert np.all(v >= low - tol) and np.all(v <= low + width + tol)


@settings(max_examples=60, deadline=None)
@given(_cols, st.sampled_from(("minmax", "zscore", "rank", "percentile", "borda", "goalposts",
                               "distance_to_target", "distance_to_best")))
def test_monotone_in_direction(x, method):
    assume(np.ptp(x) > 1e-6 * max(1.0, np.abs(x).max()))
    y, _ = T.normalise(_frame(x), _meta(x), method)
    order = np.argsort(x, kind="stable")
    up, down = y["up"].to_numpy()[order], y["down"].to_numpy()[order]
    tol = 1e-9 * (1 + np.nanmax(np.abs(y.to_numpy())))
    assert np.all(np.diff(up) >= -tol), "positive direction: higher value, higher score"
    assert np.all(np.diff(down) <= tol), "negative direction: higher value, lower score"
    if method in ("minmax", "zscore", "distance_to_best"):
        strict = np.diff(x[order]) > 1e-9 * max(1.0, np.abs(x).max())
        assert np.all(np.diff(up)[strict] > 0)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(3, 30), elements=st.integers(-40, 40).map(lambda i: i / 2)),
       st.sampled_from(("rank", "percentile", "borda")))
def test_rank_methods_invariant_to_increasing_transforms(x, method):
    a = T.normalise(_frame(x), _meta(x), method)[0]
    b = T.normalise(_frame(np.exp(x)), _meta(np.exp(x)), method)[0]
    c = T.normalise(_frame(3.0 * x + 7.0), _meta(x), method)[0]
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


@settings(max_examples=60, deadline=None)
@given(_cols, st.floats(0.01, 100), st.floats(-100, 100))
def test_minmax_and_zscore_invariant_to_positive_affine_maps(x, scale, shift):
    assume(np.ptp(x) > 1e-3 * max(1.0, np.abs(x).max()))
    for method in ("minmax", "zscore"):
        a = T.normalise(_frame(x), None, method)[0]
        b = T.normalise(_frame(scale * x + shift), None, method)[0]
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-6, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(_cols, st.floats(-5, 5), st.floats(0.5, 5))
def test_zscore_has_the_requested_moments(x, mean, sd):
    assume(np.std(x) > 1e-6 * max(1.0, np.abs(x).max()))
    y = T.normalise(_frame(x), None, "zscore", mean=mean, sd=sd)[0]["up"]
    assert y.mean() == pytest.approx(mean, abs=1e-7 * (1 + sd))
    assert y.std(ddof=1) == pytest.approx(sd, rel=1e-7)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.integers(5, 40), elements=st.floats(-1e3, 1e3, allow_nan=False)),
       st.integers(0, 6))
def test_winsorise_properties(x, winmax):
    d = pd.DataFrame({"a": x})
    out, log = T.treat(d, "winsorise", winmax=winmax, fallback="none")
    y = out["a"].to_numpy()
    # only extremes move, inwards; order is preserved (weakly)
    assert y.max() <= x.max() and y.min() >= x.min()
    assert np.all(np.diff(y[np.argsort(x, kind="stable")]) >= 0)
    changed = int((y != x).sum())
    tab = T.treat_table(log)
    n = tab["n_winsorised"].fillna(0).sum() if len(tab) else 0
    assert changed <= n


def test_infinite_values_are_rejected_with_their_place():
    d = pd.DataFrame({"a": [1.0, 2.0], "b": [np.inf, 1.0]}, index=["X", "Y"])
    with pytest.raises(InputError, match=r"column 'b'.*infinite value for unit 'X'"):
        T.normalise(d)


def test_docstring_examples_run():
    import doctest

    import pmm_lib.core.transform as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_a_new_normalisation_method_is_one_registered_function():
    """The contract of docs/CONTRACTS.md: register one function in pmm_lib.core.normalisers and
    the spec, build() and the uncertainty engine accept it; nothing else is edited."""
    import numpy as np

    from pmm_lib.core import normalisers as N
    from pmm_lib.core.build import build
    from pmm_lib.core.spec import NormaliseSpec, Spec
    from pmm_lib.uncertainty import sensitivity as sa

    @N.normaliser("halfway_test")
    def halfway(a):  # min-max onto [low, high], then halfway towards the middle
        y, const = N.minmax(a)
        return (y + (a.low + a.high) / 2) / 2, const

    try:
        meta = pd.DataFrame({"code": ["a", "b", "I"], "level": [1, 1, 2], "parent": ["I", "I", None],
                             "direction": [1, -1, 1], "weight": 1.0})
        data = pd.DataFrame({"a": [0.0, 5.0, 10.0], "b": [1.0, 3.0, 2.0]}, index=list("XYZ"))
        spec = Spec(normalise=NormaliseSpec("halfway_test", low=0, high=100))
        res = build(data, meta, spec)
        assert res.normalised["a"].tolist() == [25.0, 50.0, 75.0]
        problem = sa.UncertaintyProblem(Spec(), normalise=(NormaliseSpec(), spec.normalise))
        design = sa.sample_design(data, meta, problem, 16, seed=1)
        reps = sa.evaluate(data, meta, problem, design, score_dtype=np.float64)
        i = int(np.flatnonzero(design.values("normalise") == 1)[0])
        np.testing.assert_allclose(reps.scores[i, :, 0], res.index.to_numpy())
    finally:
        del N.NORMALISERS["halfway_test"]
    with pytest.raises(SpecError, match="allowed: minmax"):
        NormaliseSpec("halfway_test")
