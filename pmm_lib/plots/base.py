"""Helpers shared by the plot modules: a new Axes when none is given, and a column check.

Every plot function follows ``plot_x(data, *, ..., ax=None) -> Axes`` (seaborn's axes-level
convention); these two helpers are the only code they have in common.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from pmm_lib.errors import InputError

__all__ = ["axes", "require_columns"]


def axes(ax: Axes | None, size: tuple[float, float] = (6.5, 4.5)) -> Axes:
    """Return ``ax``, or the Axes of a new figure of ``size`` inches when ``ax`` is None."""
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def require_columns(data: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    """Raise :class:`InputError` naming ``what`` and the first missing column unless ``data`` has ``cols``."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"{what}: data must be a DataFrame, got {type(data).__name__}")
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise InputError(f"{what}: data lack column(s) {', '.join(map(str, missing))}",
                         column=str(missing[0]),
                         expected=f"columns {', '.join(cols)}; got {', '.join(map(str, data.columns))}")
