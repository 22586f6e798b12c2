"""Run artefacts: saving labelled figures and tables, reading them back for the paper.

This module owns the artefact format that notebooks write and the paper reads:

* figures go to ``<out_dir>/figures/<label>.png`` and tables to ``<out_dir>/tables/<label>.csv``,
  each with a ``<label>.json`` sidecar (label, caption, audience);
* :data:`SECTIONS` maps each section of the methodology paper to the notebook and the labels
  that feed it (the list in docs/CONTRACTS.md);
* :func:`load_artefacts` reads a run folder back; :func:`table_markdown` turns a table into a
  pipe table for the paper with fixed decimals by kind of column and headers from the labels
  catalogue (rounding is presentation, so it happens only here); :func:`escape_md` makes free
  text inert;
* :func:`use_reproducible_style` fixes the matplotlib settings that would otherwise make two
  identical runs produce different files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from pmm_lib.io import write_text_atomic, write_with
from pmm_lib.labels import DECIMALS, column_kind, column_label
from pmm_lib.reporting.disclosure import figure_values
from pmm_lib.vocab import AUDIENCES

__all__ = [
    "Artefact",
    "SECTIONS",
    "SavedFigure",
    "Section",
    "load_artefacts",
    "save_figure",
    "save_table",
    "escape_md",
    "format_value",
    "table_markdown",
    "use_reproducible_style",
]



@dataclass(frozen=True)
class Section:
    """A section of the methodology paper fed by one notebook.

    Attributes
    ----------
    key : str
        Template key (``data``, ``validity``, ...).
    title : str
        Section heading.
    notebook : str
        Two-digit prefix of the notebook that writes the artefacts.
    labels : tuple of str
        Figure and table labels, in the order the paper shows them.
    """

    key: str
    title: str
    notebook: str
    labels: tuple[str, ...]


#: Paper sections and the artefacts each embeds (docs/CONTRACTS.md, "Run outputs").
SECTIONS: tuple[Section, ...] = (
    Section("data", "Data and coverage", "01",
            ("fig-coverage-kpi", "fig-coverage-member", "fig-missingness", "fig-distributions",
             "tbl-coverage", "tbl-missingness-groups", "tbl-outliers")),
    Section("validity", "Indicator validity", "02",
            ("fig-correlation-heatmap", "fig-alpha", "fig-pca-scree", "tbl-alpha", "tbl-scorecard",
             "tbl-pca")),
    Section("weighting", "Weighting and aggregation", "03",
            ("fig-weighting-rankshift", "tbl-effective-weights", "tbl-weighting-ranks",
             "tbl-index-scores")),
    Section("outcomes", "Trade-cost outcomes", "04",
            ("fig-outcome-correlations", "fig-lpi-db-scatter", "fig-ols-coefficients",
             "tbl-outcome-correlations", "tbl-ols", "tbl-lpi-db")),
    Section("uncertainty", "Uncertainty and sensitivity", "05",
            ("fig-rank-intervals", "fig-sobol", "fig-score-distributions", "tbl-rank-intervals",
             "tbl-sobol")),
    Section("cycles", "Cycles", "06",  # pmm_lib.analysis.cycles; shown only when an earlier cycle exists
            ("tbl-cycles-rank-stability", "fig-cycles-ranks", "fig-cycles-score-changes", "tbl-cycles-score-changes",
             "tbl-cycles-kpi-stability", "tbl-cycles-alpha", "tbl-cycles-variation")),
)


@dataclass(frozen=True)
class Artefact:
    """One saved figure or table of a run.

    Attributes
    ----------
    label : str
        ``fig-...`` or ``tbl-...``.
    kind : {"figure", "table"}
    path : Path
        The PNG or CSV file.
    caption : str
        From the JSON sidecar (the label itself when the sidecar is missing).
    audience : str
        Audience the artefact was prepared for.
    """

    label: str
    kind: Literal["figure", "table"]
    path: Path
    caption: str
    audience: str

    def read(self) -> pd.DataFrame:
        """Read a table artefact (strings kept as written; ``NA`` is not a missing value)."""
        if self.kind != "table":
            raise TypeError(f"{self.label} is a figure, not a table")
        return pd.read_csv(self.path, keep_default_na=False, na_values=[""])


def _check_audience(audience: str) -> str:
    if audience not in AUDIENCES:
        raise ValueError(f"audience {audience!r} is not one of {', '.join(AUDIENCES)}")
    return audience


def _sidecar(path: Path, label: str, caption: str, audience: str, extra: dict[str, Any] | None = None) -> None:
    meta = {"label": label, "caption": caption, "audience": audience, **(extra or {})}
    write_text_atomic(path.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True) + "\n")


def use_reproducible_style() -> None:
    """Fix matplotlib settings so identical inputs give identical figure files.

    Sets the Agg backend's inputs that vary between runs otherwise: the SVG hash salt, the
    font family (DejaVu Sans, shipped with matplotlib), TrueType embedding in PDF/PS, and a
    colour-blind-safe default colour cycle (seaborn ``colorblind``, Okabe–Ito-like). PNGs written
    by :func:`save_figure` carry no timestamp or software metadata.
    """
    import matplotlib as mpl

    mpl.rcParams.update({
        "svg.hashsalt": "pmm-workbench",
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"],
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "axes.prop_cycle": mpl.cycler(color=["#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc",  # type: ignore[attr-defined]
                                             "#ca9161", "#fbafe4", "#949494", "#ece133", "#56b4e9"]),
    })


class SavedFigure(type(Path())):  # type: ignore[misc]
    """The path of a figure :func:`save_figure` wrote; a notebook shows it as the figure itself.

    As a cell's last value it displays the saved PNG (the very bytes the paper uses, at the
    screen size of 100 dpi) with ``figures/<name>`` as its text, so an executed notebook shows
    its figures and no server path. Otherwise it is an ordinary :class:`pathlib.Path`.
    """

    dpi: int = 150

    def _repr_png_(self) -> tuple[bytes, dict[str, int]] | None:
        try:
            data = self.read_bytes()
        except OSError:
            return None
        if data[:8] != b"\x89PNG\r\n\x1a\n":  # a sibling path (.json, .csv): nothing to show
            return None
        return data, {"width": max(1, round(int.from_bytes(data[16:20], "big") * 100 / self.dpi))}

    def __repr__(self) -> str:
        return f"figures/{self.name}"


def save_figure(fig: Any, label: str | None = None, caption: str | None = None,
                out_dir: str | Path | None = None, *, audience: str = "internal", dpi: int = 150) -> Path | None:
    """Save a matplotlib figure as ``figures/<label>.png`` (deterministic metadata) with its caption.

    Does nothing and returns None when ``out_dir`` is empty (interactive use). Without ``label``
    or ``caption`` they come from the running cell's ``#| label`` and ``#| fig-cap`` options
    (:func:`pmm_lib.reporting.cellopts.figure_options`), so a notebook states them once.
    """
    if not out_dir:
        return None
    if label is None or caption is None:
        from pmm_lib.reporting.cellopts import figure_options

        label, caption = figure_options(label, caption)
    if not label.startswith("fig-"):
        raise ValueError(f"figure label must start with 'fig-', got {label!r}")
    _check_audience(audience)
    path = Path(out_dir) / "figures" / f"{label}.png"
    # zlib level 1: faster to encode than the default 6, about 3 % more bytes for these flat charts
    write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight",
                                            metadata={"Software": None}, pil_kwargs={"compress_level": 1}))
    # the numbers drawn, so a disclosure scan can check figures as well as tables
    values = figure_values(fig)
    write_text_atomic(path.with_suffix(".values.csv"),
                      "value\n" + "".join(f"{v:.10g}\n" for v in values))
    _sidecar(path, label, caption, audience)
    saved = SavedFigure(path)
    saved.dpi = dpi
    return saved


def save_table(frame: pd.DataFrame, label: str, caption: str, out_dir: str | Path | None, *,
               audience: str = "internal", index: bool = False) -> Path | None:
    """Save a table as ``tables/<label>.csv`` (full precision, stable float format) with its caption."""
    if not out_dir:
        return None
    if not label.startswith("tbl-"):
        raise ValueError(f"table label must start with 'tbl-', got {label!r}")
    _check_audience(audience)
    path = Path(out_dir) / "tables" / f"{label}.csv"
    write_text_atomic(path, frame.to_csv(index=index, float_format="%.10g", lineterminator="\n"))
    _sidecar(path, label, caption, audience)
    return path


def load_artefacts(run_dir: str | Path) -> dict[str, Artefact]:
    """Every figure and table saved in a run folder, keyed by label (sorted).

    A missing folder gives an empty mapping; a missing or unreadable sidecar falls back to the
    label as caption, so a half-finished run can still be inspected.
    """
    run_dir = Path(run_dir)
    found: dict[str, Artefact] = {}
    for kind, sub, suffix in (("figure", "figures", ".png"), ("table", "tables", ".csv")):
        folder = run_dir / sub
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*{suffix}")):
            label = path.stem
            meta: Mapping[str, Any] = {}
            side = path.with_suffix(".json")
            if side.is_file():
                try:
                    meta = json.loads(side.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    meta = {}
            found[label] = Artefact(label=label, kind=kind, path=path,  # type: ignore[arg-type]
                                    caption=str(meta.get("caption") or label),
                                    audience=str(meta.get("audience", "internal")))
    return dict(sorted(found.items()))


_MINUS = "\u2212"
def escape_md(text: Any) -> str:
    """Free text made inert for pandoc/Quarto markdown: whitespace collapsed, every character that
    opens markup escaped (:func:`pmm_lib.reporting.safety.markdown_text`, plus ``_``).

    Examples
    --------
    >>> print(escape_md("a_b [x](y) @fig-z *k* $1"))
    a\\_b \\[x\\]\\(y\\) \\@fig-z \\*k\\* \\$1
    """
    from pmm_lib.reporting.safety import markdown_text

    return markdown_text(" ".join(str(text).split())).replace("_", "\\_")


def format_value(value: Any, kind: str = "number") -> str:
    """One cell as the paper prints it: fixed decimals by kind of column (:data:`pmm_lib.labels.DECIMALS`).

    Missing values are an en dash, booleans yes/no, negative numbers take a true minus sign,
    p-values below 0.001 print as ``< 0.001``; text is escaped (:func:`escape_md`).

    Examples
    --------
    >>> format_value(0.90712, "coef"), format_value(-0.5, "coef"), format_value(3.0, "rank")
    ('0.91', '\u22120.50', '3')
    >>> format_value(9.33e-08, "p"), format_value(float("nan"), "share")
    ('< 0.001', '\u2013')
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "\u2013"
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and kind != "text":
        x = float(value)
        if math.isinf(x):
            return "\u221e" if x > 0 else _MINUS + "\u221e"
        if kind == "p" and 0 <= x < 0.001:
            return "< 0.001"
        digits = DECIMALS.get(kind, 2)
        if kind == "number" and x.is_integer() and abs(x) < 1e15:
            digits = 0
        text = f"{x:,.{digits}f}".replace(",", "\u2009") if abs(x) >= 10000 else f"{x:.{digits}f}"
        if text.startswith("-"):
            text = _MINUS + text[1:] if float(text.replace("\u2009", "")) != 0 else text[1:]
        return text
    return escape_md(value)


def table_markdown(frame: pd.DataFrame, *, caption: str | None = None, max_rows: int | None = None,
                   digits: int | None = None, kinds: Mapping[str, str] | None = None,
                   headers: Mapping[str, str] | None = None) -> str:
    """A pandoc/Quarto pipe table of ``frame``, every row, decimals fixed by the kind of each column.

    Headers come from the labels catalogue (:func:`pmm_lib.labels.column_label`) unless given in
    ``headers``; each column's kind (``count, rank, share, coef, score, p, number, text``) from
    :func:`pmm_lib.labels.column_kind` unless given in ``kinds`` — that fixes its decimals. Numeric
    columns are right-aligned, text left-aligned. The separator dashes give each column a width
    proportional to its longest cell (text capped at 38 characters), so pandoc sets a wide table
    to the full text width and wraps text cells instead of letting columns collide.
    ``caption`` (e.g. ``"Coverage by KPI {#tbl-coverage}"``) goes below the table as its caption.
    ``max_rows`` is kept for callers that print a preview (the paper never truncates); ``digits``
    forces that many decimals on every non-count numeric column.

    Examples
    --------
    >>> print(table_markdown(pd.DataFrame({"member": ["ARG", "BRA"], "score": [61.234, 58.0]})))
    | Member | Score |
    |:--------|-------:|
    | ARG    |  61.2 |
    | BRA    |  58.0 |
    """
    shown = frame if max_rows is None or len(frame) <= max_rows else frame.head(max_rows)
    cols = [str(c) for c in frame.columns]
    heads = [escape_md((headers or {}).get(c, column_label(c))) for c in cols]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    kind = []
    for c, num in zip(cols, numeric, strict=True):
        k = (kinds or {}).get(c, column_kind(c)) if num else "text"
        if digits is not None and num and k not in ("count", "rank"):
            k = f"d{digits}"
        kind.append(k)

    def cell(v: Any, k: str) -> str:
        if k.startswith("d") and k[1:].isdigit():
            DECIMALS.setdefault(k, int(k[1:]))
        return format_value(v, k)

    cells = [[cell(v, k) for v, k in zip(row, kind, strict=True)]
             for row in shown.itertuples(index=False, name=None)]
    widths = [max([len(h), 3, *(len(r[i]) for r in cells)]) for i, h in enumerate(heads)]
    # one character of air per column, so adjacent columns never touch in the PDF
    # one character of air per column, so adjacent columns never touch in the PDF; a numeric column
    # is as wide as its longest cell or the longest word of its header (headers wrap between words)
    dashes = [1 + (max(3, *(len(r[i]) for r in cells), *(len(x) for x in heads[i].split())) if numeric[i]
                   else max(min(w, 38), max([3, *(len(x) for r in cells for x in r[i].split()[:50])])))
              for i, w in enumerate(widths)]

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.rjust(w) if num else v.ljust(w)
                                 for v, w, num in zip(values, widths, numeric, strict=True)) + " |"

    head = "| " + " | ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)) + " |"
    rule = "|" + "|".join((("-" * (d + 1)) + ":") if num else (":" + "-" * (d + 1))
                          for d, num in zip(dashes, numeric, strict=True)) + "|"
    text = "\n".join([head, rule, *(line(r) for r in cells)])
    if caption:
        text += f"\n\n: {caption}"
    if len(shown) < len(frame):
        text += f"\n\n*First {len(shown)} of {len(frame)} rows; the full table is in the run folder.*"
    return text
