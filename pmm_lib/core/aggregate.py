"""Aggregation: combining normalised indicators into aggregates up the framework hierarchy.

This module owns every aggregation rule of the method core and the one function that walks
the hierarchy (:func:`aggregate_hierarchy`). The leaf rules work on plain NumPy arrays so
the uncertainty engine can evaluate thousands of weight vectors at once:

* ``values`` is ``units × k`` (``NaN`` = missing);
* ``weights`` is a length-``k`` vector, or ``s × k`` (one weight vector per sample), in which
  case the result is ``s × units`` instead of ``units``.

Missing values are handled by re-weighting over the children that are present (the weights
of the available children are re-normalised to sum to one, COINr's default). ``min_coverage``
sets a result to ``NaN`` when the share of the total weight that is available is below it.

Compensatory rules: :func:`arithmetic`, :func:`geometric`, :func:`harmonic`,
:func:`generalised` (the power mean, which contains the first three). Non-compensatory rules:
:func:`copeland` (pairwise weighted majority), :func:`bod` (benefit of the doubt) and the
graded rules :func:`m1` (weakest link) and :func:`m2` (PEFA averaging) applied to
:func:`grades`.

References
----------
OECD/JRC (2008). *Handbook on Constructing Composite Indicators: Methodology and User
Guide*. OECD Publishing, Paris. doi:10.1787/9789264043466-en.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from pmm_lib.core.hierarchy import Hierarchy, compile_hierarchy
from pmm_lib.errors import InputError, SpecError
from pmm_lib.vocab import AGGREGATE_METHODS, AggregateMethod

__all__ = [
    "AggregationMethod",
    "AGGREGATION_METHODS",
    "GRADES",
    "GRADE_POINTS",
    "M2_TABLE",
    "POWER_OF",
    "aggregate_hierarchy",
    "aggregate_level",
    "aggregate_tree",
    "arithmetic",
    "bod",
    "bod_scores",
    "copeland",
    "generalised",
    "geometric",
    "grade_points",
    "grades",
    "harmonic",
    "m1",
    "m2",
    "points_to_grade",
]

#: Names accepted by :func:`aggregate_hierarchy` (``method=``); declared in :mod:`pmm_lib.vocab`.
AggregationMethod = AggregateMethod
AGGREGATION_METHODS: tuple[str, ...] = AGGREGATE_METHODS

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _as_values(values: object) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2:
        raise InputError(f"values must be a units × indicators array, got {v.ndim} dimensions",
                         expected="a 2-D array")
    return v


def _as_weights(weights: object, k: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if w.ndim not in (1, 2) or w.shape[-1] != k:
        raise SpecError(f"weights must have length {k} (one per indicator) or shape (samples, {k}); "
                        f"got shape {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise SpecError("weights must be finite and non-negative")
    return w


def _check_coverage(min_coverage: float) -> None:
    if not 0.0 <= min_coverage <= 1.0:
        raise SpecError(f"min_coverage must be between 0 and 1, got {min_coverage!r}")


def _require_positive(v: np.ndarray, codes: Sequence[str] | None, rule: str,
                      strict: bool = True) -> None:
    bad = (v <= 0) if strict else (v < 0)
    bad &= np.isfinite(v)
    if bad.any():
        cols = np.flatnonzero(bad.any(axis=0))
        names = [str(codes[c]) if codes is not None else f"column {c}" for c in cols]
        sign = "> 0" if strict else ">= 0"
        raise InputError(
            f"the {rule} needs values {sign}; offending indicator(s): {', '.join(names)} "
            f"(minimum {np.nanmin(v[:, cols]):.6g}). Normalise to a strictly positive range "
            f"first, e.g. min-max to [1, 100]",
            column=names[0], expected=f"values {sign}",
        )


# ---------------------------------------------------------------------------------------------
# the batch kernel: weighted power means over (samples x) units x children
# ---------------------------------------------------------------------------------------------

#: Power ``r`` of each weighted power mean (``"generalised"`` takes its own ``p``).
POWER_OF: Mapping[str, float] = {"arithmetic": 1.0, "geometric": 0.0, "harmonic": -1.0}


def aggregate_level(values: np.ndarray, weights: np.ndarray, incidence: np.ndarray, r: float, *,
                    min_coverage: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""The aggregation kernel: weighted power means of children for many units and samples at once.

    For parent :math:`p`, unit :math:`u`, sample :math:`s`, children :math:`c` with
    incidence :math:`A_{pc} \in \{0, 1\}`, weights :math:`w_{sc} \ge 0` and present values
    :math:`x_{suc}` (mask :math:`m_{suc}`):

    .. math::
        y_{sup} = t_r^{-1}\left(\frac{\sum_c t_r(x_{suc})\, m_{suc} w_{sc} A_{pc}}
                                     {\sum_c m_{suc} w_{sc} A_{pc}}\right),
        \qquad t_r(x) = x^r \;(r \ne 0), \quad t_0(x) = \ln x,

    so ``r = 1`` is the arithmetic, ``r = 0`` the geometric and ``r = -1`` the harmonic mean
    (Hardy, Littlewood & Pólya 1952, ch. 2). Missing children are skipped and the weights of
    the present ones re-normalised (COINr's default); :math:`y` is ``NaN`` when the present
    children carry no weight or less than ``min_coverage`` of the parent's total weight
    :math:`\sum_c w_{sc} A_{pc}`. Each level is one elementwise product and one matrix product
    with :math:`A^\top`, so the work is proportional to samples x units x children.

    Parameters
    ----------
    values : ndarray
        ``(U, c)`` (the same for every sample) or ``(S, U, c)``; ``NaN`` = missing.
    weights : ndarray
        ``(c,)`` (the same for every sample) or ``(S, c)``; finite and >= 0 (not checked here:
        the callers validate once).
    incidence : ndarray
        ``(P, c)`` 0/1 parent-child matrix (:attr:`pmm_lib.core.hierarchy.Hierarchy.incidence`).
    r : float
        The power (see :data:`POWER_OF`).
    min_coverage : float
        Minimum share of a parent's weight that must be present.

    Returns
    -------
    y : ndarray
        ``(U, P)`` when values and weights are both shared, else ``(S, U, P)``.
    domain_error : ndarray of bool
        ``()`` or ``(S,)``: True where a weighted, present child value lies outside the domain
        of the mean (``<= 0`` for ``r <= 0``, ``< 0`` for ``r > 0`` other than 1); those
        results are meaningless and the caller must reject them.

    Examples
    --------
    Two units, three children under two parents, two weight samples:

    >>> x = np.array([[1.0, 3.0, 5.0], [2.0, np.nan, 4.0]])
    >>> a = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> y, bad = aggregate_level(x, np.array([[1.0, 1.0, 1.0], [1.0, 3.0, 1.0]]), a, 1.0)
    >>> y[:, :, 0]
    array([[2. , 2. ],
           [2.5, 2. ]])
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    a = np.asarray(incidence, dtype=float)
    nan = np.isnan(v)
    any_missing = bool(nan.any())
    outside = None
    if r == 1.0:
        t = np.where(nan, 0.0, v) if any_missing else v
    else:
        with np.errstate(invalid="ignore"):
            off = (v <= 0) if r <= 0 else (v < 0)  # NaN compares False
        if off.any():
            outside = off
        skip = (nan | off) if outside is not None else (nan if any_missing else None)
        base = np.where(skip, 1.0, v) if skip is not None else v
        with np.errstate(over="ignore", divide="ignore"):
            t = np.log(base) if r == 0.0 else base ** r
        if skip is not None and r != 0.0:
            t = np.where(skip, 0.0, t)
    pres = (~nan).astype(float) if any_missing else None
    num = _weighted_sums(t, w, a)
    den = _weighted_sums(pres, w, a) if pres is not None else None
    batched = w.ndim == 2 or v.ndim == 3
    total = (w @ a.T)[..., None, :]  # (1, P) or (S, 1, P)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if den is None:
            y = np.divide(num, total, out=num if num.flags.writeable and num.dtype == float else None)
            bad = total <= 0
        else:
            y = num / den
            bad = den <= 0
            if min_coverage > 0:
                bad = bad | (den < (min_coverage - 1e-12) * total)
        if r == 0.0:
            np.exp(y, out=y)
        elif r != 1.0:
            y = y ** (1.0 / r)
    if bad.any():
        y = np.where(bad, np.nan, y)
    if outside is None:
        n_s = max(w.shape[0] if w.ndim == 2 else 1, v.shape[0] if v.ndim == 3 else 1)
        domain = np.zeros(n_s, dtype=bool) if batched else np.asarray(False)
    else:
        domain = (outside.any(axis=-2) & (w > 0)).any(axis=-1)
    return y, domain


def _weighted_sums(t: np.ndarray, w: np.ndarray, a: np.ndarray) -> np.ndarray:
    """sum_c t[.., u, c] w[.., c] A[p, c] for the four shapes of (values, weights)."""
    if w.ndim == 1:  # shared weights: one product with the weighted incidence
        return t @ (a * w[None, :]).T
    if t.ndim == 2:  # shared values, a weight vector per sample: one GEMM per parent, (S, c_p) @ (c_p, U)
        out = np.empty((w.shape[0], t.shape[0], a.shape[0]))
        for p, row in enumerate(a):
            g = np.flatnonzero(row)
            out[:, :, p] = w[:, g] @ t[:, g].T
        return out
    return np.matmul(t, w[:, :, None] * a.T[None, :, :])  # batched (U, c) @ (c, P) per sample


def _power_mean(values: object, weights: object, r: float, min_coverage: float,
                codes: Sequence[str] | None, rule: str) -> np.ndarray:
    """One parent over all columns (the leaf rules below): (units,) or (samples, units)."""
    _check_coverage(min_coverage)
    v = _as_values(values)
    w = _as_weights(weights, v.shape[1])
    if r != 1.0:
        _require_positive(v, codes, rule, strict=r <= 0)
    y, _ = aggregate_level(v, w, np.ones((1, v.shape[1])), r, min_coverage=min_coverage)
    return y[..., 0]


# ---------------------------------------------------------------------------------------------
# compensatory means (one parent; all call the kernel)
# ---------------------------------------------------------------------------------------------


def arithmetic(values: np.ndarray, weights: np.ndarray, *, min_coverage: float = 0.0,
               codes: Sequence[str] | None = None) -> np.ndarray:
    r"""Weighted arithmetic mean, re-weighted over the available values.

    .. math:: y_u = \frac{\sum_{i \in A_u} w_i x_{ui}}{\sum_{i \in A_u} w_i}

    where :math:`A_u` is the set of indicators unit *u* reported.

    Parameters
    ----------
    values : array, units × k
        Normalised values; ``NaN`` is missing.
    weights : array, (k,) or (samples, k)
        Non-negative weights (need not sum to one).
    min_coverage : float
        Result is ``NaN`` when :math:`\sum_{A_u} w_i / \sum_i w_i` is below this.
    codes : sequence of str, optional
        Indicator codes, used only in error messages.

    Returns
    -------
    ndarray
        (units,) or (samples, units).

    References
    ----------
    OECD/JRC (2008), Handbook on Constructing Composite Indicators, section 6.2.
    doi:10.1787/9789264043466-en.

    Examples
    --------
    >>> arithmetic(np.array([[1.0, 3.0], [2.0, np.nan]]), np.array([1.0, 3.0]))
    array([2.5, 2. ])
    """
    return _power_mean(values, weights, 1.0, min_coverage, codes, "arithmetic mean")


def geometric(values: np.ndarray, weights: np.ndarray, *, min_coverage: float = 0.0,
              codes: Sequence[str] | None = None) -> np.ndarray:
    r"""Weighted geometric mean, re-weighted over the available values.

    .. math:: y_u = \exp\left(\frac{\sum_{A_u} w_i \ln x_{ui}}{\sum_{A_u} w_i}\right)

    Values must be strictly positive; no shift is applied silently. An
    :class:`~pmm_lib.errors.InputError` names the offending indicator(s): normalise to a
    positive range (e.g. min-max to [1, 100]) before using this rule.

    Parameters and return as in :func:`arithmetic`.

    References
    ----------
    OECD/JRC (2008), Handbook, section 6.2 (geometric aggregation). doi:10.1787/9789264043466-en.

    Examples
    --------
    >>> geometric(np.array([[1.0, 4.0]]), np.array([1.0, 1.0]))
    array([2.])
    """
    return _power_mean(values, weights, 0.0, min_coverage, codes, "geometric mean")


def harmonic(values: np.ndarray, weights: np.ndarray, *, min_coverage: float = 0.0,
             codes: Sequence[str] | None = None) -> np.ndarray:
    r"""Weighted harmonic mean, re-weighted over the available values.

    .. math:: y_u = \frac{\sum_{A_u} w_i}{\sum_{A_u} w_i / x_{ui}}

    Values must be strictly positive (see :func:`geometric`).

    Examples
    --------
    >>> harmonic(np.array([[1.0, 4.0]]), np.array([1.0, 1.0]))
    array([1.6])
    """
    return _power_mean(values, weights, -1.0, min_coverage, codes, "harmonic mean")


def generalised(values: np.ndarray, weights: np.ndarray, p: float, *, min_coverage: float = 0.0,
                codes: Sequence[str] | None = None) -> np.ndarray:
    r"""Weighted generalised (power) mean of order ``p``, re-weighted over available values.

    .. math:: y_u = \left(\frac{\sum_{A_u} w_i x_{ui}^p}{\sum_{A_u} w_i}\right)^{1/p},
       \qquad p = 0 \Rightarrow \text{geometric mean}

    ``p = 1`` is the arithmetic, ``p = 0`` the geometric and ``p = -1`` the harmonic mean; the
    mean is non-decreasing in ``p`` (power-mean inequality), so lower ``p`` is less
    compensatory. ``p <= 0`` needs values > 0, ``p > 0`` values >= 0.

    References
    ----------
    Hardy, Littlewood & Pólya (1952), *Inequalities*, ch. 2. Cambridge University Press.

    Examples
    --------
    >>> generalised(np.array([[1.0, 4.0]]), np.array([1.0, 1.0]), p=2)
    array([2.91547595])
    """
    p = float(p)
    if not np.isfinite(p):
        raise SpecError(f"the generalised mean needs a finite power p, got {p!r}")
    rule = "geometric mean" if p == 0.0 else f"generalised mean (p={p:g})"
    return _power_mean(values, weights, p, min_coverage, codes, rule)


# ---------------------------------------------------------------------------------------------
# non-compensatory: Copeland and benefit of the doubt
# ---------------------------------------------------------------------------------------------


def copeland(values: np.ndarray, weights: np.ndarray, *, min_coverage: float = 0.0,
             codes: Sequence[str] | None = None, chunk: int = 2_000_000) -> np.ndarray:
    r"""Copeland score of a weighted pairwise majority (non-compensatory outranking).

    For units *a* and *b*, the weight in favour of *a* is
    :math:`e_{ab} = \sum_{i: x_{ai} > x_{bi}} w_i + \tfrac12\sum_{i: x_{ai} = x_{bi}} w_i`,
    counted over the indicators both units reported. *a* beats *b* when
    :math:`e_{ab} > e_{ba}`. The Copeland score is (number of wins) − (number of losses), so
    it lies in :math:`[-(n-1), n-1]`; ties in the majority count for neither.

    Weights act as voting power (importance coefficients), not trade-off rates, so a bad
    value cannot be bought back by a good one.

    Parameters
    ----------
    values : array, units × k
    weights : array, (k,) or (samples, k)
    min_coverage : float
        A unit whose available weight share is below this gets ``NaN`` and takes no part in
        the comparisons.
    chunk : int
        Upper bound on ``units² × samples`` evaluated at once (memory control).

    Returns
    -------
    ndarray
        (units,) or (samples, units) Copeland scores.

    References
    ----------
    Munda, G. & Nardo, M. (2009). Noncompensatory/nonlinear composite indicators for ranking
    countries: a defensible setting. *Applied Economics* 41(12), 1513–1523.
    doi:10.1080/00036840601019364.

    Examples
    --------
    >>> copeland(np.array([[3.0, 3.0], [2.0, 2.0], [1.0, 1.0]]), np.array([1.0, 1.0]))
    array([ 2.,  0., -2.])
    """
    _check_coverage(min_coverage)
    v = _as_values(values)
    w = _as_weights(weights, v.shape[1])
    n = v.shape[0]
    cover = arithmetic(np.where(np.isfinite(v), 1.0, np.nan), w, min_coverage=min_coverage)
    active = np.isfinite(cover)  # (n,) or (s, n)
    diff = v[:, None, :] - v[None, :, :]
    sign = np.nan_to_num(np.sign(diff), nan=0.0)  # (n, n, k); 0 where either is missing
    flat = sign.reshape(n * n, -1)
    if w.ndim == 1:
        d = (flat @ w).reshape(n, n)
        d = np.where(active[:, None] & active[None, :], d, 0.0)
        out = (d > 0).sum(axis=1) - (d < 0).sum(axis=1)
        return np.where(active, out.astype(float), np.nan)
    s = w.shape[0]
    out = np.empty((s, n))
    step = max(1, int(chunk // max(n * n, 1)))
    for start in range(0, s, step):
        ws = w[start:start + step]
        d = (flat @ ws.T).reshape(n, n, -1).transpose(2, 0, 1)  # (b, n, n)
        act = active[start:start + step]
        d = np.where(act[:, :, None] & act[:, None, :], d, 0.0)
        out[start:start + step] = (d > 0).sum(axis=2) - (d < 0).sum(axis=2)
    return np.where(active, out, np.nan)


def _bounds_vector(x: float | Sequence[float] | np.ndarray | None, k: int, name: str,
                   default: float) -> np.ndarray:
    if x is None:
        return np.full(k, default)
    arr = np.broadcast_to(np.asarray(x, dtype=float), (k,)).copy()
    if np.any(arr < 0) or np.any(~np.isfinite(arr) & (arr != np.inf)):
        raise SpecError(f"{name} must be non-negative numbers, got {x!r}")
    return arr


def bod_scores(values: np.ndarray, *, share_lower: float | Sequence[float] | None = None,
               share_upper: float | Sequence[float] | None = None,
               weight_lower: float | Sequence[float] | None = None,
               weight_upper: float | Sequence[float] | None = None,
               codes: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Benefit-of-the-doubt scores and weights, one linear programme per unit.

    For unit *c* (Cherchye et al. 2007, eq. 2):

    .. math::
        \mathrm{BoD}_c = \max_{w \ge 0} \sum_i w_i y_{ci}
        \quad\text{s.t.}\quad \sum_i w_i y_{ji} \le 1 \;\; \forall j,

    optionally with bounds on the weights (``weight_lower <= w_i <= weight_upper``) or on the
    *pie shares* :math:`s_{ci} = w_i y_{ci} / \sum_k w_k y_{ck}` (``share_lower <= s_ci <=
    share_upper``, imposed as the linear constraints
    :math:`w_i y_{ci} - L_i \sum_k w_k y_{ck} \ge 0` and likewise for the upper bound). Each
    unit gets the weights that show it in the best light; the score lies in [0, 1] and is 1
    for every unit on the frontier (e.g. any unit that dominates on every indicator).

    Missing values count as 0 (a unit cannot benefit from an indicator it did not report);
    share bounds apply only to the indicators the unit reported.

    Parameters
    ----------
    values : array, units × k
        Non-negative values (e.g. min-max normalised).
    share_lower, share_upper : float or sequence, optional
        Bounds on each indicator's share of the unit's score.
    weight_lower, weight_upper : float or sequence, optional
        Bounds on the raw weights (in 1/value units; scale-dependent).
    codes : sequence of str, optional
        Indicator codes for error messages.

    Returns
    -------
    scores : ndarray (units,)
    weights : ndarray (units × k)
        The optimal raw weights :math:`w` of each unit's programme.

    References
    ----------
    Cherchye, L., Moesen, W., Rogge, N. & Van Puyenbroeck, T. (2007). An introduction to
    'benefit of the doubt' composite indicators. *Social Indicators Research* 82, 111–145.
    doi:10.1007/s11205-006-9029-7.
    """
    v = _as_values(values)
    n, k = v.shape
    _require_positive(v, codes, "benefit-of-the-doubt model", strict=False)
    y = np.nan_to_num(v, nan=0.0)
    lo_s = _bounds_vector(share_lower, k, "share_lower", 0.0)
    hi_s = _bounds_vector(share_upper, k, "share_upper", 1.0)
    if lo_s.sum() > 1 + 1e-9:
        raise SpecError(f"share_lower sums to {lo_s.sum():.3g} > 1: no weights can satisfy it")
    if np.any(lo_s > hi_s):
        raise SpecError("share_lower exceeds share_upper for some indicator")
    lo_w = _bounds_vector(weight_lower, k, "weight_lower", 0.0)
    hi_w = _bounds_vector(weight_upper, k, "weight_upper", np.inf)
    bounds = np.column_stack([lo_w, hi_w])  # (k, 2); an infinite upper bound is no bound
    use_shares = share_lower is not None or share_upper is not None
    frontier = y[_undominated(y)]  # dominated units never bind: y_j <= y_f => y_j.w <= y_f.w
    scores = np.zeros(n)
    weights = np.zeros((n, k))
    active = np.flatnonzero(np.any(y > 0, axis=1))  # an all-zero unit scores 0
    if active.size == 0:
        return scores, weights
    # one block-diagonal LP for all units (the blocks are independent, so the joint optimum
    # is every unit's own optimum) - one HiGHS call instead of one per unit
    blocks, rhs = [], []
    for c in active:
        yc = y[c]
        rows = [frontier]
        if use_shares:
            for i in np.flatnonzero(np.isfinite(v[c])):
                if lo_s[i] > 0:
                    row = lo_s[i] * yc
                    row[i] -= yc[i]
                    rows.append(row[None, :])
                if hi_s[i] < 1:
                    row = -hi_s[i] * yc
                    row[i] += yc[i]
                    rows.append(row[None, :])
        block = np.vstack(rows)
        blocks.append(block)
        rhs.append(np.r_[np.ones(len(frontier)), np.zeros(len(block) - len(frontier))])
    res = linprog(-y[active].reshape(-1), A_ub=sparse.block_diag(blocks, format="csr"),
                  b_ub=np.concatenate(rhs), bounds=np.tile(bounds, (active.size, 1)), method="highs")
    if res.status != 0:
        raise SpecError(f"benefit-of-the-doubt programme failed: {res.message} "
                        f"(check the weight/share bounds)")
    w = res.x.reshape(active.size, k)
    weights[active] = w
    scores[active] = np.einsum("ij,ij->i", y[active], w)
    return scores, weights


def _undominated(y: np.ndarray) -> np.ndarray:
    """Mask of rows not weakly dominated by another row (one of identical rows is kept)."""
    ge = np.all(y[None, :, :] >= y[:, None, :], axis=2)  # ge[j, f]: row f >= row j everywhere
    gt = np.any(y[None, :, :] > y[:, None, :], axis=2)
    dominated = np.any(ge & gt, axis=1)
    n = len(y)
    same = ge & ge.T & ~np.eye(n, dtype=bool)
    dup = np.any(np.triu(same, 1).T, axis=1)  # a later copy of an earlier row
    return ~dominated & ~dup


def bod(values: np.ndarray, weights: np.ndarray | None = None, *, min_coverage: float = 0.0,
        codes: Sequence[str] | None = None, **bounds: object) -> np.ndarray:
    """Benefit-of-the-doubt aggregate (score in [0, 1]); see :func:`bod_scores`.

    ``weights`` is accepted for a uniform signature and used only for ``min_coverage``; the
    model chooses its own weights per unit. Keyword ``bounds`` are passed to
    :func:`bod_scores`.

    Examples
    --------
    >>> bod(np.array([[1.0, 0.0], [0.0, 1.0], [0.4, 0.4]]))
    array([1. , 1. , 0.8])
    """
    _check_coverage(min_coverage)
    v = _as_values(values)
    scores, _ = bod_scores(v, codes=codes, **bounds)  # type: ignore[arg-type]
    if min_coverage > 0:
        w = np.ones(v.shape[1]) if weights is None else _as_weights(weights, v.shape[1])
        if w.ndim != 1:
            raise SpecError("bod does not take a sample axis of weights")
        cover = arithmetic(np.where(np.isfinite(v), 1.0, np.nan), w, min_coverage=min_coverage)
        scores = np.where(np.isfinite(cover), scores, np.nan)
    return scores


# ---------------------------------------------------------------------------------------------
# graded scores (PEFA / TADAT style)
# ---------------------------------------------------------------------------------------------

#: Grades from best to worst, with PEFA's "+" half steps.
GRADES: tuple[str, ...] = ("A", "B+", "B", "C+", "C", "D+", "D")
#: Points of each grade (A = 4 … D = 1; a "+" adds half a point).
GRADE_POINTS: dict[str, float] = {"A": 4.0, "B+": 3.5, "B": 3.0, "C+": 2.5, "C": 2.0,
                                  "D+": 1.5, "D": 1.0}
_POINT_GRADE = {v: k for k, v in GRADE_POINTS.items()}


def _m2_rows() -> dict[tuple[str, ...], str]:
    # PEFA Framework 2016, scoring method M2 (averaging) conversion table, for indicators
    # with 2, 3 and 4 dimensions. Keys are the dimension grades sorted worst → best.
    two = {"DD": "D", "DC": "D+", "DB": "C", "DA": "C+", "CC": "C", "CB": "C+", "CA": "B",
           "BB": "B", "BA": "B+", "AA": "A"}
    three = {"DDD": "D", "DDC": "D+", "DDB": "D+", "DDA": "C", "DCC": "D+", "DCB": "C",
             "DCA": "C+", "DBB": "C+", "DBA": "B", "DAA": "B", "CCC": "C", "CCB": "C+",
             "CCA": "B", "CBB": "B", "CBA": "B", "CAA": "B+", "BBB": "B", "BBA": "B+",
             "BAA": "A", "AAA": "A"}
    four = {"DDDD": "D", "DDDC": "D", "DDDB": "D+", "DDDA": "D+", "DDCC": "D+", "DDCB": "D+",
            "DDCA": "C", "DDBB": "C", "DDBA": "C+", "DDAA": "C+", "DCCC": "D+", "DCCB": "C",
            "DCCA": "C+", "DCBB": "C+", "DCBA": "C+", "DCAA": "B", "DBBB": "C+", "DBBA": "B",
            "DBAA": "B", "DAAA": "B+", "CCCC": "C", "CCCB": "C", "CCCA": "C+", "CCBB": "C+",
            "CCBA": "B", "CCAA": "B", "CBBB": "B", "CBBA": "B", "CBAA": "B+", "CAAA": "B+",
            "BBBB": "B", "BBBA": "B", "BBAA": "B+", "BAAA": "A", "AAAA": "A"}
    return {tuple(key): grade for table in (two, three, four) for key, grade in table.items()}


#: PEFA 2016 M2 conversion table: sorted tuple of dimension grades (worst first) → grade.
M2_TABLE: Mapping[tuple[str, ...], str] = _m2_rows()


def grades(values: pd.DataFrame, thresholds: pd.DataFrame,
           direction: pd.Series | Mapping[str, int] | None = None) -> pd.DataFrame:
    """Grade each value A–D from per-indicator thresholds (A best).

    For a higher-is-better indicator (direction +1, the default, as after normalisation) a
    value gets "A" when it is at or above the ``A`` threshold, else "B" when at or above
    ``B``, else "C" when at or above ``C``, else "D" (thresholds ``A >= B >= C``). For a
    lower-is-better indicator (direction −1, e.g. a raw release time in hours) the
    inequalities reverse: "A" when at or below ``A`` and so on (thresholds ``A <= B <= C``).

    Parameters
    ----------
    values : DataFrame, units × codes
    thresholds : DataFrame
        Index = code, columns ``A``, ``B``, ``C`` (the cut-off of each grade).
    direction : Series or mapping code → ±1, optional
        Default +1 for every code (e.g. ``meta.set_index("code")["direction"]`` for raw values).

    Returns
    -------
    DataFrame
        Same shape, ``str`` grades, missing where the value is missing.

    Examples
    --------
    >>> th = pd.DataFrame({"A": [75.0, 24.0], "B": [50.0, 48.0], "C": [25.0, 72.0]},
    ...                   index=["K02", "K01"])
    >>> g = grades(pd.DataFrame({"K02": [80.0, 50.0, 10.0], "K01": [12.0, 50.0, 90.0]}), th,
    ...            direction={"K01": -1})
    >>> g["K02"].tolist(), g["K01"].tolist()
    (['A', 'B', 'D'], ['A', 'C', 'D'])
    """
    codes = list(values.columns)
    sign = pd.Series(1.0, index=codes)
    if direction is not None:
        given = pd.Series(direction, dtype=float)
        bad = [c for c, d in given.items() if d not in (1.0, -1.0)]
        if bad:
            raise SpecError(f"direction must be +1 or -1; not so for {', '.join(map(str, bad))}")
        sign.update(given.reindex(sign.index).dropna())
    th = _check_thresholds(thresholds, codes, sign)
    out = {}
    for code in codes:
        s = sign[code]
        x = s * values[code].to_numpy(dtype=float)
        a, b, c = s * th.loc[code, ["A", "B", "C"]].to_numpy(dtype=float)
        g = np.select([x >= a, x >= b, x >= c], ["A", "B", "C"], default="D").astype(object)
        g[~np.isfinite(x)] = None
        out[code] = pd.Series(g, index=values.index, dtype="str")
    return pd.DataFrame(out, index=values.index)


def _check_thresholds(thresholds: pd.DataFrame, codes: Sequence[str],
                      sign: pd.Series | None = None) -> pd.DataFrame:
    if not isinstance(thresholds, pd.DataFrame):
        raise SpecError("thresholds must be a DataFrame indexed by code with columns A, B, C")
    missing_cols = [c for c in ("A", "B", "C") if c not in thresholds.columns]
    if missing_cols:
        raise SpecError(f"thresholds lack column(s) {', '.join(missing_cols)}; "
                        f"expected columns A, B, C (lower cut-offs)")
    missing = [c for c in codes if c not in thresholds.index]
    if missing:
        raise SpecError(f"thresholds have no row for {', '.join(map(str, missing))}")
    th = thresholds.loc[list(codes), ["A", "B", "C"]].astype(float)
    s = pd.Series(1.0, index=th.index) if sign is None else sign.reindex(th.index)
    up = s > 0
    bad = th.index[up & ((th["A"] < th["B"]) | (th["B"] < th["C"]))]
    if len(bad):
        raise SpecError(f"thresholds must satisfy A >= B >= C; not so for {', '.join(map(str, bad))}")
    bad = th.index[~up & ((th["A"] > th["B"]) | (th["B"] > th["C"]))]
    if len(bad):
        raise SpecError(f"thresholds of a lower-is-better indicator must satisfy A <= B <= C; "
                        f"not so for {', '.join(map(str, bad))}")
    return th


def grade_points(g: pd.DataFrame | pd.Series | Sequence[str | None]) -> np.ndarray:
    """Points of grades: A = 4, B+ = 3.5, B = 3, … D = 1; missing → NaN."""
    arr = np.asarray(g.to_numpy() if hasattr(g, "to_numpy") else g, dtype=object)
    out = np.full(arr.shape, np.nan)
    for grade, pts in GRADE_POINTS.items():
        out[arr == grade] = pts
    unknown = ~np.isin(arr, [*GRADE_POINTS, None]) & ~pd.isna(arr)
    if unknown.any():
        raise InputError(f"unknown grade(s) {sorted(set(map(str, arr[unknown])))}",
                         expected=f"one of {', '.join(GRADES)}")
    return out


def points_to_grade(points: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`grade_points` for points on the half-point grid 1 … 4 (NaN → None)."""
    p = np.atleast_1d(np.asarray(points, dtype=float))
    out = np.empty(p.shape, dtype=object)
    for idx, x in np.ndenumerate(p):
        if not np.isfinite(x):
            out[idx] = None
        elif x in _POINT_GRADE:
            out[idx] = _POINT_GRADE[x]
        else:
            raise InputError(f"{x!r} is not a grade point", expected="1, 1.5, 2, … 4")
    return out


def _points_matrix(values: np.ndarray | pd.DataFrame) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        if all(pd.api.types.is_numeric_dtype(t) for t in values.dtypes):
            p = values.to_numpy(dtype=float)
        else:
            p = grade_points(values)
    else:
        arr = np.asarray(values)
        p = grade_points(arr) if arr.dtype.kind in "OUS" else arr.astype(float)
    p = _as_values(p)
    ok = np.isnan(p) | np.isin(p, list(GRADE_POINTS.values()))
    if not ok.all():
        raise InputError("graded aggregation needs grade points (1, 1.5, … 4) or grades A–D",
                         expected="grades from pmm_lib.core.aggregate.grades")
    return p


def m1(values: np.ndarray | pd.DataFrame, weights: np.ndarray | None = None, *,
       min_coverage: float = 0.0, codes: Sequence[str] | None = None,
       plus: bool = True) -> np.ndarray:
    """Weakest link (PEFA method M1): the lowest grade, with "+" if any other is higher.

    PEFA Framework (2016), section 2.3: "M1 … the lowest score of the dimensions … a '+' is
    added where any of the other dimensions are scoring higher". TADAT (2019 field guide)
    uses the same rule. ``plus=False`` gives the plain minimum. Weights are ignored (the rule
    is unweighted); missing grades are skipped.

    Parameters
    ----------
    values : array or DataFrame, units × k
        Grade points (A = 4 … D = 1, "+" = ½) or grade strings.

    Returns
    -------
    ndarray (units,)
        Grade points of the aggregate (see :func:`points_to_grade`).

    References
    ----------
    PEFA Secretariat (2016). *Framework for assessing public financial management*,
    Washington DC: PEFA, section 2.3 "Calculating indicator scores".

    Examples
    --------
    >>> points_to_grade(m1(np.array([[3.0, 1.0, 4.0], [2.0, 2.0, np.nan]])))
    array(['D+', 'C'], dtype=object)
    """
    _check_coverage(min_coverage)
    p = _points_matrix(values)
    with np.errstate(all="ignore"):
        present = np.isfinite(p).any(axis=1)
        lo = np.where(present, np.nanmin(np.where(present[:, None], p, 0.0), axis=1), np.nan)
        floor = np.floor(lo)  # the plain grade of the weakest link
        hi = np.nanmax(np.where(np.isfinite(p), p, -np.inf), axis=1)
    out = floor + (0.5 if plus else 0.0) * ((hi > floor) & (floor < 4))
    out = np.where(present, out, np.nan)
    return _grade_coverage(out, p, weights, min_coverage)


def _grade_coverage(out: np.ndarray, p: np.ndarray, weights: np.ndarray | None,
                    min_coverage: float) -> np.ndarray:
    if min_coverage <= 0:
        return out
    w = np.ones(p.shape[1]) if weights is None else _as_weights(weights, p.shape[1])
    cover = arithmetic(np.where(np.isfinite(p), 1.0, np.nan), w, min_coverage=min_coverage)
    return np.where(np.isfinite(cover), out, np.nan)


def _round_half_down(x: np.ndarray) -> np.ndarray:
    """Round to the nearest half point; exact quarter points go down."""
    return np.ceil(x * 2 - 0.5) / 2


def m2(values: np.ndarray | pd.DataFrame, weights: np.ndarray | None = None, *,
       min_coverage: float = 0.0, codes: Sequence[str] | None = None) -> np.ndarray:
    """Averaging (PEFA method M2) with the PEFA 2016 conversion table.

    For 2, 3 or 4 graded dimensions with plain grades (A, B, C, D) the aggregate is read from
    :data:`M2_TABLE`, the conversion table of the PEFA 2016 Framework (section 2.3, table
    "Scoring method M2 (AV)"). The table is a function of the multiset of grades, e.g. two
    dimensions (D, A) → C+, three (C, B, A) → B, four (D, D, B, A) → C+. For any other count,
    or when an input already carries a "+", the points (A = 4 … D = 1, "+" = ½) are averaged
    and rounded to the nearest half point, exact quarters rounding down. Weights are ignored
    (the PEFA rule is unweighted); missing grades are skipped.

    Provenance: :data:`M2_TABLE` was transcribed without access to the PEFA PDF in this
    environment. It is consistent with a published secondary check (plain averaging scores
    20 % of the 3-dimension and about 30 % of the 4-dimension combinations lower than the
    table) and is monotone; verify it against the Framework's table before relying on it.

    Returns
    -------
    ndarray (units,)
        Grade points of the aggregate.

    References
    ----------
    PEFA Secretariat (2016). *Framework for assessing public financial management*,
    Washington DC: PEFA, section 2.3 and the M2 conversion table.

    Examples
    --------
    >>> points_to_grade(m2(np.array([[1.0, 4.0], [2.0, 3.0]])))
    array(['C+', 'C+'], dtype=object)
    """
    _check_coverage(min_coverage)
    p = _points_matrix(values)
    out = np.full(p.shape[0], np.nan)
    for u in range(p.shape[0]):
        row = p[u][np.isfinite(p[u])]
        if row.size == 0:
            continue
        plain = np.all(row == np.floor(row))
        if plain and 2 <= row.size <= 4:
            key = tuple(_POINT_GRADE[x] for x in np.sort(row))
            out[u] = GRADE_POINTS[M2_TABLE[key]]
        else:
            out[u] = _round_half_down(np.array(row.mean()))
    return _grade_coverage(out, p, weights, min_coverage)


# ---------------------------------------------------------------------------------------------
# the hierarchy: one walk, for one sample (build) or a batch of weight samples (the engine)
# ---------------------------------------------------------------------------------------------


def _per_level(value: object, n: int, name: str) -> tuple:
    if isinstance(value, str) or not isinstance(value, Sequence):
        return (value,) * n
    out = tuple(value)
    if len(out) != n:
        raise SpecError(f"{name}: give one value or one per aggregate level ({n}), got {len(out)}")
    return out


def aggregate_tree(x1: np.ndarray, hierarchy: Hierarchy, weights: np.ndarray,
                   methods: str | Sequence[str] = "arithmetic", *,
                   p: float | None | Sequence[float | None] = None,
                   min_coverage: float | Sequence[float] = 0.0,
                   thresholds: pd.DataFrame | None = None,
                   bod_options: Mapping[str, object] | None = None,
                   on_domain_error: str = "raise") -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Aggregate level-1 values up a compiled hierarchy, for one or many weight vectors.

    This is the one walk of the tree: :func:`aggregate_hierarchy` (and so
    :func:`pmm_lib.core.build.build`) calls it with one weight vector, the Monte Carlo engine
    with a batch of them, the weighting methods and the workshop's live index likewise. Each
    level is one call of :func:`aggregate_level` for the power means. A level whose child
    weights are the same in every sample, and whose inputs are too, is computed once and shared
    by all samples (structure-aware: e.g. indicator weights that never vary).

    Parameters
    ----------
    x1 : ndarray (U, n_1)
        Normalised indicators in ``hierarchy.leaves`` order (``NaN`` = missing).
    hierarchy : Hierarchy
        From :func:`pmm_lib.core.hierarchy.compile_hierarchy`.
    weights : ndarray (n,) or (S, n)
        Weight of every code below the top, in ``hierarchy.below_top`` order, finite and >= 0
        (one row per sample); only ratios within a parent matter.
    methods : str or sequence of str
        Aggregation per aggregate level (2 … top), one of :data:`AGGREGATION_METHODS`. Only the
        power means (arithmetic, geometric, harmonic, generalised) take a batch of weights.
    p, min_coverage : scalar or one per aggregate level
        Power of ``"generalised"``; minimum present weight share (see :func:`aggregate_level`).
    thresholds, bod_options
        For the graded rules and benefit of the doubt (see :func:`aggregate_hierarchy`).
    on_domain_error : {"raise", "flag"}
        A present, weighted child value outside a mean's domain (``<= 0`` for the geometric
        mean): raise :class:`InputError` naming the indicator, or flag the sample.

    Returns
    -------
    levels : dict
        level -> ``(U, n_level)`` when the level is shared by every sample, else
        ``(S, U, n_level)``; level 1 is ``x1`` itself.
    domain_error : ndarray of bool (S,) (or ``()`` for one weight vector)
        Samples flagged (only with ``on_domain_error="flag"``).

    Examples
    --------
    >>> from pmm_lib.core.hierarchy import compile_hierarchy
    >>> h = compile_hierarchy(pd.DataFrame({"code": ["a", "b", "c", "X", "Y", "I"],
    ...     "level": [1, 1, 1, 2, 2, 3], "parent": ["X", "X", "Y", "I", "I", None]}))
    >>> w = np.array([[1.0, 3.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 3.0]])
    >>> lv, _ = aggregate_tree(np.array([[0.0, 100.0, 50.0]]), h, w)
    >>> lv[3][:, 0, 0].tolist()
    [62.5, 50.0]
    """
    if on_domain_error not in ("raise", "flag"):
        raise SpecError(f"on_domain_error: unknown value {on_domain_error!r}; allowed: raise, flag")
    top = hierarchy.n_levels
    n_agg = top - 1
    methods_l = _per_level(methods, n_agg, "method")
    p_l = _per_level(p, n_agg, "p")
    cover_l = _per_level(min_coverage, n_agg, "min_coverage")
    for name in methods_l:
        if name not in AGGREGATION_METHODS:
            raise SpecError(f"unknown aggregation method {name!r}; allowed: {', '.join(AGGREGATION_METHODS)}")
    for name, pv in zip(methods_l, p_l, strict=True):
        if name == "generalised" and (pv is None or not np.isfinite(float(pv))):
            raise SpecError("aggregation method 'generalised' needs the power p")
    for c in cover_l:
        _check_coverage(float(c))
    x1 = np.asarray(x1, dtype=float)
    w_all = np.asarray(weights, dtype=float)
    n_below = len(hierarchy.below_top)
    if w_all.shape[-1] != n_below or w_all.ndim not in (1, 2):
        raise SpecError(f"weights must have shape ({n_below},) or (samples, {n_below}) (one per code below "
                        f"the top), got {w_all.shape}")
    if x1.ndim != 2 or x1.shape[1] != len(hierarchy.leaves):
        raise InputError(f"values must be units x {len(hierarchy.leaves)} indicators, got shape {x1.shape}")
    batch = w_all.ndim == 2
    domain = np.zeros(w_all.shape[0], dtype=bool) if batch else np.asarray(False)
    start = 0
    offsets = {}
    for lv in range(1, top):
        offsets[lv] = (start, start + len(hierarchy.level_codes[lv]))
        start = offsets[lv][1]
    out: dict[int, np.ndarray] = {1: x1}
    values = x1
    for lv in range(2, top + 1):
        name, pv, cov = methods_l[lv - 2], p_l[lv - 2], float(cover_l[lv - 2])
        lo, hi = offsets[lv - 1]
        w = w_all[..., lo:hi]
        if w.ndim == 2 and (w == w[0]).all():
            w = w[0]  # these weights never vary: the level is shared if its inputs are
        child_codes = hierarchy.level_codes[lv - 1]
        if name in POWER_OF or name == "generalised":
            r = POWER_OF.get(name, float(pv) if pv is not None else 1.0)
            y, bad = aggregate_level(values, w, hierarchy.incidence[lv], r, min_coverage=cov)
            if bad.any():
                if on_domain_error == "raise":
                    flat = values if values.ndim == 2 else values.reshape(-1, values.shape[-1])
                    rule = {"geometric": "geometric mean", "harmonic": "harmonic mean"}.get(
                        name, f"generalised mean (p={r:g})")
                    _require_positive(flat, child_codes, rule, strict=r <= 0)
                    raise InputError(f"level {lv}: the {rule} met a value outside its domain")  # pragma: no cover
                domain = domain | bad
        else:
            if w.ndim != 1 or values.ndim != 2:
                raise SpecError(f"aggregation method {name!r} is not a weighted power mean and takes one "
                                f"weight vector; allowed for batches: {', '.join([*POWER_OF, 'generalised'])}")
            cols = []
            for parent, kids in zip(hierarchy.level_codes[lv], hierarchy.groups[lv], strict=True):
                x = values[:, kids]
                kid_codes = [child_codes[k] for k in kids]
                if name in ("m1", "m2"):
                    x = _graded_children(x, kid_codes, thresholds, parent)
                cols.append(_apply(name, x, w[kids], min_coverage=cov, codes=kid_codes,
                                   bod_options=bod_options or {}))
            y = np.column_stack(cols)
        out[lv] = y
        values = y
    return out, domain


def aggregate_hierarchy(values: pd.DataFrame, meta: pd.DataFrame | Hierarchy, *,
                        method: str | Sequence[str] = "arithmetic",
                        weights: pd.Series | Mapping[str, float] | None = None,
                        p: float | None | Sequence[float | None] = None,
                        min_coverage: float | Sequence[float] = 0.0,
                        thresholds: pd.DataFrame | None = None,
                        bod_options: Mapping[str, object] | None = None) -> pd.DataFrame:
    """Aggregate level-1 values up the hierarchy in ``meta``.

    Parameters
    ----------
    values : DataFrame, units × level-1 codes
        Normalised indicators (higher = better; direction already applied).
    meta : DataFrame or Hierarchy
        The hierarchy (``code, level, parent, weight``), e.g.
        :meth:`pmm_lib.inputs.framework.Framework.meta`, validated by
        :func:`pmm_lib.core.hierarchy.compile_hierarchy`. With a compiled
        :class:`~pmm_lib.core.hierarchy.Hierarchy`, ``weights`` must name every code below the top.
    method : str or sequence of str
        One of :data:`AGGREGATION_METHODS` for every level, or one per aggregate level from
        level 2 upward.
    weights : Series or mapping code → weight, optional
        Overrides ``meta['weight']`` for the codes it names (any level). Weights are
        normalised within each parent; for missing children the available weights are
        re-normalised.
    p : float or one per aggregate level, optional
        Power of the ``"generalised"`` mean (required for that method).
    min_coverage : float or one per aggregate level
        An aggregate is ``NaN`` when the share of its children's weight that is available is
        below this (0 = any one child suffices).
    thresholds : DataFrame, optional
        Grade thresholds (see :func:`grades`) for children of a level aggregated with
        ``"m1"`` or ``"m2"``; children without a row must already be grade points.
    bod_options : mapping, optional
        Keyword bounds for :func:`bod_scores` (``share_lower``…).

    Returns
    -------
    DataFrame
        Units × every code in hierarchy order (level 1 first, the top last): level-1 columns
        copied from ``values``, then the aggregates. Scores of the graded methods are grade
        points (A = 4 … D = 1), of ``"copeland"`` Copeland scores and of ``"bod"`` scores in [0, 1].

    Raises
    ------
    SpecError
        Unknown method (the message lists the allowed ones), malformed meta or weights.
    InputError
        ``values`` lacks a level-1 code of meta or has extra columns; values outside the
        domain of the chosen mean (the message names the indicator).

    Examples
    --------
    >>> meta = pd.DataFrame({"code": ["a", "b", "c", "X", "Y", "I"],
    ...                      "level": [1, 1, 1, 2, 2, 3],
    ...                      "parent": ["X", "X", "Y", "I", "I", None],
    ...                      "direction": 1, "weight": [1, 3, 1, 1, 1, 1]})
    >>> out = aggregate_hierarchy(pd.DataFrame({"a": [0.0], "b": [100.0], "c": [50.0]}), meta)
    >>> out[["X", "Y", "I"]].round(6).iloc[0].tolist()
    [75.0, 50.0, 62.5]
    """
    if isinstance(min_coverage, int | float):
        _check_coverage(float(min_coverage))
    h = compile_hierarchy(meta)
    w = _weight_vector(h, meta, weights)
    leaves = list(h.leaves)
    if not isinstance(values, pd.DataFrame):
        raise InputError("values must be a DataFrame (units × level-1 codes)")
    absent = [c for c in leaves if c not in values.columns]
    if absent:
        raise InputError(f"values lack level-1 code(s) of meta: {', '.join(map(str, absent))}",
                         column=str(absent[0]))
    extra = [c for c in values.columns if c not in set(leaves)]
    if extra:
        raise InputError(f"values have column(s) that are not level-1 codes of meta: "
                         f"{', '.join(map(str, extra))}", column=str(extra[0]))
    x1 = values[leaves].to_numpy(dtype=float)
    levels, _ = aggregate_tree(x1, h, w, method, p=p, min_coverage=min_coverage, thresholds=thresholds,
                               bod_options=bod_options)
    data = np.column_stack([levels[lv] for lv in range(1, h.n_levels + 1)])
    out = pd.DataFrame(data, index=values.index, columns=list(h.codes))
    out.columns.name = None
    return out


def _weight_vector(h: Hierarchy, meta: pd.DataFrame | Hierarchy,
                   weights: pd.Series | Mapping[str, float] | None) -> np.ndarray:
    """Weights of the codes below the top (meta's ``weight`` column, overridden by ``weights``)."""
    below = list(h.below_top)
    if isinstance(meta, pd.DataFrame) and "weight" in meta.columns:
        base = pd.Series(pd.to_numeric(meta["weight"], errors="coerce").to_numpy(dtype=float),
                         index=meta["code"].astype(str)).reindex(below)
    else:
        base = pd.Series(np.nan, index=below)
    if weights is not None:
        given = pd.Series(weights, dtype=float)
        given.index = given.index.map(str)
        unknown = [c for c in given.index if c not in h._position]
        if unknown:
            raise SpecError(f"weights name unknown code(s) {', '.join(map(str, unknown))}; "
                            f"known codes are those in meta")
        given = given[[c for c in given.index if c != h.top]]
        base.loc[given.index] = given.to_numpy()
    arr = base.to_numpy(dtype=float)
    bad = [c for c, v in zip(below, arr, strict=True) if not np.isfinite(v) or v < 0]
    if bad:
        raise SpecError(f"weights must be finite and non-negative; not so for {', '.join(map(str, bad))}")
    return arr


def _graded_children(x: np.ndarray, children: list[str], thresholds: pd.DataFrame | None,
                     parent: str) -> np.ndarray:
    out = x.copy()
    for j, code in enumerate(children):
        if thresholds is not None and code in thresholds.index:
            g = grades(pd.DataFrame({code: x[:, j]}), thresholds)
            out[:, j] = grade_points(g[code])
        else:
            col = x[:, j]
            ok = np.isnan(col) | np.isin(col, list(GRADE_POINTS.values()))
            if not ok.all():
                raise SpecError(f"graded aggregation of {parent!r}: child {code!r} is neither "
                                f"graded (no row in thresholds) nor in grade points")
    return out


def _apply(name: str, x: np.ndarray, w: np.ndarray, *, min_coverage: float,
           codes: list[str], bod_options: Mapping[str, object]) -> np.ndarray:
    """The non-compensatory rules, one parent at a time."""
    if name == "copeland":
        return copeland(x, w, min_coverage=min_coverage, codes=codes)
    if name == "bod":
        return bod(x, w, min_coverage=min_coverage, codes=codes, **bod_options)
    if name == "m1":
        return m1(x, w, min_coverage=min_coverage, codes=codes)
    return m2(x, w, min_coverage=min_coverage, codes=codes)
