"""Convergent and predictive validity: PMM scores against trade-cost and governance outcomes.

This module owns the analyses of PMM index, dimension and KPI scores against external
outcomes (World Bank LPI overall and customs, Doing Business border and documentary
compliance time and cost, WGI government effectiveness and control of corruption):
selecting and log-transforming outcome variables into one row per Member, correlations with
Fisher-z confidence intervals (Pearson and Spearman), OLS with controls and HC3 robust errors
(statsmodels; controls as patsy formula terms), partial correlations, known-groups comparisons
by income group (Kruskal-Wallis with effect sizes), lagged designs (PMM cycle t against
outcomes of t + lag), and the PMM-free benchmark relation between the LPI customs score and
Doing Business border-compliance time (:func:`lpi_vs_db`).

Loading the outcome files is :mod:`pmm_lib.inputs.data`'s job (``load_outcomes`` gives the tidy
``member, year, variable, value, source`` table used here). Every output is a tidy frame in
the shared vocabulary (``estimate, ci_low, ci_high, p_value, n``). Correlations and
coefficients are aggregates; Member-level KPI values are never returned except in the
scatter data of :func:`lpi_vs_db_data`, which holds only public outcome data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

from pmm_lib.analysis import guards
from pmm_lib.analysis.validity import (
    CorrMethod,
    _choice,
    _corr_p,
    _corr_p_vec,
    _numeric,
    _pair_corr,
    fisher_ci,
)
from pmm_lib.errors import InputError, SpecError

__all__ = [
    "DB_VARIABLES",
    "DEFAULT_LOG",
    "DEFAULT_OUTCOMES",
    "group_medians",
    "known_groups",
    "lagged_correlations",
    "lpi_vs_db",
    "lpi_vs_db_data",
    "ols_outcomes",
    "outcome_correlations",
    "outcome_table",
    "partial_correlation",
    "partial_correlations",
]

#: The eight Doing Business Trading-across-Borders series.
DB_VARIABLES: tuple[str, ...] = tuple(
    f"db_{m}_{f}_{s}_{u}" for m, u in (("time", "h"), ("cost", "usd"))
    for f in ("export", "import") for s in ("border", "doc")
)
#: Variables that are analysed on a log scale (``log_<name>`` = ln(1 + value); see outcome_table).
DEFAULT_LOG: tuple[str, ...] = (*DB_VARIABLES, "gdp_pc_ppp")
#: The convergent-validity outcomes used by notebook 04 (by default the latest year available).
DEFAULT_OUTCOMES: tuple[str, ...] = ("lpi_overall", "lpi_customs", *DB_VARIABLES, "wgi_ge", "wgi_cc")

Cov = Literal["HC3", "HC0", "HC1", "HC2", "nonrobust"]


def _check_tidy(outcomes: pd.DataFrame) -> None:
    need = {"member", "year", "variable", "value"}
    if not isinstance(outcomes, pd.DataFrame) or need - set(outcomes.columns):
        have = list(outcomes.columns) if isinstance(outcomes, pd.DataFrame) else type(outcomes).__name__
        raise InputError(f"outcomes must be a tidy frame with columns {sorted(need)}, got {have}",
                         expected="pmm_lib.inputs.data.load_outcomes() output")


def outcome_table(outcomes: pd.DataFrame, variables: Sequence[str] | Mapping[str, int | None], *,
                  as_of: int | None = None, log: Sequence[str] = DEFAULT_LOG,
                  members: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per Member, one column per outcome variable (log-transformed where asked).

    Parameters
    ----------
    outcomes : DataFrame
        Tidy ``member, year, variable, value`` (``pmm_lib.inputs.data.load_outcomes()``).
    variables : sequence or mapping
        Variable names, or ``{variable: year}``; a year of ``None`` (or a plain sequence) takes
        each Member's latest value at or before ``as_of`` (any year when ``as_of`` is None).
    log : sequence of str
        Variables replaced by ``log_<name> = ln(1 + value)``. The +1 keeps the Doing Business
        zero-hour border times (intra-EU trade) in the sample; for GDP per capita it is
        immaterial. Negative values raise InputError.
    members : sequence of str, optional
        Restrict (and order) the rows to these Members (missing ones get NaN).

    Returns
    -------
    DataFrame
        Index ``member``; columns in the order given, ``log_`` prefixed when transformed.
    """
    _check_tidy(outcomes)
    spec = dict(variables) if isinstance(variables, Mapping) else {v: None for v in variables}
    known = set(outcomes["variable"].unique())
    unknown = [v for v in spec if v not in known]
    if unknown:
        raise InputError(f"unknown outcome variable(s) {', '.join(unknown)}", column="variable",
                         expected=f"one of {', '.join(sorted(known))}")
    cols: dict[str, pd.Series | np.ndarray] = {}
    for var, year in spec.items():
        sub = outcomes[(outcomes["variable"] == var) & outcomes["value"].notna()]
        if year is not None:
            sub = sub[sub["year"] == year]
            if sub.empty:
                years = sorted(int(y) for y in outcomes.loc[outcomes["variable"] == var, "year"].unique())
                raise InputError(f"outcome {var!r} has no values in {year}", column="year",
                                 expected=f"one of {', '.join(map(str, years))}")
        elif as_of is not None:
            sub = sub[sub["year"] <= as_of]
        sub = sub.sort_values("year").groupby("member").last()
        values = sub["value"].astype(float)
        if var in log:
            if (values < 0).any():
                raise InputError(f"outcome {var!r} has negative values; cannot take logs", column=var)
            cols[f"log_{var}"] = np.log1p(values)
        else:
            cols[var] = values
    wide = pd.DataFrame(cols)
    wide.index.name = "member"
    if members is not None:
        wide = wide.reindex(pd.Index(list(members), name="member"))
    return wide.sort_index() if members is None else wide


def _ranks(a: np.ndarray) -> np.ndarray:
    """Mid-ranks (1 to n, ties averaged) of a 1-D array of finite values.

    The same floats as ``scipy.stats.rankdata(a)`` (``rank = (first + last) / 2`` of each run of
    ties, 1-based; half-integers, so exact), without scipy's per-call overhead.

    >>> _ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist()
    [3.5, 1.0, 3.5, 2.0]
    """
    order = np.argsort(a, kind="mergesort")
    sa = a[order]
    new = np.ones(len(a), dtype=bool)
    np.not_equal(sa[1:], sa[:-1], out=new[1:])
    start = np.flatnonzero(new)
    end = np.append(start[1:], len(a))
    out = np.empty(len(a))
    out[order] = (0.5 * (start + 1 + end))[np.cumsum(new) - 1]
    return out


def _spearman_pair(x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """``_pair_corr(x, y, "spearman")``: Pearson's r of the mid-ranks of the pairwise-complete values."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return _pair_corr(x, y, "spearman")
    return _pair_corr(_ranks(x[ok]), _ranks(y[ok]), "pearson")


def outcome_correlations(scores: pd.DataFrame, outcomes: pd.DataFrame, *,
                         method: CorrMethod | Sequence[CorrMethod] = ("pearson", "spearman"),
                         conf_level: float = 0.95) -> pd.DataFrame:
    """Correlations of every score column with every outcome column, with Fisher-z CIs.

    Pairwise complete over the Members in both frames (joined on the index). Pearson's r with
    ``se(z) = 1/sqrt(n - 3)``; Spearman's rho with ``se(z) = sqrt(1.06/(n - 3))`` (Fieller et al.
    1957, doi:10.1093/biomet/44.3-4.470); p-values from the t distribution on ``n - 2`` df.

    Parameters
    ----------
    scores : DataFrame
        Members x score codes (index, dimensions, KPIs; already oriented, higher = better).
    outcomes : DataFrame
        Members x outcome variables (:func:`outcome_table`).

    Returns
    -------
    DataFrame
        ``code, variable, method, estimate, ci_low, ci_high, p_value, n``.
    """
    s, o = _numeric(scores, "scores"), _numeric(outcomes, "outcomes")
    methods = [method] if isinstance(method, str) else list(method)
    for m in methods:
        _choice(m, get_args(CorrMethod), "method")
    idx = s.index.intersection(o.index)
    if len(idx) == 0:
        raise InputError("scores and outcomes share no Member (index)", expected="ISO3 member codes in both")
    s, o = s.loc[idx], o.loc[idx]
    sv = {code: s[code].to_numpy() for code in s.columns}
    ov = {var: o[var].to_numpy() for var in o.columns}
    parts = []
    for m in methods:
        pairs = [(code, var) for code in s.columns for var in o.columns]
        est = [_pair_corr(sv[code], ov[var], m) if m == "pearson" else _spearman_pair(sv[code], ov[var])
               for code, var in pairs]
        r = np.array([e[0] for e in est], dtype=float)
        n = np.array([e[1] for e in est], dtype=int)
        lo, hi = (np.asarray(a, dtype=float) for a in fisher_ci(r, n, conf_level, m))
        parts.append(pd.DataFrame({"code": [str(c) for c, _ in pairs], "variable": [str(v) for _, v in pairs],
                                   "method": m, "estimate": r, "ci_low": lo, "ci_high": hi,
                                   "p_value": _corr_p_vec(r, n), "n": n}))
    cols = ["code", "variable", "method", "estimate", "ci_low", "ci_high", "p_value", "n"]
    if not parts or not any(len(p) for p in parts):
        return pd.DataFrame([], columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


_TERM = re.compile(r"^Q\('(.+)'\)$")


def _term_name(term: str) -> str:
    m = _TERM.match(term)
    return m.group(1) if m else term


def _word(name: str) -> re.Pattern[str]:
    """``name`` as a whole word of a formula term (not part of a longer identifier)."""
    return re.compile(rf"(?<![\w]){re.escape(str(name))}(?![\w])")


def _zscore(values: np.ndarray, column: str, y: str, n: int) -> np.ndarray:
    sd = float(values.std(ddof=1)) if n > 1 else float("nan")
    if not np.isfinite(sd) or sd == 0:
        raise InputError(f"ols_outcomes: {column!r} is constant over the {n} Members of the estimation sample "
                         f"of {y!r}; cannot standardise", column=str(column),
                         expected="a score and an outcome that vary (or standardise=False)")
    return (values - values.mean()) / sd


def ols_outcomes(scores: pd.DataFrame, outcomes: pd.DataFrame, covariates: pd.DataFrame | None = None, *,
                 controls: Sequence[str] = ("log_gdp_pc_ppp", "landlocked", "C(region)"),
                 cov_type: Cov = "HC3", standardise: bool = False, conf_level: float = 0.95,
                 min_n: int = 10) -> pd.DataFrame:
    """OLS of each outcome on each score, with controls and heteroskedasticity-robust errors.

    For every outcome ``y`` and score ``x`` fits ``y ~ x + controls`` by statsmodels' OLS on the
    Members with complete data; ``controls`` are patsy formula terms over the columns of
    ``covariates`` (and ``outcomes``), e.g. ``log_gdp_pc_ppp``, ``landlocked``, ``C(region)``.
    The design matrix (intercept, score, controls, with patsy's column names) is built once per
    estimation sample and shared by the models on the same Members. Standard errors are HC3 by
    default, ``(X'X)^-1 X' diag(e_i^2 / (1 - h_ii)^2) X (X'X)^-1``
    (MacKinnon & White 1985, doi:10.1016/0304-4076(85)90158-7). With ``standardise=True`` the
    outcome and the score are z-scored over the estimation sample (beta coefficients); a score or
    outcome constant over that sample raises InputError.

    Returns
    -------
    DataFrame
        ``outcome, predictor, term, estimate, std_error, ci_low, ci_high, p_value, n, r_squared,
        cov_type, dropped_controls``: every term of every fitted model (``term == predictor`` is
        the score's coefficient). Models with fewer than ``min_n`` complete Members are skipped.
        A control that rests on fewer than :data:`pmm_lib.analysis.guards.MIN_GROUP` Members of
        the estimation sample (a dummy with one landlocked Member, a region of two) is left out
        of that model and named, with the reason, in ``dropped_controls``.
    """
    import patsy  # type: ignore[import-untyped]
    from statsmodels.regression.linear_model import OLS

    _choice(cov_type, get_args(Cov), "cov_type")
    s, o = _numeric(scores, "scores"), _numeric(outcomes, "outcomes")
    frames = [s, o] + ([covariates] if covariates is not None else [])
    data = pd.concat(frames, axis=1, join="outer")
    data = data.loc[:, ~data.columns.duplicated()]
    used = set()
    for term in controls:
        names = [c for c in data.columns if _word(str(c)).search(term)]
        if not names:
            raise SpecError(f"controls: term {term!r} names no column; available: {', '.join(map(str, data.columns))}")
        used.update(names)
    for col in data.columns:
        if data[col].dtype == bool:
            data[col] = data[col].astype(float)
    ctrl = sorted(used)
    present = {c: data[c].notna().to_numpy() for c in data.columns}
    ctrl_ok = np.logical_and.reduce([present[c] for c in ctrl]) if ctrl else np.ones(len(data), dtype=bool)
    values = {c: data[c].to_numpy(dtype=float) for c in dict.fromkeys([*o.columns, *s.columns])}
    env = patsy.EvalEnvironment.capture(0)  # as the formula interface: names of this module (np, ...)
    slot = "__pmm_score__"
    while slot in data.columns:
        slot += "_"
    # one design per estimation sample (and, when the score or outcome is itself a control, per model)
    designs: dict[tuple[object, ...], tuple[np.ndarray, int, list[str], np.ndarray | None, str]] = {}
    rows = []
    for y in o.columns:
        for x in s.columns:
            mask = present[y] & present[x] & ctrl_ok
            n = int(mask.sum())
            if n < min_n:
                continue
            at = np.flatnonzero(mask)
            yv, xv = values[y][at], values[x][at]
            if standardise:
                yv, xv = _zscore(yv, str(y), str(y), n), _zscore(xv, str(x), str(y), n)
            key = (mask.tobytes(), *((x, y) if x in used or y in used else ()))
            if key not in designs:
                cols = list(dict.fromkeys([y, x, *ctrl]))
                d = data.iloc[at][cols].reset_index(drop=True)
                if standardise:
                    d[y], d[x] = yv, xv  # as seen by a control that names them
                d[slot] = xv
                # a dummy resting on fewer than MIN_GROUP Members would be that Member's residual
                sparse = guards.sparse_dummies(d, [c for c in ctrl if c not in (x, y)])
                kept = [t for t in controls if not any(_word(c).search(t) for c in sparse)]
                for c in d.columns:  # patsy reads text as object (as statsmodels' formula interface)
                    if isinstance(d[c].dtype, pd.StringDtype):
                        d[c] = d[c].astype(object)
                dm = patsy.dmatrix(" + ".join([f"Q('{slot}')", *kept]), d, eval_env=env, return_type="dataframe")
                names = [str(c) for c in dm.columns]
                j = names.index(f"Q('{slot}')")  # the score's column; its name is set per model
                # rows patsy drops (a control transform giving NaN) leave the model, as with formulas
                keep = None if len(dm) == n else dm.index.to_numpy()
                designs[key] = (dm.to_numpy(dtype=float), j, [_term_name(t) for t in names], keep,
                                "; ".join(sparse.values()))
            base, j, terms, keep, dropped = designs[key]
            X = base.copy(order="K")  # the memory layout of the formula path: same sums, same bits
            if keep is not None:
                yv, xv = yv[keep], xv[keep]
            X[:, j] = xv
            terms = [*terms[:j], str(x), *terms[j + 1:]]
            fit = OLS(yv, X).fit(cov_type=cov_type)
            ci = fit.conf_int(alpha=1 - conf_level)
            nobs, r2 = int(fit.nobs), float(fit.rsquared)
            for k, term in enumerate(terms):
                rows.append({"outcome": str(y), "predictor": str(x), "term": term,
                             "estimate": float(fit.params[k]), "std_error": float(fit.bse[k]),
                             "ci_low": float(ci[k, 0]), "ci_high": float(ci[k, 1]),
                             "p_value": float(fit.pvalues[k]), "n": nobs, "r_squared": r2,
                             "cov_type": cov_type, "dropped_controls": dropped})
    return pd.DataFrame(rows, columns=["outcome", "predictor", "term", "estimate", "std_error", "ci_low",
                                       "ci_high", "p_value", "n", "r_squared", "cov_type", "dropped_controls"])


def _design(cov: pd.DataFrame) -> np.ndarray:
    """Intercept + numeric covariates + dummies (first level dropped) for text/categorical ones."""
    parts: list[np.ndarray] = [np.ones((len(cov), 1))]
    for col in cov.columns:
        v = cov[col]
        if pd.api.types.is_bool_dtype(v) or pd.api.types.is_numeric_dtype(v):
            parts.append(v.astype(float).to_numpy()[:, None])
        else:
            parts.append(pd.get_dummies(v.astype(str), drop_first=True).astype(float).to_numpy())
    return np.hstack(parts)


_PARTIAL_COLUMNS = ["x", "y", "covar", "method", "estimate", "ci_low", "ci_high", "p_value", "n"]


def _partial_rows(data: pd.DataFrame, pairs: Sequence[tuple[str, str]], covar: Sequence[str],
                  method: CorrMethod, conf_level: float) -> dict[str, list[object]]:
    """The columns of :func:`partial_correlation` for every ``(x, y)`` of ``pairs`` over ``data``.

    The covariate design is built once per complete-case sample and shared by the pairs on the
    same Members; the intervals and p-values are computed for all pairs at once.
    """
    present = {c: data[c].notna().to_numpy() for c in dict.fromkeys([c for p in pairs for c in p] + list(covar))}
    cov_ok = np.logical_and.reduce([present[c] for c in covar]) if covar else np.ones(len(data), dtype=bool)
    values: dict[str, np.ndarray] = {}
    designs: dict[tuple[object, ...], np.ndarray] = {}
    rs, ns, qs = [], [], []
    for x, y in pairs:
        cols = list(dict.fromkeys([x, y, *covar]))
        mask = present[x] & present[y] & cov_ok
        at = np.flatnonzero(mask)
        # the design depends on x or y only when one of them is also a covariate
        key = (mask.tobytes(), *(c for c in covar if c in (x, y)))
        if key not in designs:
            d = data[cols].iloc[at]
            if method == "spearman":
                d = d.assign(**{c: stats.rankdata(d[c]) for c in cols
                                if c in (x, y) or pd.api.types.is_numeric_dtype(d[c])})
            designs[key] = _design(d[list(covar)])
        design = designs[key]
        q, n = design.shape[1] - 1, len(at)
        r = np.nan
        if n - 3 - q >= 1:
            res = []
            for v in (x, y):
                if v not in values:
                    values[v] = data[v].astype(float).to_numpy()
                vals = values[v][at]
                if method == "spearman":
                    vals = _ranks(vals)
                beta, *_ = np.linalg.lstsq(design, vals, rcond=None)
                res.append(vals - design @ beta)
            r = float(np.corrcoef(res[0], res[1])[0, 1])
        rs.append(r)
        ns.append(n)
        qs.append(q)
    r_arr, n_arr, q_arr = np.array(rs, dtype=float), np.array(ns, dtype=int), np.array(qs, dtype=int)
    ok = n_arr - 3 - q_arr >= 1
    lo, hi = (np.asarray(a, dtype=float) for a in fisher_ci(r_arr, n_arr, conf_level, method, n_controls=q_arr))
    # _corr_p(r, n, n_controls=q) for all pairs: t on n - 2 - q df
    p = np.where(ok, _corr_p_vec(r_arr, n_arr - q_arr), np.nan)
    nan = np.full(len(pairs), np.nan)
    return {"x": [x for x, _ in pairs], "y": [y for _, y in pairs], "covar": [", ".join(covar)] * len(pairs),
            "method": [method] * len(pairs), "estimate": list(r_arr), "ci_low": list(np.where(ok, lo, nan)),
            "ci_high": list(np.where(ok, hi, nan)), "p_value": list(p), "n": list(n_arr)}


def partial_correlation(data: pd.DataFrame, x: str, y: str, covar: Sequence[str], *,
                        method: CorrMethod = "pearson", conf_level: float = 0.95) -> pd.DataFrame:
    """Partial correlation of ``x`` and ``y`` given ``covar`` (residual method).

    ``x`` and ``y`` are each regressed by least squares on an intercept and the covariates
    (text covariates as dummies); the partial correlation is Pearson's r of the two residual
    vectors. ``method="spearman"`` ranks ``x``, ``y`` and the numeric covariates first. The
    p-value uses ``n - 2 - q`` df and the CI Fisher's z with ``se = 1/sqrt(n - 3 - q)``, with ``q``
    the number of covariate columns in the design. Equals ``-P_xy / sqrt(P_xx P_yy)`` from the
    inverse correlation matrix when the covariates are numeric.

    Reference: Baba, K., Shibata, R. & Sibuya, M. (2004), *Aust. N. Z. J. Stat.* 46, 657-664,
    doi:10.1111/j.1467-842X.2004.00360.x.

    Returns
    -------
    DataFrame
        One row: ``x, y, covar, method, estimate, ci_low, ci_high, p_value, n``.
    """
    _choice(method, get_args(CorrMethod), "method")
    cols = list(dict.fromkeys([x, y, *covar]))
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise InputError(f"partial_correlation: column(s) {', '.join(missing)} not in data",
                         expected=f"one of {', '.join(map(str, data.columns))}")
    return pd.DataFrame(_partial_rows(data, [(x, y)], covar, method, conf_level), columns=_PARTIAL_COLUMNS)


def partial_correlations(scores: pd.DataFrame, outcomes: pd.DataFrame, covariates: pd.DataFrame,
                         covar: Sequence[str], *, method: CorrMethod = "pearson",
                         conf_level: float = 0.95) -> pd.DataFrame:
    """:func:`partial_correlation` for every score x outcome pair.

    Returns
    -------
    DataFrame
        ``code, variable, covar, method, estimate, ci_low, ci_high, p_value, n``.
    """
    data = pd.concat([_numeric(scores, "scores"), _numeric(outcomes, "outcomes"), covariates], axis=1)
    data = data.loc[:, ~data.columns.duplicated()]
    pairs = [(c, v) for c in scores.columns for v in outcomes.columns]
    if not pairs:
        return pd.DataFrame(columns=["code", "variable", "covar", "method", "estimate", "ci_low",
                                     "ci_high", "p_value", "n"])
    _choice(method, get_args(CorrMethod), "method")
    missing = [c for c in covar if c not in data.columns]
    if missing:
        raise InputError(f"partial_correlation: column(s) {', '.join(missing)} not in data",
                         expected=f"one of {', '.join(map(str, data.columns))}")
    tab = pd.DataFrame(_partial_rows(data, pairs, covar, method, conf_level), columns=_PARTIAL_COLUMNS)
    return tab.rename(columns={"x": "code", "y": "variable"})


def known_groups(scores: pd.DataFrame, groups: pd.Series, *,
                 order: Sequence[str] | None = ("L", "LM", "UM", "H")) -> pd.DataFrame:
    """Known-groups validity: do scores differ across groups (e.g. World Bank income groups)?

    Kruskal-Wallis H test per score column (tie-corrected, scipy), with effect sizes
    ``epsilon_sq = H / (n - 1)`` and ``eta_sq_h = (H - g + 1) / (n - g)`` (Tomczak & Tomczak
    2014, *Trends Sport Sci.* 21, 19-25), plus Spearman's rho of the score with the ordinal
    group rank (``trend_rho``; the expected direction for income is positive) when ``order`` is
    given.

    Reference: Kruskal, W. H. & Wallis, W. A. (1952), *JASA* 47, 583-621,
    doi:10.1080/01621459.1952.10483441.

    Returns
    -------
    DataFrame
        ``code, statistic, df, p_value, n, groups, epsilon_sq, eta_sq_h, trend_rho, trend_p_value,
        dropped_groups``. Groups with fewer than :data:`pmm_lib.analysis.guards.MIN_GROUP`
        Members are left out of the test (``dropped_groups`` names them; ``n`` and ``groups``
        count what was tested).
    """
    s = _numeric(scores, "scores")
    g = groups.reindex(s.index)
    rows = []
    for code in s.columns:
        d = pd.DataFrame({"v": s[code], "g": g}).dropna()
        if order is not None:
            d = d[d["g"].isin(order)]
        labels = [lv for lv in (order if order is not None else sorted(d["g"].unique())) if lv in set(d["g"])]
        sizes = d["g"].value_counts()
        small = {lv: int(sizes[lv]) for lv in labels if sizes[lv] < guards.MIN_GROUP}
        labels = [lv for lv in labels if lv not in small]  # a group of 1-2 Members is not a group
        d = d[d["g"].isin(labels)]
        samples = [d.loc[d["g"] == lv, "v"].to_numpy() for lv in labels]
        n, k = len(d), len(samples)
        row = {"code": str(code), "statistic": np.nan, "df": k - 1, "p_value": np.nan, "n": n, "groups": k,
               "epsilon_sq": np.nan, "eta_sq_h": np.nan, "trend_rho": np.nan, "trend_p_value": np.nan,
               "dropped_groups": guards.group_reason(small, what="groups").replace("groups withheld: ", "")}
        if k >= 2 and n > k and len(np.unique(d["v"])) > 1:
            h, p = stats.kruskal(*samples)
            row.update(statistic=float(h), p_value=float(p), epsilon_sq=float(h / (n - 1)),
                       eta_sq_h=float((h - k + 1) / (n - k)))
            if order is not None:
                rank = d["g"].map({lv: i for i, lv in enumerate(order)}).astype(float).to_numpy()
                rho, nn = _pair_corr(d["v"].to_numpy(), rank, "spearman")
                row.update(trend_rho=rho, trend_p_value=_corr_p(rho, nn))
        rows.append(row)
    return pd.DataFrame(rows)


def group_medians(scores: pd.DataFrame, groups: pd.Series, *, min_n: int = 3) -> pd.DataFrame:
    """Median score per group (only groups with at least ``min_n`` Members, a disclosure rule).

    Returns
    -------
    DataFrame
        ``code, group, n, estimate`` (estimate = median).
    """
    s = _numeric(scores, "scores")
    g = groups.reindex(s.index)
    rows = []
    for code in s.columns:
        d = pd.DataFrame({"v": s[code], "g": g}).dropna()
        for lv, sub in d.groupby("g", sort=True):
            if len(sub) >= min_n:
                rows.append({"code": str(code), "group": str(lv), "n": len(sub), "estimate": float(sub["v"].median())})
    return pd.DataFrame(rows, columns=["code", "group", "n", "estimate"])


def lagged_correlations(scores_by_cycle: Mapping[int, pd.DataFrame], outcomes: pd.DataFrame,
                        variables: Sequence[str], *, lags: Sequence[int] = (0, 1),
                        log: Sequence[str] = DEFAULT_LOG,
                        method: CorrMethod | Sequence[CorrMethod] = ("pearson", "spearman"),
                        conf_level: float = 0.95) -> pd.DataFrame:
    """Predictive (lagged) validity: scores of PMM cycle ``t`` against outcomes of year ``t + lag``.

    A (cycle, lag, variable) combination is used only where the outcome has data in that exact
    year (e.g. PMM 2022 against LPI 2023 with lag 1); others are skipped, so the table shows
    which designs the data allow.

    Returns
    -------
    DataFrame
        ``cycle, year, lag, code, variable, method, estimate, ci_low, ci_high, p_value, n``.
    """
    _check_tidy(outcomes)
    known = outcomes[outcomes["variable"].isin(list(variables)) & outcomes["value"].notna()]
    have = set(zip(known["variable"], known["year"], strict=True))  # (variable, year) with data
    parts = []
    for cycle, scores in sorted(scores_by_cycle.items()):
        for lag in lags:
            year = int(cycle) + int(lag)
            avail = [v for v in variables if (v, year) in have]
            if not avail:
                continue
            wide = outcome_table(outcomes, {v: year for v in avail}, log=log)
            res = outcome_correlations(scores, wide, method=method, conf_level=conf_level)
            parts.append(res.assign(cycle=int(cycle), year=year, lag=int(lag)))
    cols = ["cycle", "year", "lag", "code", "variable", "method", "estimate", "ci_low", "ci_high", "p_value", "n"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def lpi_vs_db_data(outcomes: pd.DataFrame, *, lpi_variable: str = "lpi_customs", lpi_year: int = 2018,
                   db_variable: str = "db_time_import_border_h", db_year: int = 2020,
                   members: Sequence[str] | None = None) -> pd.DataFrame:
    """The Members with both the LPI score and the Doing Business value, for the benchmark relation.

    Returns
    -------
    DataFrame
        Index ``member``; columns ``<lpi_variable>``, ``<db_variable>`` and ``log_<db_variable>``
        (= ln(1 + value); see :func:`outcome_table`). Complete rows only.
    """
    wide = outcome_table(outcomes, {lpi_variable: lpi_year, db_variable: db_year}, log=(), members=members)
    wide[f"log_{db_variable}"] = np.log1p(wide[db_variable])
    return wide.dropna()


def lpi_vs_db(outcomes: pd.DataFrame, *, lpi_variable: str = "lpi_customs", lpi_year: int = 2018,
              db_variable: str = "db_time_import_border_h", db_year: int = 2020,
              members: Sequence[str] | None = None, conf_level: float = 0.95) -> pd.DataFrame:
    """How closely do traders' ratings of customs (LPI) track measured border-compliance time (DB)?

    On public outcome data only: Pearson's r of the LPI score with ``ln(1 + hours)`` and
    Spearman's rho (log-invariant), both with Fisher-z CIs, and the OLS slope of ``ln(1 + hours)``
    on the LPI score with an HC3 interval (a one-point better LPI score goes with
    ``100 (exp(slope) - 1)`` % change in 1 + hours).

    References: Arvis, J.-F. et al. (2018), *Connecting to Compete 2018: The Logistics
    Performance Index*, World Bank, hdl:10986/29971; World Bank (2020), *Doing Business 2020*,
    doi:10.1596/978-1-4648-1440-2.

    Returns
    -------
    DataFrame
        ``x, y, method, estimate, ci_low, ci_high, p_value, n`` with ``method`` in
        ``pearson, spearman, ols_slope_hc3``; ``x`` = ``<lpi_variable>_<lpi_year>``, ``y`` =
        ``log_<db_variable>_<db_year>``.

    Examples
    --------
    >>> from pmm_lib.inputs.data import load_outcomes
    >>> tab = lpi_vs_db(load_outcomes()).set_index("method")
    >>> int(tab.loc["pearson", "n"]), round(float(tab.loc["pearson", "estimate"]), 2)
    (154, -0.62)
    """
    d = lpi_vs_db_data(outcomes, lpi_variable=lpi_variable, lpi_year=lpi_year, db_variable=db_variable,
                       db_year=db_year, members=members)
    if len(d) < 5:
        raise InputError(f"only {len(d)} Members have both {lpi_variable} {lpi_year} and {db_variable} {db_year}",
                         expected="at least 5")
    xs, ys = d[lpi_variable].to_numpy(), d[f"log_{db_variable}"].to_numpy()
    xname, yname = f"{lpi_variable}_{lpi_year}", f"log_{db_variable}_{db_year}"
    rows = []
    for m in ("pearson", "spearman"):
        r, n = _pair_corr(xs, ys, m)
        lo, hi = fisher_ci(r, n, conf_level, m)
        rows.append({"x": xname, "y": yname, "method": m, "estimate": r, "ci_low": lo, "ci_high": hi,
                     "p_value": _corr_p(r, n), "n": n})
    ols = ols_outcomes(d[[lpi_variable]], d[[f"log_{db_variable}"]], controls=(), conf_level=conf_level, min_n=5)
    slope = ols[ols["term"] == lpi_variable].iloc[0]
    rows.append({"x": xname, "y": yname, "method": "ols_slope_hc3", "estimate": slope["estimate"],
                 "ci_low": slope["ci_low"], "ci_high": slope["ci_high"], "p_value": slope["p_value"],
                 "n": int(slope["n"])})
    return pd.DataFrame(rows)
