"""Small-sample guards: when a statistic is withheld, and why, in one place.

Every analysis that can be computed on too few Members asks this module first. A guard returns
the empty string when the statistic may be reported, otherwise the reason it is withheld, in
words a reader of the paper understands ("n = 5 Members for k = 13 KPIs: a correlation matrix
of 13 KPIs needs more Members than KPIs"). The minima are module constants, documented here
and quoted by the paper:

* :data:`MIN_N_MULTIVARIATE` = 10 and ``n > k``: PCA, EFA, KMO and Bartlett's test need a
  correlation matrix of full rank estimated on at least ten Members (with ``n <= k`` the
  ``k x k`` matrix is singular and every eigenvalue beyond the ``n``-th is zero);
* :data:`MIN_K_ALPHA` = 3: Cronbach's alpha of two items is a rescaled correlation
  (Eisinga, te Grotenhuis & Pelzer 2013, doi:10.1007/s00038-012-0416-3), so it is not reported;
* :data:`MIN_GROUP` = 3: a regression dummy, a group comparison or a group median resting on
  fewer than three Members is dropped (one Member's value would be the group's value).

Intervals are clipped to the statistic's range with :func:`bounded` (alpha and correlations
cannot exceed 1).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "MIN_GROUP",
    "MIN_K_ALPHA",
    "MIN_N_MULTIVARIATE",
    "alpha_reason",
    "bounded",
    "group_reason",
    "multivariate_reason",
    "sparse_dummies",
]

#: Fewest Members for PCA, EFA, KMO or Bartlett's test (and more Members than KPIs).
MIN_N_MULTIVARIATE: int = 10
#: Fewest items for Cronbach's alpha.
MIN_K_ALPHA: int = 3
#: Fewest Members in a group (regression dummy, group comparison, group median).
MIN_GROUP: int = 3


def multivariate_reason(n: int, k: int, *, what: str = "PCA") -> str:
    """Why a correlation-matrix statistic of ``k`` items on ``n`` Members is withheld ('' = report it).

    Examples
    --------
    >>> multivariate_reason(5, 13)
    'PCA withheld: n = 5 Members for k = 13 KPIs (needs n > k and n >= 10)'
    >>> multivariate_reason(76, 13)
    ''
    """
    if n <= k or n < MIN_N_MULTIVARIATE:
        return f"{what} withheld: n = {n} Members for k = {k} KPIs (needs n > k and n >= {MIN_N_MULTIVARIATE})"
    return ""


def alpha_reason(k: int, n: int) -> str:
    """Why Cronbach's alpha of ``k`` items on ``n`` Members is withheld ('' = report it).

    Examples
    --------
    >>> alpha_reason(2, 40)
    'alpha withheld: k = 2 KPIs (needs at least 3; with 2 it is a rescaled correlation)'
    >>> alpha_reason(4, 40)
    ''
    """
    if k < MIN_K_ALPHA:
        return f"alpha withheld: k = {k} KPIs (needs at least {MIN_K_ALPHA}; with 2 it is a rescaled correlation)"
    if n < MIN_GROUP:
        return f"alpha withheld: n = {n} Members (needs at least {MIN_GROUP})"
    return ""


def group_reason(counts: Mapping[str, int] | pd.Series, *, what: str = "group comparison") -> str:
    """Why a comparison of groups with these sizes is withheld ('' = every group has >= MIN_GROUP).

    Examples
    --------
    >>> group_reason({"L": 1, "LM": 6, "UM": 8})
    'group comparison withheld: group L has 1 Member (needs at least 3)'
    """
    small = {str(g): int(c) for g, c in dict(counts).items() if int(c) < MIN_GROUP}
    if not small:
        return ""
    parts = ", ".join(f"group {g} has {c} Member{'s' if c != 1 else ''}" for g, c in small.items())
    return f"{what} withheld: {parts} (needs at least {MIN_GROUP})"


def sparse_dummies(data: pd.DataFrame, columns: list[str]) -> dict[str, str]:
    """Controls of a regression that rest on fewer than :data:`MIN_GROUP` Members.

    A boolean (0/1) column is sparse when either value occurs fewer than ``MIN_GROUP`` times; a
    text column when any of its levels does (that level's dummy would rest on those Members).

    Returns
    -------
    dict
        Column → reason, for the columns to drop.

    Examples
    --------
    >>> d = pd.DataFrame({"landlocked": [True] + [False] * 14, "gdp": range(15)})
    >>> sparse_dummies(d, ["landlocked", "gdp"])
    {'landlocked': 'control landlocked dropped: rests on 1 Member (needs at least 3)'}
    """
    out: dict[str, str] = {}
    for col in columns:
        v = data[col].dropna()
        if pd.api.types.is_bool_dtype(v) or (pd.api.types.is_numeric_dtype(v) and set(np.unique(v)) <= {0, 1}):
            counts = v.astype(bool).value_counts()
            smallest = int(min(counts.get(True, 0), counts.get(False, 0)))
        elif pd.api.types.is_numeric_dtype(v):
            continue
        else:
            counts = v.astype(str).value_counts()
            smallest = int(counts.min()) if len(counts) else 0
        if smallest < MIN_GROUP:
            out[col] = (f"control {col} dropped: rests on {smallest} Member{'s' if smallest != 1 else ''} "
                        f"(needs at least {MIN_GROUP})")
    return out


def bounded(low: float, high: float, *, lower: float = -np.inf, upper: float = 1.0) -> tuple[float, float]:
    """An interval clipped to the statistic's range (alpha and r: at most 1; r: at least -1).

    Examples
    --------
    >>> bounded(0.71, 1.14)
    (0.71, 1.0)
    """
    lo = float(np.clip(low, lower, upper)) if np.isfinite(low) else float(low)
    hi = float(np.clip(high, lower, upper)) if np.isfinite(high) else float(high)
    return lo, hi
