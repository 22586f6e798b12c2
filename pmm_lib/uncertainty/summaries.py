"""Monte Carlo uncertainty analysis: rank intervals and score quantiles per unit, a summary per code.

The quantiles come from one sort per block of units along the replication axis
(:func:`pmm_lib.core.rank.sorted_quantiles`, numpy's linear rule), not from
``np.nanquantile`` along axis 0 (which falls back to one partition per column), and the
compact stores of :class:`~pmm_lib.uncertainty.engine.Replications` are read in place when no
replication failed. Reference: Saisana, Saltelli & Tarantola (2005),
doi:10.1111/j.1467-985X.2005.00350.x.

May import: :mod:`pmm_lib.core`, the other :mod:`pmm_lib.uncertainty` modules and the
top-level helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pmm_lib.core.rank import sorted_quantiles
from pmm_lib.seed import SeedLike
from pmm_lib.uncertainty.design import prepare, sample_design
from pmm_lib.uncertainty.engine import Replications, evaluate
from pmm_lib.uncertainty.problem import UncertaintyProblem

__all__ = ["UncertaintyResult", "rank_intervals", "uncertainty_analysis"]

#: units per block when sorting along replications (keeps a block near 16 MB)
_BLOCK_BYTES = 1 << 24


@dataclass(frozen=True, eq=False)
class UncertaintyResult:
    """Monte Carlo uncertainty analysis: rank intervals per unit and a summary per code."""

    rank_intervals: pd.DataFrame
    summary: pd.DataFrame
    replications: Replications

    @property
    def n_failed(self) -> int:
        """Number of failed replications."""
        return int(self.replications.failed.sum())


def _target_stats(reps: Replications, t: int, ok: np.ndarray | None, quantiles: tuple[float, float]
                  ) -> dict[str, np.ndarray]:
    lo, hi = quantiles
    r_all = reps.rank_store[t]
    s_all = reps.score_store[t]
    if ok is not None:  # copy only the successful replications, and only when something failed
        r_all, s_all = r_all[ok], s_all[ok]
    m, nu = r_all.shape
    nominal = reps.nominal_ranks[:, t]
    out = {k: np.full(nu, np.nan) for k in ("rank_low", "rank_q50", "rank_high", "mean_abs_rank_shift",
                                             "score_low", "score_q25", "score_q50", "score_q75", "score_high")}
    out["n"] = np.zeros(nu, dtype=np.int64)
    if m == 0:
        return out
    step = max(1, _BLOCK_BYTES // max(m * r_all.itemsize, 1))
    for u0 in range(0, nu, step):
        blk = slice(u0, min(nu, u0 + step))
        r = np.sort(r_all[:, blk].T, axis=-1)  # (units, m): 0 = no rank sorts first
        missing = (r == 0).sum(axis=-1)
        rq = sorted_quantiles(r, (lo, 0.5, hi), n_valid=m - missing, start=missing)
        out["rank_low"][blk], out["rank_q50"][blk], out["rank_high"][blk] = rq
        with np.errstate(invalid="ignore", divide="ignore"):
            total = np.abs(r.astype(np.int64) - np.nan_to_num(nominal[blk], nan=0.0)[:, None].astype(np.int64))
            total = total.sum(axis=-1) - missing * np.nan_to_num(nominal[blk], nan=0.0)
            shift = total / (m - missing)
        out["mean_abs_rank_shift"][blk] = np.where((m - missing > 0) & np.isfinite(nominal[blk]), shift, np.nan)
        s = np.sort(s_all[:, blk].T, axis=-1)  # NaN sorts last
        valid = (~np.isnan(s)).sum(axis=-1)
        sq = sorted_quantiles(s, (lo, 0.25, 0.5, 0.75, hi), n_valid=valid)
        for k, name in enumerate(("score_low", "score_q25", "score_q50", "score_q75", "score_high")):
            out[name][blk] = sq[k]
        out["n"][blk] = valid
    return out


def rank_intervals(reps: Replications, *, quantiles: tuple[float, float] = (0.05, 0.95)) -> pd.DataFrame:
    """Per unit and code: nominal rank and score, median rank, rank interval, score quantiles.

    Quantiles use numpy's default (linear) rule over the successful replications in which the
    unit has a score.

    Returns
    -------
    DataFrame
        ``code, unit, score, rank, rank_q50, rank_low, rank_high, mean_abs_rank_shift,
        score_low, score_q25, score_q50, score_q75, score_high, n``. ``rank_low``/``rank_high``
        are the ``quantiles`` (default 5 % and 95 %) of the unit's rank over replications;
        ``mean_abs_rank_shift`` = mean over replications of |rank - nominal rank|; ``n`` counts
        the replications where the unit has a score. Rows sorted by code, then nominal rank.
    """
    ok = None if not reps.failed.any() else ~reps.failed
    frames = []
    for t, code in enumerate(reps.targets):
        st = _target_stats(reps, t, ok, quantiles)
        frames.append(pd.DataFrame({
            "code": code, "unit": np.asarray(reps.units), "score": reps.nominal_scores[:, t],
            "rank": reps.nominal_ranks[:, t], "rank_q50": st["rank_q50"], "rank_low": st["rank_low"],
            "rank_high": st["rank_high"], "mean_abs_rank_shift": st["mean_abs_rank_shift"],
            "score_low": st["score_low"], "score_q25": st["score_q25"], "score_q50": st["score_q50"],
            "score_q75": st["score_q75"], "score_high": st["score_high"], "n": st["n"]}))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["code", "rank", "unit"], key=_code_order(reps.targets)).reset_index(drop=True)


def _code_order(targets: Sequence[str]) -> Callable[[pd.Series], pd.Series]:
    order = {c: i for i, c in enumerate(targets)}

    def key(col: pd.Series) -> pd.Series:
        return col.map(order) if col.name == "code" else col

    return key


def uncertainty_analysis(data: pd.DataFrame, meta: pd.DataFrame, problem: UncertaintyProblem, *,
                         n_samples: int = 1000, seed: SeedLike = None,
                         targets: Sequence[str] | None = None, chunk_size: int | None = None,
                         progress: bool = False, max_failed_share: float = 0.05,
                         build_options: Mapping[str, Any] | None = None) -> UncertaintyResult:
    """Monte Carlo uncertainty analysis over all assumptions together.

    Draws ``n_samples`` replications (every varied assumption independently and uniformly over
    its alternatives, weights perturbed by the declared noise), evaluates them with
    :func:`pmm_lib.uncertainty.engine.evaluate` and summarises ranks and scores per unit
    (Saisana et al. 2005, doi:10.1111/j.1467-985X.2005.00350.x).

    Returns
    -------
    UncertaintyResult
        ``.rank_intervals`` (see :func:`rank_intervals`), ``.summary`` with one row per code:
        ``code, mean_abs_rank_shift, max_rank_range, n, n_failed``, and ``.replications``.

    Raises
    ------
    RunError
        When more than ``max_failed_share`` of the replications fail.

    Examples
    --------
    >>> from pmm_lib.core.spec import NormaliseSpec, Spec
    >>> meta = pd.DataFrame({"code": ["a", "b", "c", "I"], "level": [1, 1, 1, 2],
    ...                      "parent": ["I", "I", "I", None], "direction": 1, "weight": 1.0})
    >>> data = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [4.0, 1, 2, 3], "c": [2.0, 4, 1, 3]})
    >>> p = UncertaintyProblem(Spec(normalise=NormaliseSpec(low=1, high=100)),
    ...                        aggregate=("arithmetic", "geometric"), weight_noise={1: 0.5})
    >>> ua = uncertainty_analysis(data, meta, p, n_samples=200, seed=1)
    >>> ua.summary[["code", "n", "n_failed"]].values.tolist()[0]
    ['I', 200, 0]
    >>> bool((ua.rank_intervals["rank_low"] <= ua.rank_intervals["rank_high"]).all())
    True
    """
    prep = prepare(data, meta, problem, build_options)
    design = sample_design(data, meta, problem, n_samples, method="monte_carlo", seed=seed, _prep=prep)
    reps = evaluate(data, meta, problem, design, targets=targets, chunk_size=chunk_size,
                    progress=progress, max_failed_share=max_failed_share, _prep=prep)
    ri = rank_intervals(reps)
    n_ok = int((~reps.failed).sum())
    rows = []
    for code in reps.targets:
        sub = ri[ri["code"] == code]
        weights = sub["n"].to_numpy()
        shift = sub["mean_abs_rank_shift"].to_numpy()
        keep = np.isfinite(shift) & (weights > 0)
        mean_shift = float((shift[keep] * weights[keep]).sum() / weights[keep].sum()) if keep.any() else np.nan
        rows.append({"code": code, "mean_abs_rank_shift": mean_shift,
                     "max_rank_range": float((sub["rank_high"] - sub["rank_low"]).max()),
                     "n": n_ok, "n_failed": int(reps.failed.sum())})
    return UncertaintyResult(ri, pd.DataFrame(rows), reps)
