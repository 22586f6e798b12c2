"""Plots of indicator validity and outcome analyses (notebooks 02 and 04, and the paper).

This module owns the figures drawn from the tidy tables of :mod:`pmm_lib.analysis.validity` and
:mod:`pmm_lib.analysis.outcomes`: a coefficient (forest) plot, an outcome scatter with its fitted line and
labelled outliers, a correlation heatmap, Cronbach's alpha bars with intervals, and the PCA
scree plot with Kaiser's and Horn's retention lines. Every function is axes-level,
``plot_x(data, *, ..., ax=None) -> Axes``, uses seaborn/matplotlib with colour-blind-safe
palettes, labels its axes, and never calls ``show()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from pmm_lib.errors import InputError
from pmm_lib.labels import DIMENSION_COLOURS, column_label, variable_label
from pmm_lib.plots.base import axes as _ax
from pmm_lib.plots.base import require_columns as _need

__all__ = [
    "plot_alpha",
    "plot_coefficients",
    "plot_correlation_heatmap",
    "plot_outcome_scatter",
    "plot_scree",
]

PALETTE = "colorblind"
DIVERGING = "vlag"  # blue-white-red, readable with red-green colour blindness




def _hue_colours(groups: list[Any]) -> list[Any]:
    """Dimension codes (and the index) keep their catalogue colour; other groups the palette."""
    if groups and all(g is not None and str(g) in DIMENSION_COLOURS for g in groups):
        return [DIMENSION_COLOURS[str(g)] for g in groups]
    return list(sns.color_palette(PALETTE, max(1, len(groups))))


def plot_coefficients(data: pd.DataFrame, *, y: str = "predictor", hue: str | None = "outcome",
                      estimate: str = "estimate", ci_low: str = "ci_low", ci_high: str = "ci_high",
                      xlabel: str = "Estimate (95% CI)", ylabel: str | None = None, title: str | None = None,
                      reference: float | None = 0.0, ax: Axes | None = None) -> Axes:
    """Forest plot: one point with its interval per row, grouped on the y axis, coloured by ``hue``.

    Works for OLS coefficients (``ols_outcomes`` filtered to ``term == predictor``) and for
    correlation tables (``outcome_correlations``, with ``y="code", hue="variable"``).
    """
    _need(data, [y, estimate, ci_low, ci_high] + ([hue] if hue else []), "plot_coefficients")
    cats = list(dict.fromkeys(data[y].astype(str)))
    groups = list(dict.fromkeys(data[hue].astype(str))) if hue else [None]
    ax = _ax(ax, (6.5, min(11.0, max(3.0, 1.5 + len(cats) * (0.25 + 0.1 * len(groups))))))
    colours = _hue_colours(groups)
    width = 0.7
    step = width / max(1, len(groups))
    for gi, grp in enumerate(groups):
        sub = data if grp is None else data[data[hue].astype(str) == grp]
        pos = np.array([cats.index(str(c)) for c in sub[y]], dtype=float)
        pos = pos - width / 2 + step * (gi + 0.5)
        est = sub[estimate].to_numpy(dtype=float)
        err = np.vstack([est - sub[ci_low].to_numpy(dtype=float), sub[ci_high].to_numpy(dtype=float) - est])
        ax.errorbar(est, pos, xerr=err, fmt="o", color=colours[gi], capsize=2, markersize=4,
                    label=None if grp is None else grp)
    if reference is not None:
        ax.axvline(reference, color="0.4", lw=0.8, ls="--")
    ax.set_yticks(range(len(cats)), [variable_label(c) for c in cats])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel if ylabel is not None else y.replace("_", " ").capitalize())
    if title:
        ax.set_title(title)
    if hue and len(groups) > 1:
        ax.legend(title=column_label(hue), fontsize="small", loc="best")
    return ax


def plot_outcome_scatter(data: pd.DataFrame, *, x: str, y: str, label: str | None = None,
                         n_labels: int = 5, xlabel: str | None = None, ylabel: str | None = None,
                         title: str | None = None, ax: Axes | None = None) -> Axes:
    """Scatter of ``y`` against ``x`` with the least-squares line and the largest residuals labelled.

    Parameters
    ----------
    data : DataFrame
        One row per unit; labels come from column ``label`` or, when None, the index.
    n_labels : int
        How many points with the largest absolute residuals get a text label (0 = none).
    """
    _need(data, [x, y] + ([label] if label else []), "plot_outcome_scatter")
    d = data.dropna(subset=[x, y])
    ax = _ax(ax)
    colour = DIMENSION_COLOURS["PMM"] if y == "PMM" else "0.35"
    ax.scatter(d[x], d[y], s=18, alpha=0.75, color=colour, edgecolor="white", linewidth=0.4)
    if len(d) >= 3:
        slope, intercept = np.polyfit(d[x].to_numpy(dtype=float), d[y].to_numpy(dtype=float), 1)
        xs = np.linspace(d[x].min(), d[x].max(), 50)
        ax.plot(xs, intercept + slope * xs, color="0.15", lw=1.2, ls="--", label="OLS fit")
        resid = d[y] - (intercept + slope * d[x])
        names = d[label] if label else pd.Series(d.index.astype(str), index=d.index)
        for i in resid.abs().sort_values(ascending=False).index[:n_labels]:
            ax.annotate(str(names.loc[i]), (d.loc[i, x], d.loc[i, y]), fontsize=7.5, xytext=(3, 3),
                        textcoords="offset points")
        ax.legend(fontsize="small", loc="best")
    ax.set_xlabel(xlabel or variable_label(x))
    ax.set_ylabel(ylabel or variable_label(y))
    ax.set_title(title or f"n = {len(d)}")
    return ax


def plot_correlation_heatmap(data: pd.DataFrame, *, annot: bool = False, title: str | None = None,
                             label: str = "Correlation", ax: Axes | None = None) -> Axes:
    """Heatmap of a square correlation matrix (e.g. :func:`pmm_lib.analysis.validity.correlation_matrix`).

    A diverging colour-blind-safe palette centred on 0, fixed to [-1, 1].
    """
    if not isinstance(data, pd.DataFrame) or data.shape[0] != data.shape[1]:
        raise InputError("plot_correlation_heatmap: data must be a square DataFrame (a correlation matrix)")
    k = data.shape[0]
    ax = _ax(ax, (min(12, 2 + 0.22 * k), min(10, 1.5 + 0.2 * k)))
    sns.heatmap(data.astype(float), vmin=-1, vmax=1, center=0, cmap=DIVERGING, square=True, annot=annot,
                fmt=".2f", cbar_kws={"label": label, "shrink": 0.7}, ax=ax,
                xticklabels=True, yticklabels=True)
    ax.tick_params(labelsize=6 if k > 25 else 8)
    ax.set_xlabel("Indicator")
    ax.set_ylabel("Indicator")
    if title:
        ax.set_title(title)
    return ax


def plot_alpha(data: pd.DataFrame, *, threshold: float | None = 0.7, y: str = "code",
               title: str | None = None, ax: Axes | None = None) -> Axes:
    """Cronbach's alpha per node with its interval (``consistency_table`` output).

    Rows with NaN alpha (single-KPI nodes) are left out; the dashed line marks ``threshold``
    (0.7, Nunnally's conventional floor for group comparisons). The x axis stops at -1; longer
    intervals (tiny samples) run off the left edge.
    """
    _need(data, [y, "alpha", "ci_low", "ci_high"], "plot_alpha")
    d = data.dropna(subset=["alpha"])
    ax = _ax(ax, (6.5, max(3.0, 0.3 * len(d) + 1.5)))
    hue = "level" if "level" in d.columns else None
    lvl_name = {2: "expected outcome", 3: "dimension", 4: "index"}
    # a dimension keeps its catalogue colour; expected outcomes are grey (no colour means "a dimension")
    col = [DIMENSION_COLOURS.get(str(c), "0.65") for c in d[y]]
    pos = np.arange(len(d))
    ax.barh(pos, d["alpha"], color=col, alpha=0.85)
    err = np.vstack([d["alpha"] - d["ci_low"], d["ci_high"] - d["alpha"]])
    ax.errorbar(d["alpha"], pos, xerr=np.nan_to_num(err), fmt="none", ecolor="0.2", capsize=2, lw=0.8)
    if threshold is not None:
        ax.axvline(threshold, color="0.3", ls="--", lw=0.8, label=f"alpha = {threshold}")
    ax.set_yticks(pos, d[y].astype(str))
    ax.invert_yaxis()
    low = float(np.nanmin(d["ci_low"])) if len(d) and d["ci_low"].notna().any() else 0.0
    ax.set_xlim(max(-1.0, min(0.0, low - 0.05)), 1.0)
    ax.set_xlabel("Cronbach's alpha (95% CI)")
    ax.set_ylabel("Dimension / expected outcome")
    if hue:
        from matplotlib.patches import Patch

        handles = [Patch(color=DIMENSION_COLOURS[c], label=c) for c in DIMENSION_COLOURS
                   if c in set(d[y].astype(str))] + [Patch(color="0.65", label=lvl_name[2])]
        ax.legend(handles=handles, fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  ncol=min(6, len(handles)), frameon=False)
    if title:
        ax.set_title(title)
    return ax


def plot_scree(data: pd.DataFrame, *, hue: str | None = "code", title: str | None = None,
               ax: Axes | None = None) -> Axes:
    """Scree plot: eigenvalues by component, with Kaiser's line (1) and Horn's thresholds.

    ``data`` is ``PcaResult.eigen`` or :func:`pmm_lib.analysis.validity.pca_table` (one line per ``code``).
    """
    _need(data, ["component", "eigenvalue", "threshold"], "plot_scree")
    ax = _ax(ax)
    groups = list(dict.fromkeys(data[hue])) if hue and hue in data.columns else [None]
    colours = _hue_colours(groups)
    for gi, grp in enumerate(groups):
        sub = data if grp is None else data[data[hue] == grp]
        pos = np.arange(1, len(sub) + 1)
        ax.plot(pos, sub["eigenvalue"], "o-", color=colours[gi], ms=4, label=grp if grp is not None else "observed")
        ax.plot(pos, sub["threshold"], ":", color=colours[gi], lw=1)
    ax.axhline(1.0, color="0.4", ls="--", lw=0.8)
    ax.text(ax.get_xlim()[1], 1.0, "Kaiser (1)", va="bottom", ha="right", fontsize=7, color="0.3")
    ax.set_xlabel("Component")
    ax.set_ylabel("Eigenvalue (dotted: parallel-analysis 95th percentile)")
    ax.legend(title=hue if groups != [None] else None, fontsize="small")
    if title:
        ax.set_title(title)
    return ax
