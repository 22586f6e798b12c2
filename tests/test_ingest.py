"""Tests of pmm_lib.inputs.ingest and pmm_lib.inputs.schemas: template layout, round trip, manifest, atomicity,
cell parsing rules, options, CLI, the bundled returns, and hypothesis properties.

The bad-input corpus lives in tests/test_bad_inputs.py.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from bad_inputs.corpus import (
    COL,
    CYCLE,
    MEMBER,
    TEST_MEMBERS,
    filled_workbook,
    good_disclosures,
    good_values,
    kpi_row,
    sheet_of,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from pmm_lib import paths
from pmm_lib.cli import main
from pmm_lib.errors import InputError, SpecError
from pmm_lib.inputs.framework import DISCLOSURE_LEVELS, load_framework
from pmm_lib.inputs.ingest import (
    DIMENSION_COLUMNS,
    HEADER_ROW,
    IngestOptions,
    file_sha256,
    ingest,
    known_members,
    read_returns,
    validate_returns,
    write_template,
)
from pmm_lib.inputs.ingest.catalogue import COLUMNS
from pmm_lib.inputs.ingest.parse import parse_cycle, parse_value
from pmm_lib.inputs.schemas import OBSERVATION_COLUMNS, OBSERVATIONS_SCHEMA

FW = load_framework()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 (files) or link target (symlinks), hidden entries included."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            out[p.relative_to(folder).as_posix()] = "link:" + os.readlink(p)
        elif p.is_file():
            out[p.relative_to(folder).as_posix()] = sha(p)
    return out


def visible(folder: Path) -> dict[str, str]:
    return {k: v for k, v in tree(folder).items() if not any(part.startswith(".") for part in k.split("/"))}


def tidy_frame(values: dict[str, float], disclosures: dict[str, str] | None = None, member: str = MEMBER,
               cycle: int = CYCLE) -> pd.DataFrame:
    disc = disclosures or {k.code: k.disclosure for k in FW.kpis}
    return pd.DataFrame({"member": member, "cycle": cycle, "kpi": list(values), "value": list(values.values()),
                         "disclosure": [disc[k] for k in values], "source": "test", "flag": ""})


# ----------------------------------------------------------------------------------------------
# Template
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_template(tmp_path_factory.mktemp("tpl") / "q.xlsx", member="sen", cycle=2024)


def test_template_sheets_and_layout(template: Path) -> None:
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == ["Instructions", "Respondent", "TF", "RC", "ES", "OD", "Completeness"]
    assert wb.security.lockStructure
    rs = wb["Respondent"]
    assert (rs["A3"].value, rs["B3"].value) == ("Member (ISO3)", "SEN")
    assert (rs["A4"].value, rs["B4"].value) == ("Cycle (year)", 2024)
    assert (rs["A8"].value, rs["B8"].value) == ("Framework version", FW.version)
    for ws in wb.worksheets:  # every sheet carries its identity in the hidden column Z
        assert ws["Z1"].value.startswith("pmm-questionnaire|sheet=") and ws.column_dimensions["Z"].hidden
        assert f"|framework={FW.version}|lang=en" in ws["Z1"].value
    n = 0
    for dim in FW.dimensions:
        ws = wb[dim.code]
        assert ws["A1"].value == f"{dim.code} - {dim.name}"
        assert tuple(c.value for c in ws[HEADER_ROW])[: len(COLUMNS)] == DIMENSION_COLUMNS
        codes = [k.code for k in FW.kpis if sheet_of(FW, k.code) == dim.code]
        assert [ws.cell(row=r, column=1).value for r in range(HEADER_ROW + 1, ws.max_row + 1)] == codes
        n += len(codes)
        for code in codes:
            k = FW.kpi(code)
            r = kpi_row(ws, code)
            row = [ws.cell(row=r, column=j).value for j in range(1, len(COLUMNS) + 1)]
            outcome = next(o for o in FW.outcomes if o.code == k.parent)
            assert row == [k.code, k.name, f"{outcome.code} {outcome.name}", k.definition, k.unit,
                           FW.reference_period_text("en"), f"from {k.lower:g} to {k.upper:g}",
                           "yes" if k.optional else "no", None, None, None, None, None, None]
        assert ws.protection.sheet
        assert all(ws.cell(row=HEADER_ROW + 1, column=j).protection.locked for j in range(1, COL["value"]))
        assert not any(ws.cell(row=HEADER_ROW + 1, column=j).protection.locked
                       for j in range(COL["value"], len(COLUMNS) + 1))
        lists = {dv.formula1: str(dv.sqref) for dv in ws.data_validations.dataValidation if dv.type == "list"}
        assert lists.keys() == {'"public,wco,restricted"', '"not applicable,not available"',
                                '"self-assessed,validated,peer-reviewed"'}
        assert f"K{HEADER_ROW + 1}" in lists['"public,wco,restricted"']  # Disclosure: a choice, not pre-filled
    assert n == 51
    k01 = wb["TF"]
    dv = next(d for d in k01.data_validations.dataValidation if d.type == "decimal" and "I4" in str(d.sqref))
    assert (dv.formula1, dv.formula2) == ("0", "720")
    summary = wb["Completeness"]
    assert [c.value for c in summary[1]][:5] == ["Dimension", "KPIs", "Values entered", "No value, reason given",
                                                 "Still open"]
    n_tf = sum(sheet_of(FW, k.code) == "TF" for k in FW.kpis)
    assert summary["B2"].value == n_tf and summary["C2"].value == f"=COUNTA('TF'!I4:I{3 + n_tf})"


@pytest.mark.parametrize("lang", ["fr", "es"])
def test_template_in_french_and_spanish(tmp_path: Path, lang: str) -> None:
    """The same catalogue, other words: names, definitions, units and the Instructions' rules translated."""
    p = write_template(tmp_path / f"q_{lang}.xlsx", lang=lang)
    wb = openpyxl.load_workbook(p)
    ws = wb["TF"]
    k01 = FW.kpi("K01")
    assert ws["B4"].value == k01.text("name", lang) != k01.name
    assert ws["D4"].value == k01.text("definition", lang)
    assert ws["E4"].value == {"fr": "heures", "es": "horas"}[lang]
    assert ws["I3"].value == COLUMNS["value"][lang]
    words = {"fr": ("mainlevée", "Répondant", "sans objet"), "es": ("levante", "Encuestado", "no aplica")}[lang]
    assert words[0] in ws["B4"].value and words[1] in wb.sheetnames
    lists = [dv.formula1 for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert any(words[2] in f for f in lists)
    instructions = " ".join(str(c.value) for c in wb.worksheets[0]["A"] if c.value)
    assert "0.5%" in instructions.replace(",", ".") and "1234" in instructions


def test_template_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not an ISO3 code"):
        write_template(tmp_path / "x.xlsx", member="Senegal")
    with pytest.raises(InputError, match="not a year"):
        write_template(tmp_path / "x.xlsx", cycle="2024")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"\.xlsx"):
        write_template(tmp_path / "x.xls")


def test_blank_template_is_rejected_with_the_missing_answers(template: Path, tmp_path: Path) -> None:
    blank = write_template(tmp_path / "blank.xlsx")
    with pytest.raises(InputError) as info:
        read_returns([blank], members=TEST_MEMBERS)
    msgs = [i.message for i in info.value.issues]
    assert sum("mandatory but its value is empty" in m for m in msgs) == sum(not k.optional for k in FW.kpis)
    with pytest.raises(InputError, match="the inputs hold no values") as info:
        read_returns([template], members=TEST_MEMBERS, options=IngestOptions(missing_required="warn"))
    assert info.value.file == "q.xlsx"


# ----------------------------------------------------------------------------------------------
# Round trip and outputs
# ----------------------------------------------------------------------------------------------

def test_round_trip_template_fill_ingest(tmp_path: Path) -> None:
    """template -> fill with known values (some optional KPIs skipped) -> ingest == the known values."""
    values: dict[str, float | None] = dict(good_values(FW))
    skipped = [k.code for k in FW.kpis if k.optional][::3]
    for code in skipped:
        values[code] = None
    disc = good_disclosures(FW)
    p = filled_workbook(tmp_path / "sen.xlsx", values=values, disclosures=disc)
    out = tmp_path / "processed"
    res = ingest([p], processed_dir=out, members=TEST_MEMBERS, with_reference=False)
    obs = pd.read_parquet(out / "observations.parquet")
    expected = pd.DataFrame(
        [(MEMBER, CYCLE, k.code, values[k.code], disc[k.code], "questionnaire sen.xlsx", "", "", "not_stated", "",
          True) for k in FW.kpis if values[k.code] is not None], columns=list(OBSERVATIONS_SCHEMA.columns))
    pd.testing.assert_frame_equal(obs, expected, check_dtype=False)
    assert obs["value"].dtype == np.float64 and obs["cycle"].dtype == np.int64
    OBSERVATIONS_SCHEMA.validate(obs)
    assert res.warnings == []
    assert set(skipped).isdisjoint(obs["kpi"])


def test_manifest_records_inputs_outputs_and_versions(tmp_path: Path) -> None:
    p = filled_workbook(tmp_path / "sen.xlsx", **{"edit": None})
    c = tmp_path / "fra.csv"
    tidy_frame(good_values(FW), member="FRA").to_csv(c, index=False)
    out = tmp_path / "processed"
    res = ingest([p, c], processed_dir=out, members=TEST_MEMBERS, with_reference=False)
    m = json.loads((out / "manifest.json").read_text())
    assert m == res.manifest | {"created": m["created"]}
    assert [i["name"] for i in m["inputs"]] == ["sen.xlsx", "fra.csv"]
    assert m["inputs"][0]["sha256"] == sha(p) and m["inputs"][1]["sha256"] == sha(c)
    assert m["inputs"][0]["bytes"] == p.stat().st_size
    assert m["inputs"][1]["rows"] == 51 and m["inputs"][1]["observations"] == 51
    assert m["outputs"]["observations.parquet"] == {
        "rows": 102, "sha256": sha(out / "observations.parquet"), "bytes": (out / "observations.parquet").stat().st_size}
    assert {"python", "pandas", "numpy", "pandera", "openpyxl", "pyarrow"} <= set(m["versions"])
    assert m["framework"]["sha256"] == sha(paths.FRAMEWORK_PATH)
    assert m["warnings"] == []
    assert visible(out) == {"current": "link:" + os.readlink(out / "current"),
                            "manifest.json": "link:current/manifest.json",
                            "non_responses.parquet": "link:current/non_responses.parquet",
                            "observations.parquet": "link:current/observations.parquet",
                            "respondents.parquet": "link:current/respondents.parquet"}
    assert file_sha256(p) == sha(p)


def test_reference_tables_written_when_data_module_exists(tmp_path: Path) -> None:
    pytest.importorskip("pmm_lib.inputs.data")
    p = filled_workbook(tmp_path / "sen.xlsx")
    out = tmp_path / "processed"
    res = ingest([p], processed_dir=out, members=TEST_MEMBERS)
    from pmm_lib.inputs.data import load_members
    assert set(res.written) == {"observations.parquet", "members.parquet", "outcomes.parquet", "manifest.json",
                                "non_responses.parquet", "respondents.parquet"}
    pd.testing.assert_frame_equal(pd.read_parquet(out / "members.parquet"), load_members(), check_dtype=False)


def test_reference_tables_skipped_with_a_note_without_data_module(tmp_path: Path, monkeypatch) -> None:
    import sys
    monkeypatch.setitem(sys.modules, "pmm_lib.inputs.data", None)  # import fails
    p = filled_workbook(tmp_path / "sen.xlsx")
    res = ingest([p], processed_dir=tmp_path / "out", members=TEST_MEMBERS)
    assert set(res.written) == {"observations.parquet", "manifest.json", "non_responses.parquet",
                                "respondents.parquet"}
    assert any("pmm_lib.inputs.data is not available" in n for n in res.manifest["notes"])


def test_failed_write_leaves_processed_untouched(tmp_path: Path, monkeypatch) -> None:
    """A failure while writing (here: the manifest) leaves the previous outputs byte-identical, no temp dir."""
    p = filled_workbook(tmp_path / "sen.xlsx")
    out = tmp_path / "processed"
    ingest([p], processed_dir=out, members=TEST_MEMBERS, with_reference=False)
    before = tree(out)
    p2 = filled_workbook(tmp_path / "sen2.xlsx", values={**good_values(FW), "K01": 1.0})

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pmm_lib.inputs.ingest.publish.write_text_atomic", boom)
    with pytest.raises(OSError, match="No space left"):
        ingest([p2], processed_dir=out, members=TEST_MEMBERS, with_reference=False)
    assert tree(out) == before


def test_outputs_switch_together_and_old_versions_go(tmp_path: Path) -> None:
    """Readers reach every output through current/, which one os.replace switches."""
    out = tmp_path / "processed"
    a = filled_workbook(tmp_path / "a.xlsx")
    ingest([a], processed_dir=out, members=TEST_MEMBERS, with_reference=False)
    first = os.readlink(out / "current")
    assert os.readlink(out / "observations.parquet") == "current/observations.parquet"
    b = filled_workbook(tmp_path / "b.xlsx", values={**good_values(FW), "K01": 1.0})
    ingest([b], processed_dir=out, members=TEST_MEMBERS, with_reference=False)
    second = os.readlink(out / "current")
    assert second != first and not (out / first).exists()  # the old version is removed
    assert sorted(p.name for p in out.iterdir()) == sorted([second, "current", "manifest.json",
                                                            "observations.parquet", "non_responses.parquet",
                                                            "respondents.parquet"])
    obs = pd.read_parquet(out / "observations.parquet")
    assert obs.loc[obs["kpi"] == "K01", "value"].item() == 1.0
    assert json.loads((out / "manifest.json").read_text())["inputs"][0]["name"] == "b.xlsx"


def test_plain_files_of_an_older_layout_are_replaced_together(tmp_path: Path) -> None:
    out = tmp_path / "processed"
    out.mkdir()
    (out / "observations.parquet").write_bytes(b"old observations")
    (out / "members.parquet").write_bytes(b"old members")
    (out / "manifest.json").write_text("{}")
    a = filled_workbook(tmp_path / "a.xlsx")
    res = ingest([a], processed_dir=out, members=TEST_MEMBERS, with_reference=False)
    assert (out / "observations.parquet").is_symlink()
    assert len(pd.read_parquet(out / "observations.parquet")) == 51
    # an output this ingest did not produce is carried forward, and the manifest says so
    assert (out / "members.parquet").read_bytes() == b"old members"
    assert "kept from the previous ingest: members.parquet" in res.manifest["notes"]
    assert [p.name for p in out.iterdir() if p.name.startswith(".ingest-previous")] == []


def test_leftovers_of_killed_ingests_are_cleaned_later(tmp_path: Path) -> None:
    out = tmp_path / "processed"
    out.mkdir()
    stale = out / ".ingest-20000101T000000-dead"
    stale.mkdir()
    (stale / "observations.parquet").write_bytes(b"half")
    os.utime(stale, (0, 0))
    fresh = out / ".ingest-99990101T000000-live"  # maybe a concurrent ingest: left alone
    fresh.mkdir()
    ingest([filled_workbook(tmp_path / "a.xlsx")], processed_dir=out, members=TEST_MEMBERS, with_reference=False)
    assert not stale.exists() and fresh.exists()


def test_no_inputs_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no questionnaires"):
        read_returns([tmp_path], members=TEST_MEMBERS)
    with pytest.raises(InputError, match="file not found"):
        read_returns([tmp_path / "nope.csv"], members=TEST_MEMBERS)


def test_same_file_twice_and_same_name_in_two_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    tidy_frame(good_values(FW)).to_csv(tmp_path / "a" / "r.csv", index=False)
    tidy_frame(good_values(FW)).to_csv(tmp_path / "b" / "r.csv", index=False)
    res = read_returns([tmp_path / "a" / "r.csv", tmp_path / "a"], members=TEST_MEMBERS)
    assert len(res.observations) == 51
    assert any("listed more than once" in w.message for w in res.warnings)
    res = read_returns([tmp_path / "a" / "r.csv", tmp_path / "b" / "r.csv"], members=TEST_MEMBERS)
    assert len(res.observations) == 51
    assert sum("is also reported in file r.csv" in w.message for w in res.warnings) == 51
    changed = tidy_frame({**good_values(FW), "K01": 1.5})
    changed.to_csv(tmp_path / "b" / "r.csv", index=False)
    with pytest.raises(InputError, match="conflicting values for SEN 2024 K01: 1.5 here"):
        read_returns([tmp_path / "a" / "r.csv", tmp_path / "b" / "r.csv"], members=TEST_MEMBERS)


def test_folder_input_skips_lock_and_other_files(tmp_path: Path) -> None:
    tidy_frame(good_values(FW)).to_csv(tmp_path / "a.csv", index=False)
    (tmp_path / "~$a.xlsx").write_bytes(b"lock")
    (tmp_path / "truth.json").write_text("{}")
    res = read_returns([tmp_path], members=TEST_MEMBERS)
    assert [i["name"] for i in res.inputs] == ["a.csv"]


# ----------------------------------------------------------------------------------------------
# Cell rules (known answers)
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "unit", "value", "fix"), [
    (12, "hours", 12.0, ""), (12.5, "%", 12.5, ""), ("12.5", "hours", 12.5, ""), (" 7 ", "hours", 7.0, ""),
    ("\u221212", "% change", -12.0, ""), ("1e3", "hours", 1000.0, ""), ("12%", "%", 12.0, "percent_sign"),
    ("12.5 %", "%", 12.5, "percent_sign"), ("0,5%", "%", 0.5, "percent_sign"),
    ("1,234.5", "hours", 1234.5, "thousands_separator"), ("1.234,5", "hours", 1234.5, "thousands_separator"),
    ("1,234,567", "hours", 1234567.0, "thousands_separator"), ("1.234.567", "hours", 1234567.0,
                                                               "thousands_separator"),
    ("1 234", "hours", 1234.0, "thousands_separator"), ("12,5", "%", 12.5, "decimal_comma"),
    ("\u0661\u0662\u066b\u0665", "hours", 12.5, "non_ascii_digits"), ("\uff11\uff12", "hours", 12.0, "non_ascii_digits"),
    ("\u06f2\u06f4", "count", 24.0, "non_ascii_digits"), ("1.234", "hours", 1.234, ""),
    (None, "hours", None, ""), ("", "%", None, ""), ("\u00a0", "%", None, ""), (float("nan"), "%", None, ""),
    (np.float64(3.25), "hours", 3.25, ""), (np.int64(24), "count", 24.0, ""), (0.3, "%", 0.3, "below_one_percent"),
])
def test_parse_value_accepts(raw, unit, value, fix) -> None:
    p = parse_value(raw, unit=unit, upper=1000)
    assert p.error is None and p.fix == fix and p.status is None
    assert p.value == value if value is not None else p.value is None


@pytest.mark.parametrize(("raw", "kw", "message"), [
    ("n/a", {}, "could mean 'not applicable' or 'not available'"), ("-", {}, "could mean 'not applicable'"),
    ("\u2013", {}, "could mean"), ("12%", {}, "has a % sign"),
    ("1,234", {}, "could mean 1234 (comma as thousands separator) or 1.234 (decimal comma)"),
    ("1.234", {"upper": 5000}, "could mean 1234 (dot as thousands separator) or 1.234"),
    ("abc", {}, "is not a number"), (True, {}, "is not a number"), ("inf", {}, "is not a number"),
    ("1_000", {}, "is not a number"), (0.5, {"pct_format": True}, "formatted as a percentage (it shows 50%)"),
    (0.85, {"unit": "%", "questionnaire": True}, "0.85 could mean 0.85 % or 85 %"),
    ("1.234", {"unit": "count", "upper": 200}, "is a count but 1.234 is not a whole number ('1.234' could mean 1234"),
    (2.5, {"unit": "count"}, "is a count but 2.5 is not a whole number"),
])
def test_parse_value_rejects_naming_the_readings(raw, kw, message) -> None:
    p = parse_value(raw, **({"unit": "hours"} | kw))
    assert p.value is None and message in p.error and p.expected


def test_parse_value_reads_reasons_in_any_language() -> None:
    for text, status in [("not applicable", "not_applicable"), ("Sans objet", "not_applicable"),
                         ("no disponible", "not_available"), ("NON DISPONIBLE", "not_available")]:
        p = parse_value(text, unit="%")
        assert (p.status, p.fix, p.value, p.error) == (status, "status_in_value", None, None)


@pytest.mark.parametrize(("raw", "year", "err"), [
    (2024, 2024, None), (2024.0, 2024, None), ("2024", 2024, None), (" 2024.0 ", 2024, None),
    (None, None, "missing"), ("", None, "missing"), (float("nan"), None, "missing"),
    (2024.5, None, "not a whole year"), ("FY2024", None, "not a whole year"), (True, None, "not a year"),
    (10**12, None, "not a year"), (9.2e18, None, "not a year"), (float("inf"), None, "not a whole year"),
    ("\uff12\uff10\uff12\uff14", 2024, None), (np.int64(24), 24, None), (np.float64(24.5), None, "cycle 24.5 is"),
])
def test_parse_cycle(raw, year, err) -> None:
    y, e = parse_cycle(raw)
    assert y == year
    assert (e is None) if err is None else (err in e)


# ----------------------------------------------------------------------------------------------
# Options, members, cycles
# ----------------------------------------------------------------------------------------------

def test_options_are_typed_and_checked() -> None:
    assert IngestOptions.from_dict({"max_errors": 3}).max_errors == 3
    with pytest.raises(SpecError, match="allowed: max_errors, max_rows, max_bytes, max_inflated_bytes, missing_required"):
        IngestOptions.from_dict({"max_error": 3})
    with pytest.raises(SpecError, match="missing_required"):
        IngestOptions(missing_required="ignore")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="positive integer"):
        IngestOptions(max_rows=0)


def test_missing_required_can_be_downgraded_to_a_warning() -> None:
    vals = good_values(FW)
    del vals["K01"]
    frame = tidy_frame(vals)
    with pytest.raises(InputError, match="mandatory KPI"):
        validate_returns(frame, members=TEST_MEMBERS)
    obs, warnings = validate_returns(frame, members=TEST_MEMBERS, options=IngestOptions(missing_required="warn"))
    assert len(obs) == 50 and "K01" not in set(obs["kpi"])
    assert any("K01" in w.message and w.severity == "warning" for w in warnings)


def test_cycle_filter(tmp_path: Path) -> None:
    frame = pd.concat([tidy_frame(good_values(FW), cycle=2022), tidy_frame(good_values(FW), cycle=2024)])
    frame.to_csv(tmp_path / "two.csv", index=False)
    res = read_returns([tmp_path / "two.csv"], cycle=2024, members=TEST_MEMBERS)
    assert set(res.observations["cycle"]) == {2024} and len(res.observations) == 51
    assert any("51 observation(s) of other cycles left out" in w.message for w in res.warnings)
    with pytest.raises(InputError, match="no observations for cycle 2030"):
        read_returns([tmp_path / "two.csv"], cycle=2030, members=TEST_MEMBERS)


def test_known_members_reads_member_or_iso3(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("member,name\nSEN,Senegal\nNAM,Namibia\n")
    (tmp_path / "b.csv").write_text("iso3,name\n fra ,France\n")
    (tmp_path / "c.csv").write_text("code,name\nSEN,Senegal\n")
    assert known_members(tmp_path / "a.csv") == {"SEN", "NAM"}
    assert known_members(tmp_path / "b.csv") == {"FRA"}
    assert known_members(tmp_path / "missing.csv") is None
    with pytest.raises(InputError, match="no Member code column"):
        known_members(tmp_path / "c.csv")


def test_members_none_checks_format_only() -> None:
    obs, _ = validate_returns(tidy_frame(good_values(FW), member="ZZZ"), members=None)
    assert set(obs["member"]) == {"ZZZ"}
    with pytest.raises(InputError, match="not an ISO3 code"):
        validate_returns(tidy_frame(good_values(FW), member="ZZ9"), members=None)


def test_validate_returns_missing_column() -> None:
    with pytest.raises(InputError) as info:
        validate_returns(tidy_frame(good_values(FW)).drop(columns="disclosure"), members=TEST_MEMBERS)
    assert info.value.column == "disclosure" and info.value.file == "<frame>"


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------

def test_cli_template_and_ingest(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["template", "--member", "SEN", "--cycle", "2024"]) == 0
    p = tmp_path / "pmm_questionnaire_SEN_2024.xlsx"
    assert p.exists()
    wb = openpyxl.load_workbook(p)
    ws = wb["TF"]
    for code in [k.code for k in FW.kpis if sheet_of(FW, k.code) == "TF"]:
        ws.cell(row=kpi_row(ws, code), column=COL["value"]).value = good_values(FW)[code]
    wb.save(p)
    assert main(["ingest", str(p), "--processed", str(tmp_path / "proc")]) == 2  # other sheets still empty
    err = capsys.readouterr().err
    assert err.startswith("pmm ingest: error: file pmm_questionnaire_SEN_2024.xlsx: ")
    assert "sheet 'RC'" in err and "mandatory but its value is empty" in err
    assert not (tmp_path / "proc").exists() or not any((tmp_path / "proc").iterdir())
    assert main(["ingest", str(p), "--processed", str(tmp_path / "proc"), "--allow-missing-required"]) == 0
    out = capsys.readouterr().out
    assert "observations: 1 Members, cycles 2024" in out and "wrote" in out
    assert (tmp_path / "proc" / "observations.parquet").exists()


# ----------------------------------------------------------------------------------------------
# The bundled returns
# ----------------------------------------------------------------------------------------------

BUNDLED = paths.QUESTIONNAIRE_DIR / "pmm_returns.csv"


@pytest.mark.skipif(not BUNDLED.exists(), reason="bundled returns not generated yet")
def test_bundled_returns_ingest_exactly_and_fast() -> None:
    read_returns([BUNDLED])  # warm imports
    t0 = time.process_time()  # CPU time: the CI machine is shared, wall time is not ours
    res = read_returns([BUNDLED])
    elapsed = time.process_time() - t0
    raw = pd.read_csv(BUNDLED, dtype={"member": str, "kpi": str}, keep_default_na=False, na_values=[""])
    got = res.observations.set_index(["member", "cycle", "kpi"]).sort_index()
    want = raw.set_index(["member", "cycle", "kpi"]).sort_index()
    assert len(got) == len(want)
    np.testing.assert_array_equal(got["value"].to_numpy(), want["value"].to_numpy())
    assert (got["disclosure"] == want["disclosure"]).all()
    assert elapsed < 2.0, f"ingest of {len(raw)} rows took {elapsed:.2f} s"


@pytest.mark.slow
def test_csv_at_the_row_limit_ingests(tmp_path: Path) -> None:
    """200,000 valid rows (the documented limit) are ingested, values intact."""
    codes = ["".join(t) for t in itertools.product("ABCDEFGH", repeat=3)][:40]
    vals = good_values(FW)
    kpis = [k.code for k in FW.kpis]
    n_mc = math.ceil(200_000 / len(kpis))
    mc = [(m, c) for c in range(2000, 2101) for m in codes][:n_mc]
    rows = [f"{m},{c},{k},{vals[k]:g},public,,\n" for m, c in mc for k in kpis][:200_000]
    # trim to whole member-cycles so no mandatory KPI is missing
    rows = rows[: (len(rows) // len(kpis)) * len(kpis)]
    p = tmp_path / "big.csv"
    p.write_text("member,cycle,kpi,value,disclosure,source,flag\n" + "".join(rows))
    t0 = time.perf_counter()
    res = read_returns([p], members=None)
    elapsed = time.perf_counter() - t0
    assert len(res.observations) == len(rows)
    assert res.observations.groupby("kpi")["value"].first().to_dict() == pytest.approx(vals)
    assert elapsed < 30


def test_docstring_examples_run() -> None:
    import doctest
    import importlib

    attempted = 0
    for name in ("catalogue", "parse", "questionnaire", "returns"):
        mod = importlib.import_module(f"pmm_lib.inputs.ingest.{name}")
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name
        attempted += result.attempted
    assert attempted >= 10


# ----------------------------------------------------------------------------------------------
# Properties
# ----------------------------------------------------------------------------------------------

KPI_CODES = [k.code for k in FW.kpis]
#: Every message ingest may give for a bad cell or row (module docstrings of pmm_lib.inputs.ingest.parse,
#: .validate and pmm_lib.inputs.schemas); a property test fails on any other message or on a traceback.
DOCUMENTED = re.compile("|".join([
    r".* is not a number$", r"a date/time \(.*\) is not a number", r"the cell is formatted as a percentage",
    r".* could mean .* or .*", r".* has a % sign but .* is measured in", r"text .* is not a number",
    r"K\d\d is a count but .* is not a whole number", r"the cycle is missing", r".* is not a (whole )?year",
    r"cycle .* is out of range", r"a value is given without a KPI code", r"KPI code .* appears more than once",
    r"unknown KPI code", r".* is not a reason for a missing value", r"both a value .* and the reason",
    r"K\d\d \(.*\) is mandatory but its value is empty", r"the Member code is missing",
    r"the disclosure level is empty", r".* is not a validation status", r"Member code .* is not an ISO3 code",
    r".* is not a WCO Member", r"value .* is not a finite number", r"disclosure .* is not allowed",
    r"(a negative value|value .*) for K\d\d .* is outside the plausible range", r"conflicting values for",
    r"all \d+ percentage KPIs .* shares look like fractions", r".*mandatory KPI\(s\) .* have no row",
    r"K\d\d is given in .* here but framework", r"the unit of K\d\d is empty",
    r"this row has \d+ fields but the header has \d+", r"the inputs hold no values$",
    r"cell [A-Z]+\d+ holds a formula with no stored result",
    r"this is .*, not a CSV text file", r"the file is empty", r"the CSV cannot be parsed",
]))
_texts = st.sampled_from([
    "", " ", "n/a", "N/A", "-", "\u2013", "1e308", "-0", "12%", "0.5%", "0,5%", "1,234.5", "1.234,5", "1 234", "1,234",
    "1.234", "12,5", "inf", "nan", "NaN", "0x10", "1,5", "\u2212", "\u22125", "\uff13\uff16", "\u0663\u0666\u066b\u0665",
    "\u06f2\u06f4", "not applicable", "sans objet", "no disponible", "12 hours", "1_000", "٫", "%", "1e", "+", ".",
])
_cells = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30),
                   _texts, st.text(max_size=6), st.text(alphabet="0123456789.,% -\u0660\u0661\u066b\uff10", max_size=7))
_rows = st.fixed_dictionaries({
    "member": st.one_of(st.sampled_from(["SEN", "FRA", "sen", " XKX", "", "SE", "\uff33\uff25\uff2e"]), st.none(),
                        st.text(max_size=4)),
    "cycle": st.one_of(st.sampled_from([2024, "2024", 2024.0, 2024.5, "20x4", "", -1, 10**12, 24, "\uff12\uff10\uff12\uff14",
                                        np.int64(2024)]), st.none(), st.floats(allow_nan=True)),
    "kpi": st.one_of(st.sampled_from([*KPI_CODES, "K99", "k01", "", " K02 "]), st.none()),
    "value": _cells,
    "disclosure": st.one_of(st.sampled_from([*DISCLOSURE_LEVELS, "WCO-only", "", "secret", "PUBLIC", "Restreint",
                                             "OMA"]), st.none()),
    "source": st.one_of(st.none(), st.text(max_size=5)),
    "flag": st.one_of(st.none(), st.text(max_size=5)),
    "status": st.one_of(st.none(), st.sampled_from(["", "not applicable", "not available", "sans objet", "pending"])),
    "validation": st.one_of(st.none(), st.sampled_from(["", "validated", "self-assessed", "Peer reviewed", "ok"])),
    "comment": st.one_of(st.none(), st.text(max_size=8)),
})
_COLUMNS = [*OBSERVATION_COLUMNS, "status", "validation", "comment"]


def _only_documented(exc: InputError) -> None:
    assert exc.issues, "InputError must carry .issues"
    for issue in exc.issues:
        assert DOCUMENTED.match(issue.message), f"undocumented message: {issue.message!r}"
        whole_file = re.match(r"the inputs hold no values|this is .*, not a CSV|the file is empty", issue.message)
        assert issue.file is not None and (whole_file or issue.row is not None or issue.column is not None), issue
        assert "np." not in issue.describe()  # plain values in messages


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_rows, min_size=1, max_size=25))
def test_property_arbitrary_frames_succeed_or_raise_documented_errors(rows) -> None:
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    try:
        obs, _ = validate_returns(frame, framework=FW, members=TEST_MEMBERS,
                                  options=IngestOptions(missing_required="warn"))
    except InputError as exc:
        _only_documented(exc)
        return
    OBSERVATIONS_SCHEMA.validate(obs)
    assert np.isfinite(obs["value"]).all()


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_rows, min_size=1, max_size=10))
def test_property_arbitrary_csv_files_succeed_or_raise_documented_errors(tmp_path_factory, rows) -> None:
    p = tmp_path_factory.mktemp("prop") / "r.csv"
    pd.DataFrame(rows, columns=_COLUMNS).to_csv(p, index=False)
    try:
        read_returns([p], framework=FW, members=TEST_MEMBERS, options=IngestOptions(missing_required="warn"))
    except InputError as exc:
        _only_documented(exc)


_WB_CELLS = st.fixed_dictionaries({
    # Excel cells cannot hold control characters (openpyxl refuses them), nor infinities
    "value": st.one_of(_cells.filter(lambda x: not (isinstance(x, float) and not np.isfinite(x))
                                     and not (isinstance(x, str) and ILLEGAL_CHARACTERS_RE.search(x))),
                       st.floats(0, 1, allow_nan=False)),
    "status": st.one_of(st.none(), st.sampled_from(["not applicable", "non disponible", "?", ""])),
    "disclosure": st.one_of(st.none(), st.sampled_from(["public", "OMD", "restringido", "secret"])),
    "validation": st.one_of(st.none(), st.sampled_from(["validée", "peer-reviewed", "x"])),
    "unit": st.one_of(st.none(), st.sampled_from(["hours", "heures", "days", "%", ""])),
})


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(edits=st.dictionaries(st.sampled_from(["K01", "K03", "K11", "K14", "K29"]), _WB_CELLS, min_size=1, max_size=3),
       pct=st.booleans())
def test_property_arbitrary_questionnaire_cells_succeed_or_raise_documented_errors(tmp_path_factory, edits,
                                                                                    pct) -> None:
    """Whatever an officer types into a questionnaire row: the values read, or documented errors only."""
    from bad_inputs.corpus import set_cell

    def edit(wb, fw):  # noqa: ANN001, ANN202
        for code, cells in edits.items():
            for f, v in cells.items():
                if f == "unit" and v is None:
                    continue
                set_cell(code, COL[f], v, "0%" if (pct and f == "value") else None)(wb, fw)

    p = filled_workbook(tmp_path_factory.mktemp("propwb") / "q.xlsx", edit=edit)
    try:
        res = read_returns([p], framework=FW, members=TEST_MEMBERS)
    except InputError as exc:
        _only_documented(exc)
        return
    OBSERVATIONS_SCHEMA.validate(res.observations)


@st.composite
def valid_returns(draw):
    """A valid return: every mandatory KPI, a random subset of optional ones, values within bounds."""
    chosen = [k for k in FW.kpis if not k.optional or draw(st.booleans())]
    values = {k.code: float(draw(st.integers(int(k.lower), int(k.upper)))) if k.unit == "count"
              else draw(st.floats(k.lower, k.upper, allow_nan=False)) for k in chosen}
    disc = {k.code: draw(st.sampled_from(DISCLOSURE_LEVELS)) for k in chosen}
    member = draw(st.sampled_from(sorted(TEST_MEMBERS)))
    cycle = draw(st.integers(2000, 2100))
    return tidy_frame(values, disc, member=member, cycle=cycle)


@settings(max_examples=20, deadline=None)
@given(valid_returns())
def test_property_valid_returns_come_out_unchanged(frame) -> None:
    fractions = frame["kpi"].map(lambda c: FW.kpi(c).unit == "%")
    if len(frame[fractions]) >= 3 and (frame.loc[fractions, "value"] <= 1).all():
        return  # the shares-as-fractions rule rightly rejects these; tested in the corpus
    obs, warnings = validate_returns(frame, framework=FW, members=TEST_MEMBERS)
    below_one = fractions & (frame["value"] > 0) & (frame["value"] < 1)
    # a % value below 1 is kept as written in a CSV return, with a warning naming it (never silently)
    assert len(warnings) == int(below_one.sum())
    assert all("below one per cent" in w.message for w in warnings)
    got = obs.set_index("kpi")
    want = frame.set_index("kpi")
    assert list(got.index) == [c for c in KPI_CODES if c in want.index]
    np.testing.assert_array_equal(got["value"].to_numpy(), want.loc[got.index, "value"].to_numpy())
    assert (got["disclosure"] == want.loc[got.index, "disclosure"]).all()


def test_single_row_and_all_missing_kpi() -> None:
    one = tidy_frame({"K05": 10.0})
    with pytest.raises(InputError, match="mandatory KPI"):
        validate_returns(one, members=TEST_MEMBERS)
    obs, _ = validate_returns(one, members=TEST_MEMBERS, options=IngestOptions(missing_required="warn"))
    assert obs[["kpi", "value"]].values.tolist() == [["K05", 10.0]]
    vals: dict[str, float | None] = dict(good_values(FW))
    two = pd.concat([tidy_frame(vals, member=m) for m in ("SEN", "FRA")], ignore_index=True)
    two.loc[two["kpi"] == "K06", "value"] = np.nan  # an optional KPI nobody reported
    obs, _ = validate_returns(two, members=TEST_MEMBERS)
    assert "K06" not in set(obs["kpi"]) and len(obs) == 100


# ----------------------------------------------------------------------------------------------
# Languages: one catalogue, three questionnaires, identical ingest
# ----------------------------------------------------------------------------------------------

def test_french_and_spanish_questionnaires_ingest_identically_to_english(tmp_path: Path) -> None:
    """The same answers typed into the English, French and Spanish templates give the same processed tables."""
    from bad_inputs.corpus import fill_open, lang_template_bytes

    extra = {"K05": {"value": None, "status": {"en": "not applicable", "fr": "sans objet", "es": "no aplica"}},
             "K06": {"value": None, "status": {"en": "not available", "fr": "non disponible", "es": "no disponible"},
                     "comment": "encuesta en curso"},
             "K02": {"validation": {"en": "validated", "fr": "validée", "es": "validado"},
                     "data_source": "ASYCUDA World", "comment": "port de Dakar"},
             "K03": {"validation": {"en": "peer-reviewed", "fr": "examinée par les pairs", "es": "revisado por pares"}}}
    results = {}
    for lang in ("en", "fr", "es"):
        d = tmp_path / lang
        d.mkdir()
        p = d / "sen.xlsx"
        p.write_bytes(lang_template_bytes(lang))
        cells = {k: {f: (v[lang] if isinstance(v, dict) else v) for f, v in fs.items()} for k, fs in extra.items()}
        fill_open(p, extra=cells)
        res = ingest([p], processed_dir=d / "processed", members=TEST_MEMBERS, with_reference=False)
        assert res.warnings == []
        results[lang] = {name: pd.read_parquet(d / "processed" / f"{name}.parquet")
                         for name in ("observations", "non_responses", "respondents")}
    for lang in ("fr", "es"):
        for name in ("observations", "non_responses"):
            pd.testing.assert_frame_equal(results[lang][name], results["en"][name])
        assert results[lang]["respondents"]["language"].tolist() == [lang]
    obs = results["en"]["observations"].set_index("kpi")
    assert obs.loc["K02", ["validation", "data_source", "comment"]].tolist() == ["validated", "ASYCUDA World",
                                                                               "port de Dakar"]
    assert obs.loc["K03", "validation"] == "peer_reviewed" and obs["disclosure_chosen"].all()
    non = results["en"]["non_responses"].set_index("kpi")
    assert non["status"].to_dict() == {"K05": "not_applicable", "K06": "not_available"}
    assert non.loc["K06", "comment"] == "encuesta en curso"


def test_respondent_contact_stays_internal(tmp_path: Path) -> None:
    """Contact name and e-mail reach respondents.parquet (audience: internal), never the observations."""
    p = filled_workbook(tmp_path / "sen.xlsx")
    out = tmp_path / "processed"
    res = ingest([p], processed_dir=out, members=TEST_MEMBERS, with_reference=False)
    resp = pd.read_parquet(out / "respondents.parquet")
    assert resp[["member", "cycle", "contact", "email"]].values.tolist() == [
        ["SEN", 2024, "Test contact", "contact@douanes.example"]]
    obs = pd.read_parquet(out / "observations.parquet")
    assert not obs.astype(str).isin(["Test contact", "contact@douanes.example"]).any().any()
    assert "internal" in res.manifest["audiences"]["respondents.parquet"]
    from pmm_lib.inputs.data import load_observations
    assert list(load_observations(out / "observations.parquet").columns) == list(OBSERVATION_COLUMNS)


def test_bundled_returns_keep_their_contract_and_flag_small_percentages() -> None:
    """The bundled CSV: every value kept; % values below 1 are flagged below_one_percent, never silently."""
    res = read_returns([BUNDLED])
    obs = res.observations
    units = obs["kpi"].map({k.code: k.unit for k in FW.kpis})
    small = (units == "%") & (obs["value"] > 0) & (obs["value"] < 1)
    assert small.any()
    assert obs.loc[small, "flag"].str.contains("below_one_percent").all()
    assert not obs.loc[~small, "flag"].str.contains("below_one_percent").any()
    assert sum("below one per cent" in w.message for w in res.warnings) == int(small.sum())


def test_formula_without_result_is_reported_once(tmp_path: Path) -> None:
    p = filled_workbook(tmp_path / "f.xlsx", edit=lambda wb, fw: wb["TF"].__setitem__(f"I{kpi_row(wb['TF'], 'K01')}",
                                                                                      "=1+1"))
    with pytest.raises(InputError) as info:
        read_returns([p], members=TEST_MEMBERS)
    assert [i.message for i in info.value.issues] == [f"cell I{kpi_row(openpyxl.load_workbook(p)['TF'], 'K01')} "
                                                      "holds a formula with no stored result"]
