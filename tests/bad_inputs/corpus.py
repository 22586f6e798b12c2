"""The bad-input corpus: questionnaires and CSV returns that ingest must reject (or fix with a warning).

Each :class:`Case` builds its input file(s) into a folder and says what ingest must do:
:class:`Reject` (an InputError one of whose issues names this sheet/row/column and says this
message and expected text) or :class:`Accept` (a warning is recorded and the listed values come
out). Workbooks are generated from ``pmm template`` and edited with openpyxl (so the corpus
follows the framework); CSV cases are small committed files in ``csv/`` written by
:func:`write_csv_files` (run ``python tests/bad_inputs/build_corpus.py --csv`` to regenerate
them, or ``python tests/bad_inputs/build_corpus.py OUTDIR`` to write every case for a look).
"""

from __future__ import annotations

import functools
import io
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl

from pmm_lib.inputs.framework import Framework, load_framework
from pmm_lib.inputs.ingest import HEADER_ROW, write_template
from pmm_lib.inputs.ingest.catalogue import COLUMNS

#: Dimension-sheet column number of each field in the generated template (value -> 9).
COL = {f: i for i, f in enumerate(COLUMNS, 1)}

CSV_DIR = Path(__file__).parent / "csv"
MEMBER, CYCLE = "SEN", 2024
#: Member codes the tests accept (a fixed list keeps the corpus independent of the data files).
TEST_MEMBERS = frozenset({"SEN", "FRA", "BRA", "JPN", "KEN", "NAM", "CIV", "DEU", "USA", "CAN", "IND", "CHN",
                          "MAR", "EGY", "ZAF", "ARG", "MEX", "AUS", "GBR", "ITA"})
SOURCE_NAME = "Direction générale des douanes (Sénégal)"


@dataclass(frozen=True)
class Reject:
    """Ingest must raise InputError with an issue matching these parts (None = not checked)."""

    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    expected: str | None = None
    file: str | None = None  # default: the case's first file


@dataclass(frozen=True)
class Accept:
    """Ingest must succeed, record a warning containing ``warning``, and yield ``values``."""

    warning: str | None
    values: dict[str, float] = field(default_factory=dict)
    absent: tuple[str, ...] = ()
    source: str | None = None
    disclosure: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], list[Path]]
    expect: Reject | Accept


# ----------------------------------------------------------------------------------------------
# Known good values
# ----------------------------------------------------------------------------------------------

def good_values(fw: Framework | None = None) -> dict[str, float]:
    """A plausible value for every KPI: lower + (upper - lower) * f, f cycling 0.25..0.75, 2 dp."""
    fw = fw or load_framework()
    out = {}
    for i, k in enumerate(fw.kpis):
        f = 0.25 + 0.05 * (i % 11)
        out[k.code] = round(k.lower + (k.upper - k.lower) * f, 2)
    return out


def good_disclosures(fw: Framework | None = None) -> dict[str, str]:
    """Framework defaults, with a few changed (so the round trip proves they are read)."""
    fw = fw or load_framework()
    out = {k.code: k.disclosure for k in fw.kpis}
    out.update({"K01": "restricted", "K03": "wco", "K13": "public"})
    return out


# ----------------------------------------------------------------------------------------------
# Workbook helpers
# ----------------------------------------------------------------------------------------------

def kpi_row(ws: Any, code: str) -> int:
    for r in range(HEADER_ROW + 1, ws.max_row + 1):
        if ws.cell(row=r, column=1).value == code:
            return r
    raise KeyError(code)


def sheet_of(fw: Framework, code: str) -> str:
    parent = fw.kpi(code).parent
    return next(o.parent for o in fw.outcomes if o.code == parent)


@functools.cache
def template_bytes() -> bytes:
    """The blank questionnaire, generated once per session."""
    with tempfile.TemporaryDirectory() as d:
        return write_template(Path(d) / "template.xlsx").read_bytes()


def filled_workbook(path: Path, *, member: Any = MEMBER, cycle: Any = CYCLE, values: dict[str, Any] | None = None,
                    disclosures: dict[str, Any] | None = None,
                    edit: Callable[[openpyxl.Workbook, Framework], None] | None = None) -> Path:
    """Write the template to ``path``, fill it (values: KPI -> cell value; None = empty), edit, save."""
    fw = load_framework()
    path.write_bytes(template_bytes())
    wb = openpyxl.load_workbook(path)
    rs = wb["Respondent"]
    rs["B3"], rs["B4"], rs["B5"] = member, cycle, "Test contact"
    vals = good_values(fw) if values is None else values
    disc = good_disclosures(fw) if disclosures is None else disclosures
    for d in fw.dimensions:
        ws = wb[d.code]
        for r in range(HEADER_ROW + 1, ws.max_row + 1):
            code = ws.cell(row=r, column=1).value
            if code in vals:
                ws.cell(row=r, column=COL["value"]).value = vals[code]
            if code in disc:
                ws.cell(row=r, column=COL["disclosure"]).value = disc[code]
    if edit is not None:
        edit(wb, fw)
    wb.save(path)
    return path


def set_cell(code: str, column: int, value: Any, number_format: str | None = None):
    def edit(wb: openpyxl.Workbook, fw: Framework) -> None:
        ws = wb[sheet_of(fw, code)]
        c = ws.cell(row=kpi_row(ws, code), column=column)
        c.value = value
        if number_format:
            c.number_format = number_format
    return edit


def xlsx(name: str, **kw: Any) -> Callable[[Path], list[Path]]:
    return lambda d: [filled_workbook(d / f"{name}.xlsx", **kw)]


def with_value(code: str, value: Any, number_format: str | None = None) -> dict[str, Any]:
    return {"edit": set_cell(code, COL["value"], value, number_format)}


def _row_of(code: str) -> int:
    fw = load_framework()
    s = sheet_of(fw, code)
    codes = [k.code for k in fw.kpis if sheet_of(fw, k.code) == s]
    return HEADER_ROW + 1 + codes.index(code)


# --- special workbook builders ----------------------------------------------------------------

def _edit_delete_sheet(name: str):
    return lambda wb, fw: wb.remove(wb[name])


def _edit_rename_sheet(old: str, new: str):
    def edit(wb: openpyxl.Workbook, fw: Framework) -> None:
        wb[old].title = new
    return edit


def _edit_rename_header(sheet: str, old: str, new: str):
    def edit(wb: openpyxl.Workbook, fw: Framework) -> None:
        ws = wb[sheet]
        for c in ws[HEADER_ROW]:
            if c.value == old:
                c.value = new
    return edit


def _edit_merge(sheet: str, rng: str):
    return lambda wb, fw: wb[sheet].merge_cells(rng)


def _edit_delete_kpi_row(code: str):
    def edit(wb: openpyxl.Workbook, fw: Framework) -> None:
        ws = wb[sheet_of(fw, code)]
        ws.delete_rows(kpi_row(ws, code))
    return edit


def _edit_fractions(wb: openpyxl.Workbook, fw: Framework) -> None:
    for k in fw.kpis:
        if k.unit == "%" and k.lower >= 0:
            ws = wb[sheet_of(fw, k.code)]
            c = ws.cell(row=kpi_row(ws, k.code), column=COL["value"])
            if isinstance(c.value, int | float):
                c.value = round(c.value / 100.0, 4)


def _edit_chartsheet(wb: openpyxl.Workbook, fw: Framework) -> None:
    idx = wb.sheetnames.index("RC")
    wb.remove(wb["RC"])
    wb.create_chartsheet("RC", idx)


def _formula_with_cache(d: Path) -> list[Path]:
    """A formula whose cached result Excel stored (openpyxl cannot write one: patch the XML)."""
    path = filled_workbook(d / "formula_cached.xlsx", **with_value("K01", "=10*2"))
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if b"<f>10*2</f><v />" in data:
                data = data.replace(b"<f>10*2</f><v />", b"<f>10*2</f><v>20</v>")
            zout.writestr(item, data)
    path.write_bytes(buf.getvalue())
    return [path]


def _empty_workbook(d: Path) -> list[Path]:
    p = d / "empty_workbook.xlsx"
    openpyxl.Workbook().save(p)
    return [p]


def _png_renamed(d: Path) -> list[Path]:
    p = d / "scan.xlsx"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64))
    return [p]


def _docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def _docx_renamed(d: Path) -> list[Path]:
    p = d / "letter.xlsx"
    p.write_bytes(_docx_bytes())
    return [p]


def _docx_as_is(d: Path) -> list[Path]:
    p = d / "letter.docx"
    p.write_bytes(_docx_bytes())
    return [p]


def _truncated(d: Path) -> list[Path]:
    p = filled_workbook(d / "truncated.xlsx")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return [p]


def _zero_bytes(d: Path) -> list[Path]:
    p = d / "zero.xlsx"
    p.write_bytes(b"")
    return [p]


def _old_xls(d: Path) -> list[Path]:
    p = d / "old.xlsx"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    return [p]


# ----------------------------------------------------------------------------------------------
# CSV files (committed; regenerate with write_csv_files)
# ----------------------------------------------------------------------------------------------

def csv_rows(member: str = MEMBER, cycle: int = CYCLE) -> list[list[str]]:
    fw = load_framework()
    vals, disc = good_values(fw), good_disclosures(fw)
    return [[member, str(cycle), k.code, f"{vals[k.code]:g}", disc[k.code], SOURCE_NAME, ""] for k in fw.kpis]


HEADER = ["member", "cycle", "kpi", "value", "disclosure", "source", "flag"]


def _text(rows: list[list[str]], header: list[str] = HEADER, sep: str = ",") -> str:
    def q(x: str) -> str:
        return f'"{x}"' if (sep in x or '"' in x) else x
    return "\n".join(sep.join(q(x) for x in r) for r in [header, *rows]) + "\n"


def _mut(rows: list[list[str]], code: str, col: int, value: str) -> list[list[str]]:
    out = [list(r) for r in rows]
    for r in out:
        if r[2] == code:
            r[col] = value
    return out


def csv_files() -> dict[str, bytes]:
    """Name -> bytes of every committed CSV case (deterministic)."""
    rows = csv_rows()
    k01 = next(i for i, r in enumerate(rows) if r[2] == "K01")
    files: dict[str, str | bytes] = {
        "utf8_names.csv": _text(rows),
        "latin1_names.csv": _text(rows).encode("latin-1"),
        "missing_column.csv": _text([r[:4] + r[5:] for r in rows], HEADER[:4] + HEADER[5:]),
        "renamed_column.csv": _text(rows, ["member", "cycle", "kpi", "val", "disclosure", "source", "flag"]),
        "bad_disclosure.csv": _text(_mut(rows, "K03", 4, "secret")),
        "missing_cycle.csv": _text(_mut(rows, "K04", 1, "")),
        "non_integer_cycle.csv": _text(_mut(rows, "K04", 1, "2024.5")),
        "duplicated_row.csv": _text(rows + [rows[k01]]),
        "conflicting_values.csv": _text(rows + [rows[k01][:3] + ["99"] + rows[k01][4:]]),
        "unknown_member.csv": _text([["XKX", *r[1:]] for r in rows]),
        "unknown_kpi.csv": _text(rows + [[MEMBER, str(CYCLE), "K52", "10", "public", "", ""]]),
        "thousands_text.csv": _text(_mut(rows, "K29", 3, "1,234.5")),
        "percent_text.csv": _text(_mut(rows, "K03", 3, "12%")),
        "infinite_value.csv": _text(_mut(rows, "K02", 3, "inf")),
        "skipped_mandatory.csv": _text([r for r in rows if r[2] != "K01"]),
        "semicolons.csv": _text(_mut(rows, "K03", 3, "12.5"), sep=";"),
        "ragged_row.csv": _text(rows[:5]).rstrip("\n") + ",extra,fields\n" + _text(rows[5:]).split("\n", 1)[1],
        "negative_count.csv": _text(_mut(rows, "K11", 3, "-3")),
        "empty_value_mandatory.csv": _text(_mut(rows, "K02", 3, "")),
        "png_renamed.csv": b"\x89PNG\r\n\x1a\n" + bytes(32),
        "other_member_same_values.csv": _text(csv_rows(member="FRA")),
        "conflict_other_file.csv": _text(_mut(rows, "K02", 3, "11")),
        "excel_bom_crlf.csv": b"\xef\xbb\xbf" + _text(rows).replace("\n", "\r\n").encode("utf-8"),
    }
    return {k: v if isinstance(v, bytes) else v.encode("utf-8") for k, v in files.items()}


def write_csv_files(out: Path = CSV_DIR) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in csv_files().items():
        (out / name).write_bytes(data)
        written.append(out / name)
    return written


def csv(*names: str) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        out = []
        for name in names:
            shutil.copyfile(CSV_DIR / name, d / name)
            out.append(d / name)
        return out
    return build


# ----------------------------------------------------------------------------------------------
# The cases
# ----------------------------------------------------------------------------------------------

_VAL = good_values()

CASES: list[Case] = [
    # workbook structure
    Case("missing_sheet", xlsx("missing_sheet", edit=_edit_delete_sheet("RC")),
         Reject("sheet 'RC' is missing", sheet="RC", expected="Respondent, TF, RC, ES, OD")),
    Case("renamed_sheet", xlsx("renamed_sheet", edit=_edit_rename_sheet("ES", "Enforcement")),
         Reject("unexpected: 'Enforcement'", sheet="ES", expected="the sheets of the PMM questionnaire")),
    Case("renamed_value_column", xlsx("renamed_header", edit=_edit_rename_header("TF", "Value", "Valeur")),
         Reject("column 'Value' is missing", sheet="TF", row=HEADER_ROW, column="Value", expected="KPI code | KPI name")),
    Case("merged_cells", xlsx("merged", edit=_edit_merge("TF", "G5:G6")),
         Reject("merged cells G5:G6", sheet="TF", row=5, column="Value", expected="one unmerged cell")),
    # an (empty) chart sheet in place of a dimension sheet: openpyxl cannot read the part back
    Case("chart_sheet", xlsx("chart_sheet", edit=_edit_chartsheet),
         Reject("the workbook cannot be read (AttributeError", expected="an Excel .xlsx workbook")),
    Case("deleted_kpi_row", xlsx("deleted_row", edit=_edit_delete_kpi_row("K02")),
         Reject("mandatory KPI K02", sheet="TF", column="KPI code", expected="rows must not be deleted")),
    Case("empty_workbook", _empty_workbook,
         Reject("sheet 'Respondent' is missing; found sheets 'Sheet'", sheet="Respondent", expected="Respondent, TF")),
    # file type
    Case("png_renamed_xlsx", _png_renamed, Reject("this is a PNG image, not an Excel workbook", expected=".xlsx")),
    Case("docx_renamed_xlsx", _docx_renamed, Reject("this is a Word document, not an Excel workbook", expected=".xlsx")),
    Case("docx_file", _docx_as_is, Reject("unsupported file type .docx", expected=".xlsx")),
    Case("truncated_xlsx", _truncated, Reject("damaged or truncated", expected="a complete .xlsx file")),
    Case("zero_byte_xlsx", _zero_bytes, Reject("an empty file (0 bytes)", expected=".xlsx")),
    Case("old_xls_format", _old_xls, Reject("old-format Office file", expected="Excel Workbook")),
    # KPI codes
    Case("renamed_kpi_code", xlsx("renamed_kpi", edit=set_cell("K07", 1, "K7")),
         Reject("unknown KPI code 'K7'", sheet="TF", row=_row_of("K07"), column="KPI code", expected="K01-K51")),
    Case("duplicated_kpi_code", xlsx("dup_kpi", edit=set_cell("K03", 1, "K02")),
         Reject("KPI code 'K02' appears more than once", sheet="TF", row=_row_of("K03"), column="KPI code",
                expected="each KPI code once")),
    Case("lowercase_kpi_code", xlsx("lower_kpi", edit=set_cell("K04", 1, " k04 ")),
         Accept("read as 'K04'", values={"K04": _VAL["K04"]})),
    # Respondent
    Case("unknown_member", xlsx("unknown_member", member="XKX"),
         Reject("'XKX' is not a WCO Member", sheet="Respondent", row=3, column="Member (ISO3)",
                expected="wco_members.csv")),
    Case("member_name_not_code", xlsx("member_name", member="Senegal"),
         Reject("'SENEGAL' is not an ISO3 code", sheet="Respondent", row=3, column="Member (ISO3)",
                expected="three upper-case letters")),
    Case("missing_cycle", xlsx("missing_cycle", cycle=None),
         Reject("the cycle is missing", sheet="Respondent", row=4, column="Cycle (year)", expected="e.g. 2024")),
    Case("non_integer_cycle", xlsx("cycle_text", cycle="2024/25"),
         Reject("cycle '2024/25' is not a whole year", sheet="Respondent", row=4, column="Cycle (year)",
                expected="e.g. 2024")),
    # cell values
    Case("text_na", xlsx("text_na", **with_value("K01", "n/a")),
         Reject("'n/a' is text, not a number", sheet="TF", row=_row_of("K01"), column="Value",
                expected="an empty cell to skip")),
    Case("text_dash", xlsx("text_dash", **with_value("K02", "\u2013")),
         Reject("'\u2013' is text, not a number", sheet="TF", row=_row_of("K02"), column="Value", expected="a number")),
    Case("thousands_separator_text", xlsx("thousands", **with_value("K29", "1,234.5")),
         Accept("thousands separator", values={"K29": 1234.5})),
    Case("ambiguous_comma", xlsx("ambiguous_comma", **with_value("K29", "1,234")),
         Reject("'1,234' is ambiguous", sheet="ES", row=_row_of("K29"), column="Value", expected="without separators")),
    Case("decimal_comma", xlsx("decimal_comma", **with_value("K02", "12,5")),
         Reject("'12,5' uses a decimal comma", sheet="TF", row=_row_of("K02"), column="Value", expected="12.5")),
    Case("percent_sign_text", xlsx("percent_text", **with_value("K03", "12%")),
         Accept("percent sign", values={"K03": 12.0})),
    Case("percent_sign_in_hours", xlsx("percent_hours", **with_value("K01", "12%")),
         Reject("has a % sign but this KPI is measured in hours", sheet="TF", row=_row_of("K01"), column="Value",
                expected="a number in hours")),
    Case("percent_formatted_cell", xlsx("percent_format", **with_value("K03", 0.85, number_format="0%")),
         Accept("percent format", values={"K03": 85.0})),
    Case("number_as_text", xlsx("number_text", **with_value("K01", "36.5")),
         Accept("number as text", values={"K01": 36.5})),
    Case("shares_as_fractions", xlsx("fractions", edit=_edit_fractions),
         Reject("shares look like fractions", sheet="TF", row=_row_of("K02"), column="Value",
                expected="percentages from 0 to 100")),
    Case("out_of_bounds", xlsx("out_of_bounds", **with_value("K01", 1000)),
         Reject("value 1000 for K01", sheet="TF", row=_row_of("K01"), column="Value", expected="0 to 720 hours")),
    Case("negative_count", xlsx("negative_count", **with_value("K11", -3)),
         Reject("a negative value for K11", sheet="TF", row=_row_of("K11"), column="Value", expected="0 to 200 count")),
    Case("date_in_value", xlsx("date_value", **with_value("K01", __import__("datetime").datetime(2024, 3, 1))),
         Reject("is not a number", sheet="TF", row=_row_of("K01"), column="Value", expected="a number in hours")),
    Case("boolean_in_value", xlsx("bool_value", **with_value("K02", True)),
         Reject("True is not a number", sheet="TF", row=_row_of("K02"), column="Value", expected="a number")),
    Case("formula_without_result", xlsx("formula", **with_value("K01", "=10*2")),
         Reject("holds a formula with no stored result", sheet="TF", row=_row_of("K01"), column="Value",
                expected="a typed value")),
    Case("formula_with_result", _formula_with_cache, Accept("stored result 20 was used", values={"K01": 20.0})),
    Case("skipped_mandatory", xlsx("skipped_mandatory", **with_value("K01", None)),
         Reject("K01 (Average release time for imports) is mandatory but its value is empty", sheet="TF",
                row=_row_of("K01"), column="Value", expected="only KPIs marked 'may skip'")),
    Case("skipped_optional", xlsx("skipped_optional", **with_value("K05", None)),
         Accept(None, values={"K01": _VAL["K01"]}, absent=("K05",))),
    # disclosure
    Case("bad_disclosure", xlsx("bad_disclosure", edit=set_cell("K03", COL["disclosure"], "confidential")),
         Reject("disclosure 'confidential' is not allowed", sheet="TF", row=_row_of("K03"), column="Disclosure",
                expected="public or wco or restricted")),
    Case("empty_disclosure", xlsx("empty_disclosure", edit=set_cell("K03", COL["disclosure"], None)),
         Reject("the disclosure level is empty", sheet="TF", row=_row_of("K03"), column="Disclosure",
                expected="never guessed")),
    Case("disclosure_synonym", xlsx("wco_only", edit=set_cell("K03", COL["disclosure"], "WCO-only")),
         Accept("read as 'wco'", disclosure={"K03": "wco"})),
    # CSV returns
    Case("csv_utf8_names", csv("utf8_names.csv"), Accept(None, values={"K01": _VAL["K01"]}, source=SOURCE_NAME)),
    Case("csv_latin1_names", csv("latin1_names.csv"),
         Accept("decoded as Windows-1252", values={"K01": _VAL["K01"]}, source=SOURCE_NAME)),
    Case("csv_missing_column", csv("missing_column.csv"),
         Reject("required column 'disclosure' is missing", row=1, column="disclosure", expected="member, cycle, kpi")),
    Case("csv_renamed_column", csv("renamed_column.csv"),
         Reject("required column 'value' is missing; header is member, cycle, kpi, val", row=1, column="value",
                expected="member, cycle, kpi, value, disclosure")),
    Case("csv_bad_disclosure", csv("bad_disclosure.csv"),
         Reject("disclosure 'secret' is not allowed", row=4, column="disclosure", expected="public or wco")),
    Case("csv_missing_cycle", csv("missing_cycle.csv"),
         Reject("the cycle is missing", row=5, column="cycle", expected="a whole year")),
    Case("csv_non_integer_cycle", csv("non_integer_cycle.csv"),
         Reject("cycle '2024.5' is not a whole year", row=5, column="cycle", expected="a whole year")),
    Case("csv_duplicated_row", csv("duplicated_row.csv"), Accept("duplicate of row 2", values={"K01": _VAL["K01"]})),
    Case("csv_conflicting_values", csv("conflicting_values.csv"),
         Reject("conflicting values for SEN 2024 K01: 99 (restricted) here and", row=53, column="value",
                expected="one value per Member, cycle and KPI")),
    Case("csv_unknown_member", csv("unknown_member.csv"),
         Reject("'XKX' is not a WCO Member", row=2, column="member", expected="wco_members.csv")),
    Case("csv_unknown_kpi", csv("unknown_kpi.csv"),
         Reject("unknown KPI code 'K52'", row=53, column="kpi", expected="K01-K51")),
    Case("csv_thousands_text", csv("thousands_text.csv"), Accept("thousands separator", values={"K29": 1234.5})),
    Case("csv_percent_text", csv("percent_text.csv"), Accept("percent sign", values={"K03": 12.0})),
    Case("csv_infinite_value", csv("infinite_value.csv"),
         Reject("text 'inf' is not a number", row=3, column="value", expected="a number in %")),
    Case("csv_skipped_mandatory", csv("skipped_mandatory.csv"),
         Reject("SEN 2024: mandatory KPI(s) K01 have no row", column="kpi", expected="every KPI not marked optional")),
    Case("csv_empty_mandatory_value", csv("empty_value_mandatory.csv"),
         Reject("K02 (Share of declarations released within 24 hours) is mandatory but its value is empty", row=3,
                column="value", expected="0 to 100")),
    Case("csv_negative_count", csv("negative_count.csv"),
         Reject("a negative value for K11", row=12, column="value", expected="0 to 200 count")),
    Case("csv_semicolons", csv("semicolons.csv"), Accept("separated by ';'", values={"K03": 12.5})),
    Case("csv_ragged_row", csv("ragged_row.csv"), Reject("cannot be parsed", row=6, expected="same number of")),
    Case("csv_png_renamed", csv("png_renamed.csv"), Reject("this is a PNG image, not a CSV text file",
                                                           expected="comma-separated UTF-8 text")),
    Case("csv_excel_bom_crlf", csv("excel_bom_crlf.csv"), Accept(None, values={"K01": _VAL["K01"]}, source=SOURCE_NAME)),
    Case("csv_two_members", csv("utf8_names.csv", "other_member_same_values.csv"),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("csv_conflict_across_files", csv("utf8_names.csv", "conflict_other_file.csv"),
         Reject("conflicting values for SEN 2024 K02: 11 here and", row=3, column="value",
                expected="across all files", file="conflict_other_file.csv")),
]
