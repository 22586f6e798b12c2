"""The design-review paper: a :class:`~pmm_lib.reporting.design.DesignReview` written as tables,
figures and a Quarto source, rendered with the methodology paper's machinery.

:func:`write_design_review` saves every table of the review under ``<out>/tables/`` (labels
``tbl-design-*``, with caption sidecars, as a run does), the figures the caller passes under
``<out>/figures/``, the findings and metadata as ``review.json``, fills the Jinja2 template
``methodology/design_review.qmd`` into ``<out>/paper.qmd`` and renders it to ``paper.html`` and
``paper.pdf`` with :func:`pmm_lib.reporting.paper.render_paper` (Quarto, or pandoc + typst).
Figures are drawn by :mod:`pmm_lib.plots.design` in the caller (the CLI), since plots sit above
this layer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from pmm_lib.analysis.findings import findings_frame
from pmm_lib.errors import RunError
from pmm_lib.io import write_text_atomic
from pmm_lib.paths import METHODOLOGY_DIR
from pmm_lib.reporting.design import DesignReview
from pmm_lib.reporting.paper import REGION_NAMES, Renderer, RenderResult, render_paper
from pmm_lib.reporting.report import save_figure, save_table, table_markdown

__all__ = ["DESIGN_LABELS", "design_review_context", "write_design_review"]

#: label -> (review attribute, caption) of every table a design review writes.
DESIGN_LABELS: dict[str, tuple[str, str]] = {
    "tbl-design-changes": ("changes", "The candidate's changes, in the order they are applied, with the evidence "
                                      "that motivates each"),
    "tbl-design-differences": ("differences", "How the candidate framework differs from the base, node by node"),
    "tbl-design-burden": ("burden", "Coverage and reporting burden: KPIs asked, values reported and expected skips "
                                    "(missing cells) under each design"),
    "tbl-design-consistency": ("consistency", "Cronbach's alpha (95% bootstrap CI) of each dimension and expected "
                                              "outcome before and after (Spearman-Brown reliability with a Fisher-z "
                                              "CI for two KPIs); k = KPIs, n = smallest pairwise n"),
    "tbl-design-structure": ("structure", "First principal component of each dimension before and after: share of "
                                          "variance explained, components by Kaiser's rule, KMO"),
    "tbl-design-verdicts": ("verdicts", "Scorecard verdict of each KPI before and after the change"),
    "tbl-design-outcomes": ("outcome_validity", "Pearson correlation (95% CI) of the index and dimension scores "
                                                "with external outcomes before and after"),
    "tbl-design-ranks": ("ranks", "Index ranks before and after, with the rank shift (positive = moves up) and its "
                                  "90% interval over paired Monte Carlo replications"),
    "tbl-design-robustness": ("robustness", "Robustness of the ranks under each design: mean absolute rank shift "
                                            "and width of the 90% rank intervals over the replications"),
    "tbl-design-truth": ("truth", "Synthetic-data check: correlation of the index with the planted latent "
                                  "performance under each design"),
}


def _findings_frame(review: DesignReview) -> pd.DataFrame:
    frame = findings_frame(review.findings)
    frame.insert(2, "effect", [f.evidence.get("effect", "") for f in review.findings])
    frame.insert(4, "detail", [f.evidence.get("detail", "") for f in review.findings])
    return frame


def _short(review: DesignReview, label: str, frame: pd.DataFrame) -> pd.DataFrame:
    """What the paper prints of a table (the CSV keeps everything)."""
    if label == "tbl-design-consistency":
        keep = ((frame["change"].abs() >= 0.005) | (frame["alpha_before"].isna() != frame["alpha_after"].isna())
                | (frame["k_before"] != frame["k_after"]))
        cols = ["code", "level", "k_before", "alpha_before", "ci_low_before", "ci_high_before", "k_after",
                "measure_after", "alpha_after", "ci_low_after", "ci_high_after", "change", "n"]
        return frame.loc[keep, cols]
    if label == "tbl-design-verdicts":
        keep = (frame["verdict_before"] != frame["verdict_after"]) | (frame["verdict_after"] != "keep") | (
            frame["parent_before"] != frame["parent_after"])
        return frame.loc[keep, ["code", "parent_before", "parent_after", "verdict_before", "verdict_after",
                                "item_rest_before", "item_rest_after", "reasons_after"]]
    if label == "tbl-design-outcomes":
        return frame
    if label == "tbl-design-ranks":
        cols = ["unit", "rank_before", "rank_after", "shift", "shift_low", "shift_high", "rank_low_before",
                "rank_high_before", "rank_low_after", "rank_high_after"]
        return frame[cols]
    return frame


def design_review_context(review: DesignReview, out_dir: str | Path, *,
                          figures: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The values the template ``design_review.qmd`` is filled with (tables as markdown, findings, metadata)."""
    out_dir = Path(out_dir)
    m = review.meta
    region = str(m.get("region", "ALL"))
    tables: dict[str, str] = {}
    for label, (attr, caption) in DESIGN_LABELS.items():
        frame = getattr(review, attr)
        if frame is None:
            continue
        shown = _short(review, label, frame)
        if shown.empty:
            tables[label] = f"*No rows: {caption[0].lower() + caption[1:]}.*"
        else:
            tables[label] = table_markdown(shown, caption=f"{caption} {{#{label}}}", max_rows=40)
    figs = {label: f"![{cap}](figures/{label}.png){{#{label} width=90%}}" for label, cap in (figures or {}).items()}
    by_section: dict[str, list[dict[str, Any]]] = {}
    for f in review.findings:
        by_section.setdefault(f.section, []).append(asdict(f))
    return {
        "title": f"Design review: {Path(m['candidate']).stem} against {Path(m['base']).stem}",
        "region": region, "region_name": REGION_NAMES.get(region, region), "cycle": m.get("cycle"),
        "meta": m, "tables": tables, "figures": figs, "verdict": review.verdict,
        "verdict_text": review.verdict_text, "findings": by_section,
        "recommendation": review.recommendation,
        "spec_yaml": json.dumps(m.get("spec", {}), indent=1),
    }


def write_design_review(review: DesignReview, out_dir: str | Path, *, figures: Mapping[str, tuple[Any, str]] | None = None,
                        render: bool = True, renderer: Renderer = "auto", template_dir: str | Path | None = None,
                        audience: str = "internal") -> dict[str, Path]:
    """Write a design review's tables, figures, ``review.json`` and ``paper.qmd``; render HTML and PDF.

    Parameters
    ----------
    review : DesignReview
    out_dir : path
    figures : mapping, optional
        ``label -> (matplotlib Figure, caption)``; labels start with ``fig-``.
    render : bool
        Render ``paper.html`` and ``paper.pdf`` (else only the source).
    audience : str
        Audience recorded in the sidecars (a design review shows Member-level ranks: ``internal``).

    Returns
    -------
    dict
        ``source`` (paper.qmd), ``json`` (review.json), and ``html`` / ``pdf`` when rendered.
    """
    import jinja2

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    template_dir = Path(template_dir) if template_dir is not None else METHODOLOGY_DIR
    for label, (attr, caption) in DESIGN_LABELS.items():
        frame = getattr(review, attr)
        if frame is not None:
            save_table(frame, label, caption, out_dir, audience=audience)
    save_table(_findings_frame(review), "tbl-design-findings", "Findings of the design review", out_dir,
               audience=audience)
    captions: dict[str, str] = {}
    for label, (fig, caption) in (figures or {}).items():
        save_figure(fig, label, caption, out_dir, audience=audience)
        captions[label] = caption
    payload = {"verdict": review.verdict, "verdict_text": review.verdict_text,
               "recommendation": review.recommendation, "meta": review.meta,
               "findings": [asdict(f) for f in review.findings]}
    files = {"json": write_text_atomic(out_dir / "review.json",
                                       json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)
    try:
        text = env.get_template("design_review.qmd").render(**design_review_context(review, out_dir,
                                                                                    figures=captions))
    except jinja2.TemplateError as exc:
        raise RunError(f"design review template {template_dir / 'design_review.qmd'}: {exc}") from exc
    text = re.sub(r"\n{3,}", "\n\n", text).lstrip("\n")
    files["source"] = write_text_atomic(out_dir / "paper.qmd", text)
    if render:
        res: RenderResult = render_paper(out_dir, renderer=renderer, template_dir=template_dir)
        files.update(res.outputs)
    return files
