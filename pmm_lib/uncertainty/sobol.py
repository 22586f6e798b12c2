"""Variance-based sensitivity analysis: first-order and total Sobol' indices of ranks and scores.

This module owns the estimators (SALib's, Saltelli et al. 2010, doi:10.1016/j.cpc.2009.09.018)
applied to many outputs at once with bootstrap confidence intervals drawn exactly as
``SALib.analyze.sobol.analyze`` draws them, the variance-weighted index over units (Gamboa et
al. 2014, doi:10.1214/14-EJS895), the convergence check at N/2 and N, and
:func:`sensitivity_analysis`, which samples a Saltelli design and evaluates it with the engine.

May import: :mod:`pmm_lib.core`, the other :mod:`pmm_lib.uncertainty` modules and the
top-level helpers.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from pmm_lib.errors import RunError, SpecError
from pmm_lib.seed import SeedLike, rng
from pmm_lib.uncertainty.design import SampleDesign, prepare, salib_seed, sample_design
from pmm_lib.uncertainty.engine import Replications, evaluate
from pmm_lib.uncertainty.problem import UncertaintyProblem
from pmm_lib.vocab import check_choice

__all__ = ["SOBOL_OUTPUTS", "SensitivityResult", "SobolOutput", "convergence_check", "sensitivity_analysis",
           "sobol_indices"]

SobolOutput = Literal["mean_abs_rank_shift", "score", "rank"]
SOBOL_OUTPUTS: tuple[str, ...] = get_args(SobolOutput)


def _split_saltelli(y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SALib's row order (A, AB_1..AB_k, B per base sample) -> A (N,...), AB (N,k,...), B."""
    step = k + 2
    n = y.shape[0] // step
    y = y[: n * step].reshape(n, step, *y.shape[1:])
    return y[:, 0], y[:, 1:-1], y[:, -1]


def _sobol_arrays(y: np.ndarray, k: int, num_resamples: int, conf_level: float,
                  seed: int, *, per_column: bool = True) -> dict[str, np.ndarray]:
    """S1, ST and bootstrap half-widths for every output column of ``y`` (rows x m), and for
    the columns pooled (variance-weighted).

    Point estimates are SALib's estimators (Saltelli et al. 2010): with A, B, AB_j the outputs
    at the two base matrices and at A with column j from B, and V = var([A; B]),
    S1_j = mean(B (AB_j - A)) / V and ST_j = mean((A - AB_j)^2) / (2 V).
    Confidence half-widths are z_{(1+c)/2} times the standard deviation over ``num_resamples``
    bootstrap resamples of the base samples, drawn exactly as ``SALib.analyze.sobol.analyze``
    draws them for the same seed; each resample is evaluated as a weighted mean with the
    resample's multiplicities, so all outputs are handled in a few matrix products (the tests
    check equality with SALib column by column).

    The pooled index over the m columns is sum_u num_u / sum_u V_u (= sum_u V_u S_u / sum_u V_u,
    the variance-weighted mean), the generalised Sobol' index of a multivariate output
    (Gamboa et al. 2014, doi:10.1214/14-EJS895). Keys ``S1_all, ST_all`` (k,) and their
    ``_conf``; per-column keys only when ``per_column``.
    """
    from SALib.analyze import sobol as salib
    from scipy.stats import norm

    n = y.shape[0] // (k + 2)
    y = y[: n * (k + 2)]
    # SALib standardises Y over all rows before estimating (the S1 estimator is not exactly
    # shift-invariant), so centre (and, per column, scale) the same way
    mu = y.mean(axis=0)
    sd = y.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    yc = y - mu
    a, ab, b = _split_saltelli(yc, k)
    r = np.random.default_rng(seed).integers(n, size=(n, num_resamples))
    counts = np.zeros((num_resamples, n))
    for j in range(num_resamples):
        counts[j] = np.bincount(r[:, j], minlength=n)
    z = float(norm.ppf(0.5 + conf_level / 2))
    eps = np.finfo(float).eps
    const = np.ptp(np.concatenate([a, b]), axis=0) <= eps * sd  # SALib's constant-output rule
    out: dict[str, np.ndarray] = {}
    # pooled over columns: sums across columns first, then the same estimators
    var_all = (np.concatenate([a, b]) ** 2).mean(axis=0) - np.concatenate([a, b]).mean(axis=0) ** 2
    m1 = (counts @ a + counts @ b) / (2 * n)
    m2 = (counts @ (a * a) + counts @ (b * b)) / (2 * n)
    var_r = m2 - m1 * m1                                   # (R, m) bootstrap variances
    if per_column:
        for key in ("S1", "S1_conf", "ST", "ST_conf"):
            out[key] = np.zeros((k, y.shape[1]))
    for key in ("S1_all", "S1_all_conf", "ST_all", "ST_all_conf"):
        out[key] = np.zeros(k)
    vsum, vsum_r = var_all.sum(), var_r.sum(axis=1)
    for j in range(k):
        abj = ab[:, j]
        f1 = b * (abj - a)
        ft = 0.5 * (a - abj) ** 2
        if per_column:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # constant columns: SALib warns and returns 0
                out["S1"][j] = np.where(const, 0.0, salib.first_order(a / sd, abj / sd, b / sd))
                out["ST"][j] = np.where(const, 0.0, salib.total_order(a / sd, abj / sd, b / sd))
            with np.errstate(divide="ignore", invalid="ignore"):
                s1_r = np.where(var_r > eps * sd**2, (counts @ f1) / n / var_r, 0.0)
                st_r = np.where(var_r > eps * sd**2, (counts @ ft) / n / var_r, 0.0)
            out["S1_conf"][j] = np.where(const, 0.0, z * s1_r.std(axis=0, ddof=1))
            out["ST_conf"][j] = np.where(const, 0.0, z * st_r.std(axis=0, ddof=1))
        if vsum > 0:
            f1s, fts = f1.sum(axis=1), ft.sum(axis=1)
            out["S1_all"][j] = f1s.mean() / vsum
            out["ST_all"][j] = fts.mean() / vsum
            out["S1_all_conf"][j] = z * ((counts @ f1s) / n / vsum_r).std(ddof=1)
            out["ST_all_conf"][j] = z * ((counts @ fts) / n / vsum_r).std(ddof=1)
    return out


def sobol_indices(y: np.ndarray | pd.Series, design: SampleDesign, *, num_resamples: int = 100,
                  conf_level: float = 0.95, seed: SeedLike = None, n_base: int | None = None) -> pd.DataFrame:
    """First-order and total Sobol' indices of one output with bootstrap CIs, via SALib.

    Parameters
    ----------
    y : array (n,)
        Model output at every row of a ``"sobol"`` design, in the design's row order.
    design : SampleDesign
        From :func:`sobol_design` or :func:`sample_design` with ``method="sobol"``.
    num_resamples, conf_level : int, float
        Bootstrap resamples and confidence level of the intervals.
    n_base : int, optional
        Use only the first ``n_base`` base samples (for convergence checks).

    Returns
    -------
    DataFrame
        ``factor, order ("first" | "total"), estimate, ci_low, ci_high, n`` (n = base samples).

    Notes
    -----
    Computed by :func:`SALib.analyze.sobol.analyze` (Saltelli et al. 2010,
    doi:10.1016/j.cpc.2009.09.018); ``ci_low, ci_high = estimate -/+ z * bootstrap sd``.

    Examples
    --------
    Additive model y = 2 x1 + x2 with x1, x2 ~ U(0, 1): S1 = (4/5, 1/5).

    >>> from pmm_lib.uncertainty.design import Factor, sobol_design
    >>> d = sobol_design([Factor("x1"), Factor("x2")], 4096, seed=3)
    >>> s = sobol_indices(2 * d.u[:, 0] + d.u[:, 1], d, seed=3)
    >>> s.query("order == 'first'")["estimate"].round(1).tolist()
    [0.8, 0.2]
    """
    from SALib.analyze import sobol as salib

    if design.method != "sobol":
        raise SpecError(f"design: Sobol' indices need a 'sobol' design, got {design.method!r}")
    k = len(design.factors)
    y = np.asarray(y, dtype=float).ravel()
    if y.shape[0] != design.n:
        raise SpecError(f"y: expected {design.n} values (one per design row), got {y.shape[0]}")
    nb = design.n_base if n_base is None else int(n_base)
    y = y[: nb * (k + 2)]
    if np.isnan(y).any():
        raise RunError(f"y: {int(np.isnan(y).sum())} missing outputs; drop failed base samples first")
    gen = rng(seed)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = salib.analyze(design.salib_problem(), y, calc_second_order=False,
                            num_resamples=num_resamples, conf_level=conf_level, seed=salib_seed(gen))
    rows = []
    for order, key in (("first", "S1"), ("total", "ST")):
        for j, f in enumerate(design.factors):
            est, half = float(res[key][j]), float(res[f"{key}_conf"][j])
            rows.append({"factor": f.name, "order": order, "estimate": est, "ci_low": est - half,
                         "ci_high": est + half, "n": nb})
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class SensitivityResult:
    """Sobol' indices, their convergence check and the replications behind them."""

    indices: pd.DataFrame
    convergence: pd.DataFrame
    replications: Replications
    n_dropped: int

    @property
    def converged(self) -> bool:
        """True when every aggregate index moved less than the tolerance from N/2 to N."""
        return bool(self.convergence["converged"].all()) if len(self.convergence) else True


def _valid_blocks(reps: Replications, k: int) -> np.ndarray:
    """Base samples whose k + 2 replications all succeeded."""
    step = k + 2
    nb = reps.n // step
    bad = reps.failed[: nb * step].reshape(nb, step).any(axis=1)
    return np.flatnonzero(~bad)


def _sobol_frame(reps: Replications, blocks: np.ndarray, outputs: Sequence[str], per_unit: bool,
                 num_resamples: int, conf_level: float, seed: int) -> pd.DataFrame:
    design = reps.design
    k = len(design.factors)
    step = k + 2
    rows_idx = (blocks[:, None] * step + np.arange(step)[None]).ravel()
    nb = len(blocks)
    names = list(design.names)

    def frame(est: np.ndarray, half: np.ndarray, order: str, unit: Any) -> pd.DataFrame:
        return pd.DataFrame({"unit": unit, "factor": np.repeat(names, est.size // k), "order": order,
                             "estimate": est.ravel(), "ci_low": (est - half).ravel(),
                             "ci_high": (est + half).ravel(), "n": nb})

    frames = []
    if "mean_abs_rank_shift" in outputs:
        # one scalar output per code, all estimated together
        shift = np.nanmean(np.abs(reps.rank_rows(rows_idx) - reps.nominal_ranks[None]), axis=1)  # (rows, T)
        res = _sobol_arrays(shift, k, num_resamples, conf_level, seed)
        for t, code in enumerate(reps.targets):
            for order, key in (("first", "S1"), ("total", "ST")):
                f = frame(res[key][:, t], res[f"{key}_conf"][:, t], order, "")
                f.insert(0, "output", "mean_abs_rank_shift")
                f.insert(0, "code", code)
                frames.append(f)
    for out in (o for o in outputs if o != "mean_abs_rank_shift"):
        for t, code in enumerate(reps.targets):
            arr = (reps.score_store[t][:, rows_idx].T.astype(float) if out == "score"
                   else reps.rank_rows(rows_idx)[:, :, t])
            keep = ~np.isnan(arr).any(axis=0)
            res = _sobol_arrays(arr[:, keep], k, num_resamples, conf_level, seed, per_column=per_unit)
            units = np.asarray(reps.units)[keep]
            for order, key in (("first", "S1"), ("total", "ST")):
                parts = [frame(res[f"{key}_all"], res[f"{key}_all_conf"], order, "")]
                if per_unit:
                    parts.append(frame(res[key], res[f"{key}_conf"], order, np.tile(units, k)))
                f = pd.concat(parts, ignore_index=True)
                f.insert(0, "output", out)
                f.insert(0, "code", code)
                frames.append(f)
    out_frame = pd.concat(frames, ignore_index=True)
    order_key = {o: i for i, o in enumerate(outputs)}
    code_key = {c: i for i, c in enumerate(reps.targets)}
    return (out_frame.assign(_c=out_frame["code"].map(code_key), _o=out_frame["output"].map(order_key))
            .sort_values(["_c", "_o"], kind="stable").drop(columns=["_c", "_o"]).reset_index(drop=True))


def convergence_check(full: pd.DataFrame, half: pd.DataFrame, *, tol: float = 0.05) -> pd.DataFrame:
    """Compare indices at N/2 and N base samples.

    Returns
    -------
    DataFrame
        ``code, output, factor, order, estimate, estimate_half, abs_diff, ci_width, converged``
        for the aggregate rows (``unit == ""``); ``converged`` when ``abs_diff <= tol`` and
        the CI at N is no wider than ``2 * tol``.
    """
    keys = ["code", "output", "unit", "factor", "order"]
    f = full[full["unit"] == ""]
    h = half[half["unit"] == ""][keys + ["estimate"]].rename(columns={"estimate": "estimate_half"})
    m = f.merge(h, on=keys, how="left")
    m["abs_diff"] = (m["estimate"] - m["estimate_half"]).abs()
    m["ci_width"] = m["ci_high"] - m["ci_low"]
    m["converged"] = (m["abs_diff"] <= tol) & (m["ci_width"] <= 2 * tol)
    return m[["code", "output", "factor", "order", "estimate", "estimate_half", "abs_diff",
              "ci_width", "converged"]]


def sensitivity_analysis(data: pd.DataFrame, meta: pd.DataFrame, problem: UncertaintyProblem, *,
                         n_base: int = 1024, seed: SeedLike = None,
                         targets: Sequence[str] | None = None,
                         outputs: Sequence[SobolOutput] = ("mean_abs_rank_shift", "score"),
                         per_unit: bool = False, num_resamples: int = 100,
                         conf_level: float = 0.95, tol: float = 0.05, chunk_size: int | None = None,
                         progress: bool = False, max_failed_share: float = 0.05,
                         build_options: Mapping[str, Any] | None = None) -> SensitivityResult:
    """Variance-based sensitivity analysis of ranks and scores to the uncertain assumptions.

    Samples a Saltelli/Sobol' design of ``n_base * (k + 2)`` replications (k = varied
    assumptions), evaluates it with :func:`evaluate`, and estimates first-order (S1) and total
    (ST) Sobol' indices with bootstrap CIs for each target code and output:

    * ``"mean_abs_rank_shift"``: y = mean over units of |rank - nominal rank| (via
      :func:`SALib.analyze.sobol.analyze`);
    * ``"score"`` / ``"rank"``: every unit's score or rank; reported as the variance-weighted
      mean over units, S = sum_u V_u S_u / sum_u V_u (and per unit when ``per_unit``).

    The estimate is repeated with the first N/2 base samples; ``.convergence`` says whether N
    was enough (:func:`convergence_check`).

    Returns
    -------
    SensitivityResult
        ``.indices``: ``code, output, unit, factor, order, estimate, ci_low, ci_high, n``
        (``unit`` empty for aggregate rows); ``.convergence``; ``.replications``;
        ``.n_dropped`` base samples dropped because a replication in them failed.
    """
    for o in outputs:
        check_choice(o, SOBOL_OUTPUTS, "outputs")
    if not problem.varied:
        raise SpecError("problem: no assumption varies; give at least one field two alternatives")
    gen = rng(seed)
    prep = prepare(data, meta, problem, build_options)
    design = sample_design(data, meta, problem, n_base, method="sobol", seed=gen, _prep=prep)
    reps = evaluate(data, meta, problem, design, targets=targets, chunk_size=chunk_size,
                    progress=progress, max_failed_share=max_failed_share, _prep=prep)
    k = len(design.factors)
    blocks = _valid_blocks(reps, k)
    boot_seed = salib_seed(gen)
    full = _sobol_frame(reps, blocks, outputs, per_unit, num_resamples, conf_level, boot_seed)
    half = _sobol_frame(reps, blocks[: len(blocks) // 2], outputs, False, num_resamples,
                        conf_level, boot_seed)
    conv = convergence_check(full, half, tol=tol)
    return SensitivityResult(full, conv, reps, int(n_base - len(blocks)))
