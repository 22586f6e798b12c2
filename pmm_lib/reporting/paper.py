"""The methodology paper: one run's findings, tables and figures written into a Quarto source, rendered.

This module owns the path from a finished run folder to ``paper.qmd``, ``paper.html`` and
``paper.pdf``.

1. :func:`write_paper_source` copies the static Quarto source (``methodology/paper.qmd``,
   ``partials/``, ``references.bib``, ``_quarto.yml`` and the style files) into the run folder
   and writes the run's blocks beside it: ``_paper/meta.yml`` (title, region, the
   simulated-data notice) and ``_paper/<section>.qmd``. Every sentence that depends on a number
   comes from :func:`pmm_lib.analysis.findings.compute_findings` on the run's own tables; every
   table is purpose-built, printed whole with fixed decimals by kind of column and human labels
   (:mod:`pmm_lib.labels`); every figure and table is referenced in the text.
2. :func:`render_paper` renders ``paper.qmd`` with Quarto when ``quarto`` is on PATH. Otherwise
   the fallback renders the *same* source: :func:`expand_includes` resolves Quarto's
   ``{{< include >}}`` shortcodes (only files inside the run folder), pandoc (``pypandoc-binary``)
   runs the Lua filter ``crossref.lua`` (Quarto-style numbering and hyperlinked cross-references
   on the document tree) and citeproc (``references.bib``, DOIs as links), and writes a
   self-contained HTML page (sidebar contents) and typst markup that the ``typst`` package
   compiles to an A4 PDF.

There is no template language and no regular-expression rewriting of the document: the run's
values enter as Markdown blocks written by Python, with all free text escaped
(:func:`pmm_lib.reporting.report.escape_md`). Pandoc and typst run with the run folder as their
working directory and only resource path, so rendering never reads a file outside it.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd

from pmm_lib.analysis.findings import Finding, compute_findings, headlines, kpi_fitness
from pmm_lib.errors import RunError, ToolError
from pmm_lib.inputs.candidates import load_design
from pmm_lib.inputs.framework import Framework
from pmm_lib.io import atomic_path, write_text_atomic
from pmm_lib.labels import REGION_NAMES, variable_label
from pmm_lib.paths import METHODOLOGY_DIR
from pmm_lib.reporting.report import (
    Artefact,
    escape_md,
    format_value,
    load_artefacts,
    table_markdown,
)
from pmm_lib.reporting.safety import check_html, check_paper_source

__all__ = [
    "REGION_NAMES",
    "RenderResult",
    "Renderer",
    "SIMULATED_NOTICE",
    "expand_includes",
    "is_simulated",
    "paper_context",
    "render_paper",
    "write_paper_source",
]

Renderer = Literal["auto", "quarto", "pandoc"]
Format = Literal["html", "pdf"]

#: The notice on the title and every page when the Member returns are synthetic.
SIMULATED_NOTICE = "Simulated data — not PMM results"
_AUDIENCE_TEXT = {
    "public": "the public",
    "wco": "WCO Members and the Secretariat",
    "internal": "the PMM methodology team (internal)",
}
_AUDIENCE_RANK = {"public": 0, "wco": 1, "internal": 2}
#: Static files of the Quarto project copied into every run folder.
_STATIC = ("paper.qmd", "_quarto.yml", "references.bib", "paper.css", "paper-header.typ", "crossref.lua",
           "paper-blocks.lua")
_SECTION_TITLES = {"data": "Data and coverage", "validity": "Indicator validity",
                   "structure": "Structure of the dimensions", "weighting": "Weighting and aggregation",
                   "outcomes": "Trade-cost outcomes", "uncertainty": "Uncertainty and sensitivity"}


@dataclass(frozen=True)
class RenderResult:
    """What :func:`render_paper` produced.

    Attributes
    ----------
    renderer : str
        ``"quarto"`` or ``"pandoc+typst"``.
    outputs : dict
        Format (``html``, ``pdf``) → written file.
    versions : dict
        Tool → version string.
    seconds : float
        Wall time of the rendering.
    """

    renderer: str
    outputs: dict[str, Path]
    versions: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


# ----------------------------------------------------------------------------------------------
# Reading the run
# ----------------------------------------------------------------------------------------------

def is_simulated(manifest: Mapping[str, Any]) -> bool:
    """True when the run's Member returns are synthetic, decided from the data's provenance.

    The bundled generator writes ``data/raw/questionnaires/truth.json`` beside the returns
    (:mod:`pmm_lib.inputs.synthetic`); a run whose hashed inputs include it, or whose ingest
    record lists it, computed on simulated returns.

    Examples
    --------
    >>> is_simulated({"inputs": {"data/raw/questionnaires/truth.json": "ab12"}})
    True
    >>> is_simulated({"inputs": {"data/raw/questionnaires/returns_2024.xlsx": "cd34"}})
    False
    """
    inputs = manifest.get("inputs") or {}
    if any(str(k).replace("\\", "/").endswith("questionnaires/truth.json") for k in inputs):
        return True
    processed = manifest.get("processed") or {}
    return "truth.json" in json.dumps(processed.get("ignored", []))


def _allowed(art: Artefact, audience: str) -> bool:
    return _AUDIENCE_RANK.get(art.audience, 2) <= _AUDIENCE_RANK.get(audience, 1)


@dataclass
class _Run:
    run_dir: Path
    manifest: Mapping[str, Any]
    framework: Framework
    audience: str
    artefacts: dict[str, Artefact]
    tables: dict[str, pd.DataFrame]
    findings: list[Finding]
    used: list[str] = field(default_factory=list)

    def fig(self, label: str) -> Artefact | None:
        """The figure artefact when this audience may see it and its text stays legible on the page."""
        art = self.artefacts.get(label)
        if art is None or art.kind != "figure" or not _allowed(art, self.audience):
            return None
        return art if _figure_scale(art.path) >= _MIN_SCALE else None


def _load(run_dir: Path, manifest: Mapping[str, Any] | None, framework: Framework | None) -> _Run:
    if manifest is None:
        mpath = run_dir / "manifest.json"
        manifest = json.loads(mpath.read_text(encoding="utf-8")) if mpath.is_file() else {}
    params = dict(manifest.get("parameters", {}))
    audience = str(params.get("audience", "wco"))
    fw = framework or load_design(manifest.get("framework_path") or None)  # framework or candidate file
    arts = load_artefacts(run_dir)
    tables: dict[str, pd.DataFrame] = {}
    for label, art in arts.items():
        if art.kind == "table" and _allowed(art, audience):
            try:
                tables[label] = art.read()
            except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
                continue
    names = {k.code: k.name for k in fw.kpis}
    return _Run(run_dir, manifest, fw, audience, arts, tables, compute_findings(tables, names=names))


# ----------------------------------------------------------------------------------------------
# Markdown blocks
# ----------------------------------------------------------------------------------------------

def _png_size(path: Path) -> tuple[int, int]:
    with path.open("rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return (4, 3)
    w, h = struct.unpack(">II", head[16:24])
    return int(w), int(h)


#: Text width and the tallest figure (with its caption) of the A4 page, in inches.
_PAGE_W, _PAGE_H = 6.3, 8.3
#: A figure is shown only when its 10 pt text stays at least 7 pt on the page.
_MIN_SCALE = 0.7


def _figure_scale(path: Path, dpi: int = 150) -> float:
    w, h = _png_size(path)
    return min(1.0, _PAGE_W / (w / dpi), _PAGE_H / (h / dpi))


def _figure(run: _Run, label: str, caption: str | None = None) -> str:
    """A labelled figure sized so its text is at least 7 pt on an A4 page, or "" when it cannot be."""
    art = run.fig(label)
    if art is None:
        return ""
    run.used.append(label)
    w, h = _png_size(art.path)
    scale = _figure_scale(art.path)
    size = (f"width={100 * scale * (w / 150) / _PAGE_W:.0f}%" if scale * h / 150 < _PAGE_H - 0.01
            else f"height={2.54 * _PAGE_H:.1f}cm")
    rel = art.path.relative_to(run.run_dir).as_posix()
    return f"![{escape_md(caption or art.caption)}]({rel}){{#{label} {size}}}"


def _table(run: _Run, frame: pd.DataFrame, label: str, caption: str, **kw: Any) -> str:
    run.used.append(label)
    return table_markdown(frame, caption=f"{escape_md(caption)} {{#{label}}}", **kw)


def _ref(labels: Iterable[str]) -> str:
    labs = [f"@{lb}" for lb in labels if lb]
    if not labs:
        return ""
    return labs[0] if len(labs) == 1 else ", ".join(labs[:-1]) + " and " + labs[-1]


def _shows(run: _Run, section: str) -> str:
    """The closing "What this section shows" block, written from the section's findings."""
    fs = [f for f in run.findings if f.section == section]
    if not fs:
        return ("::: {.shows}\n**What this section shows.** The run produced no results for this "
                "section.\n:::")
    lines = [f"- {escape_md(f.statement)}" + (f" *{escape_md(f.recommendation)}*" if f.recommendation else "")
             for f in fs]
    return "::: {.shows}\n**What this section shows.**\n\n" + "\n".join(lines) + "\n:::"


def _missing(run: _Run, what: str, notebook: str, section: str | None = None) -> str:
    """The "not available in this run" block; with ``section``, followed by that section's closing block."""
    executed = {str(nb.get("name", ""))[:2] for nb in run.manifest.get("notebooks", [])}
    why = "was not part of this run" if notebook not in executed else "did not write them"
    block = f"::: {{.missing}}\n**Not available in this run.** {what} (notebook {notebook} {why}).\n:::"
    return block if section is None else block + "\n\n" + _shows(run, section)


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _meta_yaml(run: _Run) -> str:
    params = dict(run.manifest.get("parameters", {}))
    region = str(params.get("region", "ALL"))
    cycle = params.get("cycle", "")
    name = REGION_NAMES.get(region, region)
    started = str(run.manifest.get("started", ""))
    sim = is_simulated(run.manifest)
    subtitle = f"{name[:1].upper() + name[1:]} ({region}), {cycle} cycle. For {_AUDIENCE_TEXT.get(run.audience, run.audience)}."
    if sim:
        subtitle = f"{SIMULATED_NOTICE.upper()}. " + subtitle
    meta = {
        "title": f"The PMM index for {name}, {cycle}: methodology and findings",
        "subtitle": subtitle,
        "author": "WCO Performance Measurement Mechanism, methodology team",
        "date": started[:10] or datetime.now(UTC).strftime("%Y-%m-%d"),
        "date-format": "iso",
        "lang": "en-GB",
        "papersize": "a4",
        "fontsize": "10pt",
        "region": region,
        "cycle": str(cycle),
        "audience": run.audience,
        "simulated": sim,
        "run-id": str(run.manifest.get("run_id", run.run_dir.name)),
    }
    return json.dumps(meta, indent=2, ensure_ascii=False) + "\n"  # JSON is YAML


def _header_typ(run: _Run) -> str:
    sim = is_simulated(run.manifest)
    text = SIMULATED_NOTICE if sim else f"PMM methodology paper, run {run.manifest.get('run_id', '')}"
    colour = 'rgb("#b00020")' if sim else "luma(90)"
    weight = '"bold"' if sim else '"regular"'
    return ("// Page header of this run's PDF (written by pmm_lib.reporting.paper).\n"
            f'#set page(paper: "a4", margin: (x: 2.2cm, y: 2.4cm), numbering: "1",\n'
            f"  header: align(center, text(size: 8pt, fill: {colour}, weight: {weight}, {json.dumps(text, ensure_ascii=False)})))\n")


def _notice(run: _Run) -> str:
    """The HTML page's banner and download links (the PDF carries the notice in its subtitle and headers)."""
    links = ("Download: [PDF](paper.pdf) · [tables as CSV](#annex-d-files-of-this-run)"
             + (" · [executed notebooks](#annex-d-files-of-this-run)" if run.audience == "internal" else ""))
    banner = ("::: {.simulated .html-only}\n" + SIMULATED_NOTICE + ": the Member returns of this run are the "
              "workbench's synthetic data with a planted truth; the Members' names are real, their KPI values are "
              "not.\n:::\n\n" if is_simulated(run.manifest) else "")
    return banner + "::: {.downloads .html-only}\n" + links + "\n:::"


def _key_findings(run: _Run) -> str:
    heads = headlines(run.findings)
    bullets = [f"- **{_SECTION_TITLES[sec]}.** {escape_md(text)}" for sec, text, _ in heads]
    recs: list[str] = []
    for _, _, rec in heads:
        if rec and rec not in recs:
            recs.append(rec)
    n_members = next((f.n for f in run.findings if f.rule.startswith("data.coverage")), None)
    params = dict(run.manifest.get("parameters", {}))
    region = str(params.get("region", "ALL"))
    lead = (f"{REGION_NAMES.get(region, region)[:1].upper() + REGION_NAMES.get(region, region)[1:]}, "
            f"{params.get('cycle', '')} cycle" + (f", {n_members} Members" if n_members else "")
            + ". Every statement is computed from this run's tables by the documented rules of "
              "`pmm_lib.analysis.findings`; each section ends with the findings it supports.")
    body = ["# Key findings and recommendations {.unnumbered}", "", lead, "",
            "::: {.keyfindings}", *bullets, ":::", "", "**Recommendations**", ""]
    body += [f"{i}. {escape_md(r)}" for i, r in enumerate(recs, 1)] or ["1. No change: the results support the index as computed."]
    body += ["", "::: {.pagebreak}", ":::", "", "::: {.contents}", ":::", "", "::: {.pagebreak}", ":::"]
    return "\n".join(body)


def _intro(run: _Run) -> str:
    m = run.manifest
    params = dict(m.get("parameters", {}))
    aud = {"public": "This is a **public** edition: every number in it is computed from the KPI values Members "
                     "marked public only (other values are treated as missing); Members are shown by pseudonym.",
           "wco": "This edition is for **WCO Members and the Secretariat**: every number in it is computed from "
                  "the values Members marked public or WCO-only; restricted values are treated as missing.",
           "internal": "This is an **internal** working paper of the methodology team: it may contain values "
                       "Members marked restricted and must not be circulated."}.get(run.audience, "")
    sim = ("The Member returns are the workbench's **synthetic** data, generated with a planted truth to test the "
           "methods; the results are not PMM results." if is_simulated(m) else "")
    return "\n\n".join(x for x in [
        f"Every table and figure below was produced by run `{escape_md(m.get('run_id', run.run_dir.name))}` "
        f"(started {escape_md(str(m.get('started', ''))[:19].replace('T', ' '))} UTC, seed "
        f"{escape_md(params.get('seed', ''))}). The run folder holds the executed notebooks, every table as a CSV "
        "file and a manifest with the hashes of all inputs (Annex C), so the run can be repeated and compared "
        "with others.", aud, sim] if x)


def _framework(run: _Run) -> str:
    fw = run.framework
    rows = []
    for d in fw.dimensions:
        n_kpi = sum(len(o.children) for o in fw.outcomes if o.parent == d.code)
        rows.append({"code": d.code, "name": d.name, "nominal": float(d.weight),
                     "outcomes": len(d.children), "kpis": n_kpi})
    frame = pd.DataFrame(rows)
    n_illus = sum(bool(getattr(k, "illustrative", False)) for k in fw.kpis)
    text = [f"The framework (*{escape_md(fw.name)}*, version {escape_md(fw.version)}) arranges {len(fw.kpis)} KPIs "
            f"under {len(fw.outcomes)} expected outcomes in {len(fw.dimensions)} dimensions that make up the index "
            f"({escape_md(fw.index.code)}); @tbl-framework lists them and Annex B defines every KPI. KPIs are "
            "oriented so that a higher score is better: a KPI with direction −1 (a release time) is reversed "
            "during normalisation.",
            _table(run, frame, "tbl-framework", "Dimensions of the PMM framework: nominal weight in the index and "
                   "number of expected outcomes and KPIs.",
                   kinds={"outcomes": "count", "kpis": "count"},
                   headers={"outcomes": "Expected outcomes", "kpis": "KPIs", "nominal": "Nominal weight"})]
    if n_illus:
        text.append(f"{n_illus} of the {len(fw.kpis)} KPI definitions are illustrative stand-ins written for "
                    "this workbench, not published WCO definitions.")
    return "\n\n".join(text)


def _data(run: _Run) -> str:
    out: list[str] = []
    cov = run.tables.get("tbl-coverage")
    gaps = run.tables.get("tbl-missing-by-group")
    figs = [lb for lb in ("fig-coverage-kpi", "fig-missingness") if run.fig(lb)]
    if cov is None:
        return _missing(run, "The coverage tables", "01", "data")
    low = cov.sort_values("coverage").loc[lambda f: f["coverage"] < 1.0]
    tbl = []
    if len(low):
        tbl.append(_table(run, low[["kpi", "name", "dimension", "n", "n_members", "coverage"]].head(15),
                          "tbl-coverage-low", f"The {min(15, len(low))} least reported KPIs: Members reporting (n) of "
                          "those taking part, and the share (coverage); the full table is linked in Annex D."))
    if gaps is not None and len(gaps):
        g = gaps.sort_values("missing_in", ascending=False).head(8)
        tbl.append(_table(run, g[["group", "outcome", "kpis", "n_group", "missing_in", "missing_out"]],
                          "tbl-gaps", "Expected outcomes missing most often inside a group of Members: share of "
                          "the outcome's values missing inside (n = group size) and outside the group.",
                          headers={"group": "Group", "kpis": "KPIs", "n_group": "Group n",
                                   "missing_in": "Missing in group", "missing_out": "Missing outside"},
                          kinds={"missing_in": "share", "missing_out": "share", "n_group": "count"}))
    labels = [*figs, *(["tbl-coverage-low"] if len(low) else []), *(["tbl-gaps"] if gaps is not None and len(gaps) else [])]
    out.append(f"Coverage by KPI and the pattern of skipped values are shown in {_ref(labels)}.")
    out += [_figure(run, lb) for lb in figs]
    out += tbl
    out.append(_shows(run, "data"))
    return "\n\n".join(x for x in out if x)


def _validity(run: _Run) -> str:
    card = run.tables.get("tbl-scorecard")
    if card is None:
        return _missing(run, "The validity scorecard", "02", "validity")
    out: list[str] = []
    fit = kpi_fitness(card)
    names = {k.code: k.name for k in run.framework.kpis}
    counts = card["verdict"].value_counts()
    labels = ["tbl-kpi-fitness"] if len(fit) else []
    alpha = run.tables.get("tbl-alpha")
    if alpha is not None and len(alpha):
        labels.append("tbl-alpha-dims")
    if run.fig("fig-alpha"):
        labels.append("fig-alpha")
    out.append(f"The scorecard keeps {int(counts.get('keep', 0))} of {len(card)} KPIs, flags "
               f"{int(counts.get('review', 0))} for review and {int(counts.get('drop', 0))} for dropping. "
               + (f"Each KPI it does not keep is named with its reasons and what the index does about it in "
                  f"{_ref(labels[:1])}; " if len(fit) else "")
               + (f"internal consistency is in {_ref(labels[1 if len(fit) else 0:])}." if labels[1 if len(fit) else 0:] else "")
               + " The full scorecard is in Annex A.")
    if len(fit):
        t = fit.assign(name=fit["code"].map(names))[["code", "name", "verdict", "reason", "action"]]
        out.append(_table(run, t, "tbl-kpi-fitness", "KPIs the scorecard does not keep: the problem in words "
                          "with its evidence (n = Members reporting) and what the advised index does about it."))
    if alpha is not None and len(alpha):
        a = alpha[alpha["level"] == alpha["level"].max()] if "level" in alpha.columns else alpha
        cols = [c for c in ("code", "name", "alpha", "ci_low", "ci_high", "n", "k", "withheld") if c in a.columns]
        a = a[cols]
        if "withheld" in a.columns and not (a["withheld"].astype("string").fillna("") != "").any():
            a = a.drop(columns=["withheld"])
        out.append(_table(run, a, "tbl-alpha-dims", "Cronbach's alpha of each dimension with its 95 % bootstrap "
                          "interval (bounded by 1), n Members and k KPIs."))
    out.append(_figure(run, "fig-alpha"))
    out.append(_shows(run, "validity"))
    return "\n\n".join(x for x in out if x)


def _structure(run: _Run) -> str:
    pca = run.tables.get("tbl-pca")
    if pca is None:
        return _missing(run, "The PCA table", "02", "structure")
    rows = []
    for code, g in pca.groupby("code", sort=False):
        pc1 = g[g["component"].astype(str) == "PC1"]
        withheld = str(g["withheld"].iloc[0]) if "withheld" in g.columns and pd.notna(g["withheld"].iloc[0]) else ""
        rows.append({"code": code, "k": int(g["k"].iloc[0]), "n": int(g["n"].iloc[0]),
                     "pc1_share": float(pc1["explained"].iloc[0]) if len(pc1) else float("nan"),
                     "components": int(pc1["n_parallel"].iloc[0]) if len(pc1) else float("nan"),
                     "kmo": float(pc1["kmo"].iloc[0]) if len(pc1) else float("nan"),
                     "bartlett_p": float(pc1["bartlett_p"].iloc[0]) if len(pc1) else float("nan"),
                     "withheld": withheld.split(": ", 1)[-1]})
    frame = pd.DataFrame(rows)
    if not (frame["withheld"] != "").any():
        frame = frame.drop(columns=["withheld"])
    figs = ["fig-pca-scree"] if run.fig("fig-pca-scree") else []
    out = [f"The share of each dimension's variance carried by its first component is in {_ref(['tbl-pc1', *figs])}.",
           _table(run, frame, "tbl-pc1", "First principal component of each dimension: share of the variance it "
                  "explains, components retained by parallel analysis, KMO and Bartlett's p (n Members, k KPIs).",
                  kinds={"components": "count"}),
           *(_figure(run, lb) for lb in figs), _shows(run, "structure")]
    return "\n\n".join(x for x in out if x)


def _weighting(run: _Run) -> str:
    out: list[str] = []
    ranks = run.tables.get("tbl-weighting-ranks")
    eff = run.tables.get("tbl-effective-weights")
    adv = run.tables.get("tbl-advised-index")
    if ranks is None and eff is None:
        return _missing(run, "The weighting tables", "03", "weighting")
    labels = []
    blocks = []
    if ranks is not None and "framework" in ranks.columns:
        base = ranks["framework"]
        rows = []
        for s in [c for c in ranks.columns if c not in ("member", "framework")]:
            shift = (ranks[s] - base).abs()
            j = int(shift.to_numpy().argmax())
            rows.append({"scheme": s, "median_shift": float(shift.median()), "max_shift": float(shift.max()),
                         "member": str(ranks["member"].iloc[j]) if float(shift.max()) > 0 else "–"})
        blocks.append(_table(run, pd.DataFrame(rows), "tbl-schemes", "Each weighting scheme against the framework "
                             "weights: median and largest absolute rank shift, and the Member that moves most "
                             f"(n = {len(ranks)} Members).", headers={"member": "Member moving most"},
                             kinds={"median_shift": "score"}))
        labels.append("tbl-schemes")
    if eff is not None and len(eff):
        e = eff.assign(ratio=eff["effective"] / eff["nominal"])
        e = e[e["level"] >= 2].sort_values(["level", "parent", "code"], ascending=[False, True, True])
        blocks.append(_table(run, e[["code", "parent", "level", "nominal", "effective", "ratio", "n"]],
                             "tbl-effective", "Nominal and effective weights of every expected outcome and dimension "
                             "(effective = squared correlation with the parent, scaled within the parent); the KPI "
                             "level is in Annex A."))
        labels.append("tbl-effective")
    if adv is not None and len(adv):
        moved = adv.assign(shift_abs=adv["shift"].abs()).sort_values("shift_abs", ascending=False)
        moved = moved[moved["shift_abs"] > 0].head(12).drop(columns=["shift_abs"])
        if len(moved):
            first = adv["dropped"].iloc[0] if "dropped" in adv.columns else ""
            dropped = str(first) if pd.notna(first) else ""
            blocks.append(_table(run, moved[["member", "framework", "advised", "rank_framework", "rank_advised", "shift"]],
                                 "tbl-advised", f"The index as computed (framework KPIs) and as advised (without "
                                 f"{dropped or 'the flagged KPIs'}): the Members whose rank moves most; every Member "
                                 "is in Annex A.", kinds={"framework": "score", "advised": "score", "shift": "rank"},
                                 headers={"framework": "Score (framework)", "advised": "Score (advised)"}))
            labels.append("tbl-advised")
    figs = [lb for lb in ("fig-effective-weights", "fig-weighting-rankshift") if run.fig(lb)]
    out.append(f"The weighting schemes, the effective weights and the advised index are compared in "
               f"{_ref([*labels, *figs])}.")
    out += blocks
    out += [_figure(run, lb) for lb in figs]
    out.append(_shows(run, "weighting"))
    return "\n\n".join(x for x in out if x)


def _outcomes(run: _Run) -> str:
    oc = run.tables.get("tbl-outcome-correlations")
    if oc is None:
        return _missing(run, "The outcome correlations", "04", "outcomes")
    p = oc[oc["method"] == "pearson"] if "method" in oc.columns else oc
    codes = list(dict.fromkeys(p["code"]))
    mat = p.pivot_table(index="variable", columns="code", values="estimate", sort=False)[codes]
    n = p[p["code"] == codes[0]].set_index("variable")["n"]
    frame = mat.reset_index()
    frame.insert(1, "n", frame["variable"].map(n).astype("Int64"))
    pc = run.tables.get("tbl-partial-correlations")
    if pc is not None and len(pc):
        pp = pc[(pc["code"] == codes[0]) & (pc.get("method", "pearson") == "pearson")]
        for covar, col in (("log_gdp_pc_ppp", "partial"), ("log_gdp_pc_ppp, wgi_ge", "partial_gov")):
            s = pp[pp["covar"] == covar].set_index("variable")["estimate"]
            if len(s):
                frame[col] = frame["variable"].map(s)
    frame["variable"] = frame["variable"].map(lambda v: variable_label(str(v)))
    kinds = {c: "coef" for c in codes}
    figs = [lb for lb in ("fig-pmm-lpi", "fig-outcome-correlations") if run.fig(lb)]
    out = [f"The index and its dimensions against every outcome are in {_ref(['tbl-outcome-matrix', *figs])}; "
           "the full correlation, regression and partial-correlation tables, with intervals, are linked in Annex D.",
           _table(run, frame, "tbl-outcome-matrix", f"Pearson correlation of the index ({codes[0]}) and each "
                  "dimension with each outcome (n = Members with both), and the index's partial correlation given "
                  "log GDP per capita and given log GDP per capita and government effectiveness.",
                  kinds=kinds, headers={"variable": "Outcome"}),
           *(_figure(run, lb) for lb in figs), _shows(run, "outcomes")]
    return "\n\n".join(x for x in out if x)


def _uncertainty(run: _Run) -> str:
    ri = run.tables.get("tbl-rank-intervals")
    if ri is None:
        return _missing(run, "The rank intervals", "05", "uncertainty")
    rows = []
    for code, g in ri.groupby("code", sort=False):
        within = (g["rank_low"] >= g["rank"] - 3) & (g["rank_high"] <= g["rank"] + 3)
        rows.append({"code": code, "n": len(g), "share": float(within.mean()), "fragile": int((~within).sum()),
                     "width": float((g["rank_high"] - g["rank_low"]).median()),
                     "replications": int(g["n"].max()) if "n" in g.columns else float("nan")})
    summary = pd.DataFrame(rows)
    pmm = ri[ri["code"] == ri["code"].iloc[0]]
    fragile = pmm[~((pmm["rank_low"] >= pmm["rank"] - 3) & (pmm["rank_high"] <= pmm["rank"] + 3))]
    blocks = [_table(run, summary, "tbl-robustness", "Robustness in the JRC form: share of Members whose 90 % "
                     "(5–95 %) rank interval lies within ±3 of the nominal rank, Members outside (fragile), median "
                     "interval width, for the index and each dimension.",
                     headers={"share": "Share within ±3", "fragile": "Fragile", "width": "Median width",
                              "replications": "Replications"},
                     kinds={"fragile": "count", "width": "rank", "replications": "count"})]
    labels = ["tbl-robustness"]
    if len(fragile):
        f = fragile.sort_values("rank")[["unit", "rank", "rank_q50", "rank_low", "rank_high"]]
        blocks.append(_table(run, f, "tbl-fragile", "Members whose index rank interval reaches beyond ±3 of "
                             "their nominal rank."))
        labels.append("tbl-fragile")
    sob = run.tables.get("tbl-sobol")
    if sob is not None and len(sob):
        s = sob[(sob["code"] == sob["code"].iloc[0]) & (sob["output"] == sob["output"].iloc[0])]
        wide = s.pivot_table(index="factor", columns="order", values="estimate", sort=False).reset_index()
        lo = s[s["order"] == "total"].set_index("factor")
        wide["ci_low"], wide["ci_high"] = wide["factor"].map(lo["ci_low"]), wide["factor"].map(lo["ci_high"])
        wide = wide.rename(columns={"factor": "name"})
        blocks.append(_table(run, wide, "tbl-sobol-index", f"First- and total-order Sobol' indices of the index's "
                             f"{str(s['output'].iloc[0]).replace('_', ' ')}, with the 95 % interval of the total "
                             f"index (N = {int(s['n'].max())} base samples).",
                             kinds={"first": "coef", "total": "coef"},
                             headers={"name": "Assumption", "first": "First order", "total": "Total order",
                                      "ci_low": "Total CI low", "ci_high": "Total CI high"}))
        labels.append("tbl-sobol-index")
    figs = [lb for lb in ("fig-rank-intervals", "fig-sobol") if run.fig(lb)]
    out = [f"Rank intervals and the sensitivity indices are in {_ref([*labels, *figs])}.", *blocks,
           *(_figure(run, lb) for lb in figs), _shows(run, "uncertainty")]
    return "\n\n".join(x for x in out if x)


_CYCLES = ("tbl-cycles-rank-stability", "fig-cycles-ranks", "fig-cycles-score-changes", "tbl-cycles-score-changes",
           "tbl-cycles-kpi-stability", "tbl-cycles-alpha", "tbl-cycles-variation")


#: Columns of the wide cycles tables printed in the body (every column stays in the CSV).
_CYCLES_COLUMNS = {
    "tbl-cycles-kpi-stability": ("code", "n", "coverage_prev", "coverage", "item_rest_prev", "item_rest",
                                 "verdict_prev", "verdict", "stable"),
    "tbl-cycles-alpha": ("code", "name", "level", "alpha_prev", "alpha", "change", "n"),
}


def _cycles(run: _Run, template_dir: Path) -> str:
    """The Cycles section (notebook 06), only when the run compared this cycle with an earlier one."""
    if "tbl-cycles-rank-stability" not in run.tables:
        return ""
    prose = template_dir / "partials" / "cycles.qmd"
    figs = [lb for lb in _CYCLES if lb.startswith("fig-") and run.fig(lb)]
    tabs = [lb for lb in _CYCLES if lb.startswith("tbl-") and lb in run.tables]
    out = ["# Cycles", "", prose.read_text(encoding="utf-8").strip() if prose.is_file() else "",
           f"The comparison of the two cycles is in {_ref([*tabs, *figs])}."]
    for lb in tabs:
        art = run.artefacts[lb]
        frame = run.tables[lb]
        keep = _CYCLES_COLUMNS.get(lb)
        cols = [c for c in keep if c in frame.columns] if keep else list(frame.columns)
        caption = art.caption if len(cols) == len(frame.columns) else (
            art.caption.rstrip(". ") + ". Intervals and the remaining columns are in the CSV file (Annex D).")
        out.append(_table(run, frame[cols], lb, caption,
                          kinds={"change": "coef"} if lb == "tbl-cycles-alpha" else None))
    out += [_figure(run, lb) for lb in figs]
    return "\n\n".join(x for x in out if x)


def _limitations(run: _Run) -> str:
    missing = [t for key, t in _SECTION_TITLES.items()
               if not any(f.section == key for f in run.findings)]
    lines = []
    if missing:
        lines.append(f"- **Incomplete run.** No results were produced for: {_join(missing)}.")
    if is_simulated(run.manifest):
        lines.append("- **Simulated data.** The Member returns are synthetic; the findings test the methods, "
                     "they do not describe any administration.")
    return "\n".join(lines)


def _annex(run: _Run) -> str:
    out = ["# Annex A: full tables {.unnumbered}", ""]
    card = run.tables.get("tbl-scorecard")
    if card is not None and len(card):
        cols = [c for c in ("code", "dimension", "coverage", "n", "item_rest_r", "index_r", "alpha_change",
                            "r_max", "r_max_with", "parent_r", "verdict") if c in card.columns]
        out += ["The scorecard of every KPI is @tbl-scorecard-full.", "",
                _table(run, card[cols], "tbl-scorecard-full", "Validity scorecard of every KPI (Spearman "
                       "correlations on oriented values; n Members reporting)."), ""]
    eff = run.tables.get("tbl-effective-weights")
    if eff is not None and len(eff):
        k = eff[eff["level"] == 1].assign(ratio=lambda f: f["effective"] / f["nominal"])
        out += ["Effective weights of every KPI within its expected outcome are in @tbl-effective-kpi.", "",
                _table(run, k[["code", "parent", "nominal", "effective", "ratio", "n"]], "tbl-effective-kpi",
                       "Nominal and effective weights of every KPI within its expected outcome."), ""]
    adv = run.tables.get("tbl-advised-index")
    if adv is not None and len(adv):
        out += ["Every Member's score and rank under the framework and the advised index is in @tbl-advised-full.", "",
                _table(run, adv[["member", "framework", "advised", "rank_framework", "rank_advised", "shift"]],
                       "tbl-advised-full", "Index score and rank of every Member, framework and advised index.",
                       kinds={"framework": "score", "advised": "score"},
                       headers={"framework": "Score (framework)", "advised": "Score (advised)"}), ""]
    ri = run.tables.get("tbl-rank-intervals")
    if ri is not None and len(ri):
        pmm = ri[ri["code"] == ri["code"].iloc[0]]
        out += ["Every Member's rank interval is in @tbl-ranks-full.", "",
                _table(run, pmm[["unit", "score", "rank", "rank_q50", "rank_low", "rank_high"]], "tbl-ranks-full",
                       "Index score, nominal and median rank and 90 % rank interval of every Member."), ""]
    out += ["# Annex B: indicator definitions {.unnumbered}", ""]
    kpis = {k.code: k for k in run.framework.kpis}
    for o in run.framework.outcomes:
        out.append(f"**{escape_md(o.code)} {escape_md(o.name)}** ({escape_md(o.parent)})")
        out.append("")
        for code in o.children:
            k = kpis[code]
            out.append(f"- **{escape_md(k.code)} {escape_md(k.name)}.** {escape_md(k.definition)}. Unit: "
                       f"{escape_md(k.unit)}; {'higher' if k.direction == 1 else 'lower'} is better; plausible range "
                       f"{format_value(float(k.lower))}–{format_value(float(k.upper))}; "
                       f"{'optional' if k.optional else 'required'}; default disclosure {escape_md(k.disclosure)}.")
        out.append("")
    inputs = run.manifest.get("inputs") or {}
    rows = [{"file": k, "sha256": str(v)[:12]} for k, v in sorted(inputs.items())
            if not any(part.startswith(".") for part in Path(str(k)).parts)]  # no temporary paths
    out += ["# Annex C: provenance {.unnumbered}", ""]
    if rows:
        out += [f"The run's {len(rows)} input files and their hashes are in @tbl-inputs.", "",
                _table(run, pd.DataFrame(rows), "tbl-inputs", "Input files of this run and the first 12 hex digits "
                       "of their SHA-256 hash."), ""]
    else:
        out += ["The manifest of this run lists no input files.", ""]
    pk = run.manifest.get("packages") or {}
    if pk:
        out += ["Software: " + escape_md(", ".join(f"{k} {v}" for k, v in sorted(pk.items()))) + ".", ""]
    out += ["# Annex D: files of this run {.unnumbered}", "",
            "The paper's tables are cut from these files, which hold every row at full precision "
            "(links relative to this paper in the run folder)."]
    out += ["", "- [paper.pdf](paper.pdf) and [paper.html](paper.html)"]
    for art in run.artefacts.values():
        if art.kind == "table" and _allowed(art, run.audience):
            out.append(f"- [{escape_md(art.caption)}]({art.path.relative_to(run.run_dir).as_posix()}) (CSV)")
    figs = [a for a in run.artefacts.values() if a.kind == "figure" and _allowed(a, run.audience)
            and a.label not in run.used]
    if figs:
        out += ["", "Figures of the run not placed in the paper (too detailed to print legibly on a page, or "
                    "outside its sections):"]
        out += [f"- [{escape_md(a.caption)}]({a.path.relative_to(run.run_dir).as_posix()}) (PNG)" for a in figs]
    if run.audience == "internal":  # public and wco bundles keep the notebooks in _internal/ (reporting.bundle)
        nbs = sorted((run.run_dir / "notebooks").glob("*.ipynb")) if (run.run_dir / "notebooks").is_dir() else []
        if nbs:
            out += ["", "Executed notebooks: " + ", ".join(
                f"[{escape_md(p.stem.replace('_', ' '))}](notebooks/{p.name})" for p in nbs) + "."]
    return "\n".join(out)


def paper_context(run_dir: str | Path, manifest: Mapping[str, Any] | None = None, *,
                  framework: Framework | None = None, template_dir: str | Path | None = None) -> dict[str, Any]:
    """The run's blocks of the paper (``_paper/<name>.qmd`` contents) and its findings.

    Returns
    -------
    dict
        ``blocks`` (name → Markdown), ``meta`` (YAML text), ``header`` (typst page setup),
        ``findings`` (list of :class:`~pmm_lib.analysis.findings.Finding`), ``labels`` (every
        figure and table label placed in the paper, in order), ``simulated`` (bool).
    """
    run = _load(Path(run_dir), manifest, framework)
    blocks = {"notice": _notice(run), "key-findings": _key_findings(run), "intro": _intro(run),
              "framework": _framework(run), "data": _data(run), "validity": _validity(run),
              "structure": _structure(run), "weighting": _weighting(run), "outcomes": _outcomes(run),
              "uncertainty": _uncertainty(run),
              "cycles": _cycles(run, Path(template_dir) if template_dir is not None else METHODOLOGY_DIR),
              "limitations": _limitations(run), "annex": _annex(run)}
    return {"blocks": blocks, "meta": _meta_yaml(run), "header": _header_typ(run), "findings": run.findings,
            "labels": list(dict.fromkeys(run.used)), "simulated": is_simulated(run.manifest)}


def write_paper_source(run_dir: str | Path, manifest: Mapping[str, Any] | None = None, *,
                       template_dir: str | Path | None = None,
                       framework: Framework | None = None) -> Path:
    """Copy the Quarto project into ``run_dir`` and write the run's blocks; return ``run_dir/paper.qmd``.

    Also writes ``findings.json`` (every finding with its section, severity, rule, evidence, n and
    the KPIs it advises dropping) beside the paper.
    """
    run_dir = Path(run_dir)
    template_dir = Path(template_dir) if template_dir is not None else METHODOLOGY_DIR
    if not (template_dir / "paper.qmd").is_file():
        raise RunError(f"paper source not found: {template_dir / 'paper.qmd'}")
    for name in _STATIC:
        src = template_dir / name
        if src.is_file():
            write_text_atomic(run_dir / name, src.read_text(encoding="utf-8"))
    parts = template_dir / "partials"
    if parts.is_dir():
        for src in sorted(parts.glob("*.qmd")):
            write_text_atomic(run_dir / "partials" / src.name, src.read_text(encoding="utf-8"))
    ctx = paper_context(run_dir, manifest, framework=framework, template_dir=template_dir)
    for name, text in ctx["blocks"].items():
        write_text_atomic(run_dir / "_paper" / f"{name}.qmd", text + "\n")
    write_text_atomic(run_dir / "_paper" / "meta.yml", ctx["meta"])
    write_text_atomic(run_dir / "_paper" / "header.typ", ctx["header"])
    write_text_atomic(run_dir / "findings.json", json.dumps(
        [{"section": f.section, "severity": f.severity, "statement": f.statement, "recommendation": f.recommendation,
          "rule": f.rule, "n": f.n, "subjects": list(f.subjects), "drop": list(f.drop),
          "evidence": {k: (v if isinstance(v, str | int) else float(v)) for k, v in f.evidence.items()}}
         for f in ctx["findings"]], indent=1, ensure_ascii=False) + "\n")
    return run_dir / "paper.qmd"


# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------

def expand_includes(text: str, base: Path, *, _depth: int = 0) -> str:
    """Resolve Quarto ``{{< include FILE >}}`` shortcodes (one per line) the way Quarto does.

    ``FILE`` is relative to ``base`` and must stay inside it (no absolute paths, no ``..`` out of
    the run folder); included files may include others (up to 10 levels).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "a.qmd").write_text("Hello")
    >>> expand_includes("Say:\\n{{< include a.qmd >}}\\n", d)
    'Say:\\nHello\\n'
    """
    if _depth > 10:
        raise RunError("paper: include shortcodes nested more than 10 levels")
    root = base.resolve()
    out = []
    for line in text.splitlines(keepends=True):
        s = line.strip()
        if s.startswith("{{< include ") and s.endswith(">}}"):
            name = s[len("{{< include "):-3].strip()
            target = (base / name).resolve()
            if not target.is_relative_to(root) or not target.is_file():
                raise RunError(f"paper: include {name!r} is not a file inside {base}")
            body = expand_includes(target.read_text(encoding="utf-8"), base, _depth=_depth + 1)
            out.append(body if body.endswith("\n") else body + "\n")
        else:
            out.append(line)
    return "".join(out)


def _pandoc() -> str:
    try:
        import pypandoc
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise RunError("the pandoc fallback needs 'pypandoc-binary' (pip install pypandoc-binary)") from exc
    return pypandoc.get_pandoc_path()


def _run(cmd: Sequence[str], cwd: Path, what: str) -> None:
    proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:  # names the reason (signal, storage) and sets the exit code class
        raise ToolError.from_process(what, proc.returncode, proc.stderr, cwd)


def _render_pandoc(run_dir: Path, formats: Iterable[str], template_dir: Path) -> RenderResult:
    import typst

    pandoc = _pandoc()
    # the renderer's own files (filters, styles) are copied in first: rendering reads only the run folder
    for name in ("crossref.lua", "paper-blocks.lua", "paper-header.typ", "paper.css"):
        src = next((d / name for d in (template_dir, METHODOLOGY_DIR) if (d / name).is_file()), None)
        if not (run_dir / name).is_file() and src is not None:
            write_text_atomic(run_dir / name, src.read_text(encoding="utf-8"))
    md = expand_includes((run_dir / "paper.qmd").read_text(encoding="utf-8"), run_dir)
    write_text_atomic(run_dir / "paper.md", md)  # the expanded source, beside the outputs
    # images inside the run folder, no raw/active content; the formats are written from this very AST
    ast = write_text_atomic(run_dir / "_paper" / "paper.json", check_paper_source(md, run_dir, pandoc=pandoc))
    common = [pandoc, ast.relative_to(run_dir).as_posix(), "--from", "json", "--standalone", "--number-sections",
              "--resource-path", ".",
              # templates and filters only from inside the run folder, never the user's data directory
              "--data-dir", "_paper", "--lua-filter", "paper-blocks.lua", "--lua-filter", "crossref.lua"]
    if (run_dir / "_paper" / "meta.yml").is_file():
        common += ["--metadata-file", "_paper/meta.yml"]
    if (run_dir / "references.bib").is_file():
        common += ["--citeproc", "--bibliography", "references.bib"]
    def html() -> Path:
        target = run_dir / "paper.html"
        with atomic_path(target) as tmp:
            css = ["--css", "paper.css"] if (run_dir / "paper.css").is_file() else []
            _run([*common, "--to", "html5", "--toc", "--toc-depth", "2", "--embed-resources", *css,
                  "--output", str(tmp)], run_dir, "pandoc (HTML)")
            check_html(tmp)  # no script, event handler or embedded file reached the page
        return target

    def pdf() -> Path:
        typ = run_dir / "paper.typ"
        with atomic_path(typ) as tmp:
            headers = [x for h in ("paper-header.typ", "_paper/header.typ") if (run_dir / h).is_file()
                       for x in ("--include-in-header", h)]
            _run([*common, "--to", "typst", *headers, *([] if (run_dir / "_paper" / "header.typ").is_file()
                                                          else ["-V", "papersize=a4"]),
                  "--output", str(tmp)], run_dir, "pandoc (typst)")
        target = run_dir / "paper.pdf"
        # reproducible builds' convention: with SOURCE_DATE_EPOCH set, the PDF's creation date is
        # that instant, so the same inputs give the same bytes (else typst stamps the clock)
        epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
        stamp = {"timestamp": int(epoch)} if epoch.isdigit() else {}
        try:
            data = typst.compile(str(typ), root=str(run_dir), format="pdf", **stamp)
        except Exception as exc:  # typst raises its own TypstError
            raise RunError(f"typst could not compile {typ}: {exc}") from exc
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        return target

    # the two formats side by side (each is one process; 1.4 s and 1.8 s on their own)
    jobs = {fmt: job for fmt, job in (("html", html), ("pdf", pdf)) if fmt in formats}
    outputs: dict[str, Path] = {}
    if len(jobs) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = {fmt: pool.submit(job) for fmt, job in jobs.items()}
            for fmt, fut in futures.items():  # the first failure is raised, after both ended
                outputs[fmt] = fut.result()
    else:
        outputs = {fmt: job() for fmt, job in jobs.items()}
    proc = subprocess.run([pandoc, "--version"], capture_output=True, text=True, check=False)
    versions = {"pandoc": proc.stdout.split("\n", 1)[0].split()[-1] if proc.stdout else "?",
                "typst": getattr(typst, "__version__", "?")}
    return RenderResult("pandoc+typst", outputs, versions)


def _render_quarto(run_dir: Path, formats: Iterable[str], quarto: str) -> RenderResult:
    outputs: dict[str, Path] = {}
    for fmt in formats:
        to = "html" if fmt == "html" else "typst"
        _run([quarto, "render", "paper.qmd", "--to", to], run_dir, f"quarto render --to {to}")
        target = run_dir / f"paper.{fmt}"
        if not target.is_file():
            raise RunError(f"quarto render --to {to} did not write {target}")
        outputs[fmt] = target
    proc = subprocess.run([quarto, "--version"], capture_output=True, text=True, check=False)
    return RenderResult("quarto", outputs, {"quarto": proc.stdout.strip() or "?"})


def render_paper(run_dir: str | Path, *, renderer: Renderer = "auto",
                 formats: Sequence[Format] = ("html", "pdf"),
                 template_dir: str | Path | None = None) -> RenderResult:
    """Render ``<run_dir>/paper.qmd`` to ``paper.html`` and ``paper.pdf``.

    Parameters
    ----------
    run_dir : path
        Folder holding ``paper.qmd`` and its blocks (see :func:`write_paper_source`).
    renderer : {"auto", "quarto", "pandoc"}
        ``auto`` uses Quarto when ``shutil.which("quarto")`` finds it, else pandoc + typst.
    formats : sequence of {"html", "pdf"}
    template_dir : path, optional
        Where the renderer's own files (Lua filters, styles) are copied from when the folder lacks
        them (default ``methodology/``); rendering then reads only the run folder.

    Raises
    ------
    RunError
        The renderer failed; the message carries its error output.
    """
    if renderer not in get_args(Renderer):
        raise RunError(f"renderer {renderer!r} is not one of {', '.join(get_args(Renderer))}")
    bad = [f for f in formats if f not in get_args(Format)]
    if bad:
        raise RunError(f"paper format(s) {', '.join(map(repr, bad))} not one of {', '.join(get_args(Format))}")
    run_dir = Path(run_dir)
    if not (run_dir / "paper.qmd").is_file():
        raise RunError(f"{run_dir / 'paper.qmd'} not found: call write_paper_source first")
    template_dir = Path(template_dir) if template_dir is not None else METHODOLOGY_DIR
    t0 = time.perf_counter()
    quarto = shutil.which("quarto")
    if renderer == "quarto" and quarto is None:
        raise RunError("renderer 'quarto' requested but quarto is not on PATH (use 'auto' or 'pandoc')")
    if renderer in ("auto", "quarto") and quarto is not None:
        result = _render_quarto(run_dir, formats, quarto)
    else:
        result = _render_pandoc(run_dir, formats, template_dir)
    return RenderResult(result.renderer, result.outputs, result.versions, time.perf_counter() - t0)
