"""Plots of design reviews and of cycle comparisons (tidy frames from :mod:`pmm_lib.reporting.design`
and :mod:`pmm_lib.analysis.cycles`).

Every function follows ``plot_x(data, *, ..., ax=None) -> Axes`` and never calls ``show()``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from pmm_lib.plots.base import axes, require_columns

__all__ = ["plot_alpha_change", "plot_rank_shift_intervals", "plot_cycle_ranks", "plot_score_changes"]

_BEFORE, _AFTER, _GREY = "#949494", "#0173b2", "#cccccc"


def plot_rank_shift_intervals(data: pd.DataFrame, *, unit: str = "unit", shift: str = "shift",
                              low: str = "shift_low", high: str = "shift_high", threshold: int | None = 3,
                              title: str | None = None, ax: Axes | None = None) -> Axes:
    """Each unit's rank shift (dot) with its interval (bar), sorted; dashed lines at ``±threshold``.

    Parameters
    ----------
    data : DataFrame
        One row per unit with ``unit, shift, shift_low, shift_high`` (e.g. ``DesignReview.ranks`` or
        :func:`pmm_lib.analysis.cycles.rank_changes`); positive = moves up.
    """
    require_columns(data, [unit, shift, low, high], "plot_rank_shift_intervals")
    d = data.sort_values([shift, unit], kind="stable").reset_index(drop=True)
    ax = axes(ax, (6.5, max(3.0, 0.22 * len(d) + 1.2)))
    y = np.arange(len(d))
    sure = (d[low] > 0) | (d[high] < 0)
    ax.hlines(y, d[low], d[high], color=np.where(sure, _AFTER, _GREY), lw=2.5)
    ax.scatter(d[shift], y, color=np.where(sure, _AFTER, _BEFORE), zorder=3, s=18)
    ax.axvline(0, color="black", lw=0.8)
    if threshold:
        for t in (-threshold, threshold):
            ax.axvline(t, color=_BEFORE, lw=0.8, ls="--")
    ax.set_yticks(y, d[unit].astype(str))
    ax.set_xlabel("rank shift (positive = moves up); bar: 90% interval")
    ax.set_ylabel("")
    ax.set_title(title or "Rank shifts with their intervals")
    return ax


def plot_alpha_change(data: pd.DataFrame, *, code: str = "code", before: str = "alpha_before",
                      after: str = "alpha_after", title: str | None = None, ax: Axes | None = None) -> Axes:
    """Cronbach's alpha per node before (grey) and after (blue), joined by a line, one row per node.

    Parameters
    ----------
    data : DataFrame
        ``code, alpha_before, alpha_after`` (``DesignReview.consistency`` or
        :func:`pmm_lib.analysis.cycles.validity_stability` renamed); rows with both missing are left out.
    """
    require_columns(data, [code, before, after], "plot_alpha_change")
    d = data[data[[before, after]].notna().any(axis=1)].reset_index(drop=True)
    ax = axes(ax, (6.5, max(3.0, 0.22 * len(d) + 1.2)))
    y = np.arange(len(d))[::-1]
    ax.hlines(y, d[before], d[after], color=_GREY, lw=2)
    ax.scatter(d[before], y, color=_BEFORE, label="before", zorder=3, s=18)
    ax.scatter(d[after], y, color=_AFTER, label="after", zorder=3, s=18)
    ax.axvline(0.7, color=_BEFORE, lw=0.8, ls="--")
    ax.set_yticks(y, d[code].astype(str))
    ax.set_xlabel("Cronbach's alpha (dashed: 0.7)")
    ax.set_title(title or "Internal consistency before and after")
    ax.legend(loc="lower left", frameon=False)
    return ax


def plot_cycle_ranks(data: pd.DataFrame, *, prev: str = "rank_prev", curr: str = "rank", label: str = "unit",
                     title: str | None = None, ax: Axes | None = None) -> Axes:
    """Rank in the earlier cycle (x) against the later one (y), one labelled dot per unit, with the diagonal."""
    require_columns(data, [prev, curr, label], "plot_cycle_ranks")
    ax = axes(ax, (5.5, 5.0))
    ax.scatter(data[prev], data[curr], color=_AFTER, s=22)
    for _, r in data.iterrows():
        ax.annotate(str(r[label]), (r[prev], r[curr]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    top = float(np.nanmax(data[[prev, curr]].to_numpy())) if len(data) else 1.0
    ax.plot([1, top], [1, top], color=_BEFORE, lw=0.8, ls="--")
    ax.invert_xaxis()
    ax.invert_yaxis()
    ax.set_xlabel("rank in the earlier cycle (1 = best)")
    ax.set_ylabel("rank in the later cycle (1 = best)")
    ax.set_title(title or "Ranks in two cycles")
    return ax


def plot_score_changes(data: pd.DataFrame, *, unit: str = "unit", change: str = "change",
                       low: str = "change_low", high: str = "change_high", title: str | None = None,
                       ax: Axes | None = None) -> Axes:
    """Each unit's score change between cycles (dot) with its uncertainty interval (bar), sorted."""
    require_columns(data, [unit, change, low, high], "plot_score_changes")
    ax = plot_rank_shift_intervals(data.rename(columns={change: "shift", low: "shift_low", high: "shift_high"}),
                                   unit=unit, threshold=None, ax=ax)
    ax.set_xlabel("change of the index score (points); bar: 90% interval over method choices")
    ax.set_title(title or "Score changes between cycles")
    return ax
