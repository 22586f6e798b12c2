"""Run artefacts and the methodology paper: saving labelled figures/tables, rendering the paper.

Figures go to ``<out_dir>/figures/<label>.png`` and tables to ``<out_dir>/tables/<label>.csv``,
each with a ``<label>.json`` sidecar (caption, audience) that the paper reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from pmm_lib.io import write_text_atomic, write_with

__all__ = ["save_figure", "save_table"]


def _sidecar(path: Path, label: str, caption: str, audience: str, extra: dict[str, Any] | None = None) -> None:
    meta = {"label": label, "caption": caption, "audience": audience, **(extra or {})}
    write_text_atomic(path.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True) + "\n")


def save_figure(fig: Any, label: str, caption: str, out_dir: str | Path | None, *,
                audience: str = "internal", dpi: int = 150) -> Path | None:
    """Save a matplotlib figure as ``figures/<label>.png`` (deterministic metadata) with its caption.

    Does nothing and returns None when ``out_dir`` is empty (interactive use).
    """
    if not out_dir:
        return None
    if not label.startswith("fig-"):
        raise ValueError(f"figure label must start with 'fig-', got {label!r}")
    path = Path(out_dir) / "figures" / f"{label}.png"
    write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight",
                                            metadata={"Software": None}))
    _sidecar(path, label, caption, audience)
    return path


def save_table(frame: pd.DataFrame, label: str, caption: str, out_dir: str | Path | None, *,
               audience: str = "internal", index: bool = False) -> Path | None:
    """Save a table as ``tables/<label>.csv`` (full precision, stable float format) with its caption."""
    if not out_dir:
        return None
    if not label.startswith("tbl-"):
        raise ValueError(f"table label must start with 'tbl-', got {label!r}")
    path = Path(out_dir) / "tables" / f"{label}.csv"
    write_text_atomic(path, frame.to_csv(index=index, float_format="%.10g", lineterminator="\n"))
    _sidecar(path, label, caption, audience)
    return path
