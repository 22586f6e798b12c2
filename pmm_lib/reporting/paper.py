"""The methodology paper: fill the Quarto template with one run's values and render it.

This module owns the path from a finished run folder to ``paper.qmd``, ``paper.html`` and
``paper.pdf``:

1. :func:`write_paper_source` fills the Jinja2 template ``methodology/paper.qmd`` (and its
   partials) with the run's manifest, the framework and the run's labelled figures and tables,
   and writes ``<run>/paper.qmd``. A section whose artefacts are missing says so plainly.
2. :func:`render_paper` renders that file with Quarto when ``quarto`` is on PATH; otherwise with
   the fallback: :func:`quarto_to_pandoc` turns Quarto cross-references (``{#fig-x}``,
   ``@fig-x``, ``: caption {#tbl-x}``) into numbered "Figure N"/"Table N" text, pandoc writes a
   self-contained HTML file (figures embedded) and typst markup, and the ``typst`` package
   compiles the PDF. The renderer used is returned (and recorded in the run manifest).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd

from pmm_lib.errors import RunError, ToolError
from pmm_lib.inputs.candidates import load_design
from pmm_lib.inputs.framework import Framework
from pmm_lib.io import atomic_path, write_text_atomic
from pmm_lib.paths import METHODOLOGY_DIR
from pmm_lib.reporting.report import SECTIONS, Artefact, load_artefacts, table_markdown
from pmm_lib.reporting.safety import PANDOC_FROM, check_html, check_paper_source, markdown_text

__all__ = [
    "REGION_NAMES",
    "RenderResult",
    "Renderer",
    "paper_context",
    "quarto_to_pandoc",
    "render_paper",
    "write_paper_source",
]

Renderer = Literal["auto", "quarto", "pandoc"]
Format = Literal["html", "pdf"]

#: WCO regions as the paper names them.
REGION_NAMES: dict[str, str] = {
    "AMS": "Americas and Caribbean",
    "AP": "Asia/Pacific",
    "ESA": "East and Southern Africa",
    "EUR": "Europe",
    "MENA": "North of Africa, Near and Middle East",
    "WCA": "West and Central Africa",
    "ALL": "all WCO regions",
}
_AUDIENCE_TEXT = {
    "public": "the public",
    "wco": "WCO Members and the Secretariat",
    "internal": "the PMM methodology team (internal)",
}
_AUDIENCE_RANK = {"public": 0, "wco": 1, "internal": 2}


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
# Filling the template
# ----------------------------------------------------------------------------------------------

def _num(value: Any) -> str:
    x = float(value)
    return str(int(x)) if x.is_integer() else f"{x:g}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _figure_md(art: Artefact, run_dir: Path) -> str:
    rel = art.path.relative_to(run_dir).as_posix()
    caption = art.caption.replace("\n", " ").replace("[", "(").replace("]", ")")
    return f"![{caption}]({rel}){{#{art.label} width=90%}}"


def _table_md(art: Artefact, max_rows: int) -> str:
    try:
        frame = art.read()
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        return f"*Table {art.label} could not be read ({exc}).*"
    if frame.empty:
        return f"*No rows in this run for: {art.caption.rstrip('.')}.*"
    caption = art.caption.replace("\n", " ")
    return table_markdown(frame, caption=f"{caption} {{#{art.label}}}", max_rows=max_rows)


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def paper_context(run_dir: str | Path, manifest: Mapping[str, Any] | None = None, *,
                  framework: Framework | None = None, max_rows: int = 30) -> dict[str, Any]:
    """The values and helpers the paper template is filled with.

    Parameters
    ----------
    run_dir : path
        A run folder (``figures/``, ``tables/``, ``manifest.json``).
    manifest : mapping, optional
        The run manifest; read from ``run_dir/manifest.json`` when omitted.
    framework : Framework, optional
        Defaults to the framework file recorded in the manifest, else the project's.
    max_rows : int
        Longest table printed in full; longer tables are cut with a note.

    Returns
    -------
    dict
        Scalars (``title, region, region_name, region_title, cycle, date, audience, audience_text, run_id,
        seed, started, status``), pre-rendered markdown blocks (``framework_table,
        inputs_table, method_choices, participation, extra_section``), ``framework``, ``kpis``,
        ``missing_sections`` and the helper ``section(key)``.
    """
    run_dir = Path(run_dir)
    if manifest is None:
        mpath = run_dir / "manifest.json"
        manifest = json.loads(mpath.read_text(encoding="utf-8")) if mpath.is_file() else {}
    params = dict(manifest.get("parameters", {}))
    region = str(params.get("region", "ALL"))
    cycle = params.get("cycle", "")
    audience = str(params.get("audience", "wco"))
    fw = framework or load_design(manifest.get("framework_path") or None)  # framework or candidate file
    arts = load_artefacts(run_dir)
    executed = {str(nb.get("name", ""))[:2] for nb in manifest.get("notebooks", [])}
    used: set[str] = set()
    missing_sections: list[str] = []

    def allowed(art: Artefact) -> bool:
        return _AUDIENCE_RANK.get(art.audience, 2) <= _AUDIENCE_RANK.get(audience, 1)

    def section(key: str) -> str:
        sec = next((s for s in SECTIONS if s.key == key), None)
        if sec is None:
            raise KeyError(f"unknown paper section {key!r}; known: {', '.join(s.key for s in SECTIONS)}")
        present = [arts[lb] for lb in sec.labels if lb in arts]
        # artefacts of this notebook with labels the contract does not list are shown too
        present += [a for lb, a in arts.items() if lb not in sec.labels and lb not in used
                    and a.path.name.startswith(("fig-", "tbl-")) and _owner(lb) == key]
        shown = [a for a in present if allowed(a)]
        withheld = [a for a in present if not allowed(a)]
        missing = [lb for lb in sec.labels if lb not in arts]
        used.update(a.label for a in present)
        blocks: list[str] = []
        if shown:
            refs = _join([f"@{a.label}" for a in shown])
            blocks.append(f"The results of notebook {sec.notebook} are shown in {refs}.")
            blocks += [_figure_md(a, run_dir) for a in shown if a.kind == "figure"]
            blocks += [_table_md(a, max_rows) for a in shown if a.kind == "table"]
        if withheld:
            blocks.append("::: {.missing}\n**Withheld.** " + _join([f"`{a.label}`" for a in withheld])
                          + f" {'was' if len(withheld) == 1 else 'were'} prepared for a wider audience "
                          f"than this edition ({audience}) and {'is' if len(withheld) == 1 else 'are'} "
                          "not shown.\n:::")
        if missing:
            why = ("notebook " + sec.notebook + " was not part of this run" if sec.notebook not in executed
                   else "notebook " + sec.notebook + " ran but did not write them")
            blocks.append("::: {.missing}\n**Not available in this run.** The following artefacts of "
                          f"this section were not produced ({why}): "
                          + ", ".join(f"`{lb}`" for lb in missing) + ".\n:::")
            if not shown:
                missing_sections.append(sec.title)
        return "\n\n".join(blocks)

    writers = {str(k): str(v) for k, v in (manifest.get("artefacts") or {}).items()}
    listed = {lb for s in SECTIONS for lb in s.labels}

    def _owner(label: str) -> str | None:
        """Section of an artefact the contract does not list: the one of the notebook that wrote it."""
        if label in listed:
            return None
        nb = writers.get(label, "")[:2]
        return next((s.key for s in SECTIONS if s.notebook == nb), None)

    # pre-render every section now so missing_sections and `used` are known to the template
    sections = {s.key: section(s.key) for s in SECTIONS}
    extra = [a for lb, a in arts.items() if lb not in used]
    extra_blocks = [(_figure_md(a, run_dir) if a.kind == "figure" else _table_md(a, max_rows))
                    for a in extra if allowed(a)]
    if extra_blocks:
        extra_blocks.insert(0, "Further artefacts written by the run: "
                            + _join([f"@{a.label}" for a in extra if allowed(a)]) + ".")

    dims = []
    for d in fw.dimensions:
        n_kpi = sum(len(o.children) for o in fw.outcomes if o.parent == d.code)
        dims.append({"code": d.code, "dimension": d.name, "weight": d.weight,
                     "outcomes": len(d.children), "kpis": n_kpi})
    dims.append({"code": fw.index.code, "dimension": "Total", "weight": float("nan"),
                 "outcomes": len(fw.outcomes), "kpis": len(fw.kpis)})
    framework_table = table_markdown(
        pd.DataFrame(dims), max_rows=None,
        caption="Dimensions of the PMM framework with their nominal weights and the number of "
                "expected outcomes and KPIs each contains {#tbl-framework}")
    outcome_names = {d.code: "; ".join(o.name for o in fw.outcomes if o.parent == d.code)
                     for d in fw.dimensions}
    n_illus = sum(k.illustrative for k in fw.kpis)
    illustrative_note = (f"{n_illus} of the {len(fw.kpis)} KPI definitions are illustrative stand-ins "
                         "written for this workbench, not published WCO definitions." if n_illus else "")

    inputs = manifest.get("inputs", {})
    if inputs:
        rows = [{"file": k, "sha256": str(v)[:12]} for k, v in sorted(inputs.items())]
        inputs_table = table_markdown(pd.DataFrame(rows), max_rows=40,
                                      caption="Input files of this run with the first 12 hex digits of "
                                              "their SHA-256 hash {#tbl-inputs}")
    else:
        inputs_table = "*The manifest of this run lists no input files.*"
    synthetic = any("questionnaires/" in k and k.endswith("truth.json") for k in inputs)
    data_note = ("The Member returns in this run are the workbench's bundled synthetic data "
                 "(generated with a planted truth for testing the methods), not real PMM returns."
                 if synthetic else "")

    scenario = manifest.get("scenario")
    if scenario:
        lines = [f"The run used the scenario file `{Path(str(manifest.get('scenario_file') or 'scenario.yaml')).name}`, "
                 "which overrides the framework defaults as follows:", ""]
        for key, value in scenario.items():
            if isinstance(value, Mapping):
                value = ", ".join(f"{k} = {v}" for k, v in value.items())
            lines.append(f"- **{markdown_text(key)}**: {markdown_text(value)}")
        method_choices = "\n".join(lines)
    else:
        method_choices = ("The run used the framework defaults: framework weights, no imputation, no "
                          "outlier treatment, min–max normalisation to 0–100 and arithmetic aggregation "
                          "at every level, unless a notebook states otherwise.")

    cov = arts.get("tbl-coverage")
    participation = ""
    if cov is not None:
        try:
            frame = cov.read()
            if {"n_members", "coverage"} <= set(frame.columns) and len(frame):
                participation = (
                    f"{int(frame['n_members'].max())} Members of {REGION_NAMES.get(region, region)} "
                    f"returned the questionnaire for {cycle}; the median KPI was reported by "
                    f"{100 * float(frame['coverage'].median()):.0f}% of them (@tbl-coverage).")
        except (OSError, ValueError, KeyError):
            participation = ""

    started = str(manifest.get("started", ""))
    return {
        "title": f"Methodology of the PMM index: {_cap(REGION_NAMES.get(region, region))}, {cycle}",
        "region_title": _cap(REGION_NAMES.get(region, region)),
        "region": region, "region_name": REGION_NAMES.get(region, region), "cycle": cycle,
        "date": started[:10] or datetime.now(UTC).strftime("%Y-%m-%d"),
        "started": started.replace("T", " ")[:19], "status": manifest.get("status", "unknown"),
        "audience": audience, "audience_text": _AUDIENCE_TEXT.get(audience, audience),
        "run_id": manifest.get("run_id", run_dir.name), "seed": params.get("seed", ""),
        "framework": fw, "kpis": {k.code: k for k in fw.kpis}, "outcome_names": outcome_names,
        "framework_table": framework_table, "illustrative_note": illustrative_note,
        "inputs_table": inputs_table, "data_note": data_note, "method_choices": method_choices,
        "participation": participation, "extra_section": "\n\n".join(extra_blocks),
        "missing_sections": missing_sections, "section": lambda key: sections[key] if key in sections else section(key),
    }


def write_paper_source(run_dir: str | Path, manifest: Mapping[str, Any] | None = None, *,
                       template_dir: str | Path | None = None,
                       framework: Framework | None = None) -> Path:
    """Fill ``<template_dir>/paper.qmd`` for one run and write ``<run_dir>/paper.qmd``.

    Also copies the Quarto project file and the paper's style files beside it, so Quarto can
    render the folder as it is. Returns the written ``paper.qmd``.
    """
    import jinja2

    run_dir = Path(run_dir)
    template_dir = Path(template_dir) if template_dir is not None else METHODOLOGY_DIR
    if not (template_dir / "paper.qmd").is_file():
        raise RunError(f"paper template not found: {template_dir / 'paper.qmd'}")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir)),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters["num"] = _num
    try:
        text = env.get_template("paper.qmd").render(
            **paper_context(run_dir, manifest, framework=framework))
    except jinja2.TemplateError as exc:
        raise RunError(f"paper template {template_dir / 'paper.qmd'}: {exc}") from exc
    text = re.sub(r"\n{3,}", "\n\n", text).lstrip("\n")
    for name in ("_quarto.yml", "paper.css", "paper-header.typ"):
        src = template_dir / name
        if src.is_file():
            write_text_atomic(run_dir / name, src.read_text(encoding="utf-8"))
    return write_text_atomic(run_dir / "paper.qmd", text)


# ----------------------------------------------------------------------------------------------
# Quarto → plain pandoc markdown
# ----------------------------------------------------------------------------------------------

_FIG_RE = re.compile(r"^!\[(?P<cap>[^\]]*)\]\((?P<path>[^)\s]+)\)\{#(?P<label>fig-[\w-]+)(?P<attrs>[^}]*)\}[ \t]*$",
                     re.MULTILINE)
_TBL_RE = re.compile(r"^: (?P<cap>.*?)\s*\{#(?P<label>tbl-[\w-]+)\}[ \t]*$", re.MULTILINE)
_CELL_RE = re.compile(r"^```\{\w+\}\n(?P<body>(?:#\|.*\n)*)(?P<code>.*?)^```\s*$", re.MULTILINE | re.DOTALL)
_REF_RE = re.compile(r"(?<![\w@`])@(?P<label>(?:fig|tbl)-[\w-]*\w)")


def quarto_to_pandoc(text: str) -> str:
    """Turn Quarto cross-reference syntax into numbered plain text that pandoc renders as is.

    * ``![cap](path){#fig-x ...}`` → ``![Figure N: cap](path){#fig-x ...}``, N counting figures
      in document order;
    * a table caption line ``: cap {#tbl-x}`` → ``: Table N: cap``;
    * code cells with ``#| label: fig-x`` and ``#| fig-cap: cap`` comment lines (which the
      fallback cannot execute) → the figure ``figures/fig-x.png`` with that caption;
    * ``@fig-x`` / ``@tbl-x`` → ``Figure N`` / ``Table N``; a reference to a label that is not
      in the document becomes ``(fig-x: not produced in this run)``.

    Examples
    --------
    >>> md = "See @fig-a and @tbl-b.\\n\\n![Cov](figures/fig-a.png){#fig-a}\\n\\n| x |\\n|--:|\\n| 1 |\\n\\n: Scores {#tbl-b}\\n"
    >>> print(quarto_to_pandoc(md))
    See Figure 1 and Table 1.
    <BLANKLINE>
    ![Figure 1: Cov](figures/fig-a.png){#fig-a}
    <BLANKLINE>
    | x |
    |--:|
    | 1 |
    <BLANKLINE>
    : Table 1: Scores
    <BLANKLINE>
    """
    def cell(m: re.Match[str]) -> str:
        opts = dict(re.findall(r"^#\|\s*([\w-]+):\s*(.*?)\s*$", m.group("body"), re.MULTILINE))
        label = opts.get("label", "")
        if not label.startswith("fig-"):
            return m.group(0)
        cap = opts.get("fig-cap", label).strip("\"'")
        return f"![{cap}](figures/{label}.png){{#{label}}}"

    text = _CELL_RE.sub(cell, text)
    numbers: dict[str, str] = {}
    counters = {"fig": 0, "tbl": 0}
    for m in sorted([*_FIG_RE.finditer(text), *_TBL_RE.finditer(text)], key=lambda m: m.start()):
        label = m.group("label")
        kind = label[:3]
        if label not in numbers:
            counters[kind] += 1
            numbers[label] = f"{'Figure' if kind == 'fig' else 'Table'} {counters[kind]}"

    text = _FIG_RE.sub(lambda m: f"![{numbers[m.group('label')]}: {m.group('cap')}]({m.group('path')})"
                                 f"{{#{m.group('label')}{m.group('attrs')}}}", text)
    text = _TBL_RE.sub(lambda m: f": {numbers[m.group('label')]}: {m.group('cap')}", text)
    return _REF_RE.sub(lambda m: numbers.get(m.group("label"),
                                             f"({m.group('label')}: not produced in this run)"), text)


# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------

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
    md = quarto_to_pandoc((run_dir / "paper.qmd").read_text(encoding="utf-8"))
    src = write_text_atomic(run_dir / "paper.md", md)
    # --columns: pipe tables wider than pandoc's 72-column default would otherwise get relative
    # column widths that squeeze numeric columns; with a wide limit the columns size to content.
    check_paper_source(md, run_dir, pandoc=pandoc)  # images inside the run folder, no raw/active content
    common = [pandoc, src.name, "--from", PANDOC_FROM, "--standalone", "--toc", "--number-sections",
              "--columns=10000", "--resource-path", "."]
    outputs: dict[str, Path] = {}
    if "html" in formats:
        css = run_dir / "paper.css" if (run_dir / "paper.css").is_file() else template_dir / "paper.css"
        target = run_dir / "paper.html"
        with atomic_path(target) as tmp:
            _run([*common, "--to", "html5", "--embed-resources",
                  *(["--css", str(css)] if css.is_file() else []), "--output", str(tmp)],
                 run_dir, "pandoc (HTML)")
            check_html(tmp)  # no script, event handler or embedded file reached the page
        outputs["html"] = target
    if "pdf" in formats:
        header = (run_dir / "paper-header.typ" if (run_dir / "paper-header.typ").is_file()
                  else template_dir / "paper-header.typ")
        typ = run_dir / "paper.typ"
        with atomic_path(typ) as tmp:
            _run([*common, "--to", "typst", *(["--include-in-header", str(header)] if header.is_file() else []),
                  "--output", str(tmp)], run_dir, "pandoc (typst)")
        target = run_dir / "paper.pdf"
        try:
            pdf = typst.compile(str(typ), root=str(run_dir), format="pdf")
        except Exception as exc:  # typst raises its own TypstError
            raise RunError(f"typst could not compile {typ}: {exc}") from exc
        with atomic_path(target) as tmp:
            tmp.write_bytes(pdf)
        outputs["pdf"] = target
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
        Folder holding ``paper.qmd`` (see :func:`write_paper_source`).
    renderer : {"auto", "quarto", "pandoc"}
        ``auto`` uses Quarto when ``shutil.which("quarto")`` finds it, else pandoc + typst.
    formats : sequence of {"html", "pdf"}
    template_dir : path, optional
        Where ``paper.css`` and ``paper-header.typ`` live (default ``methodology/``).

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
