"""Tests of pmm_lib.reporting.report (artefacts) and pmm_lib.reporting.paper (template, cross-references, rendering)."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pypdf
import pytest

from pmm_lib.errors import RunError
from pmm_lib.reporting import paper, report
from pmm_lib.reporting.report import (
    SECTIONS,
    load_artefacts,
    save_figure,
    save_table,
    table_markdown,
)


def _figure(seed: int = 0):
    report.use_reproducible_style()
    g = np.random.default_rng(seed)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(g.normal(size=20), marker="o")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return fig


# ------------------------------------------------------------------------------------ artefacts

def test_save_and_load_roundtrip(tmp_path):
    fig = _figure()
    p = save_figure(fig, "fig-demo", "A demo figure", tmp_path, audience="wco")
    t = save_table(pd.DataFrame({"member": ["NA", "BRA"], "score": [1.5, np.nan]}), "tbl-demo",
                   "A demo table", tmp_path, audience="public")
    plt.close(fig)
    assert p == tmp_path / "figures" / "fig-demo.png" and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "tables" / "tbl-demo.json").read_text()) == {
        "label": "tbl-demo", "caption": "A demo table", "audience": "public"}
    arts = load_artefacts(tmp_path)
    assert list(arts) == ["fig-demo", "tbl-demo"]
    assert arts["fig-demo"].kind == "figure" and arts["fig-demo"].audience == "wco"
    frame = arts["tbl-demo"].read()
    assert frame["member"].tolist() == ["NA", "BRA"]  # Namibia is not a missing value
    assert np.isnan(frame["score"].iloc[1]) and t.read_text().splitlines()[1] == "NA,1.5"


def test_save_nothing_without_out_dir_and_label_checks(tmp_path):
    fig = _figure()
    assert save_figure(fig, "fig-x", "c", "") is None
    assert save_table(pd.DataFrame({"a": [1]}), "tbl-x", "c", None) is None
    with pytest.raises(ValueError, match="fig-"):
        save_figure(fig, "x", "c", tmp_path)
    with pytest.raises(ValueError, match="tbl-"):
        save_table(pd.DataFrame({"a": [1]}), "fig-x", "c", tmp_path)
    with pytest.raises(ValueError, match="public, wco, internal"):
        save_table(pd.DataFrame({"a": [1]}), "tbl-x", "c", tmp_path, audience="everyone")
    plt.close(fig)
    assert not (tmp_path / "figures").exists()


def test_missing_sidecar_falls_back_to_label(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "tbl-bare.csv").write_text("a\n1\n")
    art = load_artefacts(tmp_path)["tbl-bare"]
    assert art.caption == "tbl-bare" and art.audience == "internal"
    assert load_artefacts(tmp_path / "nowhere") == {}


def test_figures_are_byte_identical_for_identical_inputs(tmp_path):
    a, b = _figure(1), _figure(1)
    pa = save_figure(a, "fig-a", "c", tmp_path / "a")
    pb = save_figure(b, "fig-a", "c", tmp_path / "b")
    c = _figure(2)
    pc = save_figure(c, "fig-a", "c", tmp_path / "c")
    plt.close("all")
    assert pa.read_bytes() == pb.read_bytes()
    assert pa.read_bytes() != pc.read_bytes()


def test_table_markdown_fixed_decimals_labels_and_no_truncation():
    frame = pd.DataFrame({"member": ["ARG", "BRA", "CHL"], "score": [61.234, 58.0, np.nan],
                          "item_rest_r": [0.90712, -0.5, 0.000129], "p_value": [9.33e-08, 0.0412, 1.0],
                          "rank": [1.0, 2.0, 3.0], "ok": [True, False, True]})
    text = table_markdown(frame, caption="Scores {#tbl-s}")
    lines = text.splitlines()
    assert lines[0].split("|")[1:-1] == [" Member ", " Score ", " Item-rest r ", " p       ", " Rank ", " Ok  "]
    assert lines[2] == "| ARG    |  61.2 |        0.91 | < 0.001 |    1 | yes |"
    assert lines[3] == "| BRA    |  58.0 |       \u22120.50 |   0.041 |    2 | no  |"
    assert lines[4] == "| CHL    |     \u2013 |        0.00 |   1.000 |    3 | yes |"
    assert lines[-1] == ": Scores {#tbl-s}" and "rows" not in text  # every row, no note
    big = pd.DataFrame({"member": [f"M{i:03d}" for i in range(120)], "score": np.linspace(0, 100, 120)})
    assert len(table_markdown(big).splitlines()) == 122


def test_format_value_and_escaping():
    assert report.format_value(0.30, "coef") == "0.30" and report.format_value(-0.004, "coef") == "0.00"
    assert report.format_value(12345.6, "score") == "12\u2009345.6"
    attack = "![x](/etc/passwd) {{< include /etc/passwd >}} <script>alert(1)</script> @fig-x"
    esc = report.escape_md(attack)
    assert "![" not in esc and "{{<" not in esc and "\\@fig-x" in esc
    for ch in "<>[]{}@":  # every markup character is escaped
        assert esc.count(ch) == esc.count("\\" + ch), ch


def test_sections_cover_contract_labels():
    labels = [lb for s in SECTIONS for lb in s.labels]
    assert len(labels) == len(set(labels))
    for lb in ("fig-coverage-kpi", "tbl-scorecard", "tbl-index-scores", "tbl-ols", "fig-sobol"):
        assert lb in labels
    assert [s.notebook for s in SECTIONS] == ["01", "02", "03", "04", "05", "06"]  # 06: cycles (design engineer)


# ---------------------------------------------------------------------------- the Quarto source

def test_expand_includes_stays_inside_the_run_folder(tmp_path):
    (tmp_path / "_paper").mkdir()
    (tmp_path / "_paper" / "a.qmd").write_text("A {{< include b.qmd >}} inline is not expanded\n")
    (tmp_path / "b.qmd").write_text("B\n")
    out = paper.expand_includes("x\n{{< include _paper/a.qmd >}}\n{{< include b.qmd >}}\ny\n", tmp_path)
    assert out == "x\nA {{< include b.qmd >}} inline is not expanded\nB\ny\n"
    outside = tmp_path.parent / "secret.qmd"
    outside.write_text("SECRET")
    for bad in ("../secret.qmd", str(outside), "missing.qmd"):
        with pytest.raises(RunError, match="not a file inside"):
            paper.expand_includes(f"{{{{< include {bad} >}}}}\n", tmp_path)


def _pandoc(md: str, tmp_path: Path, to: str = "html5") -> str:
    import shutil as sh
    import subprocess

    import pypandoc

    sh.copy(paper.METHODOLOGY_DIR / "crossref.lua", tmp_path / "crossref.lua")
    (tmp_path / "in.md").write_text(md)
    proc = subprocess.run([pypandoc.get_pandoc_path(), "in.md", "--lua-filter", "crossref.lua", "--to", to],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RunError(proc.stderr)
    return proc.stdout


def test_crossref_filter_numbers_and_links(tmp_path):
    md = "\n".join(["See @fig-b, @tbl-x and @fig-a.", "", "![Second](b.png){#fig-b}", "",
                     "| a |", "|--:|", "| 1 |", "", ": Table x {#tbl-x}", "", "![First](a.png){#fig-a}", "",
                     "Mail someone@fig-example.org.", ""])
    html = _pandoc(md, tmp_path)
    assert '<a href="#fig-b">Figure 1</a>, <a href="#tbl-x">Table 1</a>' in html
    assert '<a href="#fig-a">Figure 2</a>' in html
    assert "Figure 1: Second" in html and "Figure 2: First" in html and "Table 1: Table x" in html
    assert "someone@fig-example.org" in html
    typ = _pandoc(md, tmp_path, "typst")
    assert "#link(<fig-b>)[Figure 1]" in typ and "<tbl-x>" in typ
    with pytest.raises(RunError, match="cross-reference to 'fig-gone'"):
        _pandoc("See @fig-gone.\n", tmp_path)


# ------------------------------------------------------------------------------- paper source

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A fake run folder: notebook 01 artefacts + one table of notebook 03, and a manifest."""
    d = tmp_path_factory.mktemp("run")
    fig = _figure()
    save_figure(fig, "fig-coverage-kpi", "Coverage of every KPI", d, audience="wco")
    save_figure(fig, "fig-missingness", "Who skipped what", d, audience="internal")  # too wide for wco
    plt.close(fig)
    save_table(pd.DataFrame({"kpi": ["K01", "K02"], "name": ["Release time", "Share in 24 h"],
                             "dimension": ["TF", "TF"], "n": [3, 2], "n_members": [4, 4],
                             "coverage": [0.75, 0.5]}), "tbl-coverage", "Coverage by KPI", d, audience="wco")
    save_table(pd.DataFrame({"member": ["AAA", "BBB", "CCC"], "framework": [1, 2, 3], "equal": [1, 2, 3],
                             "bod": [3, 1, 2]}), "tbl-weighting-ranks", "Ranks", d, audience="wco")
    save_table(pd.DataFrame({"x": ["![p](/etc/passwd)"]}), "tbl-unlisted", "Evil {{< include /etc/passwd >}}", d,
               audience="public")
    manifest = {"run_id": "20240101T000000Z-abcdef12", "status": "success", "started": "2024-01-01T00:00:00Z",
                "parameters": {"region": "AMS", "cycle": 2024, "seed": 7, "audience": "wco"},
                "notebooks": [{"name": "01_data_quality.ipynb"}, {"name": "03_weighting.ipynb"}],
                "inputs": {"data/raw/questionnaires/truth.json": "ab" * 32,
                           "data/processed/.ingest-x/manifest.json": "cd" * 32},
                "artefacts": {}}
    (d / "manifest.json").write_text(json.dumps(manifest))
    paper.write_paper_source(d)
    return d


def test_paper_source_is_quarto_written_from_findings(run_dir):
    qmd = (run_dir / "paper.qmd").read_text()
    assert qmd == (paper.METHODOLOGY_DIR / "paper.qmd").read_text()  # the source as it stands
    assert "{%" not in qmd and "{{ " not in qmd  # no template language
    meta = json.loads((run_dir / "_paper" / "meta.yml").read_text())
    assert meta["title"] == "The PMM index for Americas and Caribbean, 2024: methodology and findings"
    assert meta["simulated"] is True and meta["subtitle"].startswith("SIMULATED DATA — NOT PMM RESULTS")
    assert meta["papersize"] == "a4"
    assert '"Simulated data — not PMM results"' in (run_dir / "_paper" / "header.typ").read_text()
    blocks = {p.stem: p.read_text() for p in (run_dir / "_paper").glob("*.qmd")}
    assert "(notebook 02 was not part of this run)" in blocks["validity"]
    assert "**What this section shows.**" in blocks["data"] and "4 Members took part" in blocks["data"]
    assert "K02 \\(50 %\\)" in blocks["data"]  # the coverage finding names the thin KPI (escaped text)
    assert "equal\\' weights give exactly the framework" in blocks["weighting"]
    assert "figures/fig-missingness.png" not in "".join(blocks.values())  # internal figure withheld
    assert ".ingest-x" not in blocks["annex"] and "truth.json" in blocks["annex"]  # no temporary paths
    assert "\\{\\{\\< include /etc/passwd" in blocks["annex"]  # a hostile caption is escaped, inert
    assert "**K51 " in blocks["annex"] and "**O23 " in blocks["annex"]
    found = json.loads((run_dir / "findings.json").read_text())
    assert {f["rule"].split(" ")[0] for f in found} >= {"data.coverage", "weighting.identical"}


def test_paper_missing_source_is_clear(tmp_path):
    with pytest.raises(RunError, match="paper source not found"):
        paper.write_paper_source(tmp_path, {}, template_dir=tmp_path / "none")
    with pytest.raises(RunError, match="renderer 'latex' is not one of"):
        paper.render_paper(tmp_path, renderer="latex")  # type: ignore[arg-type]


def test_render_with_pandoc_and_typst(run_dir, monkeypatch):
    monkeypatch.setattr(paper.shutil, "which", lambda name: None)
    res = paper.render_paper(run_dir)
    assert res.renderer == "pandoc+typst" and set(res.outputs) == {"html", "pdf"}
    html = (run_dir / "paper.html").read_text()
    assert "data:image/png;base64," in html  # self-contained: figures embedded
    assert '<nav id="TOC"' in html and 'class="simulated html-only"' in html
    assert '<a href="#fig-coverage-kpi">Figure 1</a>' in html and "Figure 1: Coverage of every KPI" in html
    assert 'href="https://doi.org/10.1787/9789264043466-en"' in html  # citeproc, DOI as a link
    assert 'href="tables/tbl-coverage.csv"' in html and 'href="paper.pdf"' in html
    assert "passwd" not in html.split("tbl-unlisted.csv")[0] and "<script" not in html.lower().replace(
        "<script>alert", "")
    reader = pypdf.PdfReader(run_dir / "paper.pdf")
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [595, 842]  # A4
    pages = [" ".join(p.extract_text().split()) for p in reader.pages]
    assert all("Simulated data — not PMM results" in p for p in pages)
    flat = " ".join(pages)
    for heading in ("Key findings and recommendations", "Introduction", "The PMM framework", "Data and coverage",
                    "Indicator validity", "Weighting and aggregation", "Trade-cost outcomes",
                    "Uncertainty and sensitivity", "Limitations", "References", "Annex B: indicator definitions"):
        assert heading in flat, heading
    assert "Cronbach, Lee J. 1951" in flat and "https://doi.org/10.1007/BF02310555" in flat
    assert "@fig" not in flat and "{#" not in flat and "tbl-framework" not in flat
    # same inputs, same bytes: with SOURCE_DATE_EPOCH the PDF carries that date, not the clock's
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1717200000")
    first = paper.render_paper(run_dir, formats=("pdf",)).outputs["pdf"].read_bytes()
    time.sleep(1.1)
    again = paper.render_paper(run_dir, formats=("pdf",)).outputs["pdf"].read_bytes()
    assert first == again and b"D:20240601" in first


def test_render_with_quarto_when_on_path(run_dir, tmp_path, monkeypatch):
    fake = tmp_path / "quarto"
    fake.write_text("#!/bin/sh\nif [ \"$1\" = --version ]; then echo 9.9.9; exit 0; fi\n"
                    "case \"$4\" in html) echo '<html>quarto</html>' > paper.html;; "
                    "typst) echo '%PDF-quarto' > paper.pdf;; esac\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    res = paper.render_paper(run_dir)
    assert res.renderer == "quarto" and res.versions == {"quarto": "9.9.9"}
    assert (run_dir / "paper.html").read_text().strip() == "<html>quarto</html>"
    with pytest.raises(RunError, match="quarto is not on PATH"):
        monkeypatch.setattr(paper.shutil, "which", lambda name: None)
        paper.render_paper(run_dir, renderer="quarto")


def test_global_paper_title(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"parameters": {"region": "ALL", "cycle": 2022}}))
    ctx = paper.paper_context(tmp_path)
    meta = json.loads(ctx["meta"])
    assert meta["title"] == "The PMM index for all WCO regions, 2022: methodology and findings"
    assert meta["simulated"] is False and not ctx["simulated"] and "simulated" not in ctx["blocks"]["notice"]
    assert "(notebook 01 was not part of this run)" in ctx["blocks"]["data"]
    assert "No results were produced for: Data and coverage" in ctx["blocks"]["limitations"]


def test_a_saved_figure_shows_itself_in_a_notebook_without_a_server_path(tmp_path):
    """save_figure's path displays as the saved PNG (its own bytes, screen size) and names no folder."""
    from IPython.core.formatters import DisplayFormatter

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    saved = save_figure(fig, "fig-demo", "A demo", tmp_path, dpi=150)
    data, meta = DisplayFormatter().format(saved)
    assert data["image/png"] == saved.read_bytes() == (tmp_path / "figures" / "fig-demo.png").read_bytes()
    width = int.from_bytes(saved.read_bytes()[16:20], "big")
    assert meta["image/png"]["width"] == round(width * 100 / 150)
    assert data["text/plain"] == "figures/fig-demo.png" and str(tmp_path) not in data["text/plain"]
    assert saved == tmp_path / "figures" / "fig-demo.png"        # still an ordinary path
    side = saved.with_suffix(".json")
    assert "image/png" not in DisplayFormatter().format(side)[0]  # its sidecar shows no image
    plt.close(fig)
