"""Indicator validity: internal consistency, correlation structure, PCA/EFA and the KPI scorecard.

This module owns the statistical checks of whether the KPIs of a framework behave as a
measurement instrument: Cronbach's alpha (with bootstrap or Feldt confidence intervals),
item analysis (item-rest correlations, alpha if deleted), pairwise correlation tables
(Pearson and Spearman with Fisher-z intervals), structural flags (collinear pairs, negative
correlations within a dimension, weak links to the parent aggregate), principal components
with Kaiser's rule and Horn's parallel analysis, exploratory factor analysis (statsmodels),
Kaiser's KMO measure, Bartlett's sphericity test, and the per-KPI validity scorecard that
combines every line of evidence into a keep / review / drop verdict.

Every function takes plain DataFrames (units x indicators, index = unit code) so it works on any
table, not only on :class:`pmm_lib.core.build.IndexResult`; the hierarchy, where needed, is the
``meta`` table of :meth:`pmm_lib.inputs.framework.Framework.meta` (columns ``code, level, parent,
direction``). Outputs are tidy frames in the shared vocabulary (``estimate, ci_low, ci_high,
p_value, n``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

from pmm_lib.analysis import guards
from pmm_lib.analysis.thresholds import ScorecardThresholds
from pmm_lib.errors import InputError, SpecError
from pmm_lib.seed import SeedLike, rng
from pmm_lib.vocab import check_choice

__all__ = [
    "CorrMethod",
    "Kmo",
    "PcaResult",
    "ScorecardThresholds",
    "Verdict",
    "alpha_ci",
    "bartlett_sphericity",
    "consistency_table",
    "correlation_flags",
    "correlation_matrix",
    "correlation_table",
    "cronbach_alpha",
    "FactorFit",
    "UNIQUENESS_LOWER",
    "efa",
    "factor_ml",
    "factor_pa",
    "varimax",
    "efa_table",
    "fisher_ci",
    "groups_from_meta",
    "item_analysis",
    "kmo",
    "orient",
    "parallel_analysis",
    "pca",
    "pca_loadings",
    "pca_table",
    "scorecard",
    "standardise",
]

CorrMethod = Literal["pearson", "spearman"]
Missing = Literal["listwise", "pairwise"]
Verdict = Literal["keep", "review", "drop"]
_SEVERITY: dict[str, int] = {"keep": 0, "review": 1, "drop": 2}


# --------------------------------------------------------------------------- helpers
def _numeric(frame: pd.DataFrame, name: str = "frame") -> pd.DataFrame:
    """Check ``frame`` is a DataFrame of numbers (bools allowed); return it as float."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{name} must be a pandas DataFrame (units x indicators), got {type(frame).__name__}")
    for col, dtype in frame.dtypes.items():  # dtypes, not columns: no Series built per column
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise InputError(f"{name}: indicator column is not numeric (dtype {dtype})",
                             column=str(col), expected="numbers (NaN for missing)")
    return frame.astype(float)


_choice = check_choice


def _conf(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise SpecError(f"conf_level must lie strictly between 0 and 1, got {conf_level!r}")
    return float(conf_level)


def standardise(frame: pd.DataFrame) -> pd.DataFrame:
    """z-scores per column over the non-missing values (ddof = 1); constant columns become NaN."""
    x = _numeric(frame)
    sd = x.std(ddof=1)
    return (x - x.mean()) / sd.where(sd > 0)


def orient(matrix: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """Multiply each KPI column by its ``direction`` in ``meta`` so that higher is always better.

    Columns not in ``meta`` are left unchanged. Use this on raw matrices; normalised scores from
    :func:`pmm_lib.core.build.build` are already oriented.
    """
    x = _numeric(matrix, "matrix")
    direction = meta.set_index("code")["direction"]
    factors = pd.Series({c: float(direction.get(c, 1.0)) for c in x.columns})
    return x * factors


def fisher_ci(r: float | np.ndarray, n: int | np.ndarray, conf_level: float = 0.95,
              method: CorrMethod = "pearson", n_controls: int | np.ndarray = 0) -> tuple[Any, Any]:
    """Confidence interval of a correlation by Fisher's z transformation.

    ``z = atanh(r)``, ``se = sqrt(c / (n - 3 - q))`` with ``c = 1`` for Pearson and ``c = 1.06``
    for Spearman (Fieller, Hartley & Pearson 1957, doi:10.1093/biomet/44.3-4.470), ``q`` = number
    of controlled variables for a partial correlation; the interval is ``tanh(z -/+ z_{1-a/2} se)``.
    NaN when ``n - 3 - q < 1``.

    Reference: Fisher, R. A. (1921), *Metron* 1, 3-32.

    >>> lo, hi = fisher_ci(0.5, 30)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.1704, 0.729)
    """
    _conf(conf_level)
    _choice(method, get_args(CorrMethod), "method")
    c = 1.06 if method == "spearman" else 1.0
    r_arr = np.clip(np.asarray(r, dtype=float), -1 + 1e-15, 1 - 1e-15)
    dof = np.asarray(n, dtype=float) - 3 - np.asarray(n_controls, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(c / np.where(dof >= 1, dof, np.nan))
    zc = stats.norm.ppf(0.5 + conf_level / 2)
    z = np.arctanh(r_arr)
    lo, hi = np.tanh(z - zc * se), np.tanh(z + zc * se)
    if np.ndim(lo) == 0:
        return float(lo), float(hi)
    return lo, hi


def _corr_p(r: float, n: int, n_controls: int = 0) -> float:
    """Two-sided p-value of r under H0: rho = 0 with the t distribution on n - 2 - q df."""
    dof = n - 2 - n_controls
    if dof < 1 or not np.isfinite(r):
        return float("nan")
    if abs(r) >= 1:
        return 0.0
    t = r * np.sqrt(dof / (1 - r * r))
    return float(2 * stats.t.sf(abs(t), dof))


def _pairwise_pearson(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete Pearson correlations and pair counts of the columns of ``arr`` at once.

    With ``M`` the presence mask and ``X0`` the data with NaN set to 0, every moment of column i
    over the units where column j is also present is a matrix product, e.g. ``(X0'M)_ij``;
    ``r_ij = (S_xy - S_x S_y / n) / sqrt((S_xx - S_x^2/n)(S_yy - S_y^2/n))``. NaN where
    ``n < 3`` or a variance is zero.
    """
    m = np.isfinite(arr).astype(float)
    x0 = np.where(m > 0, arr, 0.0)
    # centre each column on its own mean first for numerical stability
    mu = np.divide(x0.sum(axis=0), m.sum(axis=0), out=np.zeros(arr.shape[1]), where=m.sum(axis=0) > 0)
    x0 = np.where(m > 0, x0 - mu, 0.0)
    n = m.T @ m
    sx = x0.T @ m
    sxx = (x0**2).T @ m
    sxy = x0.T @ x0
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sx.T / n
        var_x = sxx - sx**2 / n
        r = cov / np.sqrt(var_x * var_x.T)
    tol = 1e-12 * np.maximum(sxx, sxx.T).clip(min=1e-300)
    bad = (n < 3) | (var_x <= tol) | (var_x.T <= tol)
    return np.where(bad, np.nan, np.clip(r, -1.0, 1.0)), n


def _corr_p_vec(r: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Vectorised :func:`_corr_p` (no controls)."""
    r = np.asarray(r, dtype=float)
    dof = np.asarray(n, dtype=float) - 2
    ok = (dof >= 1) & np.isfinite(r)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.abs(r) * np.sqrt(dof / (1 - r * r))
        p = 2 * stats.t.sf(t, np.where(ok, dof, 1))
    p = np.where(np.abs(r) >= 1, 0.0, p)
    return np.where(ok, p, np.nan)


def _pair_corr(x: np.ndarray, y: np.ndarray, method: CorrMethod) -> tuple[float, int]:
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 3:
        return float("nan"), n
    a, b = x[ok], y[ok]
    if method == "spearman":
        a, b = stats.rankdata(a), stats.rankdata(b)
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return float("nan"), n
    r = float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))
    return float(np.clip(r, -1.0, 1.0)), n


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spearman's rho of each row pair ``(a[p], b[p])`` on the units both have (vectorised).

    Same numbers as :func:`_pair_corr` with ``method="spearman"``: mid-ranks of the
    pairwise-complete values, then Pearson's r of the ranks; NaN when fewer than 3 units or a
    constant column.
    """
    ok = np.isfinite(a) & np.isfinite(b)
    n = ok.sum(axis=1)
    ra = stats.rankdata(np.where(ok, a, np.nan), axis=1, nan_policy="omit")
    rb = stats.rankdata(np.where(ok, b, np.nan), axis=1, nan_policy="omit")
    ra, rb = np.where(ok, ra, 0.0), np.where(ok, rb, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma, mb = ra.sum(axis=1) / n, rb.sum(axis=1) / n
        da, db = np.where(ok, ra - ma[:, None], 0.0), np.where(ok, rb - mb[:, None], 0.0)
        va, vb = (da**2).sum(axis=1), (db**2).sum(axis=1)
        r = (da * db).sum(axis=1) / np.sqrt(va * vb)
    bad = (n < 3) | (va <= 1e-12) | (vb <= 1e-12)
    return np.where(bad, np.nan, np.clip(r, -1.0, 1.0)), n.astype(int)


# --------------------------------------------------------------------------- hierarchy
def groups_from_meta(meta: pd.DataFrame, columns: Sequence[str] | None = None,
                     levels: Sequence[int] = (3, 2)) -> dict[str, list[str]]:
    """KPI codes under each aggregate node of ``meta`` (dimensions and expected outcomes).

    Parameters
    ----------
    meta : DataFrame
        Hierarchy with columns ``code, level, parent`` (level 1 = KPIs).
    columns : sequence of str, optional
        Keep only these KPI codes (e.g. the columns of a matrix), in ``meta`` order.
    levels : sequence of int
        Which aggregate levels to return (2 = outcomes, 3 = dimensions, 4 = index).

    Returns
    -------
    dict
        ``{node code: [KPI codes]}``, nodes ordered by level as given then by ``meta`` order.
    """
    missing = {"code", "level", "parent"} - set(meta.columns)
    if missing:
        raise InputError(f"meta lacks columns {sorted(missing)}", expected="code, level, parent, direction")
    parent = dict(zip(meta["code"], meta["parent"], strict=True))
    level = dict(zip(meta["code"], meta["level"].astype(int), strict=True))
    kpis = [c for c in meta.loc[meta["level"] == 1, "code"] if columns is None or c in set(columns)]
    out: dict[str, list[str]] = {}
    for lv in levels:
        for node in meta.loc[meta["level"] == lv, "code"]:
            members = []
            for k in kpis:
                p = parent.get(k)
                while p is not None and isinstance(p, str) and level.get(p, 99) < lv:
                    p = parent.get(p)
                if p == node:
                    members.append(k)
            out[str(node)] = members
    return out


# --------------------------------------------------------------------------- reliability
def _alpha_from_cov(cov: np.ndarray) -> float:
    k = cov.shape[0]
    total = cov.sum()
    if k < 2 or not np.isfinite(total) or total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def _row_nanmean(rows: np.ndarray) -> np.ndarray:
    """Mean over the rows of a ``variables x units`` array, skipping NaN (NaN where all are missing).

    The numbers of ``DataFrame.mean(axis=1)`` on the ``units x variables`` frame: the present
    values are summed variable by variable, then divided by their count.
    """
    present = ~np.isnan(rows)
    count = present.sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(present, rows, 0.0).sum(axis=0) / count
    return np.where(count > 0, mean, np.nan)


def _pairwise_cov_rows(rows: np.ndarray, min_periods: int = 3) -> np.ndarray:
    """Pairwise-complete covariance matrix (ddof = 1) of the rows of a ``variables x units`` array.

    ``cov_ij`` is taken over the units where both variables are present, NaN with fewer than
    ``min_periods`` of them; the numbers are those of ``DataFrame.cov(min_periods=...)`` on the
    ``units x variables`` frame (which this calls on an unlabelled frame).
    """
    return pd.DataFrame(rows.T).cov(min_periods=min_periods).to_numpy()


def cronbach_alpha(frame: pd.DataFrame, *, missing: Missing = "listwise") -> float:
    """Cronbach's coefficient alpha of a units x items table.

    ``alpha = k / (k - 1) * (1 - sum_i var_i / var_total)`` with ``var_total`` the variance of the
    row sums (ddof = 1). ``missing="listwise"`` (default) uses complete rows only;
    ``"pairwise"`` uses the pairwise-complete covariance matrix ``C`` and
    ``alpha = k/(k-1) * (1 - tr C / sum C)`` (as R's ``psych::alpha`` does by default).

    Reference: Cronbach, L. J. (1951), Coefficient alpha and the internal structure of tests,
    *Psychometrika* 16, 297-334, doi:10.1007/BF02310555.

    Raises
    ------
    InputError
        Fewer than two items, or fewer than two complete rows.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 2, 4, 4], "c": [1, 3, 3, 5]})
    >>> round(cronbach_alpha(df), 4)
    0.9333
    """
    _choice(missing, get_args(Missing), "missing")
    x = _numeric(frame)
    if x.shape[1] < 2:
        raise InputError(f"Cronbach's alpha needs at least 2 items, got {x.shape[1]}",
                         expected="a units x items table with >= 2 columns")
    if missing == "listwise":
        x = x.dropna()
        if len(x) < 2:
            raise InputError(f"Cronbach's alpha needs at least 2 complete rows, got {len(x)}")
        cov = np.cov(x.to_numpy(), rowvar=False, ddof=1)
    else:
        cov = x.cov(min_periods=2).to_numpy()
    return _alpha_from_cov(cov)


def _alpha_batch(samples: np.ndarray) -> np.ndarray:
    """Alpha of each sample in a (B, n, k) array (listwise data)."""
    k = samples.shape[2]
    item_var = samples.var(axis=1, ddof=1).sum(axis=1)
    total_var = samples.sum(axis=2).var(axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return k / (k - 1) * (1 - item_var / total_var)


def _pairwise_cov_batch(samples: np.ndarray) -> np.ndarray:
    """Pairwise-complete covariance matrices (ddof = 1) of each sample in a (B, n, k) array with NaNs.

    With ``M`` the presence mask and ``X0`` the data with NaN set to 0, for items i, j:
    ``n_ij = (M'M)_ij`` and ``cov_ij = [(X0'X0)_ij - (X0'M)_ij (M'X0)_ij / n_ij] / (n_ij - 1)``.
    """
    m = np.isfinite(samples).astype(float)
    x0 = np.where(m > 0, samples, 0.0)
    n_ij = np.einsum("bni,bnj->bij", m, m)
    sxy = np.einsum("bni,bnj->bij", x0, x0)
    sx = np.einsum("bni,bnj->bij", x0, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (sxy - sx * np.swapaxes(sx, 1, 2) / n_ij) / (n_ij - 1)
    return np.where(n_ij >= 2, cov, np.nan)


def _alpha_cov_batch(covs: np.ndarray) -> np.ndarray:
    k = covs.shape[1]
    total = covs.sum(axis=(1, 2))
    tr = np.trace(covs, axis1=1, axis2=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = k / (k - 1) * (1 - tr / total)
    return np.where(total > 0, out, np.nan)


def alpha_ci(frame: pd.DataFrame, n_boot: int = 2000, seed: SeedLike = None, *,
             conf_level: float = 0.95, method: Literal["bootstrap", "feldt"] = "bootstrap",
             missing: Missing = "listwise") -> pd.DataFrame:
    """Cronbach's alpha with a confidence interval.

    ``missing="listwise"`` uses complete rows; ``"pairwise"`` the pairwise-complete covariance
    matrix (see :func:`cronbach_alpha`), recomputed in every bootstrap resample (Feldt's interval
    then uses the smallest pairwise ``n``).

    ``method="bootstrap"``: percentile interval over ``n_boot`` resamples of units (rows) with
    replacement (Efron & Tibshirani 1993, doi:10.1201/9780429246593). ``method="feldt"``: the
    exact interval under normality, ``1 - (1 - alpha) * F_{1-a/2 ; n-1, (n-1)(k-1)}`` to
    ``1 - (1 - alpha) * F_{a/2 ; ...}`` (Feldt 1965, doi:10.1007/BF02289703), as in pingouin.

    Returns
    -------
    DataFrame
        One row: ``estimate, ci_low, ci_high, n, k, method, n_boot`` (``n`` = complete rows, or
        the smallest pairwise n; ``n_boot`` = valid resamples, 0 for Feldt).
    """
    _choice(method, ("bootstrap", "feldt"), "method")
    _choice(missing, get_args(Missing), "missing")
    _conf(conf_level)
    x = _numeric(frame)
    if missing == "listwise":
        x = x.dropna()
    else:
        x = x.dropna(how="all")
    alpha = cronbach_alpha(x, missing=missing)
    k = x.shape[1]
    if missing == "listwise":
        n = len(x)
    else:
        pres = x.notna().astype(float).to_numpy()
        n = int((pres.T @ pres).min())
    if method == "feldt":
        dfn, dfd = n - 1, (n - 1) * (k - 1)
        lo = 1 - (1 - alpha) * stats.f.ppf(0.5 + conf_level / 2, dfn, dfd)
        hi = 1 - (1 - alpha) * stats.f.ppf(0.5 - conf_level / 2, dfn, dfd)
        valid = 0
    else:
        if n_boot < 10:
            raise SpecError(f"n_boot must be at least 10, got {n_boot}")
        gen = rng(seed)
        data = x.to_numpy()
        chunk = max(1, int(2_000_000 // max(1, n * k)))
        out = []
        for start in range(0, n_boot, chunk):
            b = min(chunk, n_boot - start)
            idx = gen.integers(0, len(data), size=(b, len(data)))
            if missing == "listwise":
                out.append(_alpha_batch(data[idx]))
            else:
                out.append(_alpha_cov_batch(_pairwise_cov_batch(data[idx])))
        boots = np.concatenate(out)
        boots = boots[np.isfinite(boots)]
        valid = int(boots.size)
        if valid < 10:
            lo = hi = float("nan")
        else:
            lo, hi = np.quantile(boots, [0.5 - conf_level / 2, 0.5 + conf_level / 2])
    lo, hi = guards.bounded(float(lo), float(hi))  # alpha <= 1: Feldt's upper limit can pass it
    return pd.DataFrame([{"estimate": alpha, "ci_low": float(lo), "ci_high": float(hi), "n": int(n),
                          "k": int(k), "method": method, "n_boot": valid}])


def item_analysis(frame: pd.DataFrame, *, missing: Missing = "listwise") -> pd.DataFrame:
    """Item-rest correlations and alpha if each item is deleted.

    The item-rest correlation is the Pearson correlation of an item with the sum of the *other*
    items (corrected item-total correlation); ``alpha_if_deleted`` is Cronbach's alpha of the
    remaining ``k - 1`` items (NaN when fewer than 2 remain); ``alpha_change`` is
    ``alpha_if_deleted - alpha`` (positive: the scale is more consistent without the item).
    With ``missing="pairwise"`` the rest score is the sum of the available other items (rows with
    no other item are dropped) and alphas come from the pairwise covariance matrix.

    Reference: Nunnally, J. C. & Bernstein, I. H. (1994), *Psychometric Theory*, 3rd ed., ch. 8.

    Returns
    -------
    DataFrame
        ``item, item_rest_r, alpha_if_deleted, alpha_change, n`` (one row per item; ``n`` = rows
        used for the item-rest correlation).
    """
    _choice(missing, get_args(Missing), "missing")
    x = _numeric(frame)
    if x.shape[1] < 2:
        raise InputError(f"item analysis needs at least 2 items, got {x.shape[1]}")
    if missing == "listwise":
        x = x.dropna()
    alpha = cronbach_alpha(x, missing=missing)
    rows = []
    for item in x.columns:
        rest_cols = x.drop(columns=item)
        rest = rest_cols.sum(axis=1, min_count=1)
        r, n = _pair_corr(x[item].to_numpy(), rest.to_numpy(), "pearson")
        aid = cronbach_alpha(rest_cols, missing=missing) if rest_cols.shape[1] >= 2 else float("nan")
        rows.append({"item": str(item), "item_rest_r": r, "alpha_if_deleted": aid,
                     "alpha_change": aid - alpha, "n": n})
    return pd.DataFrame(rows)


def consistency_table(normalised: pd.DataFrame, meta: pd.DataFrame, *, n_boot: int = 1000,
                      seed: SeedLike = None, conf_level: float = 0.95,
                      levels: Sequence[int] = (3, 2), missing: Missing = "listwise") -> pd.DataFrame:
    """Cronbach's alpha with a bootstrap CI for every dimension and expected outcome.

    Parameters
    ----------
    normalised : DataFrame
        Units x KPIs on a common, oriented scale (e.g. ``IndexResult.normalised``).
    meta : DataFrame
        The hierarchy (``code, level, parent``; ``name`` used when present).
    n_boot, seed, conf_level
        Bootstrap settings, see :func:`alpha_ci`.
    levels
        Aggregate levels to report (3 = dimensions, 2 = expected outcomes).
    missing : {"listwise", "pairwise"}
        Complete units only, or pairwise-complete covariances (keeps every unit when KPIs are
        skipped; advisable for small regions with optional KPIs).

    Returns
    -------
    DataFrame
        ``code, name, level, alpha, ci_low, ci_high, n, k, withheld``: ``k`` KPIs of the node
        present in ``normalised``, ``n`` complete units (pairwise: the smallest pairwise n).
        ``alpha`` is NaN and ``withheld`` says why when ``k < 3`` or ``n < 3``
        (:func:`pmm_lib.analysis.guards.alpha_reason`); otherwise ``withheld`` is empty.
    """
    x = _numeric(normalised, "normalised")
    names = dict(zip(meta["code"], meta["name"], strict=True)) if "name" in meta.columns else {}
    gen = rng(seed)
    rows = []
    _choice(missing, get_args(Missing), "missing")
    for node, cols in groups_from_meta(meta, list(x.columns), levels).items():
        sub = x[cols].dropna() if missing == "listwise" else x[cols].dropna(how="all")
        if missing == "pairwise" and len(cols) >= 2:
            pres = sub.notna().astype(float).to_numpy()
            n_used = int((pres.T @ pres).min()) if len(sub) else 0
        else:
            n_used = int(len(sub))
        lv = int(meta.loc[meta["code"] == node, "level"].iloc[0])
        why = guards.alpha_reason(len(cols), n_used)
        row = {"code": node, "name": names.get(node, node), "level": lv, "alpha": float("nan"),
               "ci_low": float("nan"), "ci_high": float("nan"), "n": n_used, "k": len(cols), "withheld": why}
        if not why:
            res = alpha_ci(sub, n_boot=n_boot, seed=gen, conf_level=conf_level, missing=missing).iloc[0]
            row.update(alpha=float(res["estimate"]), ci_low=float(res["ci_low"]), ci_high=float(res["ci_high"]))
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- correlations
def correlation_table(frame: pd.DataFrame, *, method: CorrMethod | Sequence[CorrMethod] = ("pearson", "spearman"),
                      conf_level: float = 0.95) -> pd.DataFrame:
    """Pairwise-complete correlations of every pair of columns, tidy, with Fisher-z CIs.

    Spearman's rho is Pearson's r of the ranks of the pairwise-complete values (mid-ranks for
    ties); p-values use ``t = r sqrt((n-2)/(1-r^2))`` on ``n - 2`` df (as scipy does);
    CIs use :func:`fisher_ci`.

    Returns
    -------
    DataFrame
        ``var1, var2, method, estimate, ci_low, ci_high, p_value, n`` for each pair ``var1``
        before ``var2`` in column order (upper triangle), for each method.
    """
    x = _numeric(frame)
    methods = [method] if isinstance(method, str) else list(method)
    for m in methods:
        _choice(m, get_args(CorrMethod), "method")
    cols = [str(c) for c in x.columns]
    arr = x.to_numpy()
    iu, ju = np.triu_indices(len(cols), k=1)
    parts = []
    present = np.isfinite(arr)
    for m in methods:
        if m == "pearson":
            r_mat, n_mat = _pairwise_pearson(arr)
            est, ns = r_mat[iu, ju], n_mat[iu, ju].astype(int)
        else:
            # ranks of the whole column are the pairwise ranks when both columns miss the same
            # units; other pairs are re-ranked on their common units
            ranked = pd.DataFrame(arr).rank(method="average").to_numpy()
            r_mat, n_mat = _pairwise_pearson(ranked)
            est, ns = r_mat[iu, ju], n_mat[iu, ju].astype(int)
            redo = np.flatnonzero((present[:, iu] != present[:, ju]).any(axis=0))
            if len(redo):  # all re-ranked pairs at once (one rankdata call, not one per pair)
                est[redo], ns[redo] = _spearman_rows(arr[:, iu[redo]].T, arr[:, ju[redo]].T)
        lo, hi = fisher_ci(est, ns, conf_level, m)
        parts.append(pd.DataFrame({"var1": [cols[i] for i in iu], "var2": [cols[j] for j in ju], "method": m,
                                   "estimate": est, "ci_low": lo, "ci_high": hi,
                                   "p_value": _corr_p_vec(est, ns), "n": ns}))
    out_cols = ["var1", "var2", "method", "estimate", "ci_low", "ci_high", "p_value", "n"]
    if not parts or not len(iu):
        return pd.DataFrame(columns=out_cols)
    return pd.concat(parts, ignore_index=True)[out_cols]


def correlation_matrix(table: pd.DataFrame, method: CorrMethod = "pearson", value: str = "estimate") -> pd.DataFrame:
    """Square symmetric matrix (1 on the diagonal) from a :func:`correlation_table` frame."""
    t = table[table["method"] == method]
    names = list(dict.fromkeys([*t["var1"], *t["var2"]]))
    pos = {name: i for i, name in enumerate(names)}
    i, j = t["var1"].map(pos).to_numpy(int), t["var2"].map(pos).to_numpy(int)
    m = np.full((len(names), len(names)), np.nan)
    m[i, j] = m[j, i] = t[value].to_numpy(float)  # one cell pair per row (a pair appears once)
    np.fill_diagonal(m, 1.0 if value == "estimate" else np.nan)
    return pd.DataFrame(m, index=names, columns=names)


def correlation_flags(frame: pd.DataFrame, meta: pd.DataFrame, *, collinear: float = 0.9,
                      weak: float = 0.3, aggregated: pd.DataFrame | None = None,
                      method: CorrMethod = "pearson", negative_p: float | None = 0.05) -> pd.DataFrame:
    """Flag structural problems in the KPI correlations.

    * ``collinear``: a pair of KPIs with ``|r| > collinear`` (near-duplicates double-count);
    * ``negative_within_dimension``: a pair of KPIs of the same dimension with ``r < 0`` *after*
      orientation (a wrong direction or a KPI measuring something else) and a two-sided p-value
      below ``negative_p`` (``None``: every negative r, which in small regions flags noise);
    * ``weak_with_parent``: a KPI whose correlation with its dimension aggregate is below ``weak``.
      The aggregate is ``aggregated[dimension]`` when given (e.g. ``IndexResult.aggregated``),
      else the mean of the z-scores of the dimension's KPIs.

    ``frame`` must be oriented (higher = better), e.g. normalised scores or :func:`orient` output.

    Reference: OECD/JRC (2008), *Handbook on Constructing Composite Indicators*, step 4,
    doi:10.1787/9789264043466-en.

    Returns
    -------
    DataFrame
        ``flag, code, other, estimate, p_value, n`` (``other`` = partner KPI or dimension).
    """
    x = _numeric(frame)
    tab = correlation_table(x, method=method)
    dims = groups_from_meta(meta, list(x.columns), levels=(3,))
    dim_of = {k: d for d, ks in dims.items() for k in ks}
    rows = []
    for r in tab.itertuples(index=False):
        if np.isfinite(r.estimate) and abs(r.estimate) > collinear:
            rows.append({"flag": "collinear", "code": r.var1, "other": r.var2, "estimate": r.estimate,
                         "p_value": r.p_value, "n": r.n})
        same = dim_of.get(r.var1) is not None and dim_of.get(r.var1) == dim_of.get(r.var2)
        significant = negative_p is None or (np.isfinite(r.p_value) and r.p_value < negative_p)
        if same and np.isfinite(r.estimate) and r.estimate < 0 and significant:
            rows.append({"flag": "negative_within_dimension", "code": r.var1, "other": r.var2,
                         "estimate": r.estimate, "p_value": r.p_value, "n": r.n})
    z = standardise(x)
    for dim, ks in dims.items():
        if not ks:
            continue
        agg = aggregated[dim] if aggregated is not None and dim in aggregated.columns else z[ks].mean(axis=1)
        for k in ks:
            est, n = _pair_corr(x[k].to_numpy(), agg.reindex(x.index).to_numpy(dtype=float), method)
            if np.isfinite(est) and est < weak:
                rows.append({"flag": "weak_with_parent", "code": k, "other": dim, "estimate": est,
                             "p_value": _corr_p(est, n), "n": n})
    return pd.DataFrame(rows, columns=["flag", "code", "other", "estimate", "p_value", "n"])


# --------------------------------------------------------------------------- PCA / EFA
def _corr_pairwise(frame: pd.DataFrame) -> tuple[np.ndarray, int, list[str]]:
    """Pairwise-complete correlation matrix and the smallest pairwise n."""
    x = _numeric(frame)
    if x.shape[1] < 2:
        raise InputError(f"needs at least 2 variables, got {x.shape[1]}")
    pres = x.notna().astype(float).to_numpy()
    n = int((pres.T @ pres).min())
    corr = x.corr(min_periods=3).to_numpy()
    if n < 3 or not np.isfinite(corr).all():
        raise InputError(f"some pairs of variables have fewer than 3 units in common (min {n})",
                         expected="at least 3 units reporting both KPIs of every pair")
    return corr, n, [str(c) for c in x.columns]


def _corr_complete(frame: pd.DataFrame) -> tuple[np.ndarray, int, list[str]]:
    x = _numeric(frame).dropna()
    if x.shape[1] < 2:
        raise InputError(f"needs at least 2 variables, got {x.shape[1]}")
    if len(x) <= x.shape[1]:
        raise InputError(f"needs more complete units ({len(x)}) than variables ({x.shape[1]})",
                         expected="n > k complete rows")
    sd = x.std(ddof=1)
    if (sd <= 0).any():
        raise InputError("constant variable(s) in the complete rows", column=", ".join(map(str, sd.index[sd <= 0])))
    return np.corrcoef(x.to_numpy(), rowvar=False), len(x), [str(c) for c in x.columns]


def parallel_analysis(n: int, k: int, *, n_iter: int = 500, quantile: float = 0.95,
                      seed: SeedLike = None) -> np.ndarray:
    """Horn's parallel-analysis thresholds: eigenvalue quantiles of random normal data.

    Draws ``n_iter`` data sets of ``n`` x ``k`` independent standard normals, computes the
    eigenvalues of each correlation matrix (descending) and returns their ``quantile`` per
    position (Glorfeld's 95th-percentile variant). A component is retained while its observed
    eigenvalue exceeds the threshold.

    Reference: Horn, J. L. (1965), *Psychometrika* 30, 179-185, doi:10.1007/BF02289447;
    Glorfeld, L. W. (1995), doi:10.1177/0013164495055003002.
    """
    if n < 3 or k < 2:
        raise InputError(f"parallel analysis needs n >= 3 and k >= 2, got n={n}, k={k}")
    gen = rng(seed)
    eig = np.empty((n_iter, k))
    for i in range(n_iter):
        z = gen.standard_normal((n, k))
        eig[i] = np.linalg.eigvalsh(np.corrcoef(z, rowvar=False))[::-1]
    return np.quantile(eig, quantile, axis=0)


@dataclass(frozen=True)
class PcaResult:
    """Principal components of a correlation matrix.

    Attributes
    ----------
    eigen : DataFrame
        ``component, eigenvalue, explained, cumulative, threshold`` (``threshold`` = Horn's
        parallel-analysis eigenvalue), one row per component.
    loadings : DataFrame
        ``item, component, estimate``: eigenvector times sqrt(eigenvalue) (the correlation of
        the item with the component); each component's sign makes its loadings sum >= 0.
    n_kaiser, n_parallel : int
        Components retained by Kaiser's rule (eigenvalue > 1; Kaiser 1960,
        doi:10.1177/001316446002000116) and by parallel analysis.
    n : int
        Complete units used.
    """

    eigen: pd.DataFrame
    loadings: pd.DataFrame
    n_kaiser: int
    n_parallel: int
    n: int


def pca(frame: pd.DataFrame, *, n_iter: int = 500, quantile: float = 0.95, seed: SeedLike = None,
        missing: Missing = "listwise") -> PcaResult:
    """PCA of the correlation matrix of ``frame`` (complete rows, or pairwise-complete).

    Eigen-decomposition ``R = V diag(lambda) V'``; explained share ``lambda_j / k``. A pairwise
    matrix need not be positive semi-definite: negative eigenvalues are set to 0, and parallel
    analysis uses the smallest pairwise ``n``.

    Reference: Jolliffe, I. T. & Cadima, J. (2016), *Phil. Trans. R. Soc. A* 374: 20150202,
    doi:10.1098/rsta.2015.0202.
    """
    _choice(missing, get_args(Missing), "missing")
    corr, n, names = _corr_complete(frame) if missing == "listwise" else _corr_pairwise(frame)
    return _pca_corr(corr, n, names, n_iter=n_iter, quantile=quantile, seed=seed)


def _pca_corr(corr: np.ndarray, n: int, names: list[str], *, n_iter: int, quantile: float,
              seed: SeedLike) -> PcaResult:
    k = corr.shape[0]
    vals, vecs = np.linalg.eigh(corr)
    order = np.argsort(vals)[::-1]
    vals, vecs = np.clip(vals[order], 0, None), vecs[:, order]
    thr = parallel_analysis(n, k, n_iter=n_iter, quantile=quantile, seed=seed)
    comps = [f"PC{j + 1}" for j in range(k)]
    eigen = pd.DataFrame({"component": comps, "eigenvalue": vals, "explained": vals / k,
                          "cumulative": np.cumsum(vals) / k, "threshold": thr})
    load = vecs * np.sqrt(vals)
    signs = np.where(load.sum(axis=0) < 0, -1.0, 1.0)
    load = load * signs
    loadings = pd.DataFrame([{"item": names[i], "component": comps[j], "estimate": float(load[i, j])}
                             for j in range(k) for i in range(k)])
    n_kaiser = int((vals > 1).sum())
    above = vals > thr
    n_parallel = int(np.argmin(above)) if not above.all() else k
    return PcaResult(eigen=eigen, loadings=loadings, n_kaiser=n_kaiser, n_parallel=n_parallel, n=n)


def _group_correlations(x: pd.DataFrame, meta: pd.DataFrame, levels: Any, missing: str
                        ) -> Iterator[tuple[str, list[str], np.ndarray, int, list[str]]]:
    """Each group of >= 2 indicators with its correlation matrix (listwise or pairwise), n and names.

    Groups whose correlations cannot be formed (too few complete units) are skipped.
    """
    for node, cols in groups_from_meta(meta, list(x.columns), levels).items():
        if len(cols) < 2:
            continue
        sub = x[cols].dropna() if missing == "listwise" else x[cols]
        try:
            corr, n, names = _corr_complete(sub) if missing == "listwise" else _corr_pairwise(sub)
        except InputError:
            continue
        yield node, cols, corr, n, names


def pca_table(normalised: pd.DataFrame, meta: pd.DataFrame, *, n_iter: int = 500,
              seed: SeedLike = None, levels: Sequence[int] = (3,),
              missing: Missing = "listwise") -> pd.DataFrame:
    """PCA per dimension: eigenvalues, explained variance, retention rules, KMO and Bartlett.

    ``missing="pairwise"`` works from pairwise-complete correlations (small regions with skipped
    KPIs); KMO and Bartlett are then NaN where that matrix is not positive definite.

    Returns
    -------
    DataFrame
        ``code, component, eigenvalue, explained, cumulative, threshold, n_kaiser, n_parallel,
        kmo, bartlett_p, n, k, withheld``; dimensions with fewer than 2 KPIs are skipped; a
        dimension with ``n <= k`` or ``n < 10`` units gives one row with empty statistics and the
        reason in ``withheld`` (:func:`pmm_lib.analysis.guards.multivariate_reason`).
    """
    _choice(missing, get_args(Missing), "missing")
    x = _numeric(normalised, "normalised")
    gen = rng(seed)
    parts = []
    for node, cols, corr, n, names in _group_correlations(x, meta, levels, missing):
        why = guards.multivariate_reason(n, len(cols), what="PCA, KMO and Bartlett")
        if why:  # a singular or noisy correlation matrix: say so instead of printing its eigenvalues
            parts.append(pd.DataFrame([{"code": node, "component": "", "n": n, "k": len(cols), "withheld": why}]))
            continue
        res = _pca_corr(corr, n, names, n_iter=n_iter, quantile=0.95, seed=gen)
        try:
            km = kmo(corr=corr).overall
            bt = bartlett_sphericity(corr=corr, n=n).iloc[0]["p_value"]
        except (InputError, np.linalg.LinAlgError):
            km = bt = float("nan")
        if not (np.isfinite(km) and 0 <= km <= 1):
            km = float("nan")
        e = res.eigen.assign(code=node, n_kaiser=res.n_kaiser, n_parallel=res.n_parallel, kmo=km,
                             bartlett_p=bt, n=res.n, k=len(cols), withheld="")
        parts.append(e)
    done = {str(p["code"].iloc[0]) for p in parts}
    for node, cols in groups_from_meta(meta, list(x.columns), levels).items():
        if len(cols) >= 2 and node not in done:  # too few units for any correlation matrix at all
            pres = x[cols].notna().astype(float).to_numpy()
            n_used = int(x[cols].dropna().shape[0]) if missing == "listwise" else int((pres.T @ pres).min())
            why = guards.multivariate_reason(n_used, len(cols), what="PCA, KMO and Bartlett") or \
                "PCA, KMO and Bartlett withheld: the correlation matrix could not be estimated"
            parts.append(pd.DataFrame([{"code": node, "component": "", "n": n_used, "k": len(cols), "withheld": why}]))
    cols_out = ["code", "component", "eigenvalue", "explained", "cumulative", "threshold", "n_kaiser",
                "n_parallel", "kmo", "bartlett_p", "n", "k", "withheld"]
    if not parts:
        return pd.DataFrame(columns=cols_out)
    return pd.concat(parts, ignore_index=True).reindex(columns=cols_out)


#: lower bound of a uniqueness (Heywood cases), as R's factanal and psych's fa use
UNIQUENESS_LOWER = 0.005


@dataclass(frozen=True)
class FactorFit:
    """An unrotated (or rotated) factor solution of a correlation matrix.

    Attributes
    ----------
    loadings : ndarray, shape (p, k)
    uniqueness : ndarray, shape (p,)
        Bounded below by ``lower`` (Heywood cases sit on the bound).
    converged : bool
    iterations : int
        Optimiser (ML) or principal-axis iterations used.
    heywood : tuple of int
        Items whose uniqueness sits on the lower bound.
    """

    loadings: np.ndarray
    uniqueness: np.ndarray
    converged: bool
    iterations: int
    heywood: tuple[int, ...] = ()


def _ml_loadings(corr: np.ndarray, psi: np.ndarray, k: int) -> np.ndarray:
    sc = 1.0 / np.sqrt(psi)
    vals, vecs = np.linalg.eigh(corr * sc[:, None] * sc[None, :])
    order = np.argsort(vals)[::-1][:k]
    load = vecs[:, order] * np.sqrt(np.maximum(vals[order] - 1.0, 0.0))
    return np.sqrt(psi)[:, None] * load


def factor_ml(corr: np.ndarray, k: int, *, lower: float = UNIQUENESS_LOWER, max_iter: int = 10_000,
              tol: float = 1e-12) -> FactorFit:
    """Maximum-likelihood factor analysis of a correlation matrix, as R's ``factanal``.

    Minimises, over the uniquenesses ``psi`` in ``[lower, 1]`` (L-BFGS-B), the discrepancy
    ``F(psi) = sum_{j>k} (log e_j - e_j) + p - k`` negated, where ``e_j`` are the eigenvalues of
    ``Psi^{-1/2} R Psi^{-1/2}`` beyond the first ``k``; the loadings are
    ``Psi^{1/2} V_k diag(sqrt(max(e_k - 1, 0)))``. The start is deterministic,
    ``psi_0 = (1 - k / (2p)) / diag(R^{-1})``, so the same matrix always gives the same numbers
    (no random starting values), and a Heywood case sits on ``lower`` (0.005) instead of
    going negative.

    Reference: Lawley, D. N. and Maxwell, A. E. (1971), *Factor Analysis as a Statistical
    Method*, 2nd ed., Butterworths; R Core Team, ``stats::factanal``.

    Examples
    --------
    >>> lam = np.array([0.9, 0.8, 0.7, 0.6])
    >>> R = np.outer(lam, lam); np.fill_diagonal(R, 1.0)
    >>> fit = factor_ml(R, 1)
    >>> np.round(np.abs(fit.loadings[:, 0]), 4).tolist(), fit.converged
    ([0.9, 0.8, 0.7, 0.6], True)
    """
    from scipy.optimize import minimize

    corr = np.asarray(corr, dtype=float)
    p = corr.shape[0]
    start = (1.0 - 0.5 * k / p) / np.diag(np.linalg.inv(corr))
    start = np.clip(start, lower, 1.0)

    def objective(psi: np.ndarray) -> float:
        sc = 1.0 / np.sqrt(psi)
        e = np.sort(np.linalg.eigvalsh(corr * sc[:, None] * sc[None, :]))[::-1][k:]
        return float(-(np.sum(np.log(e) - e) - k + p))

    def gradient(psi: np.ndarray) -> np.ndarray:
        load = _ml_loadings(corr, psi, k)
        g = load @ load.T + np.diag(psi) - corr
        return np.diag(g) / psi**2

    res = minimize(objective, start, jac=gradient, method="L-BFGS-B", bounds=[(lower, 1.0)] * p,
                   options={"maxiter": max_iter, "ftol": tol, "gtol": 1e-10})
    psi = np.clip(res.x, lower, 1.0)
    heywood = tuple(int(i) for i in np.flatnonzero(psi <= lower * (1 + 1e-6)))
    return FactorFit(_ml_loadings(corr, psi, k), psi, bool(res.success), int(res.nit), heywood)


def factor_pa(corr: np.ndarray, k: int, *, tol: float = 1e-9, max_iter: int = 10_000,
              lower: float = UNIQUENESS_LOWER) -> FactorFit:
    """Iterated principal-axis factoring of a correlation matrix, run to convergence.

    Start from the squared multiple correlations ``h_0 = 1 - 1 / diag(R^{-1})``; repeat: put
    ``h`` on the diagonal, take the first ``k`` eigenpairs, ``L = V_k sqrt(max(lambda_k, 0))``,
    ``h = rowsums(L^2)`` (bounded at ``1 - lower``), until ``max |h_new - h| < tol``. psych's
    ``fa(fm = "pa")`` stops after ``max.iter = 50`` iterations with ``min.err = 0.001``, which
    can leave the loadings visibly short of the fixed point; here the limit is high and
    ``converged`` says whether the tolerance was met.

    Reference: Harman, H. H. (1976), *Modern Factor Analysis*, 3rd ed., University of Chicago
    Press, ch. 8; Revelle, W., ``psych::fa``.

    Examples
    --------
    >>> lam = np.array([0.8, 0.7, 0.6, 0.5, 0.4])
    >>> R = np.outer(lam, lam); np.fill_diagonal(R, 1.0)
    >>> fit = factor_pa(R, 1)
    >>> np.round(np.abs(fit.loadings[:, 0]), 6).tolist(), fit.converged
    ([0.8, 0.7, 0.6, 0.5, 0.4], True)
    """
    corr = np.asarray(corr, dtype=float)
    h = np.clip(1.0 - 1.0 / np.diag(np.linalg.inv(corr)), 0.0, 1.0 - lower)
    converged, it, load = False, 0, np.zeros((corr.shape[0], k))
    for it in range(1, max_iter + 1):  # noqa: B007 - it is reported
        r = corr.copy()
        np.fill_diagonal(r, h)
        vals, vecs = np.linalg.eigh(r)
        order = np.argsort(vals)[::-1][:k]
        load = vecs[:, order] * np.sqrt(np.maximum(vals[order], 0.0))
        new = np.clip((load**2).sum(axis=1), 0.0, 1.0 - lower)
        change = float(np.max(np.abs(new - h)))
        h = new
        if change < tol:
            converged = True
            break
    psi = 1.0 - h
    heywood = tuple(int(i) for i in np.flatnonzero(psi <= lower * (1 + 1e-6)))
    return FactorFit(load, psi, converged, it, heywood)


def varimax(loadings: np.ndarray, *, normalize: bool = True, eps: float = 1e-5,
            max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Varimax rotation (Kaiser 1958), with Kaiser normalisation by default.

    With ``normalize=True`` each row is divided by its length ``h_i`` (the square root of its
    communality) before the rotation and multiplied back after, as R's ``stats::varimax``,
    psych and SPSS do by default. The rotation ``T`` maximises
    ``sum_j [ sum_i z_ij^4 / p - (sum_i z_ij^2 / p)^2 ]`` for ``Z = X T`` by the SVD iteration
    ``B = X' (Z^3 - Z diag(1' Z^2) / p)``, ``T = U V'``, stopped when the criterion grows by less
    than the relative ``eps`` (1e-5 as in R, so the loadings agree with ``factanal``, ``psych``
    to the printed digits; a smaller ``eps`` goes on to the criterion's optimum).

    Reference: Kaiser, H. F. (1958), The varimax criterion for analytic rotation in factor
    analysis, *Psychometrika* 23, 187-200, doi:10.1007/BF02289233.

    Returns
    -------
    (rotated loadings, rotation matrix T)

    Examples
    --------
    The solution does not depend on the orientation of the loadings it starts from:

    >>> a = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.7], [0.2, 0.6], [0.5, 0.5]])
    >>> c, s = np.cos(0.5), np.sin(0.5)
    >>> r1, _ = varimax(a, eps=1e-12)
    >>> r2, _ = varimax(a @ np.array([[c, -s], [s, c]]), eps=1e-12)
    >>> bool(np.allclose(np.abs(r1), np.abs(r2), atol=1e-6))
    True
    """
    x = np.asarray(loadings, dtype=float)
    p, k = x.shape
    if k < 2:
        return x.copy(), np.eye(k)
    sc = np.sqrt((x**2).sum(axis=1)) if normalize else np.ones(p)
    sc = np.where(sc > 0, sc, 1.0)
    z0 = x / sc[:, None]
    t = np.eye(k)
    d = 0.0
    for _ in range(max_iter):
        z = z0 @ t
        b = z0.T @ (z**3 - z @ np.diag((z**2).sum(axis=0)) / p)
        u, sv, vt = np.linalg.svd(b)
        t = u @ vt
        d_past, d = d, float(sv.sum())
        if d < d_past * (1 + eps):
            break
    return (z0 @ t) * sc[:, None], t


def efa(frame: pd.DataFrame, n_factors: int | None = None, *,
        method: Literal["ml", "pa"] = "ml", rotation: Literal["varimax", "promax", "none"] = "varimax",
        seed: SeedLike = None, missing: Missing = "listwise", kaiser: bool = True,
        tol: float = 1e-9, max_iter: int = 10_000) -> pd.DataFrame:
    """Exploratory factor analysis: ML (as ``factanal``) or principal axes, then a rotation.

    ``missing="pairwise"`` factors the pairwise-complete correlation matrix (it must be positive
    definite) with the smallest pairwise ``n`` as the number of observations.

    ``n_factors=None`` takes the number of components retained by parallel analysis (at least
    1; ``seed`` drives its random data sets). Extraction: maximum likelihood
    (:func:`factor_ml`: deterministic start, uniquenesses bounded at 0.005 like factanal and
    psych) or principal axes run to convergence (:func:`factor_pa`, ``tol``, ``max_iter``).
    Rotation: :func:`varimax` with Kaiser normalisation (``kaiser=False`` turns it off),
    promax (statsmodels, on the varimax solution's starting point), or none. Same inputs and
    seed give identical numbers.

    Reference: Fabrigar, L. R. et al. (1999), *Psychological Methods* 4, 272-299,
    doi:10.1037/1082-989X.4.3.272.

    Returns
    -------
    DataFrame
        ``item, factor, estimate, communality, uniqueness, converged, iterations`` (one row per
        item and factor); ``uniqueness`` is the extraction's (>= 0.005), ``communality`` is
        ``1 - uniqueness``; ``converged``/``iterations`` report the extraction.
    """
    _choice(method, ("ml", "pa"), "method")
    _choice(rotation, ("varimax", "promax", "none"), "rotation")
    _choice(missing, get_args(Missing), "missing")
    x = _numeric(frame)
    if missing == "listwise":
        x = x.dropna()
        corr, n, names = _corr_complete(x)
    else:
        corr, n, names = _corr_pairwise(x)
        if np.linalg.eigvalsh(corr).min() <= 1e-8:
            raise InputError("efa: the pairwise correlation matrix is not positive definite",
                             expected="more units in common per pair, or missing='listwise'")
    if n_factors is None:
        n_factors = max(1, _pca_corr(corr, n, names, n_iter=200, quantile=0.95, seed=seed).n_parallel)
    if not 1 <= n_factors < x.shape[1]:
        raise SpecError(f"n_factors must be between 1 and {x.shape[1] - 1}, got {n_factors}")
    if np.linalg.eigvalsh(corr).min() <= 1e-10:
        raise InputError("efa: the correlation matrix is singular", expected="no item a copy of the others")
    fit = (factor_ml(corr, n_factors) if method == "ml"
           else factor_pa(corr, n_factors, tol=tol, max_iter=max_iter))
    load = fit.loadings
    if rotation == "varimax" and n_factors > 1:
        load, _ = varimax(load, normalize=kaiser)
    elif rotation == "promax" and n_factors > 1:
        from statsmodels.multivariate.factor_rotation import rotate_factors

        load = np.asarray(rotate_factors(varimax(load, normalize=kaiser)[0], "promax")[0])
    signs = np.where(load.sum(axis=0) < 0, -1.0, 1.0)
    load = load * signs
    psi = fit.uniqueness
    rows = [{"item": names[i], "factor": f"F{j + 1}", "estimate": float(load[i, j]),
             "communality": float(1.0 - psi[i]), "uniqueness": float(psi[i]),
             "converged": fit.converged, "iterations": fit.iterations}
            for j in range(n_factors) for i in range(len(names))]
    return pd.DataFrame(rows)


def pca_loadings(normalised: pd.DataFrame, meta: pd.DataFrame, *, n_components: int | None = None,
                 n_iter: int = 500, seed: SeedLike = None, levels: Sequence[int] = (3,),
                 missing: Missing = "listwise") -> pd.DataFrame:
    """PCA loadings per dimension for the retained components.

    ``n_components=None`` keeps the components retained by parallel analysis (at least one).

    Returns
    -------
    DataFrame
        ``code, item, component, estimate, n`` (estimate = loading, the item-component
        correlation; sign chosen so that each component's loadings sum to >= 0).
    """
    _choice(missing, get_args(Missing), "missing")
    x = _numeric(normalised, "normalised")
    gen = rng(seed)
    parts = []
    for node, cols, corr, n, names in _group_correlations(x, meta, levels, missing):
        if guards.multivariate_reason(n, len(cols)):
            continue  # withheld, see pca_table
        res = _pca_corr(corr, n, names, n_iter=n_iter, quantile=0.95, seed=gen)
        keep = n_components if n_components is not None else max(1, res.n_parallel)
        comps = [f"PC{j + 1}" for j in range(min(keep, len(cols)))]
        load = res.loadings[res.loadings["component"].isin(comps)]
        parts.append(load.assign(code=node, n=n))
    cols_out = ["code", "item", "component", "estimate", "n"]
    if not parts:
        return pd.DataFrame(columns=cols_out)
    return pd.concat(parts, ignore_index=True)[cols_out]


def efa_table(normalised: pd.DataFrame, meta: pd.DataFrame, *, n_factors: int | None = None,
              method: Literal["ml", "pa"] = "ml", rotation: Literal["varimax", "promax", "none"] = "varimax",
              seed: SeedLike = None, levels: Sequence[int] = (3,),
              missing: Missing = "listwise") -> pd.DataFrame:
    """:func:`efa` per dimension (dimensions where it cannot run are skipped).

    Listwise: a dimension needs more than ``2k`` complete units; pairwise: at least ``k + 2``
    units in common for every pair and a positive definite correlation matrix.

    Returns
    -------
    DataFrame
        ``code, item, factor, estimate, communality, uniqueness, converged, iterations, n``.
    """
    x = _numeric(normalised, "normalised")
    gen = rng(seed)
    parts = []
    for node, cols in groups_from_meta(meta, list(x.columns), levels).items():
        sub = x[cols].dropna() if missing == "listwise" else x[cols]
        pres = sub.notna().astype(float).to_numpy()
        n_used = int((pres.T @ pres).min()) if len(sub) else 0
        if (len(cols) < 3 or (missing == "listwise" and n_used <= 2 * len(cols)) or n_used < len(cols) + 2
                or guards.multivariate_reason(n_used, len(cols))):
            continue
        try:
            res = efa(sub, n_factors, method=method, rotation=rotation, seed=gen, missing=missing)
        except (InputError, SpecError, np.linalg.LinAlgError, ValueError):
            continue
        parts.append(res.assign(code=node, n=n_used))
    cols_out = ["code", "item", "factor", "estimate", "communality", "uniqueness", "converged", "iterations", "n"]
    if not parts:
        return pd.DataFrame(columns=cols_out)
    return pd.concat(parts, ignore_index=True)[cols_out]


@dataclass(frozen=True)
class Kmo:
    """Kaiser-Meyer-Olkin measure: ``overall`` and per-item ``items`` (Series named ``msa``)."""

    overall: float
    items: pd.Series


def kmo(frame: pd.DataFrame | None = None, *, corr: pd.DataFrame | np.ndarray | None = None) -> Kmo:
    """Kaiser-Meyer-Olkin measure of sampling adequacy.

    With ``R`` the correlation matrix and ``S = R^{-1}``, the partial correlations are
    ``q_ij = -s_ij / sqrt(s_ii s_jj)``; ``KMO = sum_{i!=j} r_ij^2 / (sum_{i!=j} r_ij^2 +
    sum_{i!=j} q_ij^2)``, and the per-item MSA uses the same sums over row ``i`` only.

    Reference: Kaiser, H. F. (1974), An index of factorial simplicity, *Psychometrika* 39,
    31-36, doi:10.1007/BF02291575.

    Parameters
    ----------
    frame : DataFrame, optional
        Units x variables (complete rows used); or give ``corr`` directly.
    """
    if corr is None:
        if frame is None:
            raise InputError("kmo needs a data frame or a correlation matrix (corr=)")
        r, _, names = _corr_complete(frame)
    else:
        r = np.asarray(corr, dtype=float)
        names = list(map(str, corr.columns)) if isinstance(corr, pd.DataFrame) else [f"V{i + 1}" for i in range(len(r))]
    if np.linalg.eigvalsh(r).min() <= 1e-12:
        raise InputError("kmo: the correlation matrix is singular or not positive definite", expected="|R| > 0")
    s = np.linalg.inv(r)
    d = np.sqrt(np.diag(s))
    q = -s / np.outer(d, d)
    off = ~np.eye(len(r), dtype=bool)
    r2 = np.where(off, r**2, 0.0)
    q2 = np.where(off, q**2, 0.0)
    overall = float(r2.sum() / (r2.sum() + q2.sum()))
    items = pd.Series(r2.sum(axis=1) / (r2.sum(axis=1) + q2.sum(axis=1)), index=names, name="msa")
    return Kmo(overall=overall, items=items)


def bartlett_sphericity(frame: pd.DataFrame | None = None, *, corr: pd.DataFrame | np.ndarray | None = None,
                        n: int | None = None) -> pd.DataFrame:
    """Bartlett's test that the correlation matrix is the identity.

    ``chi2 = -(n - 1 - (2p + 5) / 6) ln|R|`` on ``p (p - 1) / 2`` degrees of freedom.

    Reference: Bartlett, M. S. (1951), The effect of standardization on a chi-square
    approximation in factor analysis, *Biometrika* 38, 337-344, doi:10.1093/biomet/38.3-4.337.

    Returns
    -------
    DataFrame
        One row: ``statistic, df, p_value, n, k``.
    """
    if corr is None:
        if frame is None:
            raise InputError("bartlett_sphericity needs a data frame or corr= and n=")
        r, n_used, _ = _corr_complete(frame)
    else:
        if n is None:
            raise InputError("bartlett_sphericity: n (number of units) is required with corr=")
        r, n_used = np.asarray(corr, dtype=float), int(n)
    p = r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        raise InputError("correlation matrix is singular or not positive definite", expected="|R| > 0")
    factor = n_used - 1 - (2 * p + 5) / 6
    if factor <= 0:
        raise InputError(f"Bartlett's test needs n - 1 - (2p + 5)/6 > 0; n = {n_used} is too small for p = {p}",
                         expected=f"n > {1 + (2 * p + 5) / 6:.1f}")
    stat = -factor * logdet
    dof = p * (p - 1) / 2
    return pd.DataFrame([{"statistic": float(stat), "df": int(dof), "p_value": float(stats.chi2.sf(stat, dof)),
                          "n": int(n_used), "k": int(p)}])


# --------------------------------------------------------------------------- scorecard
def scorecard(data: pd.DataFrame, meta: pd.DataFrame, *, oriented: bool = True,
              thresholds: ScorecardThresholds | Mapping[str, Any] | None = None,
              aggregated: pd.DataFrame | None = None, outcome: pd.Series | None = None,
              outcome_direction: int = 1, method: CorrMethod = "spearman") -> pd.DataFrame:
    """One row per KPI with every line of validity evidence and a keep / review / drop verdict.

    Parameters
    ----------
    data : DataFrame
        Units x KPIs. Normalised scores (already oriented) or, with ``oriented=False``, raw
        values that are multiplied by the ``direction`` in ``meta`` first.
    meta : DataFrame
        Hierarchy (``code, level, parent, direction``).
    thresholds : ScorecardThresholds or mapping, optional
        Rules for the verdict (see :class:`ScorecardThresholds`).
    aggregated : DataFrame, optional
        Units x codes with the parent-outcome and index scores (``IndexResult.aggregated``); when
        absent they are the mean z-score of the node's KPIs.
    outcome : Series, optional
        An external outcome per unit (same index), e.g. the LPI customs score.
    outcome_direction : {1, -1}
        -1 when lower outcome values are better (e.g. border-compliance time).
    method : {"spearman", "pearson"}
        ``"spearman"`` (default) computes every correlation on within-KPI ranks (mid-ranks,
        missing values kept missing), so the evidence is invariant to monotone transforms of a
        KPI (raw vs normalised vs log) and robust to gross outliers and unit slips;
        ``"pearson"`` uses the values as given.

    Returns
    -------
    DataFrame
        ``code, dimension, parent, coverage, n, item_rest_r, alpha, alpha_if_deleted,
        alpha_change, r_max, r_max_with, parent_r, index_r, outcome_r, verdict, reasons``.
        ``item_rest_r``: correlation with the mean z-score of the other KPIs of its dimension;
        ``alpha`` / ``alpha_if_deleted``: standardized alpha of the dimension (pairwise
        covariance of z-scores) with and without the KPI; ``r_max``: largest ``|r|`` with any
        other KPI over pairs with at least ``min_n`` common units; ``parent_r``: with the parent expected-outcome aggregate; ``index_r``: with
        the mean z-score of all other KPIs (or ``aggregated``'s index); ``reasons``: the rules
        that fired.

    Examples
    --------
    On the bundled synthetic returns (K40 is planted with the wrong direction, K46/K47 as a
    near-duplicate pair):

    >>> from pmm_lib.inputs.data import load_observations, to_matrix
    >>> from pmm_lib.inputs.framework import load_framework
    >>> card = scorecard(to_matrix(load_observations(), 2024), load_framework().meta(), oriented=False)
    >>> card.set_index("code").loc[["K40", "K46", "K47"], "verdict"].tolist()
    ['drop', 'review', 'review']

    Notes
    -----
    Lines of evidence follow the OECD/JRC Handbook (2008, doi:10.1787/9789264043466-en) and
    the JRC's COINr audit steps; reliability from Cronbach (1951, doi:10.1007/BF02310555).
    """
    th = thresholds if isinstance(thresholds, ScorecardThresholds) else ScorecardThresholds.from_dict(thresholds)
    if outcome_direction not in (1, -1):
        raise SpecError(f"outcome_direction must be 1 or -1, got {outcome_direction!r}")
    kpis = [c for c in meta.loc[meta["level"] == 1, "code"] if c in set(data.columns)]
    if not kpis:
        raise InputError("scorecard: none of the data columns is a KPI code of meta",
                         expected=f"columns such as {', '.join(meta.loc[meta['level'] == 1, 'code'].head(3))}")
    _choice(method, get_args(CorrMethod), "method")
    x = _numeric(data[kpis], "data")
    if not oriented:
        x = orient(x, meta)
    if method == "spearman":
        x = x.rank(method="average")
    z = standardise(x)
    parent = dict(zip(meta["code"], meta["parent"], strict=True))
    dims = groups_from_meta(meta, kpis, levels=(3,))
    outs = groups_from_meta(meta, kpis, levels=(2,))
    dim_of = {k: d for d, ks in dims.items() for k in ks}
    index_code = str(meta.loc[meta["level"] == meta["level"].max(), "code"].iloc[0])
    corr = z.corr(min_periods=max(3, th.min_n)).to_numpy(copy=True)
    np.fill_diagonal(corr, np.nan)
    # every per-KPI quantity below is a row selection of one KPIs x units array (selecting
    # columns of a frame by label costs more than the arithmetic on 20-200 units)
    zt = np.ascontiguousarray(z.to_numpy(dtype=float).T)
    pos = {k: i for i, k in enumerate(kpis)}
    dim_pos = {d: [pos[k] for k in ks] for d, ks in dims.items()}
    dim_alpha = {d: _alpha_from_cov(_pairwise_cov_rows(zt[p])) if len(p) >= 2 else float("nan")
                 for d, p in dim_pos.items()}
    out_series = None
    if outcome is not None and not isinstance(outcome, pd.Series):
        raise InputError(f"scorecard: outcome must be a pandas Series indexed by unit, got {type(outcome).__name__}")
    if outcome is not None:
        out_series = outcome.reindex(z.index).astype(float) * outcome_direction
        if method == "spearman":
            out_series = out_series.rank(method="average")
    out_values = out_series.to_numpy() if out_series is not None else None
    agg_frame = aggregated if aggregated is not None else pd.DataFrame(index=z.index)
    agg_cols = set(agg_frame.columns)
    index_agg = agg_frame[index_code].reindex(z.index).to_numpy(dtype=float) if index_code in agg_cols else None
    parent_agg: dict[Any, np.ndarray] = {}  # one parent aggregate per parent (or per lone KPI)
    no_values = np.full(len(z), np.nan)
    rows = []
    for i, k in enumerate(kpis):
        col = zt[i]
        n = int(np.isfinite(col).sum())
        dim = dim_of.get(k, "")
        siblings = [p for p in dim_pos.get(dim, []) if p != i]
        rest = _row_nanmean(zt[siblings]) if siblings else no_values
        item_rest, _ = _pair_corr(col, rest, "pearson")
        a = dim_alpha.get(dim, float("nan"))
        aid = _alpha_from_cov(_pairwise_cov_rows(zt[siblings])) if len(siblings) >= 2 else float("nan")
        row_r = corr[i]
        if np.isfinite(row_r).any():
            j = int(np.nanargmax(np.abs(row_r)))
            r_max, r_with = float(abs(row_r[j])), kpis[j]
        else:
            r_max, r_with = float("nan"), ""
        par = parent.get(k)
        if par in agg_cols:
            key: Any = par
            if key not in parent_agg:
                parent_agg[key] = agg_frame[par].reindex(z.index).to_numpy(dtype=float)
        else:
            key = ("kpis", par) if par in outs else ("kpi", k)
            if key not in parent_agg:
                parent_agg[key] = _row_nanmean(zt[[pos[c] for c in outs.get(par, [k])]])
        parent_r, _ = _pair_corr(col, parent_agg[key], "pearson")
        if index_agg is not None:
            idx = index_agg
        else:
            idx = _row_nanmean(np.delete(zt, i, axis=0)) if len(kpis) > 1 else no_values
        index_r, _ = _pair_corr(col, idx, "pearson")
        outcome_r = _pair_corr(col, out_values, "pearson")[0] if out_values is not None else float("nan")
        row = {"code": k, "dimension": dim, "parent": par, "coverage": n / len(z) if len(z) else float("nan"),
               "n": n, "item_rest_r": item_rest, "alpha": a, "alpha_if_deleted": aid, "alpha_change": aid - a,
               "r_max": r_max, "r_max_with": r_with, "parent_r": parent_r, "index_r": index_r,
               "outcome_r": outcome_r}
        row["verdict"], row["reasons"] = _verdict(row, th)
        rows.append(row)
    return pd.DataFrame(rows)


def _verdict(row: Mapping[str, Any], th: ScorecardThresholds) -> tuple[str, str]:
    fired: list[tuple[str, str]] = []

    def below(value: float, limit: float | None) -> bool:
        return limit is not None and np.isfinite(value) and value < limit

    if row["coverage"] < th.coverage_drop:
        fired.append(("drop", f"coverage {row['coverage']:.2f} < {th.coverage_drop}"))
    elif row["coverage"] < th.coverage_review:
        fired.append(("review", f"coverage {row['coverage']:.2f} < {th.coverage_review}"))
    if row["n"] < th.min_n:
        fired.append(("review", f"n {row['n']} < {th.min_n}"))
    if below(row["item_rest_r"], th.item_rest_drop):
        fired.append(("drop", f"item-rest r {row['item_rest_r']:.2f} < {th.item_rest_drop} (runs against its dimension)"))
    elif below(row["item_rest_r"], th.item_rest_review):
        fired.append(("review", f"item-rest r {row['item_rest_r']:.2f} < {th.item_rest_review}"))
    if below(row["index_r"], th.index_drop):
        fired.append(("drop", f"index r {row['index_r']:.2f} < {th.index_drop}"))
    elif below(row["index_r"], th.index_review):
        fired.append(("review", f"index r {row['index_r']:.2f} < {th.index_review}"))
    if np.isfinite(row["alpha_change"]) and row["alpha_change"] > th.alpha_gain_review:
        fired.append(("review", f"alpha rises by {row['alpha_change']:.3f} without it"))
    if np.isfinite(row["r_max"]) and row["r_max"] > th.collinear_review:
        fired.append(("review", f"|r| {row['r_max']:.2f} with {row['r_max_with']} > {th.collinear_review} (collinear)"))
    if below(row["parent_r"], th.parent_review):
        fired.append(("review", f"parent r {row['parent_r']:.2f} < {th.parent_review}"))
    if below(row["outcome_r"], th.outcome_review):
        fired.append(("review", f"outcome r {row['outcome_r']:.2f} < {th.outcome_review}"))
    if not fired:
        return "keep", ""
    verdict = max((v for v, _ in fired), key=_SEVERITY.__getitem__)
    return verdict, "; ".join(reason for _, reason in fired)
