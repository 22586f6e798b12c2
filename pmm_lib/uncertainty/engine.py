"""The Monte Carlo replication engine: every replication of a design, evaluated with the method core.

:func:`evaluate` groups the samples of a design by their distinct discrete combination
(imputation, treatment, normalisation and, when it can change other indicators, the excluded
indicator). Each group's normalised matrix comes from :class:`pmm_lib.core.build.Pipeline`,
the same cached stages ``build()`` runs (a shared stage prefix is computed once), and the
weights of all the group's samples are then aggregated at once by the one kernel,
:func:`pmm_lib.core.aggregate.aggregate_tree`. The kernel is structure-aware: a level whose
weights never vary (e.g. indicator weights when only dimension weights are noisy) is
aggregated once per group and shared by every sample. Ranks come from
:func:`pmm_lib.core.rank.rank_desc`, once per shared level rather than per sample.

Storage is compact: scores as float32 (``score_dtype``), ranks as int16 (int32 above 32,767
units), target-major, so 10,000 units x 10,000 replications of one target need 0.6 GB rather
than 1.6 GB; the summaries (:mod:`pmm_lib.uncertainty.summaries`) read them without copies
when nothing failed.

May import: :mod:`pmm_lib.core`, :mod:`pmm_lib.uncertainty.problem`,
:mod:`pmm_lib.uncertainty.design` and the top-level helpers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pmm_lib.core.aggregate import aggregate_tree
from pmm_lib.core.hierarchy import Hierarchy
from pmm_lib.core.rank import rank_desc, rank_desc_int
from pmm_lib.errors import RunError, SpecError
from pmm_lib.uncertainty.design import (
    Prepared,
    SampleDesign,
    alternative,
    design_choices,
    prepare,
    sample_weights,
)
from pmm_lib.uncertainty.problem import UncertaintyProblem

__all__ = ["Replications", "default_targets", "evaluate"]

#: imputation methods that work column by column (excluding an indicator does not change others)
_COLUMNWISE_IMPUTE = frozenset({"none", "mean", "median", "group_mean", "group_median"})


@dataclass(frozen=True, eq=False)
class Replications:
    """Scores and ranks of every replication for the tracked codes (compact, target-major).

    Attributes
    ----------
    units : Index
        Unit codes.
    targets : tuple of str
        Tracked codes.
    score_store : ndarray (targets, units, n)
        Scores (``score_dtype`` of :func:`evaluate`, float32 by default); NaN where a unit has
        no score or the replication failed. Unit-major, so a unit's replications are contiguous
        for the summaries.
    rank_store : ndarray of int (targets, units, n)
        Ranks (1 = best, ties 'min'); 0 where there is no rank.
    failed : ndarray of bool (n,)
        Replications whose build raised.
    failures : DataFrame
        One row per failed group: ``group, n, error``.
    design : SampleDesign
        The design that produced them.
    nominal_scores, nominal_ranks : ndarray (units, targets)
        The nominal index (``problem.base``), float64.
    seconds : float
        Wall time of the evaluation.
    n_groups : int
        Distinct discrete combinations (normalised matrices computed).
    """

    units: pd.Index
    targets: tuple[str, ...]
    score_store: np.ndarray
    rank_store: np.ndarray
    failed: np.ndarray
    failures: pd.DataFrame
    design: SampleDesign
    nominal_scores: np.ndarray
    nominal_ranks: np.ndarray
    seconds: float
    n_groups: int

    @property
    def n(self) -> int:
        """Number of replications."""
        return int(self.score_store.shape[2])

    @property
    def scores(self) -> np.ndarray:
        """Scores as ``(n, units, targets)`` (a view of :attr:`score_store`, no copy)."""
        return self.score_store.transpose(2, 1, 0)

    @property
    def ranks(self) -> np.ndarray:
        """Ranks as float ``(n, units, targets)`` with NaN for no rank (materialised on each access)."""
        return self.rank_rows(slice(None))

    def rank_rows(self, rows: Any) -> np.ndarray:
        """Float ranks ``(len(rows), units, targets)`` of some replications (NaN = no rank)."""
        r = self.rank_store[:, :, rows].astype(float)
        r[r == 0] = np.nan
        return r.transpose(2, 1, 0)

    def to_long(self) -> pd.DataFrame:
        """Tidy frame: ``replication, unit, code, score, rank`` (failed replications dropped)."""
        u, t = len(self.units), len(self.targets)
        keep = np.flatnonzero(~self.failed)
        rep = np.repeat(keep, u * t)
        unit = np.tile(np.repeat(np.asarray(self.units), t), len(keep))
        code = np.tile(np.asarray(self.targets), len(keep) * u)
        return pd.DataFrame({"replication": rep, "unit": unit, "code": code,
                             "score": self.scores[keep].astype(float).ravel(),
                             "rank": self.rank_rows(keep).ravel()})


def default_targets(hierarchy: Hierarchy) -> tuple[str, ...]:
    """The top node and its children (e.g. the index and its dimensions)."""
    return (hierarchy.top, *hierarchy.children[hierarchy.top])


def _rank_dtype(n_units: int) -> type[np.integer]:
    return np.int16 if n_units <= np.iinfo(np.int16).max else np.int32


def _int_ranks(scores: np.ndarray, dtype: type[np.integer]) -> np.ndarray:
    return rank_desc_int(scores, dtype)


def evaluate(data: pd.DataFrame, meta: pd.DataFrame, problem: UncertaintyProblem,
             design: SampleDesign, *, targets: Sequence[str] | None = None,
             chunk_size: int | None = None, progress: bool = False, max_failed_share: float = 0.05,
             score_dtype: type[np.floating] | np.dtype = np.float32,
             build_options: Mapping[str, Any] | None = None, threads: int | None = None,
             _prep: Prepared | None = None) -> Replications:
    """Evaluate every replication of ``design`` with the method core, in batches.

    Samples are grouped by their distinct (imputation, treatment, normalisation[, exclusion])
    combination; each group's normalised matrix is
    ``Pipeline.stage("normalised", spec)`` (the stages of :func:`pmm_lib.core.build.build`,
    shared prefixes cached). Within a group and aggregation alternative, the weights of all
    samples (rows ``W``) go through :func:`pmm_lib.core.aggregate.aggregate_tree` at once: for
    each level, with ``A`` the parent incidence and ``M`` the mask of present children,

        Y[s, u, p] = t^-1( sum_c t(X[u, c]) W[s, c] A[p, c] / sum_c M[u, c] W[s, c] A[p, c] )

    (``t`` = identity, log or reciprocal for the arithmetic, geometric and harmonic means),
    NaN where the present children carry less than ``min_coverage`` of the weight; levels with
    fixed weights are computed once. Excluding an indicator sets its weight to 0; when that
    could change other indicators (multivariate imputation, unit screening) the exclusion is
    part of the group key and its pipeline drops the indicator instead.

    Parameters
    ----------
    targets : sequence of str, optional
        Codes to track (default: the top node and its children, e.g. index and dimensions).
    chunk_size : int, optional
        Samples evaluated together. Default: as many as keep one level's values (units x
        children x samples x 8 bytes) near 32 MB over all the batches in flight.
    progress : bool
        Show a tqdm progress bar over samples.
    max_failed_share : float
        Raise :class:`~pmm_lib.errors.RunError` when more than this share of replications fail.
    score_dtype : numpy float type
        Storage of the scores (float32 by default: 7 significant digits, half the memory;
        float64 keeps every bit of the kernel's result).
    build_options : mapping, optional
        Passed to :class:`~pmm_lib.core.build.Pipeline` as :func:`~pmm_lib.core.build.build`
        takes them (``groups``, ``denominators``, ``panel``, ``cycle``, ``seed``).
    threads : int, optional
        Threads evaluating batches side by side (numpy releases the GIL in the kernel's
        products and sorts; BLAS itself stays on one thread). Default: one per available core
        (at most 4) for designs of at least :data:`THREADS_FROM` samples, else 1. The numbers
        and the order of the failures do not depend on it: every batch writes its own
        replications.

    Returns
    -------
    Replications
    """
    t0 = time.perf_counter()
    prep = _prep or prepare(data, meta, problem, build_options)
    problem = prep.problem
    hier = prep.hierarchy
    targets = tuple(targets) if targets is not None else default_targets(hier)
    tlev = [(hier.level_of(t), hier.index_in_level(t)) for t in targets]
    if not 0.0 <= max_failed_share <= 1.0:
        raise SpecError(f"max_failed_share must be between 0 and 1, got {max_failed_share!r}")
    ch = design_choices(prep, design)
    n, nu, nt = design.n, len(prep.units), len(targets)
    rdt = _rank_dtype(nu)
    scores = np.full((nt, nu, n), np.nan, dtype=score_dtype)
    ranks = np.zeros((nt, nu, n), dtype=rdt)
    failed = np.zeros(n, dtype=bool)
    split_exclusion = not _exclusion_is_columnwise(problem)
    key_names = ["impute", "treat", "normalise"] + (["exclude"] if split_exclusion else [])
    uniq, inverse = _groups([ch[k] for k in key_names])
    n_threads = threads_for(threads, n)
    if chunk_size is None:  # per-sample temporaries are (samples, units, children of a varying level)
        varying_leaves = problem.exclude_kpis or 1 in problem.weight_noise or len(problem.weight_sets) > 1
        width = max([len(hier.level_codes[lv]) for lv in range(2, hier.n_levels)] or [1])
        width = max(width, len(hier.leaves) if varying_leaves else 1)
        # one budget of temporaries shared by the batches in flight (one per thread)
        chunk_size = int(min(8192, max(64 // n_threads, 32e6 // (8 * max(nu, 1) * width * n_threads))))
    n1 = len(hier.leaves)
    excl_idx = np.array([-1 if c is None else hier.leaves.index(c) for c in prep.exclude_codes])
    b = problem.base
    # failures in program order: a group's own, then each batch's (filled by whichever thread ran it)
    fail_slots: list[list[dict[str, Any]]] = []
    pending: list[tuple[int, Any]] = []
    pool = None
    if n_threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="pmm-engine")
    with _progress(progress, n) as bar, _single_blas_thread(), pool or contextlib.nullcontext():
        # a stable sort of small integers is a radix sort in numpy
        order = np.argsort(inverse.astype(np.uint8 if len(uniq) <= 256 else np.intp), kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
        for g, key in enumerate(uniq):
            rows_g = order[bounds[g]:bounds[g + 1]]
            kd = dict(zip(key_names, key.tolist(), strict=True))
            spec = dataclasses.replace(b, impute=alternative(problem.impute, kd["impute"], b.impute),
                                       treat=alternative(problem.treat, kd["treat"], b.treat),
                                       normalise=alternative(problem.normalise, kd["normalise"], b.normalise))
            try:
                pipe = prep.pipeline_without(prep.exclude_codes[kd["exclude"]] if "exclude" in kd else None)
                x1 = (pipe.stage("normalised", spec).reindex(index=prep.units, columns=list(hier.leaves))
                      .to_numpy(dtype=float))
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                failed[rows_g] = True
                fail_slots.append([{"group": _group_label(prep, kd), "n": len(rows_g),
                                    "error": f"{type(exc).__name__}: {exc}"}])
                bar.update(len(rows_g))
                continue
            agg_choice = ch["aggregate"][rows_g]
            for a in np.unique(agg_choice):
                rows_a = rows_g[agg_choice == a]
                methods = prep.base_methods if not problem.aggregate else (problem.aggregate[a],) * (hier.n_levels - 1)
                for start in range(0, len(rows_a), chunk_size):
                    rows = rows_a[start:start + chunk_size]
                    fail_slots.append([])
                    args = (prep, design, ch, rows, x1, methods, tlev, excl_idx, n1, scores, ranks,
                            failed, fail_slots[-1], _group_label(prep, kd), rdt)
                    if pool is None:
                        _evaluate_chunk(*args)
                        bar.update(len(rows))
                    else:  # batches write disjoint replications (columns) of scores and ranks
                        pending.append((len(rows), pool.submit(_evaluate_chunk, *args)))
        for size, future in pending:  # in submission order; the first error is raised
            future.result()
            bar.update(size)
    fail_rows = [row for slot in fail_slots for row in slot]
    share = failed.mean() if n else 0.0
    failures = pd.DataFrame(fail_rows, columns=["group", "n", "error"])
    if share > max_failed_share:
        raise RunError(f"{failed.sum()} of {n} replications failed ({share:.1%} > max_failed_share "
                       f"{max_failed_share:.1%}); first error: {failures['error'].iloc[0]}")
    nominal_scores = prep.nominal.aggregated.reindex(index=prep.units, columns=list(targets)).to_numpy(dtype=float)
    nominal_ranks = rank_desc(nominal_scores.T).T
    return Replications(prep.units, targets, scores, ranks, failed, failures, design,
                        nominal_scores, nominal_ranks, time.perf_counter() - t0, len(uniq))


def _evaluate_chunk(prep: Prepared, design: SampleDesign, ch: dict[str, np.ndarray], rows: np.ndarray,
                    x1: np.ndarray, methods: tuple[str, ...], tlev: list[tuple[int, int]],
                    excl_idx: np.ndarray, n1: int, scores: np.ndarray, ranks: np.ndarray,
                    failed: np.ndarray, fail_rows: list[dict[str, Any]], label: str,
                    rdt: type[np.integer]) -> None:
    """One batch of samples of one group and aggregation: kernel, scores, ranks, failures."""
    s = len(rows)
    w = sample_weights(prep, design, ch, rows)
    ex = excl_idx[ch["exclude"][rows]]
    include = None
    if (ex >= 0).any():
        w = w.copy()
        hit = np.flatnonzero(ex >= 0)
        w[hit, ex[hit]] = 0.0
        include = np.ones((s, n1), dtype=bool)
        include[hit, ex[hit]] = False
    levels, domain = aggregate_tree(x1, prep.hierarchy, w, methods, min_coverage=prep.coverage,
                                    on_domain_error="flag")
    if domain.any():
        failed[rows[domain]] = True
        fail_rows.append({"group": label + f"; aggregate={methods[0]}", "n": int(domain.sum()),
                          "error": f"InputError: the {methods[0]} mean needs values > 0"})
    for t, (lv, j) in enumerate(tlev):
        v = levels[lv][..., j]  # (U,) when shared by every sample, else (S, U)
        if lv == 1 and include is not None:
            v = np.where(include[:, j:j + 1], v[None, :], np.nan)
        if v.ndim == 1 and not domain.any():  # structure-aware: one score vector, one ranking
            scores[t][:, rows] = v[:, None]
            ranks[t][:, rows] = _int_ranks(v, rdt)[:, None]
            continue
        v = np.broadcast_to(v, (s, v.shape[-1]))
        if domain.any():
            v = np.where(domain[:, None], np.nan, v)
        scores[t][:, rows] = v.T
        ranks[t][:, rows] = _int_ranks(v, rdt).T


@contextlib.contextmanager
def _progress(on: bool, total: int) -> Iterator[Any]:
    if not on:
        class _Null:
            def update(self, _n: int) -> None:
                return None

        yield _Null()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="replications", unit="rep")
    try:
        yield bar
    finally:
        bar.close()


def _groups(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the choice columns and each sample's row: ``np.unique(axis=0,
    return_inverse=True)`` of the stacked columns, computed on one mixed-radix integer code
    (lexicographic order is kept), which is ~10x faster than sorting rows."""
    dims = [int(c.max()) + 1 if len(c) else 1 for c in columns]
    code = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
    for c, d in zip(columns, dims, strict=True):
        code = code * d + c
    codes, inverse = np.unique(code, return_inverse=True)
    uniq = np.stack(np.unravel_index(codes, dims), axis=1) if columns else np.zeros((len(codes), 0), np.intp)
    return uniq, inverse.ravel()


#: designs smaller than this are evaluated on one thread (the hand-off costs more than it gains)
THREADS_FROM = 4096


def threads_for(threads: int | None, n: int) -> int:
    """Threads for :func:`evaluate`: ``threads`` if given, else one per available core (<= 4)."""
    if threads is not None:
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise SpecError(f"threads must be a positive int, got {threads!r}")
        return threads
    if n < THREADS_FROM:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _single_blas_thread() -> Any:
    """Limit BLAS to one thread: the kernel's many small products lose more to thread
    hand-offs than they gain, especially on a shared machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional speed-up
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _exclusion_is_columnwise(problem: UncertaintyProblem) -> bool:
    """True when dropping one indicator cannot change the others' normalised values."""
    if not problem.exclude_kpis:
        return True
    imputes = problem.impute or (problem.base.impute,)
    if any(str(i.method) not in _COLUMNWISE_IMPUTE for i in imputes):
        return False
    return not float(problem.base.screen.min_coverage or 0.0) > 0


def _group_label(prep: Prepared, kd: Mapping[str, int]) -> str:
    p = prep.problem
    parts = []
    for name in ("impute", "treat", "normalise"):
        alts = getattr(p, name)
        if alts:
            parts.append(f"{name}={alts[kd[name]]!r}")
    if "exclude" in kd:
        parts.append(f"exclude={prep.exclude_codes[kd['exclude']]}")
    return "; ".join(parts) or "base"
