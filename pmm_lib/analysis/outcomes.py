"""Convergent and predictive validity: PMM scores against trade-cost and governance outcomes.

This module owns the analyses of PMM index, dimension and KPI scores against external
outcomes (World Bank LPI overall and customs, Doing Business border and documentary
compliance time and cost, WGI government effectiveness and control of corruption):
selecting and log-transforming outcome variables into one row per Member, correlations with
Fisher-z confidence intervals (Pearson and Spearman), OLS with controls and HC3 robust errors
(statsmodels formulas), partial correlations, known-groups comparisons by income group
(Kruskal-Wallis with effect sizes), lagged designs (PMM cycle t against outcomes of t + lag),
and the PMM-free benchmark relation between the LPI customs score and Doing Business
border-compliance time (:func:`lpi_vs_db`).

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
from pmm_lib.analysis.validity import CorrMethod, _choice, _corr_p, _numeric, _pair_corr, fisher_ci
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
    rows = []
    for m in methods:
        for code in s.columns:
            for var in o.columns:
                r, n = _pair_corr(s[code].to_numpy(), o[var].to_numpy(), m)
                lo, hi = fisher_ci(r, n, conf_level, m) if n > 3 else (np.nan, np.nan)
                rows.append({"code": str(code), "variable": str(var), "method": m, "estimate": r,
                             "ci_low": lo, "ci_high": hi, "p_value": _corr_p(r, n), "n": n})
    return pd.DataFrame(rows, columns=["code", "variable", "method", "estimate", "ci_low", "ci_high",
                                       "p_value", "n"])


_TERM = re.compile(r"^Q\('(.+)'\)$")


def _term_name(term: str) -> str:
    m = _TERM.match(term)
    return m.group(1) if m else term


def ols_outcomes(scores: pd.DataFrame, outcomes: pd.DataFrame, covariates: pd.DataFrame | None = None, *,
                 controls: Sequence[str] = ("log_gdp_pc_ppp", "landlocked", "C(region)"),
                 cov_type: Cov = "HC3", standardise: bool = False, conf_level: float = 0.95,
                 min_n: int = 10) -> pd.DataFrame:
    """OLS of each outcome on each score, with controls and heteroskedasticity-robust errors.

    For every outcome ``y`` and score ``x`` fits ``y ~ x + controls`` with statsmodels' formula
    interface on the Members with complete data; ``controls`` are formula terms over the columns
    of ``covariates`` (and ``outcomes``), e.g. ``log_gdp_pc_ppp``, ``landlocked``,
    ``C(region)``. Standard errors are HC3 by default,
    ``(X'X)^-1 X' diag(e_i^2 / (1 - h_ii)^2) X (X'X)^-1``
    (MacKinnon & White 1985, doi:10.1016/0304-4076(85)90158-7). With ``standardise=True`` the
    outcome and the score are z-scored over the estimation sample (beta coefficients).

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
    import statsmodels.formula.api as smf

    _choice(cov_type, get_args(Cov), "cov_type")
    s, o = _numeric(scores, "scores"), _numeric(outcomes, "outcomes")
    frames = [s, o] + ([covariates] if covariates is not None else [])
    data = pd.concat(frames, axis=1, join="outer")
    data = data.loc[:, ~data.columns.duplicated()]
    used = set()
    for term in controls:
        names = [c for c in data.columns if re.search(rf"(?<![\w]){re.escape(str(c))}(?![\w])", term)]
        if not names:
            raise SpecError(f"controls: term {term!r} names no column; available: {', '.join(map(str, data.columns))}")
        used.update(names)
    for col in data.columns:
        if data[col].dtype == bool:
            data[col] = data[col].astype(float)
    rows = []
    for y in o.columns:
        for x in s.columns:
            cols = list(dict.fromkeys([y, x, *sorted(used)]))
            d = data[cols].dropna()
            if len(d) < min_n:
                continue
            if standardise:
                d = d.assign(**{c: (d[c] - d[c].mean()) / d[c].std(ddof=1) for c in (y, x)})
            # a dummy resting on fewer than MIN_GROUP Members would be that Member's residual
            sparse = guards.sparse_dummies(d, [c for c in sorted(used) if c not in (x, y)])
            kept = [t for t in controls if not any(re.search(rf"(?<![\w]){re.escape(c)}(?![\w])", t)
                                                   for c in sparse)]
            rhs = " + ".join([f"Q('{x}')", *kept])
            fit = smf.ols(f"Q('{y}') ~ {rhs}", data=d).fit(cov_type=cov_type)
            ci = fit.conf_int(alpha=1 - conf_level)
            for term in fit.params.index:
                rows.append({"outcome": str(y), "predictor": str(x), "term": _term_name(term),
                             "estimate": float(fit.params[term]), "std_error": float(fit.bse[term]),
                             "ci_low": float(ci.loc[term, 0]), "ci_high": float(ci.loc[term, 1]),
                             "p_value": float(fit.pvalues[term]), "n": int(fit.nobs),
                             "r_squared": float(fit.rsquared), "cov_type": cov_type,
                             "dropped_controls": "; ".join(sparse.values())})
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
    d = data[cols].dropna()
    if method == "spearman":
        d = d.assign(**{c: stats.rankdata(d[c]) for c in cols
                        if c in (x, y) or pd.api.types.is_numeric_dtype(d[c])})
    design = _design(d[list(covar)])
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
    parts = [partial_correlation(data, c, v, covar, method=method, conf_level=conf_level)
             for c in scores.columns for v in outcomes.columns]
    if not parts:
        return pd.DataFrame(columns=["code", "variable", "covar", "method", "estimate", "ci_low",
                                     "ci_high", "p_value", "n"])
    return pd.concat(parts, ignore_index=True).rename(columns={"x": "code", "y": "variable"})


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
    parts = []
    for cycle, scores in sorted(scores_by_cycle.items()):
        for lag in lags:
            year = int(cycle) + int(lag)
            avail = [v for v in variables
                     if ((outcomes["variable"] == v) & (outcomes["year"] == year) & outcomes["value"].notna()).any()]
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
