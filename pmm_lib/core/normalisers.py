"""Normalisation methods: one registered function per method, the only place a method name becomes code.

``transform.normalise`` (and so ``build()``, the engine and the workshop) dispatches on
:data:`NORMALISERS`; :class:`~pmm_lib.core.spec.NormaliseSpec` accepts exactly the names
registered here (:data:`NORMALISE_METHODS`). **To add a method**, write one function in this
module decorated with ``@normaliser("name")`` and its tests in ``tests/test_transform.py``;
nothing else changes (a new *parameter* is one more field of ``NormaliseSpec``, which reaches
the function through :class:`NormaliseInput` — ``build()`` passes the spec as an object).

Every function receives a :class:`NormaliseInput` and returns ``(Y, constant)``: the
normalised units x indicators array (higher = better) and a boolean per indicator that has
no spread (its scores are then left missing and logged by ``transform.normalise``). The
direction is already applied in ``Xd = direction * X``.

References: OECD/JRC (2008), *Handbook on Constructing Composite Indicators*, Table 3
(doi:10.1787/9789264043466-en); COINr's ``n_*`` functions (Becker et al. 2022,
doi:10.21105/joss.04567).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmm_lib.errors import InputError, SpecError

__all__ = ["NORMALISERS", "NORMALISE_METHODS", "NormaliseInput", "normaliser"]


@dataclass(frozen=True, eq=False)
class NormaliseInput:
    """What a normalisation method sees.

    Attributes
    ----------
    X : ndarray (units, k)
        Raw values (``NaN`` = missing).
    Xd : ndarray (units, k)
        ``direction * X`` (higher = better).
    dirs : ndarray (k,)
        Direction of each indicator (+1 / -1).
    low, high, mean, sd : float
        The target range and moments of :class:`~pmm_lib.core.spec.NormaliseSpec`.
    targets : mapping or None
        ``NormaliseSpec.targets`` (code -> target value).
    meta : DataFrame
        Per-indicator metadata (index = code; ``direction`` and, when present, ``lower``,
        ``upper``, ``target``).
    codes : list of str
    """

    X: np.ndarray
    Xd: np.ndarray
    dirs: np.ndarray
    low: float
    high: float
    mean: float
    sd: float
    targets: Mapping[str, float] | None
    meta: pd.DataFrame
    codes: list[str]

    @property
    def span(self) -> float:
        """``high - low``."""
        return self.high - self.low


Normaliser = Callable[[NormaliseInput], tuple[np.ndarray, np.ndarray]]
#: method name -> function; filled by :func:`normaliser`
NORMALISERS: dict[str, Normaliser] = {}


def normaliser(name: str) -> Callable[[Normaliser], Normaliser]:
    """Register a normalisation method under ``name`` (raises on a duplicate name)."""
    def register(fn: Normaliser) -> Normaliser:
        if name in NORMALISERS:
            raise SpecError(f"normalisation method {name!r} is registered twice")
        NORMALISERS[name] = fn
        return fn

    return register


@normaliser("minmax")
def minmax(a: NormaliseInput) -> tuple[np.ndarray, np.ndarray]:
    """:math:`l + (u - l)(x' - \\min x')/(\\max x' - \\min x')` (Handbook 2008, Table 3)."""
    mn, mx = _nanmin(a.Xd), _nanmax(a.Xd)
    return a.low + a.span * (a.Xd - mn) / (mx - mn), mx == mn


@normaliser("zscore")
def zscore(a: NormaliseInput) -> tuple[np.ndarray, np.ndarray]:
    """:math:`\\mathrm{mean} + \\mathrm{sd}(x' - \\bar x')/s_{x'}` (sample sd, n - 1)."""
    n = (~np.isnan(a.Xd)).sum(axis=0)
    m_ = np.nansum(a.Xd, axis=0) / n
    s = np.sqrt(np.nansum((a.Xd - m_) ** 2, axis=0) / (n - 1))
    return a.mean + a.sd * (a.Xd - m_) / s, ~(s > 0)


def _ranks(a: NormaliseInput) -> tuple[np.ndarray, np.ndarray]:
    R = pd.DataFrame(a.Xd).rank(method="min", na_option="keep").to_numpy()
    return R, (~np.isnan(a.Xd)).sum(axis=0)


@normaliser("rank")
def rank(a: NormaliseInput) -> tuple[np.ndarray, np.ndarray]:
    """Rank of :math:`x'`, 1 = worst, ties get the lowest rank (COINr ``n_rank``)."""
    return _ranks(a)[0], np.zeros(len(a.codes), dtype=bool)


@normaliser("percentile")
def percentile(a: NormaliseInput) -> tuple[np.ndarray, np.ndarray]:
    """:math:`l + (u - l)(\\mathrm{rank} - 1)/(n - 1)` (COINr ``n_prank``)."""
    R, n = _ranks(a)
    return a.low + a.span * (R - 1.0) / (n - 1), np.zeros(len(a.codes), dtype=bool)


@normaliser("borda")
def borda(a: NormaliseInput) -> tuple[np.ndarray, np.ndarray]:
    """:math:`\\mathrm{rank} - 1`, the number of units strictly beaten (COINr ``n_borda``)."""
    return _ranks(a)[0] - 1.0, np.zeros(len(a.codes), dtype=bool)


@normaliser("goalposts")
def goalposts(a: NormaliseInput) -> tuple[np.ndarray, np.ndarray]:
    """:math:`l + (u - l)\\,\\mathrm{clip}((x - L)/(U - L), 0, 1)` with the framework bounds (COINr ``n_goalposts``)."""
    lo, up = _bounds(a.meta, a.codes)
    y = np.where(a.dirs > 0, (a.X - lo) / (up - lo), (up - a.X) / (up - lo))
    return a.low + a.span * np.clip(y, 0.0, 1.0), np.zeros(len(a.codes), dtype=bool)


@normaliser("distance_to_target")
def distance_to_target(a: NormaliseInput) -> tuple[np.ndarray, np.ndarray]:
    """:math:`l + (u - l)\\min(1, 1 - (t' - x')/(t' - \\min x'))` (COINr ``n_dist2targ`` capped)."""
    t = _targets(a.meta, a.codes, a.targets) * a.dirs
    mn = _nanmin(a.Xd)
    y = 1.0 - (t - a.Xd) / (t - mn)
    y = np.where(a.Xd >= t, 1.0, np.minimum(y, 1.0))
    return np.where(np.isnan(a.Xd), np.nan, a.low + a.span * y), np.zeros(len(a.codes), dtype=bool)


@normaliser("distance_to_best")
def distance_to_best(a: NormaliseInput) -> tuple[np.ndarray, np.ndarray]:
    """:math:`l + (u - l)(1 - (\\max x' - x')/(\\max x' - \\min x'))` (COINr ``n_dist2max``)."""
    mn, mx = _nanmin(a.Xd), _nanmax(a.Xd)
    return a.low + a.span * (1.0 - (mx - a.Xd) / (mx - mn)), mx == mn


@normaliser("fraction_of_max")
def fraction_of_max(a: NormaliseInput) -> tuple[np.ndarray, np.ndarray]:
    """:math:`l + (u - l)x/\\max x` (dir +1) or :math:`l + (u - l)\\min x / x` (dir -1) (COINr ``n_fracmax``)."""
    _check_fraction(a.X, a.dirs, a.codes)
    mx = _nanmax(a.X)
    y = np.where(a.dirs > 0, a.X / mx, _nanmin(a.X) / a.X)
    return a.low + a.span * y, (a.dirs > 0) & (mx == 0)


#: The registered method names (what ``NormaliseSpec.method`` accepts), in registration order.
NORMALISE_METHODS: tuple[str, ...] = tuple(NORMALISERS)


def _nanmin(a: np.ndarray) -> np.ndarray:
    return np.nanmin(np.where(np.isnan(a), np.inf, a), axis=0) if a.shape[0] else np.full(a.shape[1], np.nan)


def _nanmax(a: np.ndarray) -> np.ndarray:
    return np.nanmax(np.where(np.isnan(a), -np.inf, a), axis=0) if a.shape[0] else np.full(a.shape[1], np.nan)


def _bounds(mt: pd.DataFrame, codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    if "lower" not in mt.columns or "upper" not in mt.columns:
        raise InputError("normalise 'goalposts': the meta table needs 'lower' and 'upper' columns "
                         "(the framework bounds)", column="lower")
    lo = pd.to_numeric(mt["lower"], errors="coerce").to_numpy(dtype="float64")
    up = pd.to_numeric(mt["upper"], errors="coerce").to_numpy(dtype="float64")
    bad = [c for c, a, b in zip(codes, lo, up, strict=True) if not a < b]
    if bad:
        raise InputError(f"normalise 'goalposts': indicators {bad[:5]} lack bounds with lower < upper",
                         column="lower")
    return lo, up


def _targets(mt: pd.DataFrame, codes: list[str], targets: Mapping[str, float] | None) -> np.ndarray:
    out = np.full(len(codes), np.nan)
    if "target" in mt.columns:
        out = pd.to_numeric(mt["target"], errors="coerce").to_numpy(dtype="float64").copy()
    if "lower" in mt.columns and "upper" in mt.columns:
        side = np.where(mt["direction"].to_numpy() > 0, pd.to_numeric(mt["upper"], errors="coerce"),
                        pd.to_numeric(mt["lower"], errors="coerce"))
        out = np.where(np.isnan(out), side, out)
    for code, t in (targets or {}).items():
        if code not in codes:
            raise SpecError(f"normalise.targets: unknown indicator code {code!r}")
        out[codes.index(code)] = float(t)
    if np.isnan(out).any():
        bad = [c for c, t in zip(codes, out, strict=True) if np.isnan(t)]
        raise SpecError(f"normalise.targets: no target for {bad[:5]} (give normalise.targets, a meta "
                        "'target' column or framework bounds)")
    return out


def _check_fraction(X: np.ndarray, dirs: np.ndarray, codes: list[str]) -> None:
    with np.errstate(invalid="ignore"):
        neg = np.where(dirs > 0, (X < 0).any(axis=0), (X <= 0).any(axis=0))
    if neg.any():
        c = codes[int(np.flatnonzero(neg)[0])]
        raise InputError(f"normalise 'fraction_of_max': indicator {c} has values <= 0", column=c,
                         expected="values >= 0 (direction +1) or > 0 (direction -1)")
