"""Layout of every regional paper as a reader sees it (pdfplumber on the rendered PDFs).

One module renders the six regional papers and the global one once (small notebook knobs) and
checks each: A4 pages, the simulated-data notice on every page, no two words overlapping, no
Python repr or raw label, no truncation note, no text under 7 pt, every figure and table
referenced in the text; and the ALL paper's first page names the planted defects.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pmm_lib import cli
from pmm_lib.reporting import runs

pdfplumber = pytest.importorskip("pdfplumber")

REGIONS = (*runs.REGIONS, "ALL")
_KNOBS = ["--param", "n_samples=64", "--param", "n_boot=50", "--param", "n_iter=50"]


@pytest.fixture(scope="module")
def papers(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("papers")
    assert cli.main(["run", "--all-regions", "--cycle", "2024", "--jobs", "2", "--outputs-dir", str(out),
                     *_KNOBS]) == 0
    assert cli.main(["run", "--region", "ALL", "--cycle", "2024", "--outputs-dir", str(out), *_KNOBS]) == 0
    return {r: out / r / "2024" / "latest" / "paper.pdf" for r in REGIONS}


@pytest.fixture(scope="module")
def pages(papers) -> dict[str, list[dict]]:
    found = {}
    for region, pdf in papers.items():
        with pdfplumber.open(pdf) as doc:
            found[region] = [{"size": (p.width, p.height), "text": p.extract_text() or "",
                              "words": p.extract_words(keep_blank_chars=False, use_text_flow=False),
                              "min_font": min((c["size"] for c in p.chars), default=99.0)} for p in doc.pages]
    return found


def _overlaps(words: list[dict], tol: float = 0.6) -> list[tuple[str, str]]:
    bad = []
    ws = sorted(words, key=lambda w: (round(w["top"]), w["x0"]))
    for i, a in enumerate(ws):
        for b in ws[i + 1:i + 40]:
            dx = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
            dy = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            if dx > tol and dy > tol:
                bad.append((a["text"], b["text"]))
    return bad


@pytest.mark.slow
@pytest.mark.parametrize("region", REGIONS)
def test_paper_layout(pages, region):
    doc = pages[region]
    assert len(doc) >= 10
    text = "\n".join(p["text"] for p in doc)
    flat = " ".join(text.split())
    for i, p in enumerate(doc, 1):
        assert [round(v) for v in p["size"]] == [595, 842], f"page {i} is not A4"
        assert "Simulated data — not PMM results" in p["text"], f"page {i} lacks the notice"
        assert p["min_font"] >= 6.9, f"page {i}: text at {p['min_font']:.1f} pt"
        assert not _overlaps(p["words"]), f"page {i}: overlapping words {_overlaps(p['words'])[:3]}"
    for bad in ("{'", "{\u2018", "np.float64", "rows shown", "Table tbl", "not produced in this run"):
        assert bad not in flat, bad
    words = set(re.findall(r"[\w.]+", flat))
    assert not {"None", "nan", "NaN"} & words
    assert not re.search(r"\b(tbl|fig)-[a-z]", flat), re.search(r"\b(tbl|fig)-[a-z]\S*", flat).group(0)
    for kind in ("Figure", "Table"):
        numbers = set(re.findall(rf"{kind} (\d+):", flat))
        assert numbers, kind
        for n in numbers:
            refs = len(re.findall(rf"{kind} {n}(?![\d:])", flat))
            assert refs >= 1, f"{kind} {n} is never referenced"
    assert "Key findings and recommendations" in doc[0]["text"]
    assert "What this section shows" in flat and "References" in flat and "doi.org" in flat


@pytest.mark.slow
def test_all_region_first_page_names_the_planted_defects(pages):
    first = " ".join(pages["ALL"][0]["text"].split()).replace("- ", "-")  # a line broken at a hyphen
    for code in ("K28", "K33", "K37", "K40", "K46", "K47", "O16"):
        assert code in first, code
    assert "unrelated" in first and "runs against its dimension" in first and "near-duplicate" in first
    assert "Small island developing state" in first


@pytest.mark.slow
def test_regional_papers_state_their_own_findings(pages):
    firsts = {r: " ".join(pages[r][0]["text"].split()) for r in REGIONS}
    # the masked prose of two regions differs: findings are data, not template text
    masked = {r: re.sub(r"[\d.−-]+|[A-Z]{3}\b|K\d\d|O\d\d", "#", t) for r, t in firsts.items()}
    assert masked["AMS"] != masked["WCA"] != masked["ALL"]
    assert "Americas and Caribbean" in firsts["AMS"] and "West and Central Africa" in firsts["WCA"]
