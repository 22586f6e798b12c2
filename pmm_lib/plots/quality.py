"""Plots of data quality (notebook 01): coverage, missingness and distributions.

Axes-level functions in the seaborn style: ``plot_x(data, *, ..., ax=None) -> Axes``, tidy input
from :mod:`pmm_lib.analysis.quality`, labelled axes, colour-blind-safe colours, never ``show()``.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

from pmm_lib.labels import DIMENSION_COLOURS
from pmm_lib.plots.base import axes as _ax

__all__ = ["plot_coverage_kpi", "plot_coverage_member", "plot_distributions", "plot_missingness"]

_DIM_ORDER = ["TF", "RC", "ES", "OD"]
_PALETTE = {d: DIMENSION_COLOURS[d] for d in _DIM_ORDER}  # one colour per dimension everywhere



def _palette(dims: Any) -> dict[str, str]:
    extra = [d for d in pd.unique(pd.Series(dims)) if d not in _PALETTE]
    more = dict(zip(extra, sns.color_palette("colorblind", 10).as_hex()[4:], strict=False))
    return {**_PALETTE, **more}


def plot_coverage_kpi(data: pd.DataFrame, *, threshold: float | None = 0.5, ax: Axes | None = None) -> Axes:
    """Horizontal bars: share of Members reporting each KPI, coloured by dimension.

    ``data`` is :func:`pmm_lib.analysis.quality.coverage_by_kpi` output (``kpi, dimension, coverage``).
    A dashed line marks ``threshold`` (e.g. the minimum coverage for aggregation).
    """
    ax = _ax(ax, (7, max(4, 0.18 * len(data) + 1)))
    pal = _palette(data["dimension"])
    ax.barh(data["kpi"], 100 * data["coverage"], color=[pal.get(d, "#949494") for d in data["dimension"]])
    ax.invert_yaxis()
    if threshold is not None:
        ax.axvline(100 * threshold, color="#333333", ls="--", lw=1)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Members reporting the KPI (%)")
    ax.set_ylabel("KPI")
    ax.tick_params(axis="y", labelsize=7)
    handles = [plt.Rectangle((0, 0), 1, 1, color=pal[d]) for d in pd.unique(data["dimension"]) if d in pal]
    ax.legend(handles, [d for d in pd.unique(data["dimension"]) if d in pal], title="Dimension",
              loc="lower left", fontsize=8)
    ax.set_title("Coverage by KPI")
    return ax


def plot_coverage_member(data: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Horizontal bars: share of KPIs each Member reported (:func:`~pmm_lib.analysis.quality.coverage_by_member`)."""
    ax = _ax(ax, (7, max(3, 0.2 * len(data) + 1)))
    ax.barh(data["member"], 100 * data["coverage"], color=sns.color_palette("colorblind")[0])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("KPIs reported (%)")
    ax.set_ylabel("Member")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("Coverage by Member")
    return ax


def plot_missingness(matrix: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Members × KPIs map of reported (blue) and skipped (orange) values.

    Rows are sorted by coverage so Members who skip the same KPIs sit together.
    """
    ax = _ax(ax, (10, max(3, 0.2 * len(matrix) + 1.5)))
    miss = matrix.isna()
    order = miss.sum(axis=1).sort_values(kind="stable").index
    cmap = ListedColormap(["#0173b2", "#de8f05"])
    ax.imshow(miss.loc[order].to_numpy(dtype=float), aspect="auto", cmap=cmap, vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_yticks(np.arange(len(order)), [str(m) for m in order], fontsize=6)
    ax.set_xticks(np.arange(matrix.shape[1]), list(matrix.columns), rotation=90, fontsize=6)
    ax.set_xlabel("KPI")
    ax.set_ylabel("Member")
    ax.legend([plt.Rectangle((0, 0), 1, 1, color=c) for c in ("#0173b2", "#de8f05")],
              ["reported", "skipped"], loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.set_title("Missingness pattern")
    return ax


def plot_distributions(data: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Box plots of each KPI's values scaled to its plausible range, coloured by dimension.

    ``data`` is :func:`pmm_lib.analysis.quality.scaled_long` output (``kpi, dimension, scaled``).
    """
    ax = _ax(ax, (11, 4.5))
    order = list(pd.unique(data["kpi"]))
    pal = _palette(data["dimension"])
    sns.boxplot(data=data, x="kpi", y="scaled", hue="dimension", order=order, palette=pal, dodge=False,
                fliersize=2, linewidth=0.7, ax=ax)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("KPI")
    ax.set_ylabel("Value scaled to plausible range (0 = lower, 1 = upper bound)")
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    ax.legend(title="Dimension", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title("Distributions of reported values")
    return ax
