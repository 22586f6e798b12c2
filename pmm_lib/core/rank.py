"""Ranking: the one function that turns scores into ranks (1 = best), and sort-based quantiles.

:func:`rank_desc` is used by :func:`pmm_lib.core.build.build` (ranks at every level), the
weighting comparisons, the Monte Carlo engine and the workshop. Ties share the lowest rank
(``"min"``, the competition ranking that league tables use), and a missing score has no rank.
:func:`sorted_quantiles` gives numpy's default (linear) quantiles of many series at once from
one sort along the last axis, the fast path for rank intervals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["rank_desc", "rank_desc_int", "sorted_quantiles"]


def rank_desc(scores: np.ndarray) -> np.ndarray:
    """Rank along the last axis, 1 = highest, ties share the lowest rank ('min'); NaN stays NaN.

    Same as ``pandas.Series.rank(ascending=False, method="min")`` row by row, in
    O(n log n) per row and vectorised over the leading axes.

    Parameters
    ----------
    scores : array_like (..., n)

    Returns
    -------
    ndarray of float, same shape

    >>> rank_desc(np.array([[3.0, 1.0, 3.0, np.nan, 2.0]]))
    array([[ 1.,  4.,  1., nan,  3.]])
    """
    v = np.asarray(scores, dtype=float)
    n = v.shape[-1] if v.ndim else 1
    r = rank_desc_int(v.reshape(-1, n), np.int64).astype(float)
    r[r == 0] = np.nan
    return r.reshape(v.shape)


def rank_desc_int(scores: np.ndarray, dtype: type[np.integer] = np.int32) -> np.ndarray:
    """:func:`rank_desc` as small integers, 0 where the score is missing (compact storage).

    The same ranks (1 = highest, ties share the lowest rank), computed row by row along the
    last axis of a 2-D array, written straight into ``dtype``.

    >>> rank_desc_int(np.array([[3.0, 1.0, 3.0, np.nan, 2.0]]), np.int16)
    array([[1, 4, 1, 0, 3]], dtype=int16)
    """
    x = np.asarray(scores, dtype=float)
    if x.ndim == 1:
        return rank_desc_int(x[None, :], dtype)[0]
    rows_n, n = x.shape
    if n >= np.iinfo(dtype).max:
        raise ValueError(f"{n} units do not fit ranks of type {np.dtype(dtype).name}")
    step = max(1, (1 << 16) // max(n, 1))  # blocks of rows: temporaries stay in cache
    if rows_n > step:
        out = np.empty((rows_n, n), dtype=dtype)
        for i in range(0, rows_n, step):
            out[i:i + step] = _rank_int_block(x[i:i + step], dtype)
        return out
    return _rank_int_block(x, dtype)


def _rank_int_block(x: np.ndarray, dtype: type[np.integer]) -> np.ndarray:
    rows_n, n = x.shape
    missing = np.isnan(x)
    any_missing = bool(missing.any())
    key = np.where(missing, np.inf, -x) if any_missing else -x
    order = np.argsort(key, axis=-1)
    idx = (order + (np.arange(rows_n) * n)[:, None]).ravel()  # flat positions, sorted per row
    srt = key.ravel()[idx].reshape(rows_n, n)
    pos = np.broadcast_to(np.arange(1, n + 1, dtype=dtype), (rows_n, n))
    tie = srt[:, 1:] == srt[:, :-1]
    if any_missing:
        tie &= np.isfinite(srt[:, 1:])
    rows = np.flatnonzero(tie.any(axis=1))
    if rows.size or any_missing:
        pos = pos.copy()
    if rows.size:
        new = np.ones((rows.size, n), dtype=bool)
        new[:, 1:] = ~tie[rows]
        pos[rows] = (np.maximum.accumulate(np.where(new, np.arange(n), 0), axis=1) + 1).astype(dtype)
    if any_missing:
        pos[np.isinf(srt) & (srt > 0)] = 0
    out = np.empty(rows_n * n, dtype=dtype)
    out[idx] = pos.ravel()
    return out.reshape(rows_n, n)


def sorted_quantiles(sorted_values: np.ndarray, qs: Sequence[float], n_valid: np.ndarray | None = None,
                     start: np.ndarray | None = None) -> np.ndarray:
    """Quantiles ``qs`` of series already sorted along the last axis (numpy's 'linear' rule).

    For a series of ``n`` valid values :math:`x_{(0)} \\le \\dots \\le x_{(n-1)}` the quantile
    ``q`` is :math:`x_{(j)} + g\\,(x_{(j+1)} - x_{(j)})` with :math:`h = (n - 1) q`,
    :math:`j = \\lfloor h \\rfloor`, :math:`g = h - j` (Hyndman & Fan 1996, type 7; numpy's
    default), so ``np.quantile`` of the same data agrees to rounding.

    Parameters
    ----------
    sorted_values : ndarray (..., m)
        Sorted along the last axis.
    qs : sequence of float in [0, 1]
    n_valid : ndarray (...), optional
        Valid values per series (default ``m``); the valid ones occupy positions
        ``start .. start + n_valid - 1``. Series with no valid value give NaN.
    start : ndarray (...), optional
        First valid position per series (default 0; e.g. the count of missing values sorted first).

    Returns
    -------
    ndarray (len(qs), ...)

    >>> x = np.sort(np.array([[4.0, 1.0, 3.0, 2.0]]), axis=-1)
    >>> sorted_quantiles(x, [0.05, 0.5, 0.95])[:, 0].tolist() == np.quantile([4, 1, 3, 2], [0.05, 0.5, 0.95]).tolist()
    True
    """
    v = np.asarray(sorted_values)
    m = v.shape[-1]
    lead = v.shape[:-1]
    n = np.full(lead, m, dtype=np.int64) if n_valid is None else np.asarray(n_valid, dtype=np.int64)
    s0 = np.zeros(lead, dtype=np.int64) if start is None else np.asarray(start, dtype=np.int64)
    out = np.empty((len(qs), *lead))
    empty = n <= 0
    for k, q in enumerate(qs):
        h = (np.maximum(n, 1) - 1) * float(q)
        j = np.floor(h).astype(np.int64)
        g = h - j
        lo_idx = np.minimum(s0 + j, m - 1)  # a series with no valid value (start = m) stays in bounds
        lo = np.take_along_axis(v, lo_idx[..., None], axis=-1)[..., 0].astype(float)
        hi_idx = np.minimum(np.minimum(s0 + j + 1, s0 + np.maximum(n, 1) - 1), m - 1)
        hi = np.take_along_axis(v, hi_idx[..., None], axis=-1)[..., 0].astype(float)
        val = lo + g * (hi - lo)
        out[k] = np.where(empty, np.nan, val)
    return out
