"""Transformation stages of the method core: denominate, impute, screen, treat, normalise.

This module owns the data transformations applied to the units x indicators matrix before
weighting and aggregation. Every stage is a pure function: a DataFrame (index = unit code,
columns = indicator codes) in, ``(DataFrame, log)`` out, where ``log`` is a tidy frame with
columns :data:`LOG_COLUMNS` (``stage, code, unit, action, detail, value``) recording what the
stage did (which cells were imputed, which units dropped, which indicators winsorised by how
many points, ...). Nothing is modified in place.

The methods follow the OECD/JRC *Handbook on Constructing Composite Indicators: Methodology
and User Guide* (2008, ISBN 978-92-64-04345-9, doi:10.1787/9789264043466-en) and reproduce the
reference implementation COINr (Becker W. et al., 2022, "COINr: an R package for developing
composite indicators", *Journal of Open Source Software* 7(78), 4567,
doi:10.21105/joss.04567): ``tests/test_coinr_asem.py`` checks every stage against COINr 1.1.14
on its ASEM example to 1e-9.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

import numpy as np
import pandas as pd

from pmm_lib.core.normalisers import NORMALISERS, NormaliseInput
from pmm_lib.core.spec import (
    IMPUTE_METHODS,
    TREAT_METHODS,
    ImputeMethod,
    TreatFallback,
    TreatMethod,
    check_choice,
)
from pmm_lib.errors import InputError, SpecError
from pmm_lib.seed import SeedLike, rng

__all__ = [
    "LOG_COLUMNS",
    "denominate",
    "empty_log",
    "impute",
    "kurtosis",
    "normalise",
    "screen",
    "skewness",
    "treat",
    "treat_table",
]

#: Columns of every stage log.
LOG_COLUMNS: tuple[str, ...] = ("stage", "code", "unit", "action", "detail", "value")


def empty_log() -> pd.DataFrame:
    """An empty stage log with the standard columns and dtypes."""
    return _EMPTY_LOG.copy()


def _make_empty_log() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype="str") for c in LOG_COLUMNS[:-1]})
    frame["value"] = pd.Series([], dtype="float64")
    return frame


_EMPTY_LOG = _make_empty_log()


def _log(records: list[tuple[str, str, str, str, str, float]]) -> pd.DataFrame:
    if not records:
        return empty_log()
    frame = pd.DataFrame.from_records(records, columns=list(LOG_COLUMNS))
    frame["value"] = frame["value"].astype("float64")
    return frame


def _as_matrix(data: pd.DataFrame, stage: str) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"{stage}: expected a DataFrame (units x indicators), got {type(data).__name__}")
    if not data.index.is_unique:
        dup = data.index[data.index.duplicated()].unique().tolist()
        raise InputError(f"{stage}: duplicated unit codes {dup[:5]}", column="unit",
                         expected="one row per unit")
    bad = [c for c, t in zip(data.columns, data.dtypes, strict=True)
           if getattr(t, "kind", "O") not in "biuf"]
    if bad:
        raise InputError(f"{stage}: non-numeric indicator columns {bad[:5]}", column=str(bad[0]),
                         expected="numbers (missing values empty)")
    x = data if all(t == np.float64 for t in data.dtypes) else data.astype("float64")
    inf = np.isinf(x.to_numpy())
    if inf.any():
        i, j = (int(v[0]) for v in np.nonzero(inf))
        raise InputError(f"{stage}: infinite value for unit {x.index[i]!r}", column=str(x.columns[j]),
                         expected="finite numbers (missing values empty)")
    return x


# --------------------------------------------------------------------------- denominate
def denominate(data: pd.DataFrame, meta: pd.DataFrame,
               denominators: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Divide each indicator that has a denominator by that unit's denominator value.

    .. math:: x'_{ci} = x_{ci} / d_{c,\\,\\mathrm{den}(i)}

    (Handbook 2008, sec. 1.3 "scaling by size"; COINr ``Denominate``.) A zero denominator
    gives a missing value (logged as ``zero_denominator``), never an infinity.

    Parameters
    ----------
    data : DataFrame
        Units x indicators.
    meta : DataFrame
        Hierarchy table with ``code`` and an optional ``denominator`` column (empty/NaN = none).
    denominators : DataFrame
        Units x denominator columns (e.g. GDP, Population); index = unit code.

    Returns
    -------
    (DataFrame, DataFrame)
        The denominated matrix and the log (one ``denominated`` row per indicator).

    Examples
    --------
    >>> d = pd.DataFrame({"a": [10.0, 20.0], "b": [1.0, 2.0]}, index=["X", "Y"])
    >>> m = pd.DataFrame({"code": ["a", "b"], "denominator": ["pop", None]})
    >>> denominate(d, m, pd.DataFrame({"pop": [2.0, 4.0]}, index=["X", "Y"]))[0]["a"].tolist()
    [5.0, 5.0]
    """
    x = _as_matrix(data, "denominate")
    if "denominator" not in meta.columns:
        return x, empty_log()
    den = meta.set_index("code")["denominator"]
    den = den[den.index.isin(x.columns)]
    den = den[den.notna() & (den.astype(str).str.strip() != "")].astype(str)
    if den.empty:
        return x, empty_log()
    if denominators is None:
        raise InputError(f"denominate: indicators {list(den.index[:5])} have denominators but no "
                         "denominator data were given", column=str(den.iloc[0]))
    missing_cols = sorted(set(den) - set(denominators.columns))
    if missing_cols:
        raise InputError("denominate: denominator column(s) not found", column=missing_cols[0],
                         expected=f"one of {list(denominators.columns)}")
    missing_units = x.index.difference(denominators.index)
    if len(missing_units):
        raise InputError(f"denominate: units {list(missing_units[:5])} have no denominator values",
                         column=str(den.iloc[0]))
    rows = denominators.index.get_indexer(x.index)
    dcols = denominators.columns.get_indexer(pd.Index(den.to_numpy()))
    d = denominators.to_numpy(dtype="float64")[np.ix_(rows, dcols)]
    icols = x.columns.get_indexer(den.index)
    X = x.to_numpy().copy()
    num = X[:, icols]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = num / d
    zero = (d == 0) & ~np.isnan(num)
    q[zero] = np.nan
    X[:, icols] = q
    out = pd.DataFrame(X, index=x.index, columns=x.columns)
    records = [("denominate", str(code), "", "denominated", f"divided by {name}", np.nan)
               for code, name in den.items()]
    for r, c in zip(*np.nonzero(zero), strict=True):
        records.append(("denominate", str(den.index[c]), str(x.index[r]), "zero_denominator",
                        f"{den.iloc[c]} is 0: value set missing", float(num[r, c])))
    return out, _log(records)


# --------------------------------------------------------------------------- screen
def screen(data: pd.DataFrame, min_coverage: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop units whose share of non-missing indicators is below ``min_coverage``.

    .. math:: \\mathrm{coverage}_c = \\frac{1}{m}\\sum_i 1[x_{ci}\\ \\mathrm{observed}],
              \\quad \\text{keep } c \\iff \\mathrm{coverage}_c \\ge \\text{min\\_coverage}

    (COINr ``Screen(unit_screen = "byNA", dat_thresh = min_coverage)``.)

    Returns
    -------
    (DataFrame, DataFrame)
        The kept rows and a log with one ``dropped`` row per removed unit (value = coverage).

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1.0, None], "b": [2.0, None]}, index=["X", "Y"])
    >>> screen(d, 0.5)[0].index.tolist()
    ['X']
    """
    x = _as_matrix(data, "screen")
    if isinstance(min_coverage, bool) or not 0.0 <= float(min_coverage) <= 1.0:
        raise SpecError(f"screen.min_coverage: expected a share between 0 and 1, got {min_coverage!r}")
    if x.shape[1] == 0:
        return x, empty_log()
    coverage = x.notna().to_numpy().mean(axis=1)
    keep = coverage >= min_coverage
    records = [("screen", "", str(u), "dropped", f"coverage {cov:.3f} < {min_coverage:g}", float(cov))
               for u, cov in zip(x.index[~keep], coverage[~keep], strict=True)]
    return x.loc[keep], _log(records)


# --------------------------------------------------------------------------- impute
def impute(data: pd.DataFrame, method: ImputeMethod = "none", *,
           groups: pd.Series | None = None,
           panel: Mapping[Any, pd.DataFrame] | None = None,
           cycle: Any = None, seed: SeedLike = None,
           max_iter: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill missing values.

    Methods
    -------
    ``none``
        Leave gaps (aggregation then re-weights over the indicators present).
    ``mean`` / ``median``
        :math:`\\hat x_{ci} = \\bar x_{\\cdot i}` (or the median) over all units.
    ``group_mean`` / ``group_median``
        :math:`\\hat x_{ci} = \\bar x_{g(c), i}`, the mean (median) of the unit's group
        (COINr ``i_mean_grp``); a group with no value for the indicator, or a unit without
        a group label, leaves the gap (logged as ``not_imputed``).
    ``iterative``
        Multivariate imputation by chained equations with Bayesian ridge regressions
        (scikit-learn ``IterativeImputer``; van Buuren & Groothuis-Oudshoorn 2011,
        doi:10.18637/jss.v045.i03): each indicator is regressed on all others in turn
        until the imputations settle (``max_iter`` rounds). Indicators with no value at all
        stay missing.
    ``panel``
        The same unit's value for the same indicator in the nearest earlier cycle that has
        one, else the nearest later cycle (last observation carried forward, then next
        observation carried backward). ``panel`` maps cycle -> matrix; ``cycle`` is the
        current one.

    Parameters
    ----------
    data : DataFrame
        Units x indicators.
    groups : Series, optional
        Unit -> group label (for the group methods).
    seed : int, Generator or None
        For ``iterative`` (the imputer's random state).

    Returns
    -------
    (DataFrame, DataFrame)
        The imputed matrix and a log with one ``imputed`` row per filled cell (value = the
        imputed value) and ``not_imputed`` rows for gaps the method could not fill.

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1.0, 3.0, None, 10.0]}, index=list("WXYZ"))
    >>> g = pd.Series(["p", "p", "p", "q"], index=list("WXYZ"))
    >>> impute(d, "group_mean", groups=g)[0]["a"].tolist()
    [1.0, 3.0, 2.0, 10.0]
    """
    check_choice(method, IMPUTE_METHODS, "impute.method")
    x = _as_matrix(data, "impute")
    missing = x.isna()
    if method == "none" or not missing.to_numpy().any():
        return x, empty_log()
    if method in ("mean", "median"):
        fill = x.mean() if method == "mean" else x.median()
        filled = x.fillna(fill)
    elif method in ("group_mean", "group_median"):
        if groups is None:
            raise SpecError(f"impute: method {method!r} needs groups (unit -> group label)")
        g = pd.Series(groups).reindex(x.index)
        filled = x.fillna(_group_fill(x.to_numpy(), g, method == "group_mean", x))
    elif method == "iterative":
        filled = _iterative(x, seed=seed, max_iter=max_iter)
    else:  # panel
        filled = _panel(x, panel, cycle)
    return filled, _impute_log(x, filled, method, cycle)


def _group_fill(X: np.ndarray, g: pd.Series, mean: bool, like: pd.DataFrame) -> pd.DataFrame:
    """Each unit's group mean (median) per indicator; NaN for units without a label."""
    codes, _ = pd.factorize(g, use_na_sentinel=True)
    fill = np.full_like(X, np.nan)
    ok = ~np.isnan(X)
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in range(codes.max() + 1):
            rows = codes == k
            sub = X[rows]
            if mean:
                n = ok[rows].sum(axis=0)
                stat = np.where(n > 0, np.where(ok[rows], sub, 0.0).sum(axis=0) / n, np.nan)
            else:
                stat = np.array([np.median(c[~np.isnan(c)]) if (~np.isnan(c)).any() else np.nan
                                 for c in sub.T])
            fill[rows] = stat
    return pd.DataFrame(fill, index=like.index, columns=like.columns)


def _iterative(x: pd.DataFrame, *, seed: SeedLike, max_iter: int) -> pd.DataFrame:
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    usable = [c for c in x.columns if x[c].notna().sum() >= 2]
    if len(usable) < 2:
        raise InputError("impute 'iterative': needs at least two indicators with two or more values",
                         expected="more data, or method mean/median")
    state = int(rng(seed).integers(2**31 - 1))
    imp = IterativeImputer(max_iter=max_iter, random_state=state, sample_posterior=False,
                           skip_complete=True)
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        values = imp.fit_transform(x[usable].to_numpy())
    out = x.copy()
    out[usable] = values
    return out


def _panel(x: pd.DataFrame, panel: Mapping[Any, pd.DataFrame] | None, cycle: Any) -> pd.DataFrame:
    if not panel:
        raise SpecError("impute: method 'panel' needs the other cycles' data (panel = {cycle: matrix})")
    if cycle is None:
        raise SpecError("impute: method 'panel' needs the current cycle")
    earlier = sorted((c for c in panel if c < cycle), reverse=True)
    later = sorted(c for c in panel if c > cycle)
    out = x.copy()
    for c in (*earlier, *later):
        other = panel[c].reindex(index=x.index, columns=x.columns).astype("float64")
        out = out.fillna(other)
    return out


def _impute_log(before: pd.DataFrame, after: pd.DataFrame, method: str, cycle: Any) -> pd.DataFrame:
    miss = before.isna().to_numpy()
    done = miss & after.notna().to_numpy()
    left = miss & ~done
    vals = after.to_numpy()
    records = [("impute", str(before.columns[j]), str(before.index[i]), "imputed", method, float(vals[i, j]))
               for i, j in zip(*np.nonzero(done), strict=True)]
    records += [("impute", str(before.columns[j]), str(before.index[i]), "not_imputed",
                 f"{method}: no value to impute from", np.nan)
                for i, j in zip(*np.nonzero(left), strict=True)]
    return _log(records)


# --------------------------------------------------------------------------- skew / kurtosis
def _deviations(x: np.ndarray | pd.Series) -> tuple[int, np.ndarray, float]:
    """``n``, the deviations ``d = x - mean`` and ``sum d^2`` over the non-missing values."""
    v = np.asarray(x, dtype="float64")
    v = v[~np.isnan(v)]
    d = v - v.mean() if v.size else v
    return int(v.size), d, float(np.dot(d, d))


def skewness(x: np.ndarray | pd.Series) -> float:
    """Sample skewness, type 2 (Excel ``SKEW``; e1071 ``type = 2``; COINr ``skew``).

    With :math:`d = x - \\bar x` over the :math:`n` non-missing values,

    .. math:: G_1 = \\sqrt{n}\\,\\frac{\\sum d^3}{(\\sum d^2)^{3/2}}\\cdot\\frac{\\sqrt{n(n-1)}}{n-2}

    (Joanes & Gill 1998, doi:10.1111/1467-9884.00122). NaN for fewer than 3 values or
    zero variance.

    >>> round(skewness([1, 2, 3, 10]), 6)
    1.763633
    """
    n, d, s2 = _deviations(x)
    if n < 3:
        return float("nan")
    with np.errstate(all="ignore"):
        g1 = float(np.sqrt(n) * np.sum(d**3) / s2**1.5 * np.sqrt(n * (n - 1)) / (n - 2))
    return g1 if np.isfinite(g1) else float("nan")


def kurtosis(x: np.ndarray | pd.Series) -> float:
    """Sample excess kurtosis, type 2 (Excel ``KURT``; e1071 ``type = 2``; COINr ``kurt``).

    With :math:`r = n\\sum d^4 / (\\sum d^2)^2`,

    .. math:: G_2 = \\frac{((n+1)(r-3)+6)(n-1)}{(n-2)(n-3)}

    (Joanes & Gill 1998). NaN for fewer than 4 values or zero variance.

    >>> round(kurtosis([1, 2, 3, 10]), 6)
    3.228
    """
    n, d, s2 = _deviations(x)
    if n < 4:
        return float("nan")
    with np.errstate(all="ignore"):
        r = n * np.sum(d**4) / s2**2
        g2 = float(((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3)))
    return g2 if np.isfinite(g2) else float("nan")


def _passes(v: np.ndarray, skew_t: float, kurt_t: float) -> tuple[bool, float, float]:
    sk, ku = skewness(v), kurtosis(v)
    return _pass(sk, ku, skew_t, kurt_t), sk, ku


# --------------------------------------------------------------------------- treat
def treat(data: pd.DataFrame, method: TreatMethod = "none", *, winmax: int = 5,
          skew: float = 2.0, kurtosis: float = 3.5, fallback: TreatFallback = "log",
          overrides: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outlier treatment, one indicator at a time (COINr ``Treat`` with its defaults).

    An indicator *passes* when ``|skew| < skew`` OR ``kurtosis < kurtosis`` (type-2
    moments, :func:`skewness`, :func:`kurtosis`). Indicators that pass are left alone.

    ``winsorise``
        While failing and fewer than ``winmax`` points changed: if skew >= 0 set the
        maximum (all tied maxima together) to the next-highest value, else the minimum to
        the next-lowest; the count of changed points is the number now sitting at the
        moved extreme (COINr ``winsorise``). If it still fails and ``fallback = "log"``,
        the ORIGINAL values are transformed instead:

        .. math:: x' = \\ln\\big(x - \\min x + 0.01(\\max x - \\min x)\\big)

        (COINr ``log_CT``).
    ``boxcox``
        A failing indicator is shifted to positive (:math:`x - \\min x + 1`) and Box-Cox
        transformed with :math:`\\lambda` by maximum likelihood (Box & Cox 1964,
        doi:10.1111/j.2517-6161.1964.tb00553.x; ``scipy.stats.boxcox``).
    ``none``
        Nothing.

    ``overrides`` maps an indicator code to its own method. Missing values stay missing.
    Reference: Handbook 2008, sec. 1.5; COINr treat vignette.

    Returns
    -------
    (DataFrame, DataFrame)
        The treated matrix and the log. Per treated indicator the log has ``skew_before``,
        ``kurtosis_before``, ``pass_before`` (1/0) rows; failing ones add ``n_winsorised``,
        ``skew_after``, ``kurtosis_after``, ``pass_after`` (after winsorising or Box-Cox),
        ``lambda`` (Box-Cox), ``transform`` (detail: winsorise / log / boxcox) and, after a
        log fallback, ``skew_final``, ``kurtosis_final``, ``pass_final``; plus one
        ``winsorised`` row per changed cell (value = original value). :func:`treat_table`
        turns it into one row per indicator.

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 100]})
    >>> t, log = treat(d, "winsorise", winmax=5)
    >>> t["a"].max()
    np.float64(9.0)
    """
    check_choice(method, TREAT_METHODS, "treat.method")
    check_choice(fallback, get_args(TreatFallback), "treat.fallback")
    x = _as_matrix(data, "treat")
    overrides = dict(overrides or {})
    for code, m in overrides.items():
        check_choice(m, TREAT_METHODS, f"treat.overrides.{code}")
    unknown = [c for c in overrides if c not in x.columns]
    if unknown:
        raise SpecError(f"treat.overrides: unknown indicator code(s) {unknown}; "
                        f"known: {', '.join(map(str, x.columns))}")
    X = x.to_numpy()
    out = X.copy()
    units = x.index.astype(str).to_numpy()
    codes = [str(c) for c in x.columns]
    methods = [overrides.get(c, method) for c in x.columns]
    sk0, ku0, n0 = _moments(X)
    records: list[tuple[str, str, str, str, str, float]] = []
    for j, (code, m) in enumerate(zip(codes, methods, strict=True)):
        if m == "none":
            continue
        if n0[j] < 4:
            records.append(("treat", code, "", "skipped", f"{n0[j]} values: skew and kurtosis need at least 4",
                            np.nan))
            continue
        passed = _pass(sk0[j], ku0[j], skew, kurtosis)
        records += [("treat", code, "", "skew_before", "", sk0[j]),
                    ("treat", code, "", "kurtosis_before", "", ku0[j]),
                    ("treat", code, "", "pass_before", "", float(passed))]
        if passed:
            continue
        col = X[:, j]
        ok = ~np.isnan(col)
        out[ok, j] = _treat_one(code, col[ok], m, winmax, skew, kurtosis, fallback, units[ok], records)
    return pd.DataFrame(out, index=x.index, columns=x.columns), _log(records)


def _moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Type-2 skewness and kurtosis of every column at once (NaN-aware), and the counts."""
    ok = ~np.isnan(X)
    n = ok.sum(axis=0)
    with np.errstate(all="ignore"):
        mean = np.where(ok, X, 0.0).sum(axis=0) / n
        d = np.where(ok, X - mean, 0.0)
        s2 = (d * d).sum(axis=0)
        g1 = np.sqrt(n) * (d**3).sum(axis=0) / s2**1.5 * np.sqrt(n * (n - 1.0)) / (n - 2.0)
        r = n * (d**4).sum(axis=0) / s2**2
        g2 = ((n + 1.0) * (r - 3.0) + 6.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0))
    g1 = np.where(np.isfinite(g1) & (n >= 3), g1, np.nan)
    g2 = np.where(np.isfinite(g2) & (n >= 4), g2, np.nan)
    return g1, g2, n


def _pass(sk: float, ku: float, skew_t: float, kurt_t: float) -> bool:
    if np.isnan(sk) or np.isnan(ku):  # constant: nothing to treat
        return True
    return bool(abs(sk) < skew_t or ku < kurt_t)


def _treat_one(code: str, v: np.ndarray, method: str, winmax: int, skew_t: float, kurt_t: float,
               fallback: str, units: np.ndarray, records: list) -> np.ndarray:
    """Treat one failing indicator's non-missing values ``v`` (see :func:`treat`)."""
    def add(action: str, value: float, detail: str = "", unit: str = "") -> None:
        records.append(("treat", code, unit, action, detail, float(value)))

    passed, sk, ku = _passes(v, skew_t, kurt_t)
    if method == "boxcox":
        from scipy import stats

        shifted = v - v.min() + 1.0
        t, lam = stats.boxcox(shifted)
        p2, sk2, ku2 = _passes(t, skew_t, kurt_t)
        add("lambda", lam)
        add("skew_after", sk2)
        add("kurtosis_after", ku2)
        add("pass_after", float(p2))
        add("transform", np.nan, "boxcox")
        return np.asarray(t, dtype="float64")
    # winsorise (COINr winsorise): one extreme at a time, tied extremes together
    w = v.copy()
    n_hi = n_lo = 0
    hi_idx = lo_idx = np.array([], dtype=int)
    nwin = 0
    while not passed and nwin < winmax:
        if sk >= 0:
            top = w.max()
            hi_idx = np.flatnonzero(w == top)
            rest = w[w != top]
            if rest.size == 0:
                break
            w[hi_idx] = rest.max()
            n_hi = hi_idx.size
        else:
            bot = w.min()
            lo_idx = np.flatnonzero(w == bot)
            rest = w[w != bot]
            if rest.size == 0:
                break
            w[lo_idx] = rest.min()
            n_lo = lo_idx.size
        nwin = n_hi + n_lo
        passed, sk, ku = _passes(w, skew_t, kurt_t)
    add("n_winsorised", nwin)
    add("skew_after", sk)
    add("kurtosis_after", ku)
    add("pass_after", float(passed))
    if passed or fallback == "none":
        changed = np.flatnonzero(w != v)
        for i in changed:
            add("winsorised", v[i], f"{'max' if w[i] < v[i] else 'min'} set to {w[i]:.6g}", str(units[i]))
        add("transform", np.nan, "winsorise" if changed.size else "none")
        return w
    lo, hi = v.min(), v.max()
    t = np.log(v - lo + 0.01 * (hi - lo))
    p3, sk3, ku3 = _passes(t, skew_t, kurt_t)
    add("skew_final", sk3)
    add("kurtosis_final", ku3)
    add("pass_final", float(p3))
    add("transform", np.nan, "log")
    return t


def treat_table(log: pd.DataFrame) -> pd.DataFrame:
    """One row per treated indicator from a :func:`treat` log.

    Returns
    -------
    DataFrame
        Columns ``code, skew_before, kurtosis_before, pass_before, n_winsorised, skew_after,
        kurtosis_after, pass_after, lambda, skew_final, kurtosis_final, pass_final,
        transform`` (NaN where a step did not happen); ``pass_*`` are booleans or NA.
    """
    cols = ["skew_before", "kurtosis_before", "pass_before", "n_winsorised", "skew_after",
            "kurtosis_after", "pass_after", "lambda", "skew_final", "kurtosis_final", "pass_final"]
    lg = log[log["stage"] == "treat"] if len(log) else log
    codes = list(dict.fromkeys(lg.loc[lg["action"] == "skew_before", "code"])) if len(lg) else []
    num = lg[lg["action"].isin(cols)].pivot_table(index="code", columns="action", values="value",
                                                  aggfunc="first", dropna=False) if len(lg) else None
    out = pd.DataFrame(index=pd.Index(codes, name="code"), columns=cols, dtype="float64")
    if num is not None:
        out.update(num.reindex(index=codes))
    tr = (lg[lg["action"] == "transform"].set_index("code")["detail"] if len(lg)
          else pd.Series(dtype="str"))
    out["transform"] = tr.reindex(codes).fillna("none").to_numpy() if codes else []
    for c in ("pass_before", "pass_after", "pass_final"):
        out[c] = out[c].map({1.0: True, 0.0: False}).astype("boolean")
    return out.reset_index()


# --------------------------------------------------------------------------- normalise
def normalise(data: pd.DataFrame, meta: pd.DataFrame | None = None,
              method: str = "minmax", *, low: float = 0.0, high: float = 100.0,
              mean: float = 0.0, sd: float = 1.0,
              targets: Mapping[str, float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bring indicators onto a common scale, higher = better for every method.

    The direction (``meta.direction``, +1 or -1; default +1) is ALWAYS applied: for a
    negative-direction indicator the method is applied to :math:`x' = -x` (COINr
    ``Normalise``), so the lowest raw value gets the best score. With
    :math:`x' = \\mathrm{dir}\\cdot x` and :math:`[l, u]` = ``[low, high]``:

    ``minmax``
        :math:`l + (u - l)\\,(x' - \\min x')/(\\max x' - \\min x')` (Handbook 2008, Table 3).
    ``zscore``
        :math:`\\mathrm{mean} + \\mathrm{sd}\\,(x' - \\bar x')/s_{x'}` (sample sd, n - 1).
    ``rank``
        Rank of :math:`x'`, 1 = worst, ties get the lowest rank (COINr ``n_rank``).
    ``percentile``
        :math:`l + (u - l)\\,(\\mathrm{rank} - 1)/(n - 1)` (COINr ``n_prank``).
    ``borda``
        :math:`\\mathrm{rank} - 1`, the number of units strictly beaten (COINr ``n_borda``).
    ``goalposts``
        :math:`l + (u - l)\\,\\mathrm{clip}((x - L)/(U - L), 0, 1)` with the framework bounds
        :math:`L, U` (``meta.lower``/``meta.upper``); for dir = -1, :math:`(U - x)/(U - L)`
        (COINr ``n_goalposts``; UNDP Human Development Index goalposts).
    ``distance_to_target``
        :math:`l + (u - l)\\,\\min(1,\\ 1 - (t' - x')/(t' - \\min x'))` with :math:`t' =
        \\mathrm{dir}\\cdot t` (COINr ``n_dist2targ`` capped). Targets come from ``targets``,
        else ``meta.target``, else the framework's good-side bound (upper for +1, lower
        for -1). Units at or beyond the target score ``u``.
    ``distance_to_best``
        :math:`l + (u - l)\\,(1 - (\\max x' - x')/(\\max x' - \\min x'))`, the distance to the
        best performer relative to the spread (COINr ``n_dist2max``; algebraically the same
        as min-max, kept for COINr parity).
    ``fraction_of_max``
        :math:`l + (u - l)\\,x/\\max x` for dir = +1 (needs :math:`x \\ge 0`), and
        :math:`l + (u - l)\\,\\min x / x` for dir = -1 (needs :math:`x > 0`): the share of the
        best performance (COINr ``n_fracmax``; for dir = -1 COINr's ``-x/max(-x)`` would
        reverse the order, so the ratio is taken to the smallest value instead).

    A constant indicator (zero range or sd) carries no information: its scores are missing
    and the log says so (``constant``).

    Returns
    -------
    (DataFrame, DataFrame)
        Normalised matrix (same shape) and log (``constant`` rows for indicators without
        spread).

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1.0, 2.0, 5.0], "b": [1.0, 2.0, 5.0]})
    >>> m = pd.DataFrame({"code": ["a", "b"], "direction": [1, -1]})
    >>> normalise(d, m, "minmax")[0].round(2).to_dict("list")
    {'a': [0.0, 25.0, 100.0], 'b': [100.0, 75.0, 0.0]}
    """
    check_choice(method, tuple(NORMALISERS), "normalise.method")
    if not low < high:
        raise SpecError(f"normalise: low ({low}) must be below high ({high})")
    if not sd > 0:
        raise SpecError(f"normalise.sd: expected a number > 0, got {sd!r}")
    x = _as_matrix(data, "normalise")
    codes = [str(c) for c in x.columns]
    mt = _meta_for(meta, codes)
    dirs = mt["direction"].to_numpy(dtype="float64")
    X = x.to_numpy()
    Xd = X * dirs
    records: list[tuple[str, str, str, str, str, float]] = []
    with np.errstate(all="ignore"):
        Y, const = NORMALISERS[method](NormaliseInput(X=X, Xd=Xd, dirs=dirs, low=float(low), high=float(high),
                                                      mean=float(mean), sd=float(sd), targets=targets,
                                                      meta=mt, codes=codes))
    const = np.asarray(const) & ((~np.isnan(X)).sum(axis=0) > 0)
    if const.any():
        Y = Y.copy()
        Y[:, const] = np.nan
        records += [("normalise", c, "", "constant", "no spread: scores left missing", np.nan)
                    for c, k in zip(codes, const, strict=True) if k]
    return pd.DataFrame(Y, index=x.index, columns=x.columns), _log(records)


def _meta_for(meta: pd.DataFrame | None, codes: list[str]) -> pd.DataFrame:
    if meta is None:
        return pd.DataFrame({"direction": np.ones(len(codes))}, index=codes)
    if "code" not in meta.columns:
        raise InputError("normalise: the meta table has no 'code' column",
                         expected="columns code, level, parent, direction, weight")
    keys = meta["code"].astype(str).to_numpy()
    pos = {k: i for i, k in enumerate(keys)}
    missing = [c for c in codes if c not in pos]
    if missing:
        raise InputError(f"normalise: indicators {missing[:5]} are not in the meta table", column="code")
    want = [c for c in ("direction", "lower", "upper", "target") if c in meta.columns]
    rows = [pos[c] for c in codes]
    mt = pd.DataFrame({c: meta[c].to_numpy()[rows] for c in want}, index=codes)
    if "direction" not in mt.columns:
        mt["direction"] = 1.0
    d = pd.to_numeric(mt["direction"], errors="coerce").to_numpy(dtype="float64")
    bad = [c for c, v in zip(codes, d, strict=True) if v not in (1.0, -1.0)]
    if bad:
        raise InputError(f"normalise: direction of {bad[:5]} is not 1 or -1", column="direction",
                         expected="1 (higher is better) or -1 (lower is better)")
    mt["direction"] = d
    return mt
