"""The disclosure scan (pmm_lib.reporting.scan): hand-made cases, positive controls, and the real papers.

1. Known answers for the number handling (canonical spellings, significant digits, tokens) and
   for the matching rules (numeric tolerance, distinctive rounded forms, visible values and
   simple fractions never reported).
2. The images of the bundled data (raw, scaled, robust z, treated, normalised) agree with their
   formulas and with :func:`pmm_lib.reporting.disclosure.hidden_values`.
3. A public AMS 2024 run of every notebook with its paper (slow, one run for the module):
   positive controls plant hidden values in copies of a table, the HTML, the PDF, a figure's
   data and a notebook output, and the scan finds each; a public value planted the same way is
   not reported; the real run has no hit.
4. An internal run of notebook 01 does contain values the public may not see (else a clean
   scan of the public run would prove nothing).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pmm_lib.analysis import quality
from pmm_lib.errors import InputError, SpecError
from pmm_lib.inputs import data
from pmm_lib.inputs.framework import load_framework
from pmm_lib.reporting import disclosure, scan
from pmm_lib.reporting.runs import RunRequest, execute_run

CYCLE, REGION = 2024, "AMS"

# ----------------------------------------------------------------------------------------------
# 1. number handling and matching rules (hand-made)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "want"), [
    ("33.06", "33.06"), ("33.060", "33.06"), ("-33.06", "33.06"), ("−33.06", "33.06"),
    ("1,234.50", "1234.5"), ("4.00", "4"), (".5", "0.5"), ("120", "120"), ("1.5e-05", "1.5e-05"),
])
def test_canonical_spelling(text, want):
    assert scan.canonical(text) == want


@pytest.mark.parametrize(("text", "digits"), [
    ("33.06", 4), ("0.0123", 3), ("1200", 2), ("100", 1), ("4", 1), ("10.8", 3), ("0.083333", 5),
])
def test_significant_digits(text, digits):
    assert scan.significant_digits(text) == digits


def test_information_digits_sees_simple_fractions():
    assert scan.information_digits(1 / 12) == 1
    assert scan.information_digits(2 / 3) == 1
    assert scan.information_digits(7 / 16) == 1
    assert scan.information_digits(100 * 11 / 17) == 2   # a min-max normalised count
    assert scan.information_digits(100 * 5 / 51) == 1    # a coverage share in percent
    assert scan.information_digits(33.06) == 4          # 1653/50: two-decimal values keep their digits
    assert scan.information_digits(4.72) == 3
    assert scan.information_digits(13.12) == 4          # 328/25, but 25 > max_denominator
    assert scan.information_digits(0.5754) == 4
    assert scan.information_digits(61.23456789) == 10


def test_repeated_number_is_one_piece_of_evidence(toy_needles):
    # a layout constant drawn five times equals one hidden value: one Member, not a leaked column
    assert scan.scan_values([13.12] * 5, toy_needles).empty
    assert scan.scan_text("13.12 13.12 13.12 14.56", toy_needles).empty


def test_number_tokens_skip_codes_hashes_and_words():
    text = "K01 = 33.06; ISO3 FRA; sha 3f2a9c11; −1,234.5 and 7% of 12 (n=3) fig-2 x2 1.5e-3"
    assert [t for _, t in scan.number_tokens(text)] == ["33.06", "−1,234.5", "7", "12", "3", "1.5e-3"]


def _images(rows):
    return pd.DataFrame(rows, columns=["member", "kpi", "image", "value", "hidden"])


@pytest.fixture()
def toy_needles():
    return scan.Needles.from_images(_images([
        ("AAA", "K01", "raw", 33.06, True),        # 4 significant digits: searched everywhere
        ("AAA", "K02", "raw", 4.0, True),          # one digit: never distinctive
        ("BBB", "K01", "raw", 12.5, False),        # visible
        ("BBB", "K02", "raw", 12.5, True),         # equal to a visible value: not searched
        ("CCC", "K03", "raw", 1234.567, True),
        ("CCC", "K03", "scaled", 1 / 12, True),    # a simple fraction: not distinctive
        ("CCC", "K04", "raw", 4.72, True),         # three digits: numeric in tables only
        ("DDD", "K05", "raw", 71.164, True),
        ("EEE", "K05", "raw", 71.1604, False),     # shares the 4-digit form "71.16" with DDD
        ("FFF", "K09", "raw", 13.12, True),        # three four-digit values of one KPI
        ("GGG", "K09", "raw", 14.56, True),
        ("HHH", "K09", "raw", 17.21, True),
    ]))


def test_numeric_match_uses_a_relative_tolerance(toy_needles):
    n = toy_needles
    hit = n.hidden.iloc[n.match_number(33.06)[0]]
    assert (hit["member"], hit["kpi"]) == ("AAA", "K01")
    assert n.match_number(-33.06) and n.match_number(33.06 * (1 + 1e-9))
    assert not n.match_number(33.06 * (1 + 1e-6))
    assert not n.match_number(4.0)          # not distinctive
    assert not n.match_number(12.5)         # visible
    assert not n.match_number(1 / 12)       # simple fraction
    assert n.match_number(4.72) and not n.match_number(4.72, min_sig=4)


def test_rounded_forms_only_when_distinctive(toy_needles):
    n = toy_needles
    for shown in ("1234.567", "1,234.57", "1234.6", "1235", "−1234.57"):
        assert n.match_token(shown), shown
    assert n.match_token("33.06")
    assert not n.match_token("33.1")        # three digits: too common to be evidence
    assert not n.match_token("4.72")        # three digits
    assert not n.match_token("71.16")       # also the rounded form of a visible 71.1604
    assert n.match_token("71.164")          # but the full value is distinctive
    assert not n.match_token("0.08333")     # 1/12
    assert not n.match_token("1234.6", min_sig=6)


def test_explained_by_turns_numbers_visible(toy_needles):
    assert toy_needles.match_token("1234.6")
    assert not toy_needles.explained_by([1234.61]).match_token("1234.6")


def test_scan_table_reports_cell_and_kind(toy_needles):
    frame = pd.DataFrame({"member": ["x", "y", "z", "w"], "kpi": ["K", "K", "K", "K"],
                          "value": [1.0, 33.06, 4.72, 12.5], "label": ["a", "b", "c = 1234.57", "d"],
                          "rounded": [0.5, 0.25, 0.125, 1234.6]})
    # strong evidence (5+ digits) is reported alone; 33.06 and 4.72 alone are not evidence
    hits = scan.scan_table(frame, toy_needles, source="t.csv")
    got = sorted(zip(hits["location"], hits["match"], hits["member"], hits["evidence"], strict=True))
    assert got == [("row 3, column label", "form", "CCC", "strong"),
                   ("row 4, column rounded", "form", "CCC", "strong")]
    assert list(hits.columns) == scan.HIT_COLUMNS
    assert hits["digits"].tolist() == [6, 5]
    # with a lower bar the single short values count too
    hits = scan.scan_table(frame, toy_needles, source="t.csv", strong_sig=3)
    got = sorted(zip(hits["location"], hits["match"], hits["member"], strict=True))
    assert got == [("row 2, column value", "numeric", "AAA"),
                   ("row 3, column label", "form", "CCC"),
                   ("row 3, column value", "numeric", "CCC"),
                   ("row 4, column rounded", "form", "CCC")]


def test_weak_hits_count_when_a_column_of_one_kpi_leaks(toy_needles):
    column = pd.DataFrame({"x": [13.12, 14.56, 1.0, 17.21], "y": [13.12, 14.56, 2.0, 3.0]})
    hits = scan.scan_table(column, toy_needles)
    assert hits["location"].tolist() == ["row 1, column x", "row 2, column x", "row 4, column x"]
    assert set(hits["kpi"]) == {"K09"} and set(hits["evidence"]) == {"corroborated (3 of this KPI)"}
    # two values of the KPI in a column (y) or three spread over columns are not enough
    spread = pd.DataFrame({"a": [13.12], "b": [14.56], "c": [17.21]})
    assert scan.scan_table(spread, toy_needles).empty
    assert len(scan.scan_text("13.12 14.56 17.21", toy_needles)) == 3
    assert scan.scan_text("13.12 14.56 99.99", toy_needles).empty


def test_scan_table_reads_csv_strings_as_written(toy_needles, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("member,code,estimate\nNA,K01,33.0600000001\nARG,33.06,0.1\n", encoding="utf-8")
    hits = scan.scan_table(path, toy_needles, strong_sig=4)
    assert sorted(hits["location"]) == ["row 1, column estimate", "row 2, column code"]
    assert hits["member"].tolist() == ["AAA", "AAA"]  # "NA" stays a string, never a missing value
    with pytest.raises(InputError, match="cannot read table"):
        scan.scan_table(tmp_path / "missing.csv", toy_needles)


def test_scan_text_html_and_figure_values(toy_needles):
    html = ("<html><head><style>p {width: 33.06px}</style><script>var x = 1234.567;</script></head>"
            "<body><p>Score 61.2</p><img alt='K01 was 33.06' src='data:image/png;base64,AAA33.06'>"
            "<table><tr><td>1,234.57</td></tr></table></body></html>")
    text = scan.html_text(html)
    assert "width" not in text and "var x" not in text and "base64" not in text
    hits = scan.scan_text(text, toy_needles, source="paper.html")
    assert sorted(hits["shown"]) == ["1,234.57"]
    assert set(hits["source"]) == {"paper.html"}
    assert sorted(scan.scan_text(text, toy_needles, strong_sig=4)["shown"]) == ["1,234.57", "33.06"]
    lines = scan.scan_text("a\nb 1234.57\nc", toy_needles)
    assert lines["location"].tolist() == ["line 2"]
    # figure data: numeric only, layout lattices skipped
    values = [0.0, 1.0, 33.06, 4.72, 1234.567, 0.14, 1.14, 2.14, 71.164]
    fig_hits = scan.scan_values(values, toy_needles, source="fig.values.csv")
    assert sorted(fig_hits["value"].round(3)) == [71.164, 1234.567]
    assert sorted(scan.scan_values(values, toy_needles, strong_sig=3)["value"].round(3)) == [
        4.72, 33.06, 71.164, 1234.567]
    lattice = [1234.567 + k for k in (-1, 0, 1)]
    assert scan.scan_values(lattice, toy_needles).empty


def test_needles_validate_their_input():
    with pytest.raises(InputError, match="hidden"):
        scan.Needles.from_images(pd.DataFrame({"member": [], "kpi": [], "image": [], "value": []}))
    with pytest.raises(SpecError, match="min_sig"):
        scan.Needles.from_images(_images([]), min_sig=0)
    with pytest.raises(SpecError, match="allowed: raw, scaled"):
        scan.value_images(pd.DataFrame(), CYCLE, REGION, images=("raw", "logged"))


def test_pdf_text_reads_numbers_back(tmp_path, toy_needles):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(3, 2))
    fig.text(0.1, 0.5, "Restricted value 1234.57 and public 12.5")
    fig.savefig(tmp_path / "p.pdf")
    plt.close(fig)
    text = scan.pdf_text(tmp_path / "p.pdf")
    hits = scan.scan_text(text, toy_needles, source="p.pdf")
    assert hits["shown"].tolist() == ["1234.57"] and hits["member"].tolist() == ["CCC"]
    (tmp_path / "bad.pdf").write_bytes(b"not a pdf")
    with pytest.raises(InputError, match="bad.pdf"):
        scan.pdf_text(tmp_path / "bad.pdf")


# ----------------------------------------------------------------------------------------------
# 2. images of the bundled data
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def observations():
    return data.load_observations()  # what the notebooks and run_needles read


@pytest.fixture(scope="module")
def images(observations):
    return scan.value_images(observations, CYCLE, REGION, "public")


def test_hidden_raw_values_are_those_of_the_disclosure_module(observations, images):
    matrix = data.to_matrix(observations, CYCLE, REGION)
    levels = disclosure.disclosure_matrix(observations, CYCLE, members=matrix.index, kpis=matrix.columns)
    want = disclosure.hidden_values(matrix, levels, "public")
    got = images[(images["image"] == "raw") & images["hidden"]][["member", "kpi", "value"]]
    key = ["member", "kpi"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  want.sort_values(key).reset_index(drop=True), check_dtype=False)
    # every reported value appears once per image; hidden = not public in the returns
    obs = observations[(observations["cycle"] == CYCLE) & observations["member"].isin(matrix.index)]
    assert (images["image"] == "raw").sum() == len(obs)
    assert images.loc[images["image"] == "raw", "hidden"].sum() == (obs["disclosure"] != "public").sum()
    assert set(images["image"]) == set(scan.IMAGES)


def test_images_follow_their_formulas(observations, images):
    matrix = data.to_matrix(observations, CYCLE, REGION)
    fw = load_framework()
    wide = {name: g.pivot(index="member", columns="kpi", values="value")
            for name, g in images.groupby("image")}
    member, kpi = wide["raw"].stack().index[7]
    x = matrix.at[member, kpi]
    k = fw.kpi(kpi)
    assert wide["scaled"].at[member, kpi] == pytest.approx((x - k.lower) / (k.upper - k.lower), rel=1e-12)
    col = matrix[kpi].dropna()
    med = col.median()
    mad = (col - med).abs().median()
    assert wide["robust_z"].at[member, kpi] == pytest.approx(0.6745 * (x - med) / mad, rel=1e-9)
    assert wide["robust_z"].equals(quality.robust_z(matrix).stack().rename_axis(["member", "kpi"])
                                   .unstack().reindex_like(wide["robust_z"]))
    # a scaled value carries the reported value's digits (affine map with framework constants)
    d = images.set_index(["member", "kpi", "image"])["digits"]
    assert d[(member, kpi, "scaled")] == d[(member, kpi, "raw")] == scan.information_digits(x)
    wide_digits = images.pivot_table(index=["member", "kpi"], columns="image", values="digits")
    assert (wide_digits["scaled"] <= wide_digits["raw"]).all()
    # default spec: no treatment, min-max 0-100 over the region
    t = wide["treated"][kpi].dropna()
    assert wide["normalised"].at[member, kpi] == pytest.approx(
        100 * (t[member] - t.min()) / (t.max() - t.min()), rel=1e-9)
    assert np.allclose(wide["treated"].loc[t.index, kpi], matrix.loc[t.index, kpi], equal_nan=True)


def test_internal_audience_hides_nothing_wco_hides_restricted(observations):
    internal = scan.value_images(observations, CYCLE, REGION, "internal", images=("raw",))
    wco = scan.value_images(observations, CYCLE, REGION, "wco", images=("raw",))
    obs = observations[(observations["cycle"] == CYCLE)]
    obs = obs[obs["member"].isin(set(wco["member"]))]
    assert not internal["hidden"].any()
    assert wco["hidden"].sum() == (obs["disclosure"] == "restricted").sum() > 0


# ----------------------------------------------------------------------------------------------
# 3. the public paper: positive controls, then zero hits
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def public_run(tmp_path_factory):
    """One public AMS 2024 run of every notebook with the paper (shared by all tests below)."""
    out = tmp_path_factory.mktemp("public-run")
    res = execute_run(RunRequest(region=REGION, cycle=CYCLE, audience="public", outputs_dir=out))
    assert res.ok, res.error
    return res.run_dir


@pytest.fixture(scope="module")
def public_needles(public_run):
    return scan.run_needles(public_run)


def _pick(needles: scan.Needles, image: str, *, digits: int = 4) -> tuple[int, float]:
    """A hidden value of ``image`` searchable numerically with at least ``digits`` digits."""
    for i in needles.exact_index:
        row = needles.hidden.iloc[int(i)]
        if row["image"] == image and needles.sig[int(i)] >= digits:
            return int(i), float(row["value"])
    raise AssertionError(f"no searchable hidden {image} value")


def _column(needles: scan.Needles, image: str, digits: int, n: int = 4) -> pd.DataFrame:
    """``n`` hidden values of one KPI and image with ``digits`` information digits, each a distinctive
    form when shown with that many digits (``%.{digits}g``)."""
    hid = needles.hidden.assign(sig=needles.sig)
    ok = hid[(hid["image"] == image) & (hid["sig"] >= digits)
             & np.array([needles.match_token(f"{v:.{digits}g}") != [] for v in hid["value"]])]
    kpi = ok["kpi"].value_counts().index[0]
    return ok[ok["kpi"] == kpi].head(n)


def _weak_column(needles: scan.Needles, n: int = 4) -> pd.DataFrame:
    """``n`` hidden raw values of one KPI with exactly four digits, each distinctive as a form."""
    hid = needles.hidden.assign(sig=needles.sig)
    ok = hid[(hid["image"] == "raw") & (hid["sig"] == 4)
             & np.array([needles.match_token(f"{v:.2f}") != [] for v in hid["value"]])]
    kpi = ok["kpi"].value_counts().index[0]
    return ok[ok["kpi"] == kpi].head(n)


def _copy(run: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(run, dst, symlinks=True)
    return dst


def _key(needles: scan.Needles, i: int) -> tuple[str, str]:
    row = needles.hidden.iloc[i]
    return row["member"], row["kpi"]


@pytest.mark.slow
def test_public_run_has_every_artefact_the_scan_reads(public_run):
    assert (public_run / "paper.html").is_file() and (public_run / "paper.pdf").is_file()
    tables = list((public_run / "tables").glob("*.csv"))
    figures = list((public_run / "figures").glob("*.png"))
    assert len(tables) >= 5 and len(figures) >= 5
    # each figure records the numbers it draws, else its data could not be scanned
    missing = [f.name for f in figures if not f.with_suffix(".values.csv").is_file()]
    assert missing == []
    assert json.loads((public_run / "manifest.json").read_text())["parameters"]["audience"] == "public"


@pytest.mark.slow
def test_positive_control_table(public_run, public_needles, tmp_path):
    run = _copy(public_run, tmp_path)
    table = sorted((run / "tables").glob("*.csv"))[0]
    frame = pd.read_csv(table, keep_default_na=False, na_values=[""])
    num = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])][0]
    i, v = _pick(public_needles, "raw", digits=5)
    frame[num] = frame[num].astype(float)
    frame.loc[1, num] = v
    frame.to_csv(table, index=False, float_format="%.10g")
    hits = scan.scan_run(run, public_needles, parts=("tables",))
    planted = hits[hits["location"] == f"row 2, column {num}"]
    assert len(planted) == 1 and planted["match"].iloc[0] == "numeric"
    assert tuple(planted[["member", "kpi"]].iloc[0]) == _key(public_needles, i)
    assert planted["source"].iloc[0] == f"tables/{table.name}"


@pytest.mark.slow
def test_positive_control_figure_data(public_run, public_needles, tmp_path):
    run = _copy(public_run, tmp_path)
    side = sorted((run / "figures").glob("*.values.csv"))[0]
    i, v = _pick(public_needles, "normalised", digits=6)
    side.write_text(side.read_text() + f"{v:.10g}\n")
    hits = scan.scan_run(run, public_needles, parts=("figures",))
    assert len(hits) == 1 and hits["image"].iloc[0] == "normalised"
    assert tuple(hits[["member", "kpi"]].iloc[0]) == _key(public_needles, i)


@pytest.mark.slow
def test_positive_control_html_pdf_notebook(public_run, public_needles, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = _copy(public_run, tmp_path)
    i_raw, raw = _pick(public_needles, "raw", digits=5)
    i_z, z = _pick(public_needles, "robust_z", digits=8)
    # a column of one KPI's four-digit raw values: weak alone, corroborated together
    column = _weak_column(public_needles)
    html = (run / "paper.html").read_text(encoding="utf-8")
    leaked = f"<p>Leaked: {raw:.2f}</p><table>" + "".join(
        f"<tr><td>{v:.2f}</td></tr>" for v in column["value"]) + "</table></body>"
    (run / "paper.html").write_text(html.replace("</body>", leaked, 1), encoding="utf-8")
    fig = plt.figure(figsize=(4, 2))
    fig.text(0.05, 0.5, f"Robust z of a restricted value: {z:.6g}")
    fig.savefig(run / "paper.pdf")
    plt.close(fig)
    nb_path = sorted((run / "_internal" / "notebooks").glob("*.ipynb"))[0]  # sealed public run
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    # a notebook printing one KPI's normalised values (pandas' six digits): found as a group
    scaled_col = _column(public_needles, "normalised", digits=6)
    nb["cells"][-1].setdefault("outputs", []).append(
        {"output_type": "stream", "name": "stdout", "text": [f"{m} {v:.6g}\n" for m, v in
                                                              zip(scaled_col["member"], scaled_col["value"], strict=True)]})
    nb_path.write_text(json.dumps(nb), encoding="utf-8")
    hits = scan.scan_run(run, public_needles, parts=("paper", "notebooks"))
    by_source = {s: set(zip(g["member"], g["kpi"], strict=True)) for s, g in hits.groupby("source")}
    want_html = {_key(public_needles, i_raw)} | set(zip(column["member"], column["kpi"], strict=True))
    assert by_source.get("paper.html") == want_html
    assert by_source.get("paper.pdf") == {_key(public_needles, i_z)}
    assert by_source.get(f"_internal/notebooks/{nb_path.name}") == set(zip(scaled_col["member"], scaled_col["kpi"], strict=True))
    assert set(by_source) == {"paper.html", "paper.pdf", f"_internal/notebooks/{nb_path.name}"}


@pytest.mark.slow
def test_planted_public_value_is_not_reported(public_run, public_needles, observations, tmp_path):
    run = _copy(public_run, tmp_path)
    public = observations[(observations["cycle"] == CYCLE) & (observations["disclosure"] == "public")
                          & observations["member"].isin(set(public_needles.hidden["member"]))]
    v = float(public["value"].iloc[0])
    html = (run / "paper.html").read_text(encoding="utf-8")
    (run / "paper.html").write_text(html.replace("</body>", f"<p>Public: {v:.2f}</p></body>", 1),
                                    encoding="utf-8")
    side = sorted((run / "figures").glob("*.values.csv"))[0]
    side.write_text(side.read_text() + f"{v:.10g}\n")
    assert scan.scan_run(run, public_needles).empty


@pytest.mark.slow
def test_public_paper_shows_no_hidden_value(public_run, public_needles):
    assert len(public_needles) > 100 and len(public_needles.exact) > 100  # the scan has work to do
    hits = scan.scan_run(public_run, public_needles)
    assert hits.empty, "hidden values in the public run:\n" + hits.to_string(max_rows=40)


# ----------------------------------------------------------------------------------------------
# 4. an internal run does contain values the public may not see
# ----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_internal_run_contains_hidden_values(tmp_path, observations):
    res = execute_run(RunRequest(region=REGION, cycle=CYCLE, audience="internal", notebooks=("01",),
                                 render=False, outputs_dir=tmp_path))
    assert res.ok, res.error
    needles = scan.run_needles(res.run_dir, audience="public")
    hits = scan.scan_run(res.run_dir, needles, parts=("tables", "figures"))
    assert len(hits) >= 10
    assert any(s.startswith("tables/") for s in hits["source"])
    assert any(s.startswith("figures/") for s in hits["source"])
    # every hit is a value its Member did not make public
    levels = observations[observations["cycle"] == CYCLE].set_index(["member", "kpi"])["disclosure"]
    assert all(levels[(m, k)] != "public" for m, k in zip(hits["member"], hits["kpi"], strict=True))
    # and the restricted ones are found for a WCO audience too
    wco = scan.scan_run(res.run_dir, scan.run_needles(res.run_dir, audience="wco"), parts=("tables", "figures"))
    assert len(wco) > 0
    assert all(levels[(m, k)] == "restricted" for m, k in zip(wco["member"], wco["kpi"], strict=True))


def _fake_run(folder: Path, audience: str = "public") -> Path:
    folder.mkdir(parents=True)
    manifest = {"parameters": {"region": REGION, "cycle": CYCLE, "seed": 20240601, "audience": audience}}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "tables").mkdir()
    return folder


def test_cli_scan_exit_code_and_hits_file(tmp_path, images, capsys):
    import argparse

    hidden = images[(images["image"] == "raw") & images["hidden"]]
    row = next(r for r in hidden.itertuples() if scan.information_digits(r.value) >= 5
               and not np.isclose(images.loc[~images["hidden"], "value"], r.value, rtol=1e-8).any())
    run = _fake_run(tmp_path / "run")
    (run / "tables" / "tbl-x.csv").write_text(f"member,score\nM1,{row.value!r}\nM2,1\n", encoding="utf-8")
    from pmm_lib.cli import scan as cli_scan

    parser = argparse.ArgumentParser()
    cli_scan.add_arguments(parser)
    out = tmp_path / "hits.csv"
    assert cli_scan.run(parser.parse_args([str(run), "--out", str(out)])) == 1
    hits = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert hits[["source", "location", "member", "kpi"]].values.tolist() == [
        ["tables/tbl-x.csv", "row 1, column score", row.member, row.kpi]]
    capsys.readouterr()
    (run / "tables" / "tbl-x.csv").write_text("member,score\nM1,1\n", encoding="utf-8")
    assert cli_scan.run(parser.parse_args([str(run)])) == 0
    assert "no hidden value found" in capsys.readouterr().out
    # the same value is no leak for an internal audience
    (run / "tables" / "tbl-x.csv").write_text(f"member,score\nM1,{row.value!r}\n", encoding="utf-8")
    assert cli_scan.run(parser.parse_args([str(run), "--audience", "internal"])) == 0


def test_run_needles_names_a_bad_manifest(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="manifest.json"):
        scan.run_needles(run)
    with pytest.raises(InputError, match="run folder not found"):
        scan.scan_run(tmp_path / "nowhere")
    with pytest.raises(SpecError, match="allowed: tables, figures"):
        scan.scan_run(run, parts=("pictures",))


def test_outcome_scores_per_member_reveal_no_hidden_kpi_value(observations, images):
    """Raw outcome scores can reveal a hidden KPI (one-KPI outcomes); mask_aggregates removes them."""
    from pmm_lib.core.build import build_pmm
    from pmm_lib.reporting.disclosure import disclosure_matrix, mask_aggregates

    res = build_pmm(None, region=REGION, cycle=CYCLE, observations=observations)
    outcomes = [c for c in res.aggregated.columns if c.startswith("O")]
    needles = scan.Needles.from_images(images)
    unmasked = res.aggregated[outcomes].rename_axis("member").reset_index()
    assert not scan.scan_table(unmasked, needles, source="outcome-scores").empty  # the risk is real
    disc = disclosure_matrix(observations, CYCLE, members=res.raw.index, kpis=res.raw.columns)
    masked = mask_aggregates(res.aggregated, res.raw, res.meta, disc, "public")
    table = masked[outcomes].rename_axis("member").reset_index()
    hits = scan.scan_table(table, needles, source="outcome-scores")
    assert hits.empty, hits.head(10).to_string()


def test_dimension_scores_per_member_reveal_no_hidden_kpi_value(observations, images):
    from pmm_lib.core.build import build_pmm

    res = build_pmm(None, region=REGION, cycle=CYCLE, observations=observations)
    table = res.aggregated[["TF", "RC", "ES", "OD", "PMM"]].rename_axis("member").reset_index()
    assert scan.scan_table(table, scan.Needles.from_images(images), source="dimension-scores").empty
