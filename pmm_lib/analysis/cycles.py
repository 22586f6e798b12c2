"""Cycles: the PMM as panel data - what is stable between two cycles and what changed.

For the Members present in both cycles (the earlier cycle ``T-1`` is the previous PMM cycle, e.g.
2022 for 2024), this module computes

* :func:`kpi_stability` - each KPI's validity evidence (coverage, item-rest and index
  correlations, scorecard verdict) in both cycles on the common Members;
* :func:`alpha_stability` - Cronbach's alpha of every dimension and expected outcome in both cycles;
* :func:`rank_stability` - Spearman's rank correlation between the cycles' scores with a
  percentile bootstrap interval over Members;
* :func:`pool_cycles` / :func:`split_pooled` - one matrix holding both cycles (rows
  ``"ARG:2022"``, ``"ARG:2024"``), so a single build normalises both cycles on the same goalposts
  (min-max over the pooled panel): scores become comparable between cycles, which they are not
  when each cycle is normalised on its own range;
* :func:`score_changes` - each Member's score change with its uncertainty interval over the
  Monte Carlo replications of the pooled matrix: replication *i* scores both cycles under the same
  method choices, so the interval is that of the change, not of two independent scores;
* :func:`variation_kpis` - variation KPIs computed from the T and T-1 values where both exist.

All functions take plain DataFrames / arrays (members as index or column), so they work on any
panel, not only the bundled one.

Examples
--------
>>> from pmm_lib.inputs.data import load_observations
>>> common = panel_members(load_observations(), 2024, 2022, region="AMS")
>>> len(common)
11
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from pmm_lib.analysis.validity import consistency_table, scorecard
from pmm_lib.errors import InputError
from pmm_lib.seed import SeedLike, rng

__all__ = [
    "alpha_stability",
    "kpi_stability",
    "panel_members",
    "pool_cycles",
    "previous_cycle",
    "rank_stability",
    "score_changes",
    "split_pooled",
    "variation_kpis",
]

#: Separator of the pooled row labels ``"<member>:<cycle>"``.
POOL_SEP = ":"


def previous_cycle(observations: pd.DataFrame, cycle: int) -> int | None:
    """The latest cycle before ``cycle`` with observations, or None when ``cycle`` is the first.

    >>> previous_cycle(pd.DataFrame({"cycle": [2022, 2024, 2024]}), 2024), previous_cycle(pd.DataFrame({"cycle": [2024]}), 2024)
    (2022, None)
    """
    earlier = sorted(int(c) for c in pd.unique(observations["cycle"]) if int(c) < int(cycle))
    return earlier[-1] if earlier else None


def panel_members(observations: pd.DataFrame, cycle: int, previous: int, *, region: str | None = None) -> list[str]:
    """Members with at least one observation in both cycles (sorted), optionally of one WCO region."""
    have: dict[int, set[str]] = {int(str(c)): set(map(str, g)) for c, g in observations.groupby("cycle")["member"]}
    for c in (cycle, previous):
        if c not in have:
            raise InputError(f"no observations for cycle {c}", column="cycle",
                             expected="one of " + ", ".join(str(x) for x in sorted(have)))
    common = have[cycle] & have[previous]
    if region not in (None, "ALL"):
        from pmm_lib.inputs.data import load_members

        members = load_members()
        common &= set(members.loc[members["region"] == region, "member"])
    return sorted(common)


def _common(prev: pd.DataFrame, curr: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    idx = prev.index.intersection(curr.index).sort_values()
    if len(idx) == 0:
        raise InputError("the two cycles share no Member (index)", expected="ISO3 member codes in both")
    return prev.loc[idx], curr.loc[idx]


def pool_cycles(matrices: dict[int, pd.DataFrame], *, members: Sequence[str] | None = None) -> pd.DataFrame:
    """Stack members x KPIs matrices of several cycles into one, rows labelled ``"<member>:<cycle>"``.

    Parameters
    ----------
    matrices : dict
        cycle -> Members x KPIs (same columns).
    members : sequence, optional
        Keep only these Members (e.g. :func:`panel_members`).

    Examples
    --------
    >>> a = pd.DataFrame({"K01": [1.0, 2.0]}, index=["A", "B"])
    >>> pool_cycles({2022: a, 2024: a + 1}, members=["A"]).index.tolist()
    ['A:2022', 'A:2024']
    """
    parts = []
    cols = None
    for cycle in sorted(matrices):
        m = matrices[cycle]
        if cols is None:
            cols = list(m.columns)
        elif list(m.columns) != cols:
            raise InputError(f"cycle {cycle}: KPI columns differ from the first cycle's",
                             expected="matrices of one framework")
        if members is not None:
            m = m.loc[[u for u in m.index if u in set(members)]]
        parts.append(m.set_axis([f"{u}{POOL_SEP}{cycle}" for u in m.index], axis=0))
    if not parts:
        raise InputError("no cycle to pool", expected="at least one matrix")
    out = pd.concat(parts)
    out.index.name = "unit"
    return out.sort_index(key=lambda ix: ix.map(lambda s: (s.rsplit(POOL_SEP, 1)[0], s.rsplit(POOL_SEP, 1)[1])))


def split_pooled(frame: pd.DataFrame | pd.Series, *, axis: int = 0) -> dict[int, pd.DataFrame | pd.Series]:
    """Undo :func:`pool_cycles`: cycle -> the rows (``axis=0``) or columns (``axis=1``) of that cycle,
    relabelled with the Member code.

    >>> s = pd.Series([1.0, 2.0, 3.0], index=["A:2022", "A:2024", "B:2024"])
    >>> {c: v.to_dict() for c, v in split_pooled(s).items()}
    {2022: {'A': 1.0}, 2024: {'A': 2.0, 'B': 3.0}}
    """
    labels = frame.index if axis == 0 else frame.columns
    parsed = [str(x).rsplit(POOL_SEP, 1) for x in labels]
    if any(len(p) != 2 or not p[1].isdigit() for p in parsed):
        raise InputError("labels are not pooled '<member>:<cycle>' labels", expected="e.g. ARG:2024")
    out: dict[int, pd.DataFrame | pd.Series] = {}
    for cycle in sorted({int(p[1]) for p in parsed}):
        keep = [i for i, p in enumerate(parsed) if int(p[1]) == cycle]
        names = [parsed[i][0] for i in keep]
        if axis == 0:
            part = frame.iloc[keep].set_axis(names, axis=0)
        elif isinstance(frame, pd.DataFrame):
            part = frame.iloc[:, keep].set_axis(names, axis=1)
        else:
            raise InputError("axis=1 needs a DataFrame", expected="a DataFrame with pooled column labels")
        out[cycle] = part
    return out


def kpi_stability(matrix_prev: pd.DataFrame, matrix: pd.DataFrame, meta: pd.DataFrame, *,
                  common_only: bool = True) -> pd.DataFrame:
    """Each KPI's validity evidence in both cycles (scorecard on raw values, oriented by ``meta``).

    Parameters
    ----------
    matrix_prev, matrix : DataFrame
        Members x KPIs of cycle T-1 and T (:func:`pmm_lib.inputs.data.to_matrix`).
    meta : DataFrame
        The hierarchy (:meth:`pmm_lib.inputs.framework.Framework.table`).
    common_only : bool
        Restrict both cycles to the Members present in both (default), so a change of the evidence
        is not a change of who reports.

    Returns
    -------
    DataFrame
        ``code, n_prev, n, coverage_prev, coverage, item_rest_prev, item_rest, item_rest_change,
        index_r_prev, index_r, index_r_change, verdict_prev, verdict, stable``; ``stable`` is True
        when the verdict is the same in both cycles.
    """
    if common_only:
        matrix_prev, matrix = _common(matrix_prev, matrix)
    a = scorecard(matrix_prev, meta, oriented=False).set_index("code")
    b = scorecard(matrix, meta, oriented=False).set_index("code")
    codes = [c for c in b.index if c in a.index]
    out = pd.DataFrame({
        "code": codes, "n_prev": a.loc[codes, "n"].to_numpy(), "n": b.loc[codes, "n"].to_numpy(),
        "coverage_prev": a.loc[codes, "coverage"].to_numpy(), "coverage": b.loc[codes, "coverage"].to_numpy(),
        "item_rest_prev": a.loc[codes, "item_rest_r"].to_numpy(), "item_rest": b.loc[codes, "item_rest_r"].to_numpy(),
        "index_r_prev": a.loc[codes, "index_r"].to_numpy(), "index_r": b.loc[codes, "index_r"].to_numpy(),
        "verdict_prev": a.loc[codes, "verdict"].to_numpy(), "verdict": b.loc[codes, "verdict"].to_numpy(),
    })
    out.insert(7, "item_rest_change", out["item_rest"] - out["item_rest_prev"])
    out.insert(10, "index_r_change", out["index_r"] - out["index_r_prev"])
    out["stable"] = out["verdict"] == out["verdict_prev"]
    return out


def alpha_stability(normalised_prev: pd.DataFrame, normalised: pd.DataFrame, meta: pd.DataFrame, *,
                    n_boot: int = 500, seed: SeedLike = None, levels: Sequence[int] = (3, 2),
                    common_only: bool = True) -> pd.DataFrame:
    """Cronbach's alpha of each node in both cycles (pairwise, on the common Members by default).

    Returns
    -------
    DataFrame
        ``code, name, level, alpha_prev, ci_low_prev, ci_high_prev, alpha, ci_low, ci_high, change, n``
        (``n`` the smaller of the two cycles' pairwise n); alpha is NaN where the small-sample guards
        withhold it.
    """
    if common_only:
        normalised_prev, normalised = _common(normalised_prev, normalised)
    gen = rng(seed)
    a = consistency_table(normalised_prev, meta, n_boot=n_boot, seed=gen, levels=levels, missing="pairwise")
    b = consistency_table(normalised, meta, n_boot=n_boot, seed=gen, levels=levels, missing="pairwise")
    out = a[["code", "name", "level", "alpha", "ci_low", "ci_high", "n"]].merge(
        b[["code", "alpha", "ci_low", "ci_high", "n"]], on="code", suffixes=("_prev", ""))
    out["change"] = out["alpha"] - out["alpha_prev"]
    out["n"] = out[["n_prev", "n"]].min(axis=1)
    return out[["code", "name", "level", "alpha_prev", "ci_low_prev", "ci_high_prev", "alpha", "ci_low",
                "ci_high", "change", "n"]]


def rank_stability(scores_prev: pd.DataFrame, scores: pd.DataFrame, *, n_boot: int = 2000,
                   seed: SeedLike = None, conf_level: float = 0.95) -> pd.DataFrame:
    """Spearman's rank correlation of each score column between two cycles, with a bootstrap CI.

    ``rho`` is computed on the Members with a score in both cycles; the interval is the percentile
    interval of rho over ``n_boot`` resamples of those Members with replacement (resamples where a
    cycle's scores are constant are skipped).

    Parameters
    ----------
    scores_prev, scores : DataFrame
        Members x score codes (e.g. ``IndexResult.aggregated[["PMM", "TF", ...]]``) of T-1 and T.

    Returns
    -------
    DataFrame
        ``code, estimate, ci_low, ci_high, n, n_boot`` (``n_boot`` = resamples used).

    Examples
    --------
    >>> x = pd.DataFrame({"PMM": [1.0, 2, 3, 4, 5]}, index=list("abcde"))
    >>> rank_stability(x, x * 2, n_boot=200, seed=1)[["estimate", "ci_low", "ci_high", "n"]].round(3).values.tolist()
    [[1.0, 1.0, 1.0, 5.0]]
    """
    if not 0 < conf_level < 1:
        raise InputError(f"conf_level must lie in (0, 1), got {conf_level!r}", column="conf_level")
    gen = rng(seed)
    rows = []
    for code in [c for c in scores.columns if c in scores_prev.columns]:
        pair = pd.concat([scores_prev[code].rename("a"), scores[code].rename("b")], axis=1, join="inner").dropna()
        n = len(pair)
        row = {"code": str(code), "estimate": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
               "n": n, "n_boot": 0}
        if n >= 4:
            ra, rb = pair["a"].rank().to_numpy(), pair["b"].rank().to_numpy()
            row["estimate"] = float(stats.spearmanr(ra, rb).statistic)
            idx = gen.integers(0, n, size=(n_boot, n))
            a = pair["a"].to_numpy()[idx]
            b = pair["b"].to_numpy()[idx]
            ar = stats.rankdata(a, axis=1)
            br = stats.rankdata(b, axis=1)
            ar -= ar.mean(axis=1, keepdims=True)
            br -= br.mean(axis=1, keepdims=True)
            den = np.sqrt((ar ** 2).sum(axis=1) * (br ** 2).sum(axis=1))
            ok = den > 0
            rho = (ar * br).sum(axis=1)[ok] / den[ok]
            if len(rho):
                lo, hi = np.quantile(rho, [(1 - conf_level) / 2, (1 + conf_level) / 2])
                row.update(ci_low=float(lo), ci_high=float(hi), n_boot=int(ok.sum()))
        rows.append(row)
    return pd.DataFrame(rows, columns=["code", "estimate", "ci_low", "ci_high", "n", "n_boot"])


def score_changes(nominal_prev: pd.Series, nominal: pd.Series, reps_prev: pd.DataFrame, reps: pd.DataFrame, *,
                  quantiles: tuple[float, float] = (0.05, 0.95)) -> pd.DataFrame:
    """Each Member's score change between cycles with its interval over paired replications.

    Parameters
    ----------
    nominal_prev, nominal : Series
        The nominal score per Member in T-1 and T.
    reps_prev, reps : DataFrame
        Replications x Members of the same score under the uncertainty engine's method draws; row
        *i* of both must come from the same draw (split one run on :func:`pool_cycles`' matrix with
        :func:`split_pooled`).

    Returns
    -------
    DataFrame
        ``unit, score_prev, score, change, change_q50, change_low, change_high, n``, sorted by
        change (descending); ``change_low/high`` are the ``quantiles`` of the paired replication
        changes, ``n`` the replications with both scores. Only Members in both cycles.

    Examples
    --------
    >>> reps = pd.DataFrame({"A": [1.0, 2.0, 3.0], "B": [5.0, 5.0, 5.0]})
    >>> out = score_changes(pd.Series({"A": 2.0, "B": 5.0}), pd.Series({"A": 3.0, "B": 4.0}), reps, reps + [1.0, -1.0])
    >>> out[["unit", "change", "change_low", "change_high"]].values.tolist()
    [['A', 1.0, 1.0, 1.0], ['B', -1.0, -1.0, -1.0]]
    """
    units = [u for u in nominal.index if u in set(nominal_prev.index) and u in reps.columns and u in reps_prev.columns]
    if not units:
        raise InputError("no Member has a score in both cycles", expected="Members present in both cycles")
    m = min(len(reps), len(reps_prev))
    diff = reps[units].iloc[:m].to_numpy(dtype=float) - reps_prev[units].iloc[:m].to_numpy(dtype=float)
    lo, hi = quantiles
    with np.errstate(all="ignore"):
        q = np.nanquantile(diff, [lo, 0.5, hi], axis=0) if m else np.full((3, len(units)), np.nan)
    out = pd.DataFrame({
        "unit": [str(u) for u in units], "score_prev": nominal_prev.reindex(units).to_numpy(dtype=float),
        "score": nominal.reindex(units).to_numpy(dtype=float)})
    out["change"] = out["score"] - out["score_prev"]
    out["change_q50"], out["change_low"], out["change_high"] = q[1], q[0], q[2]
    out["n"] = np.isfinite(diff).sum(axis=0)
    return out.sort_values(["change", "unit"], ascending=[False, True], kind="stable").reset_index(drop=True)


def variation_kpis(observations: pd.DataFrame, cycle: int, previous: int, *, kpis: Sequence[str] | None = None,
                   members: Sequence[str] | None = None, meta: pd.DataFrame | None = None) -> pd.DataFrame:
    """Variation KPIs from the T and T-1 values, where a Member reported the KPI in both cycles.

    ``change = x_T - x_{T-1}``; ``pct_change = 100 (x_T - x_{T-1}) / |x_{T-1}|`` (NaN when
    ``x_{T-1} = 0``); with ``meta``, ``improvement = direction * change`` (positive = better).

    Parameters
    ----------
    observations : DataFrame
        Tidy ``member, cycle, kpi, value``.
    kpis, members : sequence, optional
        Restrict to these KPIs / Members.

    Returns
    -------
    DataFrame
        ``member, kpi, value_prev, value, change, pct_change`` (+ ``improvement`` with ``meta``), one
        row per Member and KPI reported in both cycles, sorted by KPI then Member.

    Examples
    --------
    >>> obs = pd.DataFrame({"member": ["A", "A", "B"], "cycle": [2022, 2024, 2024], "kpi": "K28",
    ...                     "value": [40.0, 50.0, 7.0]})
    >>> variation_kpis(obs, 2024, 2022)[["member", "change", "pct_change"]].values.tolist()
    [['A', 10.0, 25.0]]
    """
    need = {"member", "cycle", "kpi", "value"}
    if not need <= set(observations.columns):
        raise InputError("observations lack column(s) " + ", ".join(sorted(need - set(observations.columns))),
                         expected="member, cycle, kpi, value")
    obs = observations[observations["cycle"].isin([cycle, previous])]
    if kpis is not None:
        obs = obs[obs["kpi"].isin(list(kpis))]
    if members is not None:
        obs = obs[obs["member"].isin(list(members))]
    wide = obs.pivot_table(index=["member", "kpi"], columns="cycle", values="value", aggfunc="first")
    cols = ["member", "kpi", "value_prev", "value", "change", "pct_change"] + (["improvement"] if meta is not None else [])
    if cycle not in wide.columns or previous not in wide.columns:
        return pd.DataFrame(columns=cols)
    wide = wide[[previous, cycle]].dropna()
    out = pd.DataFrame({"member": wide.index.get_level_values("member").astype(str),
                        "kpi": wide.index.get_level_values("kpi").astype(str),
                        "value_prev": wide[previous].to_numpy(dtype=float), "value": wide[cycle].to_numpy(dtype=float)})
    out["change"] = out["value"] - out["value_prev"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pct_change"] = np.where(out["value_prev"] != 0, 100 * out["change"] / out["value_prev"].abs(), np.nan)
    if meta is not None:
        direction = meta.set_index("code")["direction"]
        out["improvement"] = out["change"] * out["kpi"].map(direction).astype(float)
    return out.sort_values(["kpi", "member"], kind="stable").reset_index(drop=True)[cols]
