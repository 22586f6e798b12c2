"""Tests of pmm_lib.reporting.report (artefacts) and pmm_lib.reporting.paper (template, cross-references, rendering)."""

from __future__ import annotations

import json
import os
import stat
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


def test_table_markdown_hand_checked():
    frame = pd.DataFrame({"member": ["ARG", "BRA", "CHL"], "score": [61.234, 58.0, np.nan],
                          "ok": [True, False, True]})
    text = table_markdown(frame, caption="Scores {#tbl-s}", max_rows=2)
    assert text.splitlines() == [
        "| member | score | ok  |",
        "|:-------|------:|:----|",
        "| ARG    |  61.2 | yes |",
        "| BRA    |    58 | no  |",
        "",
        ": Scores {#tbl-s}",
        "",
        "*First 2 of 3 rows shown; the full table is in the run folder.*",
    ]
    assert table_markdown(frame.iloc[2:]).splitlines()[-1] == "| CHL    |     – | yes |"
    assert table_markdown(frame.rename(columns={"score": "item_rest_r"})).splitlines()[0] == (
        "| member | item rest r | ok  |")


def test_sections_cover_contract_labels():
    labels = [lb for s in SECTIONS for lb in s.labels]
    assert len(labels) == len(set(labels))
    for lb in ("fig-coverage-kpi", "tbl-scorecard", "tbl-index-scores", "tbl-ols", "fig-sobol"):
        assert lb in labels
    assert [s.notebook for s in SECTIONS] == ["01", "02", "03", "04", "05", "06"]  # 06: cycles (design engineer)


# ---------------------------------------------------------------------------- cross-references

def test_quarto_to_pandoc_numbers_figures_and_tables_separately():
    md = "\n".join([
        "See @fig-b, @tbl-x and @fig-a; also @fig-gone.", "",
        "![Second fig](figures/fig-b.png){#fig-b width=90%}", "",
        "| a |", "|--:|", "| 1 |", "", ": Table x {#tbl-x}", "",
        "![First fig](figures/fig-a.png){#fig-a}", "",
        "Mail me at someone@fig-example.org.", "",
    ])
    out = paper.quarto_to_pandoc(md)
    assert out.splitlines()[0] == ("See Figure 1, Table 1 and Figure 2; also "
                                   "(fig-gone: not produced in this run).")
    assert "![Figure 1: Second fig](figures/fig-b.png){#fig-b width=90%}" in out
    assert "![Figure 2: First fig](figures/fig-a.png){#fig-a}" in out
    assert ": Table 1: Table x" in out and "{#tbl-x}" not in out
    assert "someone@fig-example.org" in out  # e-mail addresses are not references


def test_quarto_to_pandoc_code_cell_labels():
    md = "```{python}\n#| label: fig-cell\n#| fig-cap: \"From a cell\"\nplot()\n```\n\nAs @fig-cell shows.\n"
    out = paper.quarto_to_pandoc(md)
    assert "![Figure 1: From a cell](figures/fig-cell.png){#fig-cell}" in out
    assert out.rstrip().endswith("As Figure 1 shows.")


# ------------------------------------------------------------------------------- paper source

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A fake run folder: notebook 01 artefacts + one table of notebook 03, and a manifest."""
    d = tmp_path_factory.mktemp("run")
    fig = _figure()
    save_figure(fig, "fig-coverage-kpi", "Coverage of every KPI", d, audience="wco")
    save_figure(fig, "fig-missingness", "Who skipped what", d, audience="internal")  # too wide for wco
    plt.close(fig)
    save_table(pd.DataFrame({"kpi": ["K01", "K02"], "n": [3, 2], "n_members": [4, 4],
                             "coverage": [0.75, 0.5]}), "tbl-coverage", "Coverage by KPI", d, audience="wco")
    save_table(pd.DataFrame({"member": ["AAA", "BBB"], "score": [70.5, 40.25], "rank": [1, 2]}),
               "tbl-index-scores", "Index scores", d, audience="wco")
    save_table(pd.DataFrame({"x": [1]}), "tbl-unlisted", "Something extra", d, audience="public")
    save_table(pd.DataFrame({"y": [2]}), "tbl-extra-weights", "Extra weights", d, audience="wco")
    manifest = {"run_id": "20240101T000000Z-abcdef12", "status": "success", "started": "2024-01-01T00:00:00Z",
                "parameters": {"region": "AMS", "cycle": 2024, "seed": 7, "audience": "wco"},
                "notebooks": [{"name": "01_data_quality.ipynb"}, {"name": "03_weighting.ipynb"}],
                "inputs": {"data/raw/questionnaires/truth.json": "ab" * 32},
                "scenario": {"impute": {"method": "group_mean", "group": "region"}},
                "scenario_file": "s.yaml", "artefacts": {"tbl-extra-weights": "03_weighting.ipynb"}}
    (d / "manifest.json").write_text(json.dumps(manifest))
    paper.write_paper_source(d)
    return d


def test_paper_source_sections_and_missing_notes(run_dir):
    qmd = (run_dir / "paper.qmd").read_text()
    for title in ("# Introduction", "# The PMM framework", "# Data and coverage", "# Indicator validity",
                  "# Weighting and aggregation", "# Trade-cost outcomes", "# Uncertainty and sensitivity",
                  "# Limitations", "# Annex: indicator definitions"):
        assert f"\n{title}" in qmd, title
    assert 'title: "Methodology of the PMM index: Americas and Caribbean, 2024"' in qmd
    assert "Audience: WCO Members and the Secretariat" in qmd
    assert "{#fig-coverage-kpi width=90%}" in qmd and "{#tbl-index-scores}" in qmd
    assert "(notebook 02 was not part of this run)" in qmd
    assert "(notebook 01 ran but did not write them)" in qmd and "`fig-distributions`" in qmd
    assert "**Withheld.** `fig-missingness`" in qmd and "figures/fig-missingness.png" not in qmd
    assert "# Other results" in qmd and "@tbl-unlisted" in qmd
    # an unlisted artefact goes to the section of the notebook that wrote it
    weighting = qmd.split("# Weighting and aggregation")[1].split("# Trade-cost outcomes")[0]
    assert "{#tbl-extra-weights}" in weighting and "@tbl-index-scores and @tbl-extra-weights" in weighting
    assert "4 Members of Americas and Caribbean" in qmd and "median KPI was reported by 62%" in qmd
    assert "- **impute**: method = group_mean, group = region" in qmd
    assert "bundled synthetic data" in qmd
    assert "**K51 " in qmd and "**O23 " in qmd  # annex covers the whole framework
    assert "Indicator validity, Trade-cost outcomes, Uncertainty and sensitivity" in qmd
    assert (run_dir / "_quarto.yml").is_file()


def test_paper_missing_template_is_clear(tmp_path):
    with pytest.raises(RunError, match="paper template not found"):
        paper.write_paper_source(tmp_path, {}, template_dir=tmp_path / "none")
    with pytest.raises(RunError, match="renderer 'latex' is not one of"):
        paper.render_paper(tmp_path, renderer="latex")  # type: ignore[arg-type]


def test_render_with_pandoc_and_typst(run_dir, monkeypatch):
    monkeypatch.setattr(paper.shutil, "which", lambda name: None)
    res = paper.render_paper(run_dir)
    assert res.renderer == "pandoc+typst" and set(res.outputs) == {"html", "pdf"}
    html = (run_dir / "paper.html").read_text()
    assert "data:image/png;base64," in html  # self-contained: figures embedded
    assert "Figure 1: Coverage of every KPI" in html and "Table 1: Dimensions of the PMM framework" in html
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(run_dir / "paper.pdf").pages)
    flat = " ".join(text.split())
    for heading in ("Introduction", "The PMM framework", "Data and coverage", "Indicator validity",
                    "Weighting and aggregation", "Trade-cost outcomes", "Uncertainty and sensitivity",
                    "Limitations", "Annex: indicator definitions"):
        assert heading in flat, heading
    assert "Figure 1: Coverage of every KPI" in flat
    assert "Table 3: Coverage by KPI" in flat and "Table 4: Index scores" in flat
    assert "Audience: WCO Members and the Secretariat" in flat
    assert "Not available in this run" in flat
    assert "@fig" not in flat and "{#" not in flat


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
    assert ctx["title"] == "Methodology of the PMM index: All WCO regions, 2022"
    assert ctx["region_name"] == "all WCO regions"
    assert ctx["missing_sections"] == [s.title for s in SECTIONS]  # nothing was produced
    assert "(notebook 01 was not part of this run)" in ctx["section"]("data")
    with pytest.raises(KeyError, match="unknown paper section 'nope'; known: data, validity"):
        ctx["section"]("nope")
