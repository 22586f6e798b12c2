"""The validity scorecard against its reference implementation (the frame-by-frame version).

:func:`pmm_lib.analysis.validity.scorecard` works on one KPIs x units array instead of selecting
columns of a frame by label for every KPI (which cost more than the arithmetic). The version it
replaced is kept here, verbatim apart from its name, as the slow reference: every column of the
output must be the same, on the bundled returns of every region and cycle, with both correlation
methods, an outcome, aggregates, a few units, and KPIs missing from the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

import numpy as np
import pandas as pd
import pytest

from pmm_lib.analysis import validity as v
from pmm_lib.analysis.thresholds import ScorecardThresholds
from pmm_lib.core.build import build
from pmm_lib.core.spec import Spec
from pmm_lib.errors import InputError, SpecError
from pmm_lib.inputs.data import load_observations, to_matrix
from pmm_lib.inputs.framework import load_framework
from pmm_lib.vocab import REGIONS

META = load_framework().meta()


def _scorecard_reference(data: pd.DataFrame, meta: pd.DataFrame, *, oriented: bool = True,
                         thresholds: ScorecardThresholds | Mapping[str, Any] | None = None,
                         aggregated: pd.DataFrame | None = None, outcome: pd.Series | None = None,
                         outcome_direction: int = 1, method: v.CorrMethod = "spearman") -> pd.DataFrame:
    """The scorecard as it was before it worked on arrays (one label selection per quantity)."""
    th = thresholds if isinstance(thresholds, ScorecardThresholds) else ScorecardThresholds.from_dict(thresholds)
    if outcome_direction not in (1, -1):
        raise SpecError(f"outcome_direction must be 1 or -1, got {outcome_direction!r}")
    kpis = [c for c in meta.loc[meta["level"] == 1, "code"] if c in set(data.columns)]
    if not kpis:
        raise InputError("scorecard: none of the data columns is a KPI code of meta")
    v._choice(method, get_args(v.CorrMethod), "method")
    x = v._numeric(data[kpis], "data")
    if not oriented:
        x = v.orient(x, meta)
    if method == "spearman":
        x = x.rank(method="average")
    z = v.standardise(x)
    parent = dict(zip(meta["code"], meta["parent"], strict=True))
    dims = v.groups_from_meta(meta, kpis, levels=(3,))
    outs = v.groups_from_meta(meta, kpis, levels=(2,))
    dim_of = {k: d for d, ks in dims.items() for k in ks}
    index_code = str(meta.loc[meta["level"] == meta["level"].max(), "code"].iloc[0])
    corr = z.corr(min_periods=max(3, th.min_n)).to_numpy(copy=True)
    np.fill_diagonal(corr, np.nan)
    dim_alpha = {d: v._alpha_from_cov(z[ks].cov(min_periods=3).to_numpy()) if len(ks) >= 2 else float("nan")
                 for d, ks in dims.items()}
    out_series = None
    if outcome is not None:
        out_series = outcome.reindex(z.index).astype(float) * outcome_direction
        if method == "spearman":
            out_series = out_series.rank(method="average")
    rows = []
    for i, k in enumerate(kpis):
        col = z[k].to_numpy()
        n = int(np.isfinite(col).sum())
        dim = dim_of.get(k, "")
        siblings = [c for c in dims.get(dim, []) if c != k]
        rest = z[siblings].mean(axis=1).to_numpy() if siblings else np.full(len(z), np.nan)
        item_rest, _ = v._pair_corr(col, rest, "pearson")
        a = dim_alpha.get(dim, float("nan"))
        aid = v._alpha_from_cov(z[siblings].cov(min_periods=3).to_numpy()) if len(siblings) >= 2 else float("nan")
        row_r = corr[i]
        if np.isfinite(row_r).any():
            j = int(np.nanargmax(np.abs(row_r)))
            r_max, r_with = float(abs(row_r[j])), kpis[j]
        else:
            r_max, r_with = float("nan"), ""
        par = parent.get(k)
        if aggregated is not None and par in aggregated.columns:
            par_agg = aggregated[par].reindex(z.index).to_numpy(dtype=float)
        else:
            par_agg = z[outs.get(par, [k])].mean(axis=1).to_numpy()
        parent_r, _ = v._pair_corr(col, par_agg, "pearson")
        if aggregated is not None and index_code in aggregated.columns:
            idx = aggregated[index_code].reindex(z.index).to_numpy(dtype=float)
        else:
            others = [c for c in kpis if c != k]
            idx = z[others].mean(axis=1).to_numpy() if others else np.full(len(z), np.nan)
        index_r, _ = v._pair_corr(col, idx, "pearson")
        outcome_r = v._pair_corr(col, out_series.to_numpy(), "pearson")[0] if out_series is not None else float("nan")
        row = {"code": k, "dimension": dim, "parent": par, "coverage": n / len(z) if len(z) else float("nan"),
               "n": n, "item_rest_r": item_rest, "alpha": a, "alpha_if_deleted": aid, "alpha_change": aid - a,
               "r_max": r_max, "r_max_with": r_with, "parent_r": parent_r, "index_r": index_r,
               "outcome_r": outcome_r}
        row["verdict"], row["reasons"] = v._verdict(row, th)
        rows.append(row)
    return pd.DataFrame(rows)


def _same(data: pd.DataFrame, meta: pd.DataFrame = META, **kw: Any) -> pd.DataFrame:
    got = v.scorecard(data, meta, **kw)
    # same columns, dtypes, codes, verdicts and reasons; numbers equal up to rounding (they are
    # equal to the last digit with the pandas this was written against)
    pd.testing.assert_frame_equal(got, _scorecard_reference(data, meta, **kw), rtol=1e-12, atol=1e-12)
    return got


@pytest.fixture(scope="module")
def obs() -> pd.DataFrame:
    return load_observations()


@pytest.mark.parametrize("cycle", [2024, 2022])
@pytest.mark.parametrize("region", [r for r in REGIONS if r != "ALL"])
def test_scorecard_equals_reference_on_every_region(obs, region, cycle):
    matrix = to_matrix(obs, cycle, region)
    _same(matrix, oriented=False)


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_scorecard_equals_reference_with_outcome_and_aggregates(obs, method):
    matrix = to_matrix(obs, 2024, "AMS")
    res = build(matrix, META, Spec.default())
    g = np.random.default_rng(3)
    outcome = pd.Series(g.standard_normal(len(matrix)), index=matrix.index).iloc[2:]  # 2 Members without
    _same(matrix, oriented=False, method=method, outcome=outcome, outcome_direction=-1)
    _same(res.normalised, aggregated=res.aggregated, method=method, thresholds={"min_n": 15})
    # aggregates of the parents only: the index correlation falls back to the other KPIs' mean
    _same(res.normalised, aggregated=res.aggregated.drop(columns=[res.top]), method=method)


def test_scorecard_equals_reference_on_awkward_inputs(obs):
    matrix = to_matrix(obs, 2024, "EUR")
    kpis = list(matrix.columns)
    # KPIs missing from the data (a dimension left with one KPI, outcomes with one or none),
    # a constant KPI, a KPI nobody reported, and a few units only
    thin = matrix.drop(columns=kpis[1:9] + kpis[20:24]).copy()
    thin[kpis[30]] = 1.0
    thin[kpis[31]] = np.nan
    _same(thin, oriented=False)
    _same(thin, oriented=False, method="pearson")
    _same(thin.iloc[:5], oriented=False)
    _same(thin[[kpis[0], kpis[10]]], oriented=False)
    _same(thin[[kpis[0]]], oriented=False)
