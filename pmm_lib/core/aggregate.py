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

from pmm_lib.errors import InputError, SpecError
from pmm_lib.vocab import AGGREGATE_METHODS, AggregateMethod

__all__ = [
    "AggregationMethod",
    "AGGREGATION_METHODS",
    "GRADES",
    "GRADE_POINTS",
    "M2_TABLE",
    "aggregate_hierarchy",
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


def _wsum(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted row sums: ``a`` (n × k) with ``w`` (k,) → (n,), or ``w`` (s × k) → (s × n)."""
    return a @ w if w.ndim == 1 else w @ a.T


def _finish(num: np.ndarray, den: np.ndarray, w: np.ndarray, min_coverage: float) -> np.ndarray:
    total = w.sum(axis=-1)
    total = total if w.ndim == 1 else total[:, None]
    coverage = np.divide(den, total, out=np.zeros_like(den), where=total > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    bad = (den <= 0) | (coverage < min_coverage - 1e-12)
    return np.where(bad, np.nan, out)


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
# compensatory means
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
    _check_coverage(min_coverage)
    v = _as_values(values)
    w = _as_weights(weights, v.shape[1])
    m = np.isfinite(v)
    return _finish(_wsum(np.where(m, v, 0.0), w), _wsum(m.astype(float), w), w, min_coverage)


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
    _check_coverage(min_coverage)
    v = _as_values(values)
    w = _as_weights(weights, v.shape[1])
    _require_positive(v, codes, "geometric mean")
    m = np.isfinite(v)
    logs = np.log(np.where(m, v, 1.0))
    return np.exp(_finish(_wsum(logs, w), _wsum(m.astype(float), w), w, min_coverage))


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
    _check_coverage(min_coverage)
    v = _as_values(values)
    w = _as_weights(weights, v.shape[1])
    _require_positive(v, codes, "harmonic mean")
    m = np.isfinite(v)
    inv = np.where(m, 1.0 / np.where(m, v, 1.0), 0.0)
    ratio = _finish(_wsum(inv, w), _wsum(m.astype(float), w), w, min_coverage)
    with np.errstate(divide="ignore"):
        return 1.0 / ratio


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
    if p == 0.0:
        return geometric(values, weights, min_coverage=min_coverage, codes=codes)
    _check_coverage(min_coverage)
    v = _as_values(values)
    w = _as_weights(weights, v.shape[1])
    _require_positive(v, codes, f"generalised mean (p={p:g})", strict=p < 0)
    m = np.isfinite(v)
    powered = np.where(m, np.where(m, v, 1.0) ** p, 0.0)
    inner = _finish(_wsum(powered, w), _wsum(m.astype(float), w), w, min_coverage)
    with np.errstate(divide="ignore"):
        return inner ** (1.0 / p)


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
    bounds = [(lo_w[i], None if np.isinf(hi_w[i]) else hi_w[i]) for i in range(k)]
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
                  b_ub=np.concatenate(rhs), bounds=bounds * active.size, method="highs")
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
# the hierarchy
# ---------------------------------------------------------------------------------------------

_META_COLUMNS = ("code", "level", "parent", "weight")


def _check_meta(meta: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(meta, pd.DataFrame):
        raise SpecError("meta must be a DataFrame with columns code, level, parent, weight")
    missing = [c for c in _META_COLUMNS if c not in meta.columns]
    if missing:
        raise SpecError(f"meta lacks column(s) {', '.join(missing)}; expected code, level, "
                        f"parent, direction, weight")
    m = meta.reset_index(drop=True)
    if m["code"].duplicated().any():
        dup = m.loc[m["code"].duplicated(), "code"].tolist()
        raise SpecError(f"meta has duplicated code(s): {', '.join(map(str, dup))}")
    m["level"] = m["level"].astype(int)
    top = int(m["level"].max())
    level_of = dict(zip(m["code"], m["level"], strict=True))
    for row in m[m["level"] < top].itertuples(index=False):
        par = row.parent
        if pd.isna(par) or par not in level_of:
            raise SpecError(f"meta: code {row.code!r} (level {row.level}) has parent {par!r}, "
                            f"which is not a code in meta")
        if level_of[par] != row.level + 1:
            raise SpecError(f"meta: code {row.code!r} is level {row.level} but its parent "
                            f"{par!r} is level {level_of[par]} (expected {row.level + 1})")
    return m


def _resolve_weights(meta: pd.DataFrame, weights: pd.Series | Mapping[str, float] | None
                     ) -> pd.Series:
    w = meta.set_index("code")["weight"].astype(float)
    if weights is not None:
        given = pd.Series(weights, dtype=float)
        unknown = [c for c in given.index if c not in w.index]
        if unknown:
            raise SpecError(f"weights name unknown code(s) {', '.join(map(str, unknown))}; "
                            f"known codes are those in meta")
        w.loc[given.index] = given.to_numpy()
    bad = w.index[~np.isfinite(w.to_numpy()) | (w.to_numpy() < 0)]
    if len(bad):
        raise SpecError(f"weights must be finite and non-negative; not so for "
                        f"{', '.join(map(str, bad))}")
    return w


def aggregate_hierarchy(values: pd.DataFrame, meta: pd.DataFrame, *,
                        method: str | Sequence[str] = "arithmetic",
                        weights: pd.Series | Mapping[str, float] | None = None,
                        p: float | None = None, min_coverage: float = 0.0,
                        thresholds: pd.DataFrame | None = None,
                        bod_options: Mapping[str, object] | None = None) -> pd.DataFrame:
    """Aggregate level-1 values up the hierarchy in ``meta``.

    Parameters
    ----------
    values : DataFrame, units × level-1 codes
        Normalised indicators (higher = better; direction already applied).
    meta : DataFrame
        The hierarchy (``code, level, parent, direction, weight``), e.g.
        :meth:`pmm_lib.inputs.framework.Framework.meta`. ``direction`` is not used here.
    method : str or sequence of str
        One of :data:`AGGREGATION_METHODS` for every level, or one per aggregate level from
        level 2 upward.
    weights : Series or mapping code → weight, optional
        Overrides ``meta['weight']`` for the codes it names (any level). Weights are
        normalised within each parent; for missing children the available weights are
        re-normalised.
    p : float, optional
        Power of the ``"generalised"`` mean (required for that method).
    min_coverage : float
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
        Units × every code of ``meta`` in meta order: level-1 columns copied from ``values``,
        then the aggregates. Scores of the graded methods are grade points (A = 4 … D = 1),
        of ``"copeland"`` Copeland scores and of ``"bod"`` scores in [0, 1].

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
    _check_coverage(min_coverage)
    m = _check_meta(meta)
    w_all = _resolve_weights(m, weights)
    max_level = int(m["level"].max())
    agg_levels = list(range(2, max_level + 1))
    methods = [method] * len(agg_levels) if isinstance(method, str) else list(method)
    if len(methods) != len(agg_levels):
        raise SpecError(f"method: give one name or one per aggregate level "
                        f"({len(agg_levels)}: levels {agg_levels}), got {len(methods)}")
    for name in methods:
        if name not in AGGREGATION_METHODS:
            raise SpecError(f"unknown aggregation method {name!r}; allowed: "
                            f"{', '.join(AGGREGATION_METHODS)}")
    if "generalised" in methods and p is None:
        raise SpecError("aggregation method 'generalised' needs the power p")

    leaves = m.loc[m["level"].astype(int) == 1, "code"].tolist()
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

    cols: dict[str, np.ndarray] = {c: values[c].to_numpy(dtype=float) for c in leaves}
    w_of = {c: float(v) for c, v in w_all.items()}
    kids_of: dict[str, list[str]] = {}
    for code, par in zip(m["code"], m["parent"], strict=True):
        if not pd.isna(par):
            kids_of.setdefault(par, []).append(code)
    for level, name in zip(agg_levels, methods, strict=True):
        for code in m.loc[m["level"] == level, "code"]:
            children = kids_of.get(code, [])
            if not children:
                cols[code] = np.full(len(values), np.nan)
                continue
            x = np.column_stack([cols[c] for c in children])
            w = np.array([w_of[c] for c in children])
            if name in ("m1", "m2"):
                x = _graded_children(x, children, thresholds, code)
            cols[code] = _apply(name, x, w, p=p, min_coverage=min_coverage, codes=children,
                                bod_options=bod_options or {})
    out = pd.DataFrame({c: cols[c] for c in m["code"]}, index=values.index)
    out.columns.name = None
    return out


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


def _apply(name: str, x: np.ndarray, w: np.ndarray, *, p: float | None, min_coverage: float,
           codes: list[str], bod_options: Mapping[str, object]) -> np.ndarray:
    if name == "arithmetic":
        return arithmetic(x, w, min_coverage=min_coverage, codes=codes)
    if name == "geometric":
        return geometric(x, w, min_coverage=min_coverage, codes=codes)
    if name == "harmonic":
        return harmonic(x, w, min_coverage=min_coverage, codes=codes)
    if name == "generalised":
        return generalised(x, w, float(p), min_coverage=min_coverage, codes=codes)  # type: ignore[arg-type]
    if name == "copeland":
        return copeland(x, w, min_coverage=min_coverage, codes=codes)
    if name == "bod":
        return bod(x, w, min_coverage=min_coverage, codes=codes, **bod_options)
    if name == "m1":
        return m1(x, w, min_coverage=min_coverage, codes=codes)
    return m2(x, w, min_coverage=min_coverage, codes=codes)
