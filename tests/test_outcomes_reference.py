"""The fast paths of pmm_lib.analysis.outcomes give the same tables as the plain reference code.

``ols_outcomes`` builds each design once per estimation sample and fits ``OLS(y, X)`` on arrays;
``partial_correlations`` and ``outcome_correlations`` share designs and compute the interval and
p-value columns at once. The reference implementations below are the straightforward ones
(statsmodels formula per model, one-row frame per partial correlation, scalar statistics per
pair) that the module used before; the fast paths must reproduce them exactly: same columns,
row order, term names and ``dropped_controls`` text, numbers to ``rtol=1e-10``. They run on the
inputs of notebook 04 (bundled data, cycle 2024, regions AMS and ALL) and on synthetic data with
missing values, sparse dummies, text and boolean covariates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import get_args

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pmm_lib.analysis import guards
from pmm_lib.analysis import outcomes as o
from pmm_lib.analysis.validity import _choice, _corr_p, _numeric, _pair_corr, fisher_ci
from pmm_lib.errors import InputError

# ---------------------------------------------------------------------------------------------
# reference implementations (the module's code before the fast paths, kept verbatim in logic)


def ref_ols_outcomes(scores, outcomes, covariates=None, *, controls=("log_gdp_pc_ppp", "landlocked", "C(region)"),
                     cov_type="HC3", standardise=False, conf_level=0.95, min_n=10):
    import statsmodels.formula.api as smf

    s, out = _numeric(scores, "scores"), _numeric(outcomes, "outcomes")
    frames = [s, out] + ([covariates] if covariates is not None else [])
    data = pd.concat(frames, axis=1, join="outer")
    data = data.loc[:, ~data.columns.duplicated()]
    used = set()
    for term in controls:
        used.update(c for c in data.columns if re.search(rf"(?<![\w]){re.escape(str(c))}(?![\w])", term))
    for col in data.columns:
        if data[col].dtype == bool:
            data[col] = data[col].astype(float)
    rows = []
    for y in out.columns:
        for x in s.columns:
            cols = list(dict.fromkeys([y, x, *sorted(used)]))
            d = data[cols].dropna()
            if len(d) < min_n:
                continue
            if standardise:
                d = d.assign(**{c: (d[c] - d[c].mean()) / d[c].std(ddof=1) for c in (y, x)})
            sparse = guards.sparse_dummies(d, [c for c in sorted(used) if c not in (x, y)])
            kept = [t for t in controls if not any(re.search(rf"(?<![\w]){re.escape(c)}(?![\w])", t)
                                                   for c in sparse)]
            rhs = " + ".join([f"Q('{x}')", *kept])
            fit = smf.ols(f"Q('{y}') ~ {rhs}", data=d).fit(cov_type=cov_type)
            ci = fit.conf_int(alpha=1 - conf_level)
            for term in fit.params.index:
                rows.append({"outcome": str(y), "predictor": str(x), "term": o._term_name(term),
                             "estimate": float(fit.params[term]), "std_error": float(fit.bse[term]),
                             "ci_low": float(ci.loc[term, 0]), "ci_high": float(ci.loc[term, 1]),
                             "p_value": float(fit.pvalues[term]), "n": int(fit.nobs),
                             "r_squared": float(fit.rsquared), "cov_type": cov_type,
                             "dropped_controls": "; ".join(sparse.values())})
    return pd.DataFrame(rows, columns=["outcome", "predictor", "term", "estimate", "std_error", "ci_low",
                                       "ci_high", "p_value", "n", "r_squared", "cov_type", "dropped_controls"])


def ref_partial_correlation(data, x, y, covar, *, method="pearson", conf_level=0.95):
    cols = list(dict.fromkeys([x, y, *covar]))
    d = data[cols].dropna()
    if method == "spearman":
        d = d.assign(**{c: stats.rankdata(d[c]) for c in cols
                        if c in (x, y) or pd.api.types.is_numeric_dtype(d[c])})
    design = o._design(d[list(covar)])
    q = design.shape[1] - 1
    n = len(d)
    if n - 3 - q < 1:
        r, lo, hi, p = (np.nan,) * 4
    else:
        res = {}
        for v in (x, y):
            beta, *_ = np.linalg.lstsq(design, d[v].astype(float).to_numpy(), rcond=None)
            res[v] = d[v].astype(float).to_numpy() - design @ beta
        r = float(np.corrcoef(res[x], res[y])[0, 1])
        lo, hi = fisher_ci(r, n, conf_level, method, n_controls=q)
        p = _corr_p(r, n, n_controls=q)
    return pd.DataFrame([{"x": x, "y": y, "covar": ", ".join(covar), "method": method, "estimate": r,
                          "ci_low": lo, "ci_high": hi, "p_value": p, "n": n}])


def ref_partial_correlations(scores, outcomes, covariates, covar, *, method="pearson", conf_level=0.95):
    data = pd.concat([_numeric(scores, "scores"), _numeric(outcomes, "outcomes"), covariates], axis=1)
    data = data.loc[:, ~data.columns.duplicated()]
    parts = [ref_partial_correlation(data, c, v, covar, method=method, conf_level=conf_level)
             for c in scores.columns for v in outcomes.columns]
    return pd.concat(parts, ignore_index=True).rename(columns={"x": "code", "y": "variable"})


def ref_outcome_correlations(scores, outcomes, *, method=("pearson", "spearman"), conf_level=0.95):
    s, out = _numeric(scores, "scores"), _numeric(outcomes, "outcomes")
    methods = [method] if isinstance(method, str) else list(method)
    for m in methods:
        _choice(m, get_args(o.CorrMethod), "method")
    idx = s.index.intersection(out.index)
    s, out = s.loc[idx], out.loc[idx]
    rows = []
    for m in methods:
        for code in s.columns:
            for var in out.columns:
                r, n = _pair_corr(s[code].to_numpy(), out[var].to_numpy(), m)
                lo, hi = fisher_ci(r, n, conf_level, m) if n > 3 else (np.nan, np.nan)
                rows.append({"code": str(code), "variable": str(var), "method": m, "estimate": r,
                             "ci_low": lo, "ci_high": hi, "p_value": _corr_p(r, n), "n": n})
    return pd.DataFrame(rows, columns=["code", "variable", "method", "estimate", "ci_low", "ci_high",
                                       "p_value", "n"])


def same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert len(want) > 0
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# the inputs of notebook 04


@pytest.fixture(scope="module", params=["AMS", "ALL"])
def nb04(request):
    """``scores, wide, covars, controls, normalised`` as notebook 04 builds them (cycle 2024)."""
    from pmm_lib.core.spec import Spec
    from pmm_lib.inputs import data
    from pmm_lib.reporting import disclosure
    from pmm_lib.reporting.params import RunParams

    run = RunParams.from_namespace({"region": request.param})
    outs = data.load_outcomes()
    members = data.load_members().set_index("member")
    view = disclosure.audience_view(data.load_observations(), run.cycle, run.region, run.audience)
    res = view.build(Spec.default(), seed=run.seed)
    scores = res.aggregated[[res.top, *res.scores(3).columns]]
    wide = o.outcome_table(outs, o.DEFAULT_OUTCOMES, as_of=run.cycle, members=scores.index)
    covars = members[["region", "landlocked"]].join(
        o.outcome_table(outs, ["gdp_pc_ppp"], as_of=run.cycle)).reindex(scores.index)
    controls = ("log_gdp_pc_ppp", "landlocked") + (("C(region)",) if run.region == "ALL" else ())
    return {"region": run.region, "outs": outs, "scores": scores, "wide": wide, "covars": covars,
            "controls": controls, "normalised": res.normalised}


def test_notebook04_ols_matches_formula_reference(nb04):
    scores, wide, covars, controls = nb04["scores"], nb04["wide"], nb04["covars"], nb04["controls"]
    got = o.ols_outcomes(scores, wide, covars, controls=controls, standardise=True)
    same(got, ref_ols_outcomes(scores, wide, covars, controls=controls, standardise=True))
    if nb04["region"] == "ALL":
        assert got["term"].str.startswith("C(region)[T.").any()
    raw = o.ols_outcomes(scores, wide, covars, controls=controls, cov_type="nonrobust")
    same(raw, ref_ols_outcomes(scores, wide, covars, controls=controls, cov_type="nonrobust"))


def test_notebook04_partial_and_correlations_match_reference(nb04):
    scores, wide, covars = nb04["scores"], nb04["wide"], nb04["covars"]
    gov = covars.join(wide[["wgi_ge"]])
    for method in ("pearson", "spearman"):
        same(o.partial_correlations(scores, wide, covars, ["log_gdp_pc_ppp"], method=method),
             ref_partial_correlations(scores, wide, covars, ["log_gdp_pc_ppp"], method=method))
        same(o.partial_correlations(scores, wide.drop(columns=["wgi_ge"]), gov, ["log_gdp_pc_ppp", "wgi_ge"],
                                    method=method),
             ref_partial_correlations(scores, wide.drop(columns=["wgi_ge"]), gov, ["log_gdp_pc_ppp", "wgi_ge"],
                                      method=method))
    same(o.partial_correlations(scores, wide, covars, ["log_gdp_pc_ppp", "landlocked", "region"]),
         ref_partial_correlations(scores, wide, covars, ["log_gdp_pc_ppp", "landlocked", "region"]))
    same(o.outcome_correlations(scores, wide), ref_outcome_correlations(scores, wide))
    kpi = wide[["lpi_customs", "log_db_time_import_border_h", "wgi_ge"]]
    same(o.outcome_correlations(nb04["normalised"], kpi, method="spearman"),
         ref_outcome_correlations(nb04["normalised"], kpi, method="spearman"))


def test_lpi_vs_db_slope_matches_formula_reference():
    from pmm_lib.inputs.data import load_outcomes

    outs = load_outcomes()
    d = o.lpi_vs_db_data(outs)
    want = ref_ols_outcomes(d[["lpi_customs"]], d[["log_db_time_import_border_h"]], controls=(), min_n=5)
    slope = want[want["term"] == "lpi_customs"].iloc[0]
    got = o.lpi_vs_db(outs).set_index("method").loc["ols_slope_hc3"]
    for col in ("estimate", "ci_low", "ci_high", "p_value", "n"):
        assert got[col] == pytest.approx(slope[col], rel=1e-10)


# ---------------------------------------------------------------------------------------------
# synthetic data: missing values, sparse dummies, text/boolean covariates, several samples


def _synthetic(n: int = 70, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    g = np.random.default_rng(seed)
    idx = [f"M{i:03d}" for i in range(n)]
    lat = g.standard_normal(n)
    scores = pd.DataFrame({"PMM": lat + 0.3 * g.standard_normal(n), "D1": lat + g.standard_normal(n),
                           "D2": g.standard_normal(n)}, index=idx)
    scores.iloc[g.choice(n, 6, replace=False), 1] = np.nan
    region = g.choice(["AMS", "EUR", "WCA", "ESA"], n, p=[0.35, 0.35, 0.27, 0.03]).astype(object)
    region[:2] = "MENA"                        # a region of two Members: dropped where both are in the sample
    land = g.random(n) < 0.2
    gdp = 0.6 * lat + g.standard_normal(n)
    hetero = 0.4 + np.abs(lat)
    outs = pd.DataFrame({"lpi_customs": 3 + 0.5 * lat + 0.3 * g.standard_normal(n) * hetero,
                         "log_db_time": 3 - 0.6 * lat + 0.2 * land + g.standard_normal(n) * hetero,
                         "wgi_ge": lat + g.standard_normal(n)}, index=idx)
    outs.iloc[g.choice(n, 10, replace=False), 0] = np.nan
    outs.iloc[:3, 1] = np.nan                  # without Members 0-1 the MENA dummy is kept... or not
    outs.iloc[g.choice(n, 20, replace=False), 2] = np.nan
    cov = pd.DataFrame({"log_gdp_pc_ppp": gdp, "landlocked": land, "region": region}, index=idx)
    cov.iloc[5, 0] = np.nan
    return scores, outs, cov


@pytest.mark.parametrize("standardise", [False, True])
@pytest.mark.parametrize("cov_type", ["HC3", "HC1", "nonrobust"])
def test_synthetic_ols_matches_formula_reference(standardise, cov_type):
    scores, outs, cov = _synthetic()
    got = o.ols_outcomes(scores, outs, cov, cov_type=cov_type, standardise=standardise, conf_level=0.9)
    want = ref_ols_outcomes(scores, outs, cov, cov_type=cov_type, standardise=standardise, conf_level=0.9)
    same(got, want)
    assert (got["dropped_controls"] != "").any() and (got["dropped_controls"] == "").any()
    assert got["term"].str.startswith("C(region)[T.").any()


def test_synthetic_ols_other_control_shapes():
    scores, outs, cov = _synthetic()
    # a landlocked dummy with one Member; a string-dtype region; a transformed control; no controls
    sparse = cov.assign(landlocked=[True] + [False] * (len(cov) - 1), region=cov["region"].astype("string"))
    for controls in (("log_gdp_pc_ppp", "landlocked", "C(region)"), ("np.exp(log_gdp_pc_ppp)",),
                     ("np.log(log_gdp_pc_ppp)", "landlocked"),  # NaN for negatives: patsy drops those rows
                     ("C(region, Treatment('EUR'))", "log_gdp_pc_ppp:landlocked"), ()):
        with np.errstate(invalid="ignore"):
            got = o.ols_outcomes(scores, outs, sparse, controls=controls)
            same(got, ref_ols_outcomes(scores, outs, sparse, controls=controls))
    # a covariate frame on fewer Members: landlocked becomes an object column (patsy: categorical)
    short = cov.iloc[:60]
    same(o.ols_outcomes(scores, outs, short), ref_ols_outcomes(scores, outs, short))
    # a control over a score column (standardised with the score where it is the predictor)
    for st in (False, True):
        ctl = ("I(PMM ** 2)", "C(region)", "wgi_ge")
        same(o.ols_outcomes(scores, outs, cov, controls=ctl, standardise=st).query("outcome != 'wgi_ge'"),
             ref_ols_outcomes(scores, outs, cov, controls=ctl, standardise=st).query("outcome != 'wgi_ge'"))
    # models below min_n are skipped the same way
    same(o.ols_outcomes(scores, outs, cov, min_n=55), ref_ols_outcomes(scores, outs, cov, min_n=55))


def test_ols_standardise_constant_score_is_an_input_error():
    scores, outs, cov = _synthetic()
    with pytest.raises(InputError, match="constant"):
        o.ols_outcomes(scores.assign(D2=1.0), outs, cov, standardise=True)


@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("covar", [["log_gdp_pc_ppp"], ["log_gdp_pc_ppp", "region"], ["landlocked", "region"], []])
def test_synthetic_partial_correlations_match_reference(method, covar: Sequence[str]):
    scores, outs, cov = _synthetic()
    same(o.partial_correlations(scores, outs, cov, covar, method=method, conf_level=0.9),
         ref_partial_correlations(scores, outs, cov, covar, method=method, conf_level=0.9))
    data = pd.concat([scores, outs, cov], axis=1)
    one = o.partial_correlation(data, "PMM", "wgi_ge", covar, method=method)
    same(one, ref_partial_correlation(data, "PMM", "wgi_ge", covar, method=method))


def test_partial_correlations_too_few_members_give_nan_rows():
    scores, outs, cov = (f.iloc[:8] for f in _synthetic())
    got = o.partial_correlations(scores, outs, cov, ["log_gdp_pc_ppp", "region"])
    want = ref_partial_correlations(scores, outs, cov, ["log_gdp_pc_ppp", "region"])
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-10)
    assert got["estimate"].isna().any()


def test_synthetic_outcome_correlations_match_reference():
    scores, outs, _ = _synthetic()
    tiny = outs.assign(wgi_ge=np.r_[1.0, 2.0, 3.0, [np.nan] * (len(outs) - 3)])  # n = 3: no CI, p = NaN
    for method in ("pearson", "spearman", ("spearman", "pearson")):
        same(o.outcome_correlations(scores, tiny, method=method, conf_level=0.8),
             ref_outcome_correlations(scores, tiny, method=method, conf_level=0.8))


def test_ranks_are_scipys_midranks_bit_for_bit():
    g = np.random.default_rng(5)
    for n in (1, 2, 3, 7, 50, 333):
        for a in (g.standard_normal(n), g.integers(0, 4, n).astype(float), np.round(g.standard_normal(n), 1),
                  np.r_[np.zeros(n // 2), -np.zeros(n - n // 2)]):
            got, want = o._ranks(a), stats.rankdata(a)
            assert got.dtype == want.dtype and np.array_equal(got, want)
