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
from pmm_lib.uncertainty.engine import Replications, default_targets, evaluate, threads_for
from pmm_lib.uncertainty.problem import UncertaintyProblem

__all__ = ["UncertaintyResult", "rank_intervals", "uncertainty_analysis"]

#: units per block when sorting along replications (keeps a block near 16 MB)
_BLOCK_BYTES = 1 << 24
#: up to this many units, rank quantiles come from a (units x units) table of rank counts
_COUNT_UNITS = 2048


@dataclass(frozen=True, eq=False)
class UncertaintyResult:
    """Monte Carlo uncertainty analysis: rank intervals per unit and a summary per code."""

    rank_intervals: pd.DataFrame
    summary: pd.DataFrame
    replications: Replications | None

    @property
    def n_failed(self) -> int:
        """Number of failed replications."""
        return int(self.summary["n_failed"].max()) if len(self.summary) else 0


def _rank_stats_counts(r: np.ndarray, nominal: np.ndarray, qs: tuple[float, ...]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact rank quantiles and mean |rank - nominal| of every unit from rank counts (small U).

    ``r`` is (U, m) with ranks 1..U and 0 = no rank. One bincount per unit gives the (U, U + 1)
    table of how often each unit took each rank; the type-7 quantile of a unit's ranks is read
    off the cumulative counts, so no sort is needed.
    """
    nu, m = r.shape
    k = nu + 1
    counts = np.empty((nu, k), dtype=np.int64)
    for u in range(nu):
        counts[u] = np.bincount(r[u], minlength=k)[:k]
    valid = counts[:, 1:]
    n_valid = valid.sum(axis=1)
    cum = np.cumsum(valid, axis=1)  # cum[u, j] = ranks <= j + 1
    out = np.full((len(qs), nu), np.nan)
    has = n_valid > 0

    def at(pos: np.ndarray) -> np.ndarray:  # the pos-th smallest rank (0-based) of each unit
        return (cum <= pos[:, None]).sum(axis=1) + 1.0

    for i, q in enumerate(qs):
        h = (np.maximum(n_valid, 1) - 1) * float(q)
        j = np.floor(h).astype(np.int64)
        lo = at(j)
        hi = at(np.minimum(j + 1, np.maximum(n_valid, 1) - 1))
        out[i] = np.where(has, lo + (h - j) * (hi - lo), np.nan)
    values = np.arange(1.0, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = (valid * np.abs(values[None, :] - nominal[:, None])).sum(axis=1) / n_valid
    shift = np.where(has & np.isfinite(nominal), shift, np.nan)
    return out, shift, n_valid


def _rank_stats_sorted(r: np.ndarray, nominal: np.ndarray, qs: tuple[float, ...]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same by a radix sort of each unit's ranks (large U, where counts would be U x U)."""
    nu, m = r.shape
    out = np.full((len(qs), nu), np.nan)
    shift = np.full(nu, np.nan)
    n_valid = np.zeros(nu, dtype=np.int64)
    step = max(1, _BLOCK_BYTES // max(m * 8, 1))
    for u0 in range(0, nu, step):
        blk = slice(u0, min(nu, u0 + step))
        srt = np.sort(r[blk], axis=-1, kind="stable")  # small integers: radix sort; 0 sorts first
        missing = (srt == 0).sum(axis=-1)
        nv = m - missing
        out[:, blk] = sorted_quantiles(srt, qs, n_valid=nv, start=missing)
        nom = nominal[blk]
        with np.errstate(invalid="ignore", divide="ignore"):
            total = np.abs(srt.astype(np.float64) - nom[:, None]).sum(axis=-1) - missing * np.abs(nom)
            shift[blk] = np.where((nv > 0) & np.isfinite(nom), total / nv, np.nan)
        n_valid[blk] = nv
    return out, shift, n_valid


def _score_quantiles(s: np.ndarray, qs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Type-7 quantiles of every unit's scores (U, m): one sort per block of units."""
    nu, m = s.shape
    out = np.full((len(qs), nu), np.nan)
    n_valid = np.zeros(nu, dtype=np.int64)
    step = max(1, _BLOCK_BYTES // max(m * s.itemsize, 1))
    for u0 in range(0, nu, step):
        blk = slice(u0, min(nu, u0 + step))
        srt = np.sort(s[blk], axis=-1)  # NaN sorts last
        nv = m - np.isnan(srt).sum(axis=-1)
        out[:, blk] = sorted_quantiles(srt, qs, n_valid=nv)
        n_valid[blk] = nv
    return out, n_valid


def _target_stats(reps: Replications, t: int, ok: np.ndarray | None, quantiles: tuple[float, float]
                  ) -> dict[str, np.ndarray]:
    lo, hi = quantiles
    r_all = reps.rank_store[t]  # (units, n): each unit's replications contiguous
    s_all = reps.score_store[t]
    if ok is not None:  # copy only the successful replications, and only when something failed
        r_all, s_all = r_all[:, ok], s_all[:, ok]
    nu, m = r_all.shape
    out: dict[str, np.ndarray] = {}
    if m == 0:
        for k in ("rank_low", "rank_q50", "rank_high", "mean_abs_rank_shift",
                  "score_low", "score_q25", "score_q50", "score_q75", "score_high"):
            out[k] = np.full(nu, np.nan)
        out["n"] = np.zeros(nu, dtype=np.int64)
        return out
    nominal = reps.nominal_ranks[:, t]
    stats = _rank_stats_counts if nu <= _COUNT_UNITS else _rank_stats_sorted
    rq, shift, _ = stats(r_all, nominal, (lo, 0.5, hi))
    out["rank_low"], out["rank_q50"], out["rank_high"] = rq
    out["mean_abs_rank_shift"] = shift
    sq, n_scores = _score_quantiles(s_all, (lo, 0.25, 0.5, 0.75, hi))
    for k, name in enumerate(("score_low", "score_q25", "score_q50", "score_q75", "score_high")):
        out[name] = sq[k]
    out["n"] = n_scores
    return out


def rank_intervals(reps: Replications, *, quantiles: tuple[float, float] = (0.05, 0.95),
                   threads: int | None = None) -> pd.DataFrame:
    """Per unit and code: nominal rank and score, median rank, rank interval, score quantiles.

    Quantiles use numpy's default (linear) rule over the successful replications in which the
    unit has a score. The targets are summarised side by side on ``threads`` threads (default
    as :func:`~pmm_lib.uncertainty.engine.evaluate`: one per core for large designs); the
    numbers do not depend on it.

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
    n_threads = min(threads_for(threads, len(reps.failed)), max(1, len(reps.targets)))
    if n_threads > 1:  # one target per thread: sorts and partitions release the GIL
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="pmm-summaries") as pool:
            stats = list(pool.map(lambda t: _target_stats(reps, t, ok, quantiles), range(len(reps.targets))))
    else:
        stats = [_target_stats(reps, t, ok, quantiles) for t in range(len(reps.targets))]
    frames = []
    for t, code in enumerate(reps.targets):
        st = stats[t]
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
                         build_options: Mapping[str, Any] | None = None,
                         keep_replications: bool = True, threads: int | None = None) -> UncertaintyResult:
    """Monte Carlo uncertainty analysis over all assumptions together.

    Draws ``n_samples`` replications (every varied assumption independently and uniformly over
    its alternatives, weights perturbed by the declared noise), evaluates them with
    :func:`pmm_lib.uncertainty.engine.evaluate` and summarises ranks and scores per unit
    (Saisana et al. 2005, doi:10.1111/j.1467-985X.2005.00350.x).

    With ``keep_replications=False`` only the summaries are kept: the design is evaluated one
    target at a time (the normalised matrices are computed once and reused), so memory holds
    one target's replications (6 bytes per unit and replication) instead of all of them, and
    ``.replications`` is None. The numbers are the same. ``threads`` is passed to
    :func:`~pmm_lib.uncertainty.engine.evaluate` (default: one per core for large designs).

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
    kw = {"chunk_size": chunk_size, "progress": progress, "max_failed_share": max_failed_share, "_prep": prep,
          "threads": threads}
    parts: list[tuple[tuple[str, ...], np.ndarray, pd.DataFrame]] = []  # (targets, failed, rank intervals)
    reps: Replications | None = None
    if keep_replications:
        reps = evaluate(data, meta, problem, design, targets=targets, **kw)
        parts.append((reps.targets, reps.failed, rank_intervals(reps, threads=threads)))
    else:  # one target at a time: memory of one target's replications (the matrices stay cached)
        for code in tuple(targets) if targets is not None else default_targets(prep.hierarchy):
            one = evaluate(data, meta, problem, design, targets=(code,), **kw)
            parts.append((one.targets, one.failed, rank_intervals(one, threads=threads)))
            del one  # nothing else refers to it: its stores are freed before the next target
    ri = pd.concat([p[2] for p in parts], ignore_index=True)
    rows = []
    for codes, failed, sub_ri in parts:
        for code in codes:
            sub = sub_ri[sub_ri["code"] == code]
            weights = sub["n"].to_numpy()
            shift = sub["mean_abs_rank_shift"].to_numpy()
            keep = np.isfinite(shift) & (weights > 0)
            mean_shift = float((shift[keep] * weights[keep]).sum() / weights[keep].sum()) if keep.any() else np.nan
            rows.append({"code": code, "mean_abs_rank_shift": mean_shift,
                         "max_rank_range": float((sub["rank_high"] - sub["rank_low"]).max()),
                         "n": int((~failed).sum()), "n_failed": int(failed.sum())})
    return UncertaintyResult(ri, pd.DataFrame(rows), reps)
