"""Data quality diagnostics of a members × KPIs matrix: coverage, missingness, outliers.

This module owns the computations behind notebook 01 (data quality). Every function takes a
plain matrix (index = Member, columns = KPI codes, NaN where a KPI was skipped) and returns a
tidy DataFrame:

* :func:`coverage_by_kpi`, :func:`coverage_by_member`: who reported what;
* :func:`missingness_by_group`: does skipping a KPI depend on a grouping variable (income group,
  landlocked...)? Pearson chi-square test of independence per KPI;
* :func:`robust_z` and :func:`flag_outliers`: robust z-scores (Iglewicz & Hoaglin 1993), values
  outside the framework's plausible bounds, and the skewness–kurtosis rule of the OECD/JRC
  handbook (via :mod:`pmm_lib.core.transform`);
* :func:`scaled_long`: values rescaled to their plausible range, for one common axis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from pmm_lib.inputs.framework import Framework, load_framework

__all__ = [
    "coverage_by_kpi",
    "coverage_by_member",
    "flag_outliers",
    "missingness_by_group",
    "robust_z",
    "scaled_long",
]

_MAD_SCALE = 0.6745  # Phi^-1(0.75): makes MAD consistent for the normal SD


def _fw(framework: Framework | None) -> Framework:
    return framework if framework is not None else load_framework()


def coverage_by_kpi(matrix: pd.DataFrame, framework: Framework | None = None) -> pd.DataFrame:
    """Share of Members reporting each KPI.

    Returns
    -------
    DataFrame
        One row per KPI (framework order): ``kpi, name, outcome, dimension, optional, n``
        (Members reporting), ``n_members`` (rows of the matrix), ``coverage = n / n_members``.

    Examples
    --------
    >>> m = pd.DataFrame({"K01": [1.0, np.nan], "K02": [1.0, 2.0]}, index=["AAA", "BBB"])
    >>> coverage_by_kpi(m)[["kpi", "n", "coverage"]].to_dict("list")
    {'kpi': ['K01', 'K02'], 'n': [1, 2], 'coverage': [0.5, 1.0]}
    """
    fw = _fw(framework)
    dims = {o.code: o.parent for o in fw.outcomes}
    n_members = len(matrix)
    rows = []
    for code in matrix.columns:
        try:
            k = fw.kpi(code)
            name, outcome, optional = k.name, k.parent, k.optional
        except KeyError:
            name, outcome, optional = code, "", False
        n = int(matrix[code].notna().sum())
        rows.append({"kpi": code, "name": name, "outcome": outcome, "dimension": dims.get(outcome, ""),
                     "optional": optional, "n": n, "n_members": n_members,
                     "coverage": n / n_members if n_members else np.nan})
    return pd.DataFrame(rows)


def coverage_by_member(matrix: pd.DataFrame) -> pd.DataFrame:
    """Share of KPIs each Member reported: ``member, n, n_kpis, coverage``, lowest coverage first.

    >>> m = pd.DataFrame({"K01": [1.0, np.nan], "K02": [1.0, 2.0]}, index=["AAA", "BBB"])
    >>> coverage_by_member(m).to_dict("list")
    {'member': ['BBB', 'AAA'], 'n': [1, 2], 'n_kpis': [2, 2], 'coverage': [0.5, 1.0]}
    """
    n = matrix.notna().sum(axis=1).astype(int)
    out = pd.DataFrame({"member": matrix.index.astype(str), "n": n.to_numpy(),
                        "n_kpis": matrix.shape[1]})
    out["coverage"] = out["n"] / out["n_kpis"] if matrix.shape[1] else np.nan
    return out.sort_values(["coverage", "member"]).reset_index(drop=True)


def missingness_by_group(matrix: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Test, per KPI, whether skipping it is independent of a grouping variable.

    For each KPI the 2 × G contingency table (reported / skipped × group) is tested with
    Pearson's chi-square test of independence (``scipy.stats.chi2_contingency``, no continuity
    correction). A small p-value means the KPI is *not missing completely at random* with
    respect to the grouping (Little, 1988, doi:10.1080/01621459.1988.10478722), so mean or
    median imputation would bias its group comparisons.

    Parameters
    ----------
    matrix : DataFrame
        Members × KPIs.
    groups : Series
        Group label per Member (index = Member). Members without a label are left out.

    Returns
    -------
    DataFrame
        ``kpi, n, n_missing, statistic, dof, p_value`` and one ``missing_share_<group>``
        column per group; KPIs reported (or skipped) by everyone have NaN statistic/p_value.
    """
    g = groups.reindex(matrix.index)
    keep = g.notna()
    m, g = matrix[keep.to_numpy()], g[keep]
    levels = sorted(pd.unique(g).tolist(), key=str)
    rows = []
    for code in m.columns:
        miss = m[code].isna().to_numpy()
        table = np.array([[np.sum(miss & (g.to_numpy() == lv)), np.sum(~miss & (g.to_numpy() == lv))]
                          for lv in levels], dtype=float)
        row: dict[str, object] = {"kpi": code, "n": int(len(m)), "n_missing": int(miss.sum())}
        if 0 < miss.sum() < len(miss) and len(levels) > 1:
            res = stats.chi2_contingency(table, correction=False)
            row.update(statistic=float(res.statistic), dof=int(res.dof), p_value=float(res.pvalue))
        else:
            row.update(statistic=np.nan, dof=len(levels) - 1, p_value=np.nan)
        for lv, (mis, rep) in zip(levels, table, strict=True):
            row[f"missing_share_{lv}"] = mis / (mis + rep) if mis + rep else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def robust_z(matrix: pd.DataFrame) -> pd.DataFrame:
    """Robust (modified) z-scores per KPI column.

    .. math:: z_{ij} = 0.6745\\,(x_{ij} - \\tilde x_j) / \\operatorname{MAD}_j,
              \\quad \\operatorname{MAD}_j = \\operatorname{median}_i |x_{ij} - \\tilde x_j|

    Iglewicz, B. & Hoaglin, D. (1993), *How to Detect and Handle Outliers*, ASQC Quality Press;
    ``|z| > 3.5`` is their suggested outlier rule. A column with MAD = 0 gives NaN.

    >>> robust_z(pd.DataFrame({"K01": [1.0, 2.0, 3.0, 4.0, 100.0]}))["K01"].round(4).tolist()
    [-1.349, -0.6745, 0.0, 0.6745, 65.4265]
    """
    med = matrix.median(skipna=True)
    mad = (matrix - med).abs().median(skipna=True)
    return _MAD_SCALE * (matrix - med) / mad.where(mad > 0)


def flag_outliers(matrix: pd.DataFrame, framework: Framework | None = None, *, threshold: float = 3.5,
                  skew: float = 2.0, kurtosis: float = 3.5) -> pd.DataFrame:
    """Values that look wrong or extreme, one row per flagged (Member, KPI).

    A value is flagged when its robust z-score exceeds ``threshold`` in absolute value
    (:func:`robust_z`), or when it lies outside the KPI's plausible bounds in the framework.
    Each row also says whether the KPI as a whole fails the skewness–kurtosis rule of the
    OECD/JRC handbook (|skew| > ``skew`` and kurtosis > ``kurtosis``, type-2 moments from
    :func:`pmm_lib.core.transform.skewness` / :func:`~pmm_lib.core.transform.kurtosis`), i.e. would be
    treated by winsorisation.

    Returns
    -------
    DataFrame
        ``member, kpi, value, robust_z, lower, upper, out_of_bounds, extreme, skewness,
        kurtosis, kpi_fails_skew_kurtosis``; sorted by KPI then |robust_z| descending.
    """
    from pmm_lib.core.transform import kurtosis as kurt_fn
    from pmm_lib.core.transform import skewness as skew_fn

    fw = _fw(framework)
    z = robust_z(matrix)
    cols = ["member", "kpi", "value", "robust_z", "lower", "upper", "out_of_bounds", "extreme",
            "skewness", "kurtosis", "kpi_fails_skew_kurtosis"]
    rows = []
    for code in matrix.columns:
        v = matrix[code]
        vals = v.dropna().to_numpy(dtype=float)
        sk = skew_fn(vals) if len(vals) >= 3 else np.nan
        ku = kurt_fn(vals) if len(vals) >= 4 else np.nan
        fails = bool(abs(sk) > skew and ku > kurtosis) if np.isfinite(sk) and np.isfinite(ku) else False
        try:
            k = fw.kpi(code)
            lo, hi = k.lower, k.upper
        except KeyError:
            lo, hi = -np.inf, np.inf
        for member, x in v.dropna().items():
            zz = z.at[member, code]
            oob = bool(x < lo or x > hi)
            extreme = bool(np.isfinite(zz) and abs(zz) > threshold)
            if oob or extreme:
                rows.append({"member": str(member), "kpi": code, "value": float(x), "robust_z": float(zz),
                             "lower": lo, "upper": hi, "out_of_bounds": oob, "extreme": extreme,
                             "skewness": sk, "kurtosis": ku, "kpi_fails_skew_kurtosis": fails})
    out = pd.DataFrame(rows, columns=cols)
    if len(out):
        out = (out.assign(_a=-out["robust_z"].abs().fillna(np.inf)).sort_values(["kpi", "_a", "member"])
               .drop(columns="_a").reset_index(drop=True))
    return out


def scaled_long(matrix: pd.DataFrame, framework: Framework | None = None) -> pd.DataFrame:
    """Reported values rescaled to their plausible range, long form.

    .. math:: s_{ij} = (x_{ij} - L_j) / (U_j - L_j)

    with ``L, U`` the KPI's bounds in the framework, so KPIs in hours, percent and counts share
    one axis (0 = lower bound, 1 = upper bound). Returns ``member, kpi, dimension, value, scaled``.
    """
    fw = _fw(framework)
    dims = {o.code: o.parent for o in fw.outcomes}
    long = matrix.rename_axis(index="member").reset_index().melt(
        id_vars="member", var_name="kpi", value_name="value").dropna(subset=["value"])
    lo = long["kpi"].map({k.code: k.lower for k in fw.kpis})
    hi = long["kpi"].map({k.code: k.upper for k in fw.kpis})
    long["dimension"] = long["kpi"].map({k.code: dims.get(k.parent, "") for k in fw.kpis})
    long["scaled"] = (long["value"] - lo) / (hi - lo)
    return long[["member", "kpi", "dimension", "value", "scaled"]].reset_index(drop=True)
