"""Plots of uncertainty and sensitivity analysis (notebook 05): rank intervals, Sobol' indices,
score distributions.

Axes-level functions in the seaborn style, ``plot_x(data, *, ..., ax=None) -> Axes``, on the
tidy outputs of :mod:`pmm_lib.uncertainty.sensitivity` (:func:`~pmm_lib.uncertainty.sensitivity.rank_intervals`,
``SensitivityResult.indices``), with labelled axes and the colour-blind-safe seaborn
``colorblind`` palette; they never call ``show()``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from pmm_lib.errors import InputError
from pmm_lib.labels import DIMENSION_COLOURS
from pmm_lib.plots.base import axes as _ax
from pmm_lib.plots.base import require_columns as _need

__all__ = ["plot_rank_intervals", "plot_score_distributions", "plot_sobol"]

_OUTPUT_LABELS = {"mean_abs_rank_shift": "mean absolute rank shift", "score": "scores (variance-weighted)",
                  "rank": "ranks (variance-weighted)"}




def _one_code(data: pd.DataFrame, code: str | None, what: str) -> tuple[pd.DataFrame, str]:
    codes = list(pd.unique(data["code"]))
    code = codes[0] if code is None and codes else code
    if code not in codes:
        raise InputError(f"{what}: code {code!r} not in data; available: {', '.join(map(str, codes))}",
                         column="code")
    return data[data["code"] == code], str(code)


def _labels(units: pd.Series, labels: Mapping[str, str] | None) -> list[str]:
    return [str(labels.get(u, u)) if labels else str(u) for u in units]


def plot_rank_intervals(data: pd.DataFrame, *, code: str | None = None,
                        labels: Mapping[str, str] | None = None, ax: Axes | None = None) -> Axes:
    """Units by nominal rank with the median rank and the 5-95 % rank interval.

    Parameters
    ----------
    data : DataFrame
        :func:`pmm_lib.uncertainty.sensitivity.rank_intervals` output (``code, unit, rank, rank_q50,
        rank_low, rank_high``).
    code : str, optional
        Which index or dimension (default: the first code in ``data``).
    labels : mapping, optional
        unit -> displayed label (e.g. pseudonyms for a public report).

    Returns
    -------
    Axes
        x: units ordered by nominal rank; y: rank (1 at the top). Vertical bars span the
        interval, dots mark the median, crosses the nominal rank.
    """
    _need(data, ("code", "unit", "rank", "rank_q50", "rank_low", "rank_high"), "plot_rank_intervals")
    sub, code = _one_code(data, code, "plot_rank_intervals")
    sub = sub.sort_values(["rank", "unit"], na_position="last").reset_index(drop=True)
    n = len(sub)
    ax = _ax(ax, (max(6.0, 0.22 * n + 2), 4.5))
    x = np.arange(n)
    colour = DIMENSION_COLOURS.get(str(code), "0.3")  # the index black, a dimension its own colour
    ax.vlines(x, sub["rank_low"], sub["rank_high"], color=colour, lw=3, alpha=0.35,
              label="5-95 % interval")
    ax.scatter(x, sub["rank_q50"], color=colour, s=18, zorder=3, label="median rank")
    ax.scatter(x, sub["rank"], color="#D55E00", marker="x", s=22, zorder=4, label="nominal rank")
    ax.set_xticks(x)
    ax.set_xticklabels(_labels(sub["unit"], labels), rotation=90, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("unit (ordered by nominal rank)")
    ax.set_ylabel(f"rank in {code} (1 = best)")
    ax.set_title(f"{code}: rank uncertainty")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_sobol(data: pd.DataFrame, *, code: str | None = None, output: str = "mean_abs_rank_shift",
               ax: Axes | None = None) -> Axes:
    """First-order and total Sobol' indices per assumption, with their confidence intervals.

    Parameters
    ----------
    data : DataFrame
        ``SensitivityResult.indices`` (``code, output, unit, factor, order, estimate, ci_low,
        ci_high``); only the aggregate rows (``unit == ""``) are drawn.
    code : str, optional
        Which index or dimension (default: the first code in ``data``).
    output : str
        ``"mean_abs_rank_shift"``, ``"score"`` or ``"rank"``.

    Returns
    -------
    Axes
        Grouped bars (first order, total) per factor; error bars span ``ci_low`` to
        ``ci_high``. The gap between total and first order is the share of variance due to
        interactions.
    """
    _need(data, ("code", "output", "factor", "order", "estimate", "ci_low", "ci_high"), "plot_sobol")
    sub, code = _one_code(data, code, "plot_sobol")
    if "unit" in sub.columns:
        sub = sub[sub["unit"].fillna("") == ""]
    sub = sub[sub["output"] == output]
    if sub.empty:
        raise InputError(f"plot_sobol: no rows for output {output!r}", column="output",
                         expected=", ".join(map(str, pd.unique(data["output"]))))
    factors = list(pd.unique(sub["factor"]))
    ax = _ax(ax, (max(5.0, 1.2 * len(factors) + 2), 4.0))
    width = 0.38
    for k, (order, label) in enumerate((("first", "first order S1"), ("total", "total ST"))):
        part = sub[sub["order"] == order].set_index("factor").reindex(factors)
        x = np.arange(len(factors)) + (k - 0.5) * width
        est = part["estimate"].to_numpy(dtype=float)
        err = np.vstack([est - part["ci_low"].to_numpy(dtype=float),
                         part["ci_high"].to_numpy(dtype=float) - est])
        ax.bar(x, est, width, color=("0.7", "0.25")[k], label=label)  # greys: no dimension colour
        ax.errorbar(x, est, yerr=np.clip(err, 0, None), fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_xticks(np.arange(len(factors)))
    ax.set_xticklabels(factors)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("uncertain assumption")
    ax.set_ylabel("Sobol' index (share of variance)")
    ax.set_title(f"{code}: sensitivity of {_OUTPUT_LABELS.get(output, output)}")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_score_distributions(data: pd.DataFrame, *, code: str | None = None,
                             labels: Mapping[str, str] | None = None, ax: Axes | None = None) -> Axes:
    """Each unit's score distribution over the replications, as boxes from its quantiles.

    Parameters
    ----------
    data : DataFrame
        :func:`pmm_lib.uncertainty.sensitivity.rank_intervals` output (``code, unit, rank, score,
        score_low, score_q25, score_q50, score_q75, score_high``): the box spans the
        quartiles, the whiskers the 5 % and 95 % quantiles, the line the median; the nominal
        score is a cross.
    code : str, optional
        Which index or dimension (default: the first code in ``data``).
    labels : mapping, optional
        unit -> displayed label.

    Returns
    -------
    Axes
        One box per unit, units ordered by nominal rank.
    """
    cols = ("code", "unit", "rank", "score", "score_low", "score_q25", "score_q50", "score_q75", "score_high")
    _need(data, cols, "plot_score_distributions")
    sub, code = _one_code(data, code, "plot_score_distributions")
    sub = sub.sort_values(["rank", "unit"], na_position="last").reset_index(drop=True)
    n = len(sub)
    ax = _ax(ax, (max(6.0, 0.22 * n + 2), 4.5))
    stats = [{"med": r.score_q50, "q1": r.score_q25, "q3": r.score_q75, "whislo": r.score_low,
              "whishi": r.score_high, "label": lab}
             for r, lab in zip(sub.itertuples(), _labels(sub["unit"], labels), strict=True)]
    ax.bxp(stats, positions=np.arange(n), showfliers=False, widths=0.6, patch_artist=True,
           boxprops={"facecolor": DIMENSION_COLOURS.get(str(code), "0.6"), "alpha": 0.35}, medianprops={"color": "black", "gid": "median"})
    ax.scatter(np.arange(n), sub["score"], color="#D55E00", marker="x", s=20, zorder=4, label="nominal score")
    ax.set_xticks(np.arange(n))
    ax.set_xticklabels([str(s["label"]) for s in stats], rotation=90, fontsize=7)
    ax.set_xlabel("unit (ordered by nominal rank)")
    ax.set_ylabel(f"{code} score")
    ax.set_title(f"{code}: score distributions over replications")
    ax.legend(frameon=False, fontsize=8)
    return ax
