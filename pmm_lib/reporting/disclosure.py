"""Disclosure control: what each audience may see of a Member's KPI values.

Each Member chooses, per KPI and cycle, whether a value is ``public``, ``wco`` (WCO Secretariat
and Members only) or ``restricted`` (the Member itself and the methodology team). Every table,
figure and paper carries an audience:

========== =========================================================
audience   Member-level KPI values it may contain
========== =========================================================
public     values marked ``public``
wco        values marked ``public`` or ``wco``
internal   everything (the methodology team's working papers)
========== =========================================================

Values an audience may not see are suppressed (set to missing) before they reach an artefact.
Group aggregates (e.g. a regional mean of a KPI) are shown only when they pool at least
``min_n`` Members (default 3), so a hidden value cannot be recovered from a small group.
Member names can be replaced by stable pseudonyms (keyed hash), so a public artefact can show
a distribution without naming who is where.

KPI-level per-Member values, raw or transformed (treated, normalised), are suppressed. Index,
dimension and outcome scores are aggregates and may be shown, except where an aggregate pools
so few reported KPIs that it would reveal a hidden one (an outcome with one KPI, or a Member
that reported one KPI of an outcome): :func:`mask_aggregates` applies the same threshold rule
to them (at least ``min_kpis`` reported KPIs, default 3, whenever one of them is hidden).

Reference: Hundepool, A. et al. (2012), *Statistical Disclosure Control*, Wiley,
doi:10.1002/9781118348239 (threshold rule for tabular data, ch. 4).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from pmm_lib.errors import SpecError
from pmm_lib.vocab import Audience

__all__ = [
    "Audience",
    "DEFAULT_MIN_N",
    "check_audience",
    "disclosure_matrix",
    "figure_values",
    "group_aggregate",
    "hidden_values",
    "mask_aggregates",
    "mask_matrix",
    "pseudonymise",
    "suppress_member_kpi",
    "visible_levels",
]

DEFAULT_MIN_N = 3
_VISIBLE: dict[str, frozenset[str]] = {
    "public": frozenset({"public"}),
    "wco": frozenset({"public", "wco"}),
    "internal": frozenset({"public", "wco", "restricted"}),
}


def check_audience(audience: str) -> Audience:
    """Return ``audience`` if valid, else raise :class:`SpecError` listing the allowed ones."""
    if audience not in _VISIBLE:
        raise SpecError(f"audience {audience!r} is not one of {', '.join(get_args(Audience))}")
    return audience  # type: ignore[return-value]


def visible_levels(audience: str) -> frozenset[str]:
    """Disclosure levels an audience may see at Member level.

    >>> sorted(visible_levels("wco"))
    ['public', 'wco']
    """
    return _VISIBLE[check_audience(audience)]


def disclosure_matrix(observations: pd.DataFrame, cycle: int, *,
                      members: Iterable[str] | None = None,
                      kpis: Iterable[str] | None = None) -> pd.DataFrame:
    """Members × KPIs table of disclosure levels for one cycle.

    Parameters
    ----------
    observations : DataFrame
        Tidy observations with columns ``member, cycle, kpi, disclosure``.
    cycle : int
        The cycle to tabulate.
    members, kpis : iterable of str, optional
        Row and column order (e.g. a matrix's index and columns). Cells without an
        observation are ``"public"``: there is no value there to protect.

    Returns
    -------
    DataFrame
        Index ``member``, one column per KPI, values in {public, wco, restricted}.
    """
    obs = observations.loc[observations["cycle"] == cycle, ["member", "kpi", "disclosure"]]
    wide = obs.drop_duplicates(["member", "kpi"], keep="last").pivot(
        index="member", columns="kpi", values="disclosure")
    if members is not None:
        wide = wide.reindex(index=list(members))
    if kpis is not None:
        wide = wide.reindex(columns=list(kpis))
    wide = wide.astype(object).where(wide.notna(), "public")
    wide.index.name, wide.columns.name = "member", None
    return wide


def _hidden_mask(matrix: pd.DataFrame, disclosure: pd.DataFrame, audience: str) -> pd.DataFrame:
    visible = visible_levels(audience)
    levels = disclosure.reindex(index=matrix.index, columns=matrix.columns)
    # A value with no disclosure record is treated as restricted: fail safe.
    levels = levels.astype(object).where(levels.notna(), "restricted")
    return ~levels.isin(visible) & matrix.notna()


def mask_matrix(matrix: pd.DataFrame, disclosure: pd.DataFrame, audience: str) -> pd.DataFrame:
    """Copy of a members × KPIs matrix with every value the audience may not see set to NaN.

    Parameters
    ----------
    matrix : DataFrame
        Index = Members, columns = KPI codes (raw, treated or normalised values).
    disclosure : DataFrame
        Same shape of disclosure levels (:func:`disclosure_matrix`). A value whose
        disclosure is unknown is suppressed for every audience but ``internal``.
    audience : {"public", "wco", "internal"}

    Examples
    --------
    >>> m = pd.DataFrame({"K01": [1.0, 2.0]}, index=["AAA", "BBB"])
    >>> d = pd.DataFrame({"K01": ["public", "restricted"]}, index=["AAA", "BBB"])
    >>> mask_matrix(m, d, "public")["K01"].tolist()
    [1.0, nan]
    """
    hidden = _hidden_mask(matrix, disclosure, audience)
    return matrix.mask(hidden)


def hidden_values(matrix: pd.DataFrame, disclosure: pd.DataFrame, audience: str) -> pd.DataFrame:
    """Tidy list of the values an audience may not see (``member, kpi, value``): what scans look for."""
    hidden = _hidden_mask(matrix, disclosure, audience)
    stacked = matrix.where(hidden).stack().dropna().rename("value").reset_index()
    stacked.columns = ["member", "kpi", "value"]
    return stacked


def mask_aggregates(scores: pd.DataFrame, raw: pd.DataFrame, meta: pd.DataFrame,
                    disclosure: pd.DataFrame, audience: str, *, min_kpis: int = DEFAULT_MIN_N
                    ) -> pd.DataFrame:
    """Suppress Member-level scores that would reveal a hidden KPI value.

    A KPI column is masked as in :func:`mask_matrix`. An aggregate (outcome, dimension, index)
    of Member *c* is suppressed when at least one of the KPIs it pools is hidden from the
    audience and fewer than ``min_kpis`` of its KPIs were reported by *c*:

    .. math:: \\text{suppress}_{c,a} = (h_{c,a} \\ge 1) \\wedge (r_{c,a} < N)

    with :math:`h` the hidden and :math:`r` the reported KPIs below aggregate *a*. This is the
    threshold rule of :func:`group_aggregate` applied across KPIs instead of Members
    (Hundepool et al. 2012, sec. 4.2).

    Parameters
    ----------
    scores : DataFrame
        Members × codes (``IndexResult.aggregated``: KPI columns and aggregates).
    raw : DataFrame
        Members × KPIs as reported (NaN = not reported), for counting reported KPIs.
    meta : DataFrame
        The hierarchy (``code, level, parent``).
    disclosure : DataFrame
        Members × KPIs of disclosure levels (:func:`disclosure_matrix`).
    audience : {"public", "wco", "internal"}
    min_kpis : int
        Minimum number of reported KPIs for an aggregate that pools a hidden value.
    """
    if min_kpis < 1:
        raise SpecError(f"min_kpis must be at least 1, got {min_kpis}")
    kpis = meta.loc[meta["level"] == 1, "code"].tolist()
    parent = dict(zip(meta["code"], meta["parent"], strict=True))
    reported = raw.reindex(index=scores.index, columns=kpis).notna()
    hidden = _hidden_mask(raw.reindex(index=scores.index, columns=kpis), disclosure, audience)
    out = scores.copy()
    below: dict[str, list[str]] = {}
    for k in kpis:
        node = parent.get(k)
        while isinstance(node, str):
            below.setdefault(node, []).append(k)
            node = parent.get(node)
    for col in out.columns:
        if col in kpis:
            out[col] = out[col].mask(hidden[col])
        elif col in below:
            h = hidden[below[col]].sum(axis=1)
            r = reported[below[col]].sum(axis=1)
            out[col] = out[col].mask((h >= 1) & (r < min_kpis))
    return out


def suppress_member_kpi(frame: pd.DataFrame, *, observations: pd.DataFrame, cycle: int,
                        audience: str, member_col: str = "member", kpi_col: str = "kpi",
                        value_cols: Sequence[str] = ("value",)) -> pd.DataFrame:
    """Suppress Member-level KPI values in a tidy frame (one row per member and KPI).

    Rows whose (member, KPI) value the audience may not see keep their identifiers but get
    NaN in every column of ``value_cols`` and ``suppressed = True``.
    """
    visible = visible_levels(audience)
    obs = observations.loc[observations["cycle"] == cycle, ["member", "kpi", "disclosure"]]
    obs = obs.drop_duplicates(["member", "kpi"], keep="last")
    merged = frame.merge(obs.rename(columns={"member": member_col, "kpi": kpi_col}),
                         on=[member_col, kpi_col], how="left", validate="many_to_one")
    level = merged["disclosure"].astype(object).where(merged["disclosure"].notna(), "restricted")
    hide = ~level.isin(visible)
    out = frame.copy()
    for col in value_cols:
        out[col] = out[col].astype(float).mask(hide.to_numpy())
    out["suppressed"] = hide.to_numpy()
    return out


def group_aggregate(matrix: pd.DataFrame, disclosure: pd.DataFrame, groups: pd.Series, *,
                    audience: str, min_n: int = DEFAULT_MIN_N,
                    stat: Literal["mean", "median"] = "mean") -> pd.DataFrame:
    """Group statistics of each KPI with the threshold rule applied.

    A group × KPI cell is computed over all the group's reported values (hidden ones
    included: they are pooled, not shown) and published only if it pools at least
    ``min_n`` Members or contains no value hidden from the audience.

    Returns
    -------
    DataFrame
        Tidy: ``group, kpi, score, n, n_hidden, suppressed``.
    """
    if min_n < 1:
        raise SpecError(f"min_n must be at least 1, got {min_n}")
    if stat not in ("mean", "median"):
        raise SpecError(f"stat {stat!r} is not one of mean, median")
    hidden = _hidden_mask(matrix, disclosure, audience)
    g = groups.reindex(matrix.index)
    rows: list[dict[str, Any]] = []
    for name, idx in matrix.groupby(g, sort=True).groups.items():
        block, hid = matrix.loc[idx], hidden.loc[idx]
        n = block.notna().sum()
        value = block.mean() if stat == "mean" else block.median()
        n_hidden = hid.sum()
        for kpi in matrix.columns:
            suppress = bool(n_hidden[kpi] > 0 and n[kpi] < min_n)
            rows.append({"group": name, "kpi": kpi, "score": np.nan if suppress else value[kpi],
                         "n": int(n[kpi]), "n_hidden": int(n_hidden[kpi]), "suppressed": suppress})
    return pd.DataFrame(rows)


def pseudonymise(members: Iterable[str], *, salt: str, prefix: str = "Member") -> dict[str, str]:
    """Stable pseudonyms: ``HMAC-SHA256(salt, ISO3)`` shortened to 4 hex digits (longer on a clash).

    The same salt gives the same pseudonym in every run and artefact; without the salt the
    mapping cannot be inverted by trying the 186 codes.

    >>> p = pseudonymise(["FRA", "BRA"], salt="s")
    >>> p == pseudonymise(["BRA", "FRA"], salt="s"), p["FRA"] != p["BRA"]
    (True, True)
    """
    if not salt:
        raise SpecError("pseudonymise needs a non-empty salt (keep it out of public artefacts)")
    codes = sorted(set(members))
    digests = {m: hmac.new(salt.encode(), m.encode(), hashlib.sha256).hexdigest().upper() for m in codes}
    width = 4
    while len({d[:width] for d in digests.values()}) < len(codes):
        width += 1
    return {m: f"{prefix}-{digests[m][:width]}" for m in codes}


def figure_values(fig: Any) -> np.ndarray:
    """Every number drawn in a matplotlib figure (line and scatter data, bar sizes, image cells, texts).

    Used to record a figure's data beside its PNG so a disclosure scan can check figures too.
    """
    from matplotlib.collections import Collection
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle
    from matplotlib.text import Text

    values: list[np.ndarray] = []
    for artist in fig.findobj():
        try:
            if isinstance(artist, Line2D):
                values += [np.asarray(artist.get_xdata(), float).ravel(),
                           np.asarray(artist.get_ydata(), float).ravel()]
            elif isinstance(artist, Collection):
                values.append(np.asarray(artist.get_offsets(), float).ravel())
                arr = artist.get_array()
                if arr is not None:
                    values.append(np.asarray(arr, float).ravel())
            elif isinstance(artist, Rectangle):
                values.append(np.array([artist.get_width(), artist.get_height()], float))
            elif isinstance(artist, AxesImage):
                values.append(np.asarray(artist.get_array(), float).ravel())
            elif isinstance(artist, Text):
                text = artist.get_text().replace("−", "-")
                for token in text.replace(",", " ").split():
                    try:
                        values.append(np.array([float(token.strip("()[]%"))]))
                    except ValueError:
                        continue
        except (TypeError, ValueError):
            continue
    if not values:
        return np.array([], float)
    out = np.concatenate(values)
    return out[np.isfinite(out)]
