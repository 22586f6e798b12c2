"""No injection: markup planted in every free-text field is rejected, or shown as text, never run or embedded.

Issue 11 found ``<img onerror=…>`` running as script in ``paper.html`` and pandoc's
``--embed-resources`` inlining a local file named in ``<img src=…>`` (the whole returns file)
into a public paper. Here the payloads go into every free-text field a run has: the scenario
file's strings, the run's parameters, the captions of tables and figures, table cells (a
Member-supplied ``source`` or ``flag`` text, a KPI name) and the scenario values printed by the
paper. The checks parse the rendered HTML (no script element, no event handler, no embedded
file, the secret file's content absent), load it in Debian's chromium when present (no script
ran), and ``pmm scan`` decodes embedded resources.
"""

from __future__ import annotations

import base64
import json
import shutil
import struct
import zlib
from pathlib import Path

import pandas as pd
import pytest

from pmm_lib.errors import RunError, SpecError
from pmm_lib.reporting import paper, safety, scan
from pmm_lib.reporting.runs import RunRequest, execute_run

SECRET = "SECRET-RETURNS-ROW,AMS,K01,13.3700001"


@pytest.fixture()
def secret_file(tmp_path) -> Path:
    p = tmp_path / "outside" / "returns.csv"
    p.parent.mkdir()
    p.write_text(SECRET + "\n")
    return p


def _payloads(secret: Path) -> list[str]:
    return [f'<img src="{secret}">', f"<img src={secret} onerror=alert(1)>", "<script>document.title='pwned'</script>",
            '<svg onload="alert(1)">', f"![x]({secret})", "[x](javascript:alert(1))", "[x]{onclick=alert(1)}",
            "`{=html}<script>alert(1)</script>`", "{{ framework }} {% raw %}", f'<iframe src="file://{secret}">']


# ------------------------------------------------------------------------------ the way in

@pytest.mark.parametrize("key", ["impute.group", "weights.path", "data.region", "treat.method", "note"])
def test_scenario_strings_with_markup_are_rejected_before_any_folder(key, secret_file, tmp_path):
    for payload in _payloads(secret_file):
        if "<" not in payload and "[" not in payload and "{" not in payload and "`" not in payload:
            continue
        section, _, name = key.partition(".")
        doc = {section: {name: payload}} if name else {section: payload}
        sc = tmp_path / "s.yaml"
        import yaml

        sc.write_text(yaml.safe_dump(doc))
        with pytest.raises(SpecError, match=r"--scenario .*(markup|unknown key)"):
            execute_run(RunRequest("AMS", 2024, scenario=sc, outputs_dir=tmp_path / "o", audience="internal"))
    assert not (tmp_path / "o").exists()


def test_parameters_with_markup_are_rejected(tmp_path, secret_file):
    for payload in _payloads(secret_file)[:4]:
        with pytest.raises(SpecError, match="parameter: .*markup"):
            execute_run(RunRequest("AMS", 2024, outputs_dir=tmp_path / "o", audience="internal",
                                   parameters={"thresholds_path": payload}))
    with pytest.raises(SpecError, match="parameter: .*markup"):
        execute_run(RunRequest("AMS", 2024, outputs_dir=tmp_path / "o", audience="internal",
                               parameters={"scorecard_thresholds": {"<b>": 1}}))


def test_plain_scenarios_still_pass():
    safety.check_free_text({"impute": {"method": "group_mean", "group": "income_group"},
                            "weights": {"path": "methodology/weights/example_budget.csv"}, "n": 3.5}, where="s")


# ------------------------------------------------------------------------------ the way out

def _run_folder(tmp_path: Path, secret: Path) -> tuple[Path, dict]:
    """A run folder whose every free-text field carries every payload."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pmm_lib.reporting.report import save_figure, save_table

    run = tmp_path / "run"
    run.mkdir()
    evil = " ".join(_payloads(secret))
    table = pd.DataFrame({"member": ["AAA", "BBB"], "source": [evil, "ok"], "flag": ["<b onmouseover=alert(1)>", evil],
                          "value": [1.5, 2.5]})
    save_table(table, "tbl-notes", f"Notes {evil}", run, audience="public")
    save_table(table, "tbl-unlisted", evil, run, audience="public")
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    ax.set_title(evil[:80])
    save_figure(fig, "fig-notes", f"Caption {evil}", run, audience="public")
    plt.close(fig)
    manifest = {"run_id": "r1", "status": "success", "parameters": {"region": "AMS", "cycle": 2024, "seed": 1,
                                                                  "audience": "public"},
                "scenario": {"impute": {"method": "mean", "group": evil}, evil[:40]: evil},
                "scenario_file": f"/srv/{evil[:30]}.yaml", "notebooks": [{"name": "01_data_quality.ipynb"}],
                "inputs": {}}
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run, manifest


def _assert_inert(html: str) -> None:
    assert safety.html_problems(html) == [], safety.html_problems(html)
    assert "SECRET-RETURNS-ROW" not in html
    for _mime, text in scan.embedded_resources(html):
        assert "SECRET-RETURNS-ROW" not in text
    from html.parser import HTMLParser

    class Tags(HTMLParser):
        tags: list[tuple[str, list]] = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, attrs))

    parser = Tags()
    parser.feed(html)
    assert not [t for t, _ in parser.tags if t in ("script", "iframe", "svg", "object", "embed")]
    assert not [(t, a) for t, attrs in parser.tags for a, _ in attrs if a.startswith("on")]
    imgs = [dict(attrs).get("src", "") for t, attrs in parser.tags if t == "img"]
    assert all(s.startswith("data:image/png;base64,") for s in imgs), imgs  # only embedded figures


def test_every_free_text_field_renders_as_text_or_stops_the_render(tmp_path, secret_file):
    run, manifest = _run_folder(tmp_path, secret_file)
    paper.write_paper_source(run, manifest)
    try:
        result = paper.render_paper(run, renderer="pandoc", formats=("html",))
    except RunError as exc:  # a markdown image to a file outside the run folder stops the render
        assert "outside the run folder" in str(exc) or "active content" in str(exc), exc
        assert not (run / "paper.html").exists()
        # the render of the same folder with the table cells' markdown images removed succeeds
        table = pd.read_csv(run / "tables" / "tbl-notes.csv")
        for name in ("tbl-notes.csv", "tbl-unlisted.csv"):
            t = pd.read_csv(run / "tables" / name)
            t = t.replace(to_replace=r"!\[x\]\([^)]*\)", value="", regex=True)
            t.to_csv(run / "tables" / name, index=False)
        assert len(table) == 2
        paper.write_paper_source(run, manifest)
        result = paper.render_paper(run, renderer="pandoc", formats=("html",))
    html = result.outputs["html"].read_text(encoding="utf-8")
    _assert_inert(html)
    assert "onerror=alert(1)" in scan.html_text(html)  # shown as text, not dropped silently
    _chromium_runs_no_script(result.outputs["html"])


def test_table_cells_with_markup_render_as_text(tmp_path, secret_file):
    """Every table of the paper goes through table_markdown: a Member's free text in a cell
    (source, flag) parses to plain text and renders without active content."""
    import pypandoc

    from pmm_lib.reporting.report import table_markdown

    frame = pd.DataFrame({"member": ["AAA", "BBB"], "source": _payloads(secret_file)[:2],
                          "flag": _payloads(secret_file)[2:4], "value": [1.5, 2.5]})
    md = table_markdown(frame, caption="Free text {#tbl-free}")
    safety.check_paper_source(md, tmp_path)  # no image, raw content or handler in the parsed table
    html = pypandoc.convert_text(md, "html5", format=safety.PANDOC_FROM, extra_args=["--sandbox"])
    assert safety.html_problems(html) == [] and "<img" not in html and "<script" not in html
    assert "onerror=alert(1)" in scan.html_text(html)


def test_a_markdown_image_to_a_local_file_stops_the_render(tmp_path, secret_file):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(RunError, match="not a file inside the run folder"):
        safety.check_paper_source(f"# T\n\n![leak]({secret_file})\n", run)
    with pytest.raises(RunError, match="not a file inside the run folder"):
        safety.check_paper_source("![leak](../../data/processed/observations.parquet)\n", run)
    with pytest.raises(RunError, match="attribute onclick"):
        safety.check_paper_source("[x]{onclick=alert(1)}\n", run)
    with pytest.raises(RunError, match="link 'javascript:alert"):
        safety.check_paper_source("[x](javascript:alert(1))\n", run)
    (run / "figures").mkdir()
    (run / "figures" / "f.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    safety.check_paper_source("![ok](figures/f.png){#fig-f width=90%}\n\nraw <script>x</script> as text\n", run)


def _chromium_runs_no_script(page: Path) -> None:
    """Open the page in headless chromium; the payloads would set the title or open a dialog."""
    if shutil.which("chromium") is None:
        return
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            tab = browser.new_page()
            tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            tab.goto(page.as_uri())
            tab.wait_for_timeout(300)
            title = tab.title()
            scripts = tab.evaluate("document.scripts.length")
        finally:
            browser.close()
    assert dialogs == [] and title != "pwned" and scripts == 0


# ------------------------------------------------------------------------------ the scan decodes

def _png_with_text(text: str) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(text.encode())) + chunk(b"IEND", b""))


def test_scan_decodes_embedded_files_and_png_text_chunks(tmp_path):
    from pmm_lib.cli import main

    needles = scan.Needles.from_images(pd.DataFrame({
        "member": ["AAA", "BBB"], "kpi": ["K01", "K02"], "image": ["raw", "raw"],
        "value": [13.370001, 27.654321], "hidden": [True, True]}))
    run = tmp_path / "run"
    run.mkdir()
    csv = base64.b64encode(b"member,kpi,value\nAAA,K01,13.370001\n").decode()
    png = base64.b64encode(_png_with_text("restricted 27.654321")).decode()
    (run / "paper.html").write_text(f'<html><body><p>clean</p><img src="data:text/csv;base64,{csv}">'
                                    f'<img src="data:image/png;base64,{png}"></body></html>')
    hits = scan.scan_run(run, needles, parts=("paper",))
    assert set(zip(hits["member"], hits["kpi"], strict=True)) == {("AAA", "K01"), ("BBB", "K02")}
    assert all(s.startswith("paper.html#data-") for s in hits["source"])
    assert scan.active_content(run) == ["paper.html: <img src=data:text/csv…> (embedded file)"]
    # the CLI exits 1 on an embedded file even when no hidden value is in it
    (run / "paper.html").write_text(f'<img src="data:application/octet-stream;base64,{base64.b64encode(b"x").decode()}">')
    (run / "manifest.json").write_text(json.dumps({"parameters": {"region": "AMS", "cycle": 2024, "seed": 1,
                                                                  "audience": "public"}}))
    assert main(["scan", str(run)]) == 1
