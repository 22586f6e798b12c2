"""The design-review paper: a :class:`~pmm_lib.reporting.design.DesignReview` written as tables,
figures and a Quarto source, rendered with the methodology paper's machinery.

:func:`write_design_review` saves every table of the review under ``<out>/tables/`` (labels
``tbl-design-*``, with caption sidecars, as a run does), the figures the caller passes under
``<out>/figures/``, the findings and metadata as ``review.json``; it copies the static Quarto
source ``methodology/design_review.qmd`` into ``<out>/paper.qmd`` with the paper's style files and
writes the review's blocks beside it (``_paper/meta.yml``, ``_paper/header.typ``,
``_paper/design-*.qmd``: Markdown written by Python with every free text escaped, no template
language), then renders ``paper.html`` and ``paper.pdf`` with
:func:`pmm_lib.reporting.paper.render_paper` (Quarto, or pandoc + typst). Figures are drawn by
:mod:`pmm_lib.plots.design` in the caller (the CLI), since plots sit above this layer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pmm_lib.analysis.findings import Finding, findings_frame
from pmm_lib.errors import RunError
from pmm_lib.io import write_text_atomic
from pmm_lib.labels import REGION_NAMES
from pmm_lib.paths import METHODOLOGY_DIR
from pmm_lib.reporting.design import DesignReview
from pmm_lib.reporting.paper import Renderer, render_paper
from pmm_lib.reporting.report import escape_md, save_figure, save_table, table_markdown

__all__ = ["DESIGN_LABELS", "design_blocks", "write_design_review"]

#: label -> (review attribute, caption) of every table a design review writes.
DESIGN_LABELS: dict[str, tuple[str, str]] = {
    "tbl-design-changes": ("changes", "The candidate's changes, in the order they are applied, with the evidence "
                                      "that motivates each"),
    "tbl-design-differences": ("differences", "How the candidate framework differs from the base, node by node"),
    "tbl-design-burden": ("burden", "Coverage and reporting burden: KPIs asked, values reported and expected skips "
                                    "(missing cells) under each design"),
    "tbl-design-consistency": ("consistency", "Internal consistency of each dimension and expected outcome before "
                                              "and after (alpha with a 95% bootstrap interval; Spearman-Brown with a "
                                              "Fisher-z interval for two KPIs); k = KPIs, n = smallest pairwise n"),
    "tbl-design-structure": ("structure", "First principal component of each dimension before and after: share of "
                                          "variance explained, components by Kaiser's rule, KMO"),
    "tbl-design-verdicts": ("verdicts", "Scorecard verdict of each KPI before and after the change"),
    "tbl-design-outcomes": ("outcome_validity", "Pearson correlation (95% interval) of the index and dimension scores "
                                                "with external outcomes before and after"),
    "tbl-design-ranks": ("ranks", "Index ranks before and after, with the rank shift (positive = moves up) and its "
                                  "90% interval over paired Monte Carlo replications"),
    "tbl-design-robustness": ("robustness", "Robustness of the ranks under each design: mean absolute rank shift "
                                            "and width of the 90% rank intervals over the replications"),
    "tbl-design-truth": ("truth", "Synthetic-data check: correlation of the index with the planted latent "
                                  "performance under each design"),
}
#: the paper's static files copied beside the review's source
_STATIC = ("_quarto.yml", "references.bib", "paper.css", "paper-header.typ", "crossref.lua", "paper-blocks.lua")
_KINDS = {"k_before": "count", "k_after": "count", "n": "count", "kpis": "count", "optional_kpis": "count",
          "members": "count", "cells": "count", "reported": "count", "skipped": "count", "change": "coef",
          "n_kaiser_before": "count", "n_kaiser_after": "count", "rank_before": "rank", "rank_after": "rank",
          "shift": "rank", "shift_low": "rank", "shift_high": "rank", "rank_low_before": "rank",
          "rank_high_before": "rank", "rank_low_after": "rank", "rank_high_after": "rank", "n_failed": "count"}


def _findings_frame(review: DesignReview) -> pd.DataFrame:
    frame = findings_frame(review.findings)
    frame.insert(2, "effect", [f.evidence.get("effect", "") for f in review.findings])
    frame.insert(4, "detail", [f.evidence.get("detail", "") for f in review.findings])
    return frame


def _short(label: str, frame: pd.DataFrame) -> pd.DataFrame:
    """What the paper prints of a table (the CSV keeps every row and column)."""
    if label == "tbl-design-consistency":
        keep = ((frame["change"].abs() >= 0.005) | (frame["alpha_before"].isna() != frame["alpha_after"].isna())
                | (frame["k_before"] != frame["k_after"]))
        return frame.loc[keep, ["code", "k_before", "alpha_before", "ci_low_before", "ci_high_before", "k_after",
                                "alpha_after", "ci_low_after", "ci_high_after", "change", "n"]]
    if label == "tbl-design-verdicts":
        keep = ((frame["verdict_before"] != frame["verdict_after"]) | (frame["verdict_after"] != "keep")
                | (frame["parent_before"] != frame["parent_after"]))
        return frame.loc[keep, ["code", "parent_after", "verdict_before", "verdict_after", "item_rest_before",
                                "item_rest_after", "reasons_after"]]
    if label == "tbl-design-outcomes":
        return frame[["code", "variable", "estimate_before", "ci_low_before", "ci_high_before", "estimate_after",
                      "ci_low_after", "ci_high_after", "n"]]
    if label == "tbl-design-ranks":
        return frame[["unit", "rank_before", "rank_after", "shift", "shift_low", "shift_high", "rank_low_after",
                      "rank_high_after"]]
    if label == "tbl-design-changes":
        return frame[["change", "type", "description", "reason"]]
    if label == "tbl-design-structure":
        cols = [c for c in ("code", "explained_before", "explained_after", "n_kaiser_before", "n_kaiser_after",
                            "kmo_before", "kmo_after", "withheld_after") if c in frame.columns]
        return frame[cols]
    return frame


def _table(review: DesignReview, label: str) -> str:
    attr, caption = DESIGN_LABELS[label]
    frame = getattr(review, attr)
    if frame is None:
        return ""
    shown = _short(label, frame)
    if shown.empty:
        return f"*No rows: {escape_md(caption[0].lower() + caption[1:])}.*"
    kinds = {k: v for k, v in _KINDS.items() if k in shown.columns}
    if label == "tbl-design-changes":
        kinds["change"] = "count"  # the change's number, not a difference
    return table_markdown(shown, caption=f"{escape_md(caption)} {{#{label}}}", kinds=kinds)


def _say(findings: tuple[Finding, ...], section: str) -> str:
    lines = [f"- {escape_md(f.statement)} *({escape_md(f.evidence.get('detail', ''))}; n = {f.n})*"
             + (f" {escape_md(f.recommendation)}" if f.recommendation else "")
             for f in findings if f.section == section]
    return "\n".join(lines)


def _figure(label: str, captions: Mapping[str, str]) -> str:
    if label not in captions:
        return ""
    return f"![{escape_md(captions[label])}](figures/{label}.png){{#{label} width=90%}}"


def design_blocks(review: DesignReview, *, figures: Mapping[str, str] | None = None) -> dict[str, str]:
    """The review's Markdown blocks (``_paper/<name>.qmd`` contents), keyed by block name.

    Parameters
    ----------
    figures : mapping, optional
        ``label -> caption`` of the figures saved under ``figures/``.
    """
    caps = dict(figures or {})
    m = review.meta
    th = m.get("thresholds", {})
    f = review.findings
    changes = ("@tbl-design-changes lists the changes and @tbl-design-differences the resulting differences "
               "node by node.\n\n" + _table(review, "tbl-design-changes") + "\n\n"
               + _table(review, "tbl-design-differences"))
    burden = (_say(f, "data") + "\n\n@tbl-design-burden counts what each design asks of the Members.\n\n"
              + _table(review, "tbl-design-burden"))
    fig_alpha = _figure("fig-design-alpha", caps)
    validity = "\n\n".join(x for x in (
        _say(f, "validity"),
        ("@fig-design-alpha shows the nodes the candidate changes; " if fig_alpha else "")
        + "@tbl-design-consistency gives their reliabilities with intervals, @tbl-design-structure the first "
          "principal component of each dimension and @tbl-design-verdicts every KPI whose verdict changes or "
          "that the candidate does not keep (the full scorecards of both designs are in "
          "`tables/tbl-design-verdicts.csv`).",
        fig_alpha, _table(review, "tbl-design-consistency"), _table(review, "tbl-design-structure"),
        _table(review, "tbl-design-verdicts")) if x)
    outcomes = (_say(f, "outcomes") or "No external outcome could be correlated with the scores.") + \
        "\n\n@tbl-design-outcomes gives the correlations with their intervals.\n\n" + _table(review, "tbl-design-outcomes")
    fig_ranks = _figure("fig-design-rank-shifts", caps)
    ranks = "\n\n".join(x for x in (
        _say(f, "uncertainty"),
        ("@fig-design-rank-shifts and " if fig_ranks else "") + "@tbl-design-ranks give each Member's shift with its "
        "interval; @tbl-design-robustness compares the width of the rank intervals under the two designs.",
        fig_ranks, _table(review, "tbl-design-ranks"), _table(review, "tbl-design-robustness")) if x)
    if review.truth is not None:
        ranks += ("\n\n**Check against the planted truth.** The returns are the workbench's synthetic data, "
                  "generated from a known latent performance; @tbl-design-truth shows which design's index "
                  "recovers it better.\n\n" + _table(review, "tbl-design-truth"))
    rules = ", ".join(f"{escape_md(k)} = {v}" for k, v in th.items())
    verdict = (f"**{escape_md(review.verdict_text)}**\n\n{escape_md(review.recommendation)}\n\n"
               f"The verdict is written from the findings below by the documented rules of "
               f"`pmm_lib.reporting.design` ({rules}). Both designs are built with the same method choices on the "
               f"returns of {m.get('n_members')} Members; their {m.get('n_samples')} Monte Carlo replications each "
               f"(seed {m.get('seed')}) are paired.")
    spec = json.dumps(m.get("spec", {}), indent=1)
    annex = "\n".join([
        f"- Base: `{escape_md(Path(str(m['base'])).name)}` (structure hash `{str(m['base_hash'])[:12]}`)",
        f"- Candidate: `{escape_md(Path(str(m['candidate'])).name)}` (structure hash `{str(m['candidate_hash'])[:12]}`)",
        f"- Region {escape_md(m.get('region'))}, cycle {m.get('cycle')}, {m.get('n_members')} Members; "
        f"{m.get('n_samples')} Monte Carlo replications per design, {m.get('n_boot')} bootstrap resamples, "
        f"seed {m.get('seed')}.",
        "- Every table is in `tables/` as CSV at full precision, the findings and this metadata in `review.json`.",
        "", "Method choices (spec) of both builds:", "", "```", spec, "```"])
    notice = ("::: {.downloads .html-only}\nDownload: [PDF](paper.pdf) · [review.json](review.json)\n:::")
    return {"design-notice": notice, "design-verdict": verdict, "design-changes": changes, "design-burden": burden,
            "design-validity": validity, "design-outcomes": outcomes, "design-ranks": ranks, "design-annex": annex}


def _meta(review: DesignReview) -> str:
    m = review.meta
    region = str(m.get("region", "ALL"))
    name = REGION_NAMES.get(region, region)
    meta = {
        "title": f"Design review: {Path(str(m['candidate'])).stem} against {Path(str(m['base'])).stem}",
        "subtitle": f"{name[:1].upper() + name[1:]} ({region}), {m.get('cycle')} cycle. Verdict: {review.verdict}.",
        "author": "WCO Performance Measurement Mechanism, methodology team",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "date-format": "iso", "lang": "en-GB",
        "papersize": "a4", "fontsize": "10pt", "region": region, "cycle": str(m.get("cycle")),
    }
    return json.dumps(meta, indent=2, ensure_ascii=False) + "\n"  # JSON is YAML


def _header(review: DesignReview) -> str:
    text = f"PMM design review: {Path(str(review.meta['candidate'])).stem}"
    return ("// Page header of a design review's PDF (written by pmm_lib.reporting.design_review).\n"
            '#set page(paper: "a4", margin: (x: 2.2cm, y: 2.4cm), numbering: "1",\n'
            f'  header: align(center, text(size: 8pt, fill: luma(90), {json.dumps(text, ensure_ascii=False)})))\n')


def write_design_review(review: DesignReview, out_dir: str | Path, *, figures: Mapping[str, tuple[Any, str]] | None = None,
                        render: bool = True, renderer: Renderer = "auto", template_dir: str | Path | None = None,
                        audience: str = "internal") -> dict[str, Path]:
    """Write a design review's tables, figures, ``review.json`` and Quarto source; render HTML and PDF.

    Parameters
    ----------
    review : DesignReview
    out_dir : path
    figures : mapping, optional
        ``label -> (matplotlib Figure, caption)``; labels start with ``fig-``.
    render : bool
        Render ``paper.html`` and ``paper.pdf`` (else only the source).
    template_dir : path, optional
        Where ``design_review.qmd`` and the paper's style files live (default ``methodology/``).
    audience : str
        Audience recorded in the sidecars (a design review shows Member-level ranks: ``internal``).

    Returns
    -------
    dict
        ``source`` (paper.qmd), ``json`` (review.json), and ``html`` / ``pdf`` when rendered.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    template_dir = Path(template_dir) if template_dir is not None else METHODOLOGY_DIR
    source = template_dir / "design_review.qmd"
    if not source.is_file():
        raise RunError(f"design review source not found: {source}")
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
    for name in _STATIC:
        src = template_dir / name
        if src.is_file():
            write_text_atomic(out_dir / name, src.read_text(encoding="utf-8"))
    for name, text in design_blocks(review, figures=captions).items():
        write_text_atomic(out_dir / "_paper" / f"{name}.qmd", text + "\n")
    write_text_atomic(out_dir / "_paper" / "meta.yml", _meta(review))
    write_text_atomic(out_dir / "_paper" / "header.typ", _header(review))
    files["source"] = write_text_atomic(out_dir / "paper.qmd", source.read_text(encoding="utf-8"))
    if render:
        res = render_paper(out_dir, renderer=renderer)
        files.update(res.outputs)
    return files
