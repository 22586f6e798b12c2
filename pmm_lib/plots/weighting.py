"""Plots of weighting alternatives (notebook 03): rank shifts, weights per scheme, effective weights.

Axes-level functions in the seaborn style, ``plot_x(data, *, ..., ax=None) -> Axes``, on the
tidy outputs of :mod:`pmm_lib.core.weights` (:func:`~pmm_lib.core.weights.compare_schemes`,
:func:`~pmm_lib.core.weights.effective_weights`), with labelled axes and the colour-blind-safe
seaborn ``colorblind`` palette; they never call ``show()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from pmm_lib.errors import InputError
from pmm_lib.labels import DIMENSION_COLOURS
from pmm_lib.plots.base import axes as _ax
from pmm_lib.plots.base import require_columns as _need

__all__ = ["plot_effective_weights", "plot_rank_shift", "plot_scheme_weights"]

_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "<", ">")




def plot_rank_shift(data: pd.DataFrame, *, reference: str | None = None,
                    labels: dict[str, str] | None = None, ax: Axes | None = None) -> Axes:
    """Ranks of every unit under each weighting scheme, ordered by the reference ranking.

    Parameters
    ----------
    data : DataFrame
        :func:`pmm_lib.core.weights.compare_schemes` output (``unit, scheme, rank``).
    reference : str, optional
        Scheme that orders the units (default: the first scheme in ``data``); drawn as black
        bars, the other schemes as coloured markers joined by a grey range line.
    labels : dict, optional
        unit → displayed label (e.g. pseudonyms for a public report).

    Returns
    -------
    Axes
    """
    _need(data, ("unit", "scheme", "rank"), "plot_rank_shift")
    schemes = list(pd.unique(data["scheme"]))
    reference = reference or schemes[0]
    if reference not in schemes:
        raise InputError(f"plot_rank_shift: reference scheme {reference!r} not in the data",
                         expected=", ".join(map(str, schemes)))
    wide = data.pivot(index="unit", columns="scheme", values="rank")[schemes]
    wide = wide.sort_values(reference, kind="stable")
    n = len(wide)
    ax = _ax(ax, (8, max(3.5, 0.26 * n + 1.5)))
    y = np.arange(n)
    ax.hlines(y, wide.min(axis=1), wide.max(axis=1), color="#bbbbbb", lw=1.5, zorder=1)
    others = [s for s in schemes if s != reference]
    pal = sns.color_palette("colorblind", max(len(others), 1))
    for i, s in enumerate(others):
        ax.scatter(wide[s], y, s=28, color=pal[i], marker=_MARKERS[i % len(_MARKERS)],
                   label=s, zorder=3, alpha=0.9)
    ax.scatter(wide[reference], y, s=80, color="black", marker="|", lw=2.5,
               label=f"{reference} (reference)", zorder=4)
    names = [labels.get(u, u) if labels else u for u in wide.index]
    ax.set_yticks(y, names, fontsize=8 if n <= 40 else 6)
    ax.set_ylim(n - 0.5, -0.5)  # best at the top, no empty margins
    ax.set_xlabel("Rank (1 = best)")
    ax.set_ylabel(f"Member (ordered by rank under {reference})")
    ax.set_xlim(0.5, max(float(np.nanmax(wide.to_numpy())), 1.0) + 0.5)
    ax.legend(title="Weighting", fontsize=8, title_fontsize=8, loc="center left",
              bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set_title("Index rank under alternative weights")
    return ax


def plot_scheme_weights(data: pd.DataFrame, *, codes: Sequence[str] | None = None,
                        ax: Axes | None = None) -> Axes:
    """Grouped bars of the weights each scheme gives to a set of codes (e.g. dimensions).

    Parameters
    ----------
    data : DataFrame
        Tidy ``scheme, code, weight`` (weights within parent, 0–1).
    codes : sequence of str, optional
        Codes to show, in this order (default all, in order of appearance).
    """
    _need(data, ("scheme", "code", "weight"), "plot_scheme_weights")
    d = data if codes is None else data[data["code"].isin(codes)]
    order = list(codes) if codes is not None else list(pd.unique(d["code"]))
    ax = _ax(ax, (8, 4))
    sns.barplot(d.assign(weight_pct=100 * d["weight"]), x="code", y="weight_pct", hue="scheme",
                order=order, palette="colorblind", ax=ax)
    ax.set_xlabel("Code")
    ax.set_ylabel("Weight within parent (%)")
    ax.legend(title="Weighting", fontsize=8, title_fontsize=8, frameon=False)
    ax.set_title("Weights by scheme")
    return ax


def plot_effective_weights(data: pd.DataFrame, *, level: int | None = None,
                           ax: Axes | None = None) -> Axes:
    """Nominal against effective weights (:func:`pmm_lib.core.weights.effective_weights`).

    Paired horizontal bars per code: the weight a child is given (nominal) and the share of
    its aggregate's variance it explains (effective). Large gaps flag children that dominate
    or hardly matter whatever their nominal weight.

    Parameters
    ----------
    data : DataFrame
        ``code, parent, level, nominal, effective``.
    level : int, optional
        Show only children of this level (default: all).
    """
    _need(data, ("code", "parent", "level", "nominal", "effective"), "plot_effective_weights")
    d = data if level is None else data[data["level"] == level]
    long = d.melt(id_vars=["code", "parent"], value_vars=["nominal", "effective"],
                  var_name="weight", value_name="value")
    long["value"] = 100 * long["value"]
    ax = _ax(ax, (7, max(3, 0.28 * len(d) + 1.2)))
    sns.barplot(long, y="code", x="value", hue="weight", orient="h", palette=["0.75", "0.3"], ax=ax)
    # dimension bars in their catalogue colour (effective weight), so a dimension looks the same everywhere
    for bar_group, shade in zip(ax.containers, ("light", "dark"), strict=False):
        for bar, code in zip(bar_group, d["code"], strict=False):
            if str(code) in DIMENSION_COLOURS and shade == "dark":
                bar.set_color(DIMENSION_COLOURS[str(code)])
    ax.set_xlabel("Share within parent (%)")
    ax.set_ylabel("Code" if level is None else f"Level-{level} code")
    ax.legend(title="", fontsize=8, frameon=False)
    ax.set_title("Nominal and effective weights")
    return ax
