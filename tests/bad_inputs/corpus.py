"""The bad-input corpus: questionnaires and CSV returns with the mistakes Customs officers make.

Each :class:`Case` builds its input file(s) into a folder, belongs to a category (structure,
values, units, identity, files, encodings, sizes, kept) and says what ingest must do:
:class:`Reject` (an InputError one of whose issues names this sheet/row/column and says this
message and expected text) or :class:`Accept` (the documented warning is recorded and the listed
values - and what the Member wrote beside them - come out). Workbooks are generated from
``pmm template`` and edited with openpyxl (so the corpus follows the framework); CSV cases are
small committed files in ``csv/`` written by :func:`write_csv_files` (run
``python tests/bad_inputs/build_corpus.py --csv`` to regenerate them, or
``python tests/bad_inputs/build_corpus.py OUTDIR`` to write every case for a look).
``python tests/bad_inputs/tally.py`` prints the counts (tried / precise / imprecise / silently
wrong / crashed / data changed) per category.
"""

from __future__ import annotations

import functools
import io
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl

from pmm_lib.inputs.framework import Framework, load_framework
from pmm_lib.inputs.ingest import HEADER_ROW, IngestOptions, write_template
from pmm_lib.inputs.ingest.catalogue import COLUMNS

#: Dimension-sheet column number of each field in the generated template (value -> 9).
COL = {f: i for i, f in enumerate(COLUMNS, 1)}
CSV_DIR = Path(__file__).parent / "csv"
MEMBER, CYCLE = "SEN", 2024
#: Member codes the tests accept (a fixed list keeps the corpus independent of the data files).
TEST_MEMBERS = frozenset({"SEN", "FRA", "BRA", "JPN", "KEN", "NAM", "CIV", "DEU", "USA", "CAN", "IND", "CHN",
                          "MAR", "EGY", "ZAF", "ARG", "MEX", "AUS", "GBR", "ITA"})
SOURCE_NAME = "Direction générale des douanes (Sénégal)"
CATEGORIES = ("structure", "values", "units", "identity", "files", "encodings", "sizes", "kept")


@dataclass(frozen=True)
class Reject:
    """Ingest must raise InputError with an issue matching these parts (None = the issue has none)."""

    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    expected: str | None = None
    file: str | None = None  # default: the case's first file


@dataclass(frozen=True)
class Accept:
    """Ingest must succeed, record a warning containing ``warning`` (None: no warning), and yield ``values``.

    ``columns`` checks what the Member wrote beside a value (KPI -> {column: value}),
    ``non_responses`` the reasons for missing values (KPI -> status), ``respondent`` the
    internal respondents table.
    """

    warning: str | None
    values: dict[str, float] = field(default_factory=dict)
    absent: tuple[str, ...] = ()
    source: str | None = None
    disclosure: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    non_responses: dict[str, str] = field(default_factory=dict)
    respondent: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    build: Callable[[Path], list[Path]]
    expect: Reject | Accept
    options: IngestOptions | None = None


# ----------------------------------------------------------------------------------------------
# Known good values
# ----------------------------------------------------------------------------------------------

def good_values(fw: Framework | None = None) -> dict[str, float]:
    """A plausible value for every KPI: lower + (upper - lower) * f, f cycling 0.25..0.75, 2 dp."""
    fw = fw or load_framework()
    out = {}
    for i, k in enumerate(fw.kpis):
        f = 0.25 + 0.05 * (i % 11)
        x = k.lower + (k.upper - k.lower) * f
        out[k.code] = float(round(x)) if k.unit == "count" else round(x, 2)
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
    rs["B3"], rs["B4"], rs["B5"], rs["B6"] = member, cycle, "Test contact", "contact@douanes.example"
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
    """An Excel 97-2003 compound file (its directory names the 'Workbook' stream)."""
    p = d / "old.xlsx"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "Workbook".encode("utf-16-le") + bytes(64))
    return [p]


def _encrypted(d: Path) -> list[Path]:
    """A password-protected workbook: Excel writes a compound file with EncryptionInfo/EncryptedPackage."""
    p = d / "protected.xlsx"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptionInfo".encode("utf-16-le")
                  + bytes(50) + "EncryptedPackage".encode("utf-16-le") + bytes(512))
    return [p]


def _named_bytes(name: str, data: bytes) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        (d / name).write_bytes(data)
        return [d / name]
    return build


def _ods_renamed(d: Path) -> list[Path]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    p = d / "calc.xlsx"
    p.write_bytes(buf.getvalue())
    return [p]


def _folder_with(*names: str, good: bool = False) -> Callable[[Path], list[Path]]:
    """A folder holding files of these names (and a good workbook when ``good``); the folder is the input."""
    def build(d: Path) -> list[Path]:
        folder = d / "returns"
        folder.mkdir()
        for n in names:
            (folder / n).write_bytes(b"\xd0\xcf\x11\xe0" + bytes(60) if n.endswith(".xls") else b"PK\x03\x04" + bytes(60))
        if good:
            filled_workbook(folder / "sen.xlsx")
        return [folder]
    return build


def _copied_hidden_sheet(wb: openpyxl.Workbook, fw: Framework) -> None:
    """The officer copies TF to 'TF (2)', types the values there and hides the original."""
    wb.security.lockStructure = False
    copy = wb.copy_worksheet(wb["TF"])
    copy.title = "TF (2)"
    ws = wb["TF"]
    for r in range(HEADER_ROW + 1, ws.max_row + 1):
        ws.cell(row=r, column=COL["value"]).value = None  # the stale original
    ws.sheet_state = "hidden"


def _second_value_column(wb: openpyxl.Workbook, fw: Framework) -> None:
    ws = wb["TF"]
    ws.insert_cols(COL["value"])
    ws.cell(row=HEADER_ROW, column=COL["value"]).value = "Value"
    for r in range(HEADER_ROW + 1, ws.max_row + 1):
        ws.cell(row=r, column=COL["value"]).value = 1.0


def _blank_column_before_value(wb: openpyxl.Workbook, fw: Framework) -> None:
    wb["TF"].insert_cols(COL["value"])


def _row_above_header(wb: openpyxl.Workbook, fw: Framework) -> None:
    wb["RC"].insert_rows(1)


def _reorder_sheets(wb: openpyxl.Workbook, fw: Framework) -> None:
    wb._sheets.sort(key=lambda ws: ws.title, reverse=True)  # noqa: SLF001


def _hide_sheet(name: str):
    def edit(wb: openpyxl.Workbook, fw: Framework) -> None:
        wb[name].sheet_state = "hidden"
    return edit


def _extra_sheet(wb: openpyxl.Workbook, fw: Framework) -> None:
    wb.create_sheet("Notes")["A1"] = "Figures for K29 are provisional"


def _strip_stamps(wb: openpyxl.Workbook, fw: Framework) -> None:
    for ws in wb.worksheets:
        ws["Z1"] = None


def _old_version(wb: openpyxl.Workbook, fw: Framework) -> None:
    for ws in wb.worksheets:
        if isinstance(ws["Z1"].value, str):
            ws["Z1"] = ws["Z1"].value.replace(f"framework={fw.version}", "framework=0.9")
    wb["Respondent"]["B8"] = "0.9"
    set_cell("K01", COL["unit"], "days")(wb, fw)


def _unmerge_free_merge(rng: str, sheet: str = "Respondent"):
    return lambda wb, fw: wb[sheet].merge_cells(rng)


def _many_blank_formatted_rows(wb: openpyxl.Workbook, fw: Framework) -> None:
    ws = wb["OD"]
    ws.cell(row=5000, column=COL["comment"]).number_format = "0.00"
    ws.cell(row=5000, column=COL["comment"]).value = None


def _big_workbook(d: Path) -> list[Path]:
    """A 70 MB workbook (pictures pasted in): the size is checked before anything is read."""
    p = filled_workbook(d / "big.xlsx")
    with open(p, "r+b") as fh:
        fh.truncate(70 * 1024 * 1024)
    return [p]


def _zip_bomb(d: Path) -> list[Path]:
    """A workbook whose central directory says a part inflates to 2 GiB (a zip bomb's signature)."""
    p = filled_workbook(d / "bomb.xlsx")
    data = bytearray(p.read_bytes())
    i = data.find(b"PK\x01\x02")
    while i != -1:
        name_len = struct.unpack_from("<H", data, i + 28)[0]
        if data[i + 46: i + 46 + name_len].startswith(b"xl/worksheets/"):
            struct.pack_into("<I", data, i + 24, 0x7FFF0000)
            break
        i = data.find(b"PK\x01\x02", i + 4)
    p.write_bytes(bytes(data))
    return [p]


def _two_languages(d: Path) -> list[Path]:
    """A French and a Spanish questionnaire filled in for two Members."""
    out = []
    for member, lang in (("SEN", "fr"), ("ARG", "es")):
        path = d / f"{member.lower()}_{lang}.xlsx"
        path.write_bytes(lang_template_bytes(lang))
        fill_open(path, member=member)
        out.append(path)
    return out


@functools.cache
def lang_template_bytes(lang: str) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        return write_template(Path(d) / "t.xlsx", lang=lang).read_bytes()


def fill_open(path: Path, *, member: str = MEMBER, cycle: int = CYCLE, values: dict[str, Any] | None = None,
              extra: dict[str, dict[str, Any]] | None = None) -> Path:
    """Fill a questionnaire of any language in place (Respondent = second sheet, dimensions by code)."""
    fw = load_framework()
    wb = openpyxl.load_workbook(path)
    rs = wb.worksheets[1]
    rs["B3"], rs["B4"], rs["B5"], rs["B6"] = member, cycle, "Test contact", "contact@douanes.example"
    vals = good_values(fw) if values is None else values
    disc = good_disclosures(fw)
    lang = wb["TF"]["Z1"].value.rsplit("lang=", 1)[1]
    from pmm_lib.inputs.ingest.catalogue import CHOICES  # noqa: PLC0415
    for dim in fw.dimensions:
        ws = wb[dim.code]
        for r in range(HEADER_ROW + 1, ws.max_row + 1):
            code = ws.cell(row=r, column=1).value
            if code in vals:
                ws.cell(row=r, column=COL["value"]).value = vals[code]
            if code in disc:
                ws.cell(row=r, column=COL["disclosure"]).value = CHOICES["disclosure"][disc[code]][lang][0]
            for f, v in (extra or {}).get(code, {}).items():
                ws.cell(row=r, column=COL[f]).value = v
    wb.save(path)
    return path


def _french_filled(d: Path) -> list[Path]:
    p = d / "sen_fr.xlsx"
    p.write_bytes(lang_template_bytes("fr"))
    return [fill_open(p, extra={"K05": {"value": None, "status": "sans objet", "comment": "pas de programme OEA"},
                                "K02": {"validation": "validée", "data_source": "SYDONIA World"}})]


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
        return f'"{x}"' if (sep in x or '"' in x or "\n" in x) else x
    return "\n".join(sep.join(q(x) for x in r) for r in [header, *rows]) + "\n"


def _mut(rows: list[list[str]], code: str, col: int, value: str) -> list[list[str]]:
    out = [list(r) for r in rows]
    for r in out:
        if r[2] == code:
            r[col] = value
    return out


def _with(rows: list[list[str]], extra: dict[str, dict[str, str]], columns: list[str]) -> tuple[list[list[str]], list[str]]:
    out = [r + [extra.get(r[2], {}).get(c, "") for c in columns] for r in rows]
    return out, HEADER + columns


def csv_files() -> dict[str, bytes]:
    """Name -> bytes of every committed CSV case (deterministic)."""
    rows = csv_rows()
    k01 = next(i for i, r in enumerate(rows) if r[2] == "K01")
    kept_rows, kept_header = _with(_mut(rows, "K05", 3, ""), {
        "K01": {"data_source": "ASYCUDA World extraction", "validation": "validated", "comment": "provisional"},
        "K02": {"validation": "Peer reviewed"},
        "K05": {"status": "not applicable", "comment": "no AEO programme yet"},
    }, ["data_source", "validation", "comment", "status"])
    blank_lines = _text(rows[:2]) + "\n\n" + _text(_mut(rows[2:], "K04", 4, "secret")).split("\n", 1)[1]
    multiline_rows, multiline_header = _with(_mut(rows, "K06", 4, "secret"),
                                             {"K02": {"comment": "figure revised\nafter audit"}}, ["comment"])
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
        "semicolons_decimal_comma.csv": _text(_mut(rows, "K03", 3, "12,5"), sep=";"),
        "tabs.csv": _text(rows, sep="\t"),
        "ragged_row.csv": _text(rows[:5]).rstrip("\n") + ",extra,fields\n" + _text(rows[5:]).split("\n", 1)[1],
        "negative_count.csv": _text(_mut(rows, "K11", 3, "-3")),
        "empty_value_mandatory.csv": _text(_mut(rows, "K02", 3, "")),
        "png_renamed.csv": b"\x89PNG\r\n\x1a\n" + bytes(32),
        "other_member_same_values.csv": _text(csv_rows(member="FRA")),
        "conflict_other_file.csv": _text(_mut(rows, "K02", 3, "11")),
        "excel_bom_crlf.csv": b"\xef\xbb\xbf" + _text(rows).replace("\n", "\r\n").encode("utf-8"),
        "cr_only.csv": _text(rows).replace("\n", "\r"),
        "cr_only_bad_disclosure.csv": _text(_mut(rows, "K03", 4, "secret")).replace("\n", "\r"),
        "blank_lines.csv": blank_lines,
        "fullwidth_digits.csv": _text(_mut(rows, "K01", 3, "\uff13\uff16\uff0e\uff15")),
        "arabic_indic_digits.csv": _text(_mut(rows, "K01", 3, "\u0663\u0666\u066b\u0665")),
        "persian_digits_cycle.csv": _text([[r[0], "\u06f2\u06f0\u06f2\u06f4", *r[2:]] for r in rows]),
        "utf16.csv": _text(rows).encode("utf-16"),
        "two_fractions.csv": _text(_mut(_mut(rows, "K03", 3, "0.85"), "K04", 3, "0.9")),
        "count_dot_thousands.csv": _text(_mut(rows, "K11", 3, "1.234")),
        "ambiguous_comma.csv": _text(_mut(rows, "K29", 3, "1,234")),
        "ambiguous_dot.csv": _text(_mut(rows, "K29", 3, "1.234")),
        "cycle_24.csv": _text([[r[0], "24", *r[2:]] for r in rows]),
        "kept_columns.csv": _text(kept_rows, kept_header),
        "unit_column_ok.csv": _text(*_with(rows, {k.code: {"unit": k.unit} for k in load_framework().kpis},
                                           ["unit"])),
        "unit_column_days.csv": _text(*_with(rows, {"K01": {"unit": "days"}}, ["unit"])),
        "multiline_comment.csv": _text(multiline_rows, multiline_header),
        "unknown_extra_column.csv": _text(*_with(rows, {"K01": {"remarks2": "see letter"}}, ["remarks2"])),
        "status_with_value.csv": _text(*_with(rows, {"K02": {"status": "not available"}}, ["status"])),
        "bad_validation.csv": _text(*_with(rows, {"K02": {"validation": "checked"}}, ["validation"])),
        "blank_disclosure.csv": _text(_mut(rows, "K03", 4, "")),
        "short_rows.csv": "\n".join(",".join(r[:5]) for r in [HEADER[:5] + ["source"], *rows]) + "\n",
        "nul_bytes.csv": _text(rows[:3]).encode() + b"\x00\x00" + bytes(10),
        "xlsx_renamed.csv": b"PK\x03\x04" + bytes(64),
        "value_with_unit_text.csv": _text(_mut(rows, "K01", 3, "36 hours")),
    }
    return {k: v if isinstance(v, bytes) else v.encode("utf-8") for k, v in files.items()}


def write_csv_files(out: Path = CSV_DIR) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.csv"):
        old.unlink()
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


def _big_csv(d: Path) -> list[Path]:
    p = d / "big.csv"
    p.write_bytes(csv_files()["utf8_names.csv"] * 40)  # ~200 KB, above the 100 KB limit set for the case
    return [p]


# ----------------------------------------------------------------------------------------------
# The cases
# ----------------------------------------------------------------------------------------------

_VAL = good_values()
_R = _row_of
V, D, S = COL["value"], COL["disclosure"], COL["status"]
_MAX = f"{64 * 1024 * 1024:,} bytes"


def _cell(code: str, **fields: Any):
    """Edit several cells of one KPI row (field name -> value)."""
    def edit(wb: openpyxl.Workbook, fw: Framework) -> None:
        for f, v in fields.items():
            set_cell(code, COL[f], v)(wb, fw)
    return edit


def _edits(*edits: Callable[[openpyxl.Workbook, Framework], None]):
    def edit(wb: openpyxl.Workbook, fw: Framework) -> None:
        for e in edits:
            e(wb, fw)
    return edit


def _cycle_date(d: Path) -> list[Path]:
    import datetime as dt  # noqa: PLC0415
    return [filled_workbook(d / "cycle_date.xlsx", cycle=dt.datetime(2024, 1, 1))]


def _xlsm(d: Path) -> list[Path]:
    p = filled_workbook(d / "sen.xlsx")
    q = p.with_suffix(".xlsm")
    p.rename(q)
    return [q]


def _legacy_old_version(wb: openpyxl.Workbook, fw: Framework) -> None:
    _strip_stamps(wb, fw)
    wb["Respondent"]["B8"] = "WCO Performance Measurement Mechanism (PMM) 0.9"


def _delete_header(sheet: str):
    return lambda wb, fw: wb[sheet].delete_rows(HEADER_ROW)


def _insert_blank_rows(wb: openpyxl.Workbook, fw: Framework) -> None:
    wb["TF"].insert_rows(6, amount=3)


CASES: list[Case] = [
    # ---- structure: sheets, columns, rows, merged cells -----------------------------------
    Case("missing_sheet", "structure", xlsx("missing_sheet", edit=_edit_delete_sheet("RC")),
         Reject("the questionnaire's RC sheet is missing", sheet="RC", expected="Respondent, TF, RC, ES, OD")),
    Case("renamed_sheet", "structure", xlsx("renamed_sheet", edit=_edit_rename_sheet("ES", "Enforcement")),
         Accept("sheet 'Enforcement' read as ES (its identity stamp)", values={"K25": _VAL["K25"]})),
    Case("copied_hidden_sheet", "structure", xlsx("copied_sheet", edit=_copied_hidden_sheet),
         Reject("2 sheets are the questionnaire's TF sheet: 'TF' (hidden), 'TF (2)'", sheet="TF",
                expected="exactly one TF sheet")),
    Case("hidden_sheet", "structure", xlsx("hidden_sheet", edit=_hide_sheet("TF")),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("sheets_reordered", "structure", xlsx("reordered", edit=_reorder_sheets),
         Accept(None, values={"K01": _VAL["K01"], "K51": _VAL["K51"]})),
    Case("renamed_respondent_sheet", "structure", xlsx("renamed_resp", edit=_edit_rename_sheet("Respondent", "Contact")),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("deleted_respondent_sheet", "structure", xlsx("no_resp", edit=_edit_delete_sheet("Respondent")),
         Reject("the questionnaire's Respondent sheet is missing", sheet="Respondent", expected="do not delete sheets")),
    Case("extra_notes_sheet", "structure", xlsx("extra_sheet", edit=_extra_sheet),
         Accept("sheet 'Notes' is not part of the questionnaire", values={"K01": _VAL["K01"]})),
    Case("old_template_without_stamps", "structure", xlsx("legacy", edit=_strip_stamps),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("renamed_value_column", "structure", xlsx("renamed_header", edit=_edit_rename_header("TF", "Value", "Amount")),
         Reject("column 'Value' is missing", sheet="TF", row=HEADER_ROW, column="Value", expected="KPI code | KPI name")),
    Case("second_value_column", "structure", xlsx("two_value_cols", edit=_second_value_column),
         Reject("2 columns are headed 'Value' (columns I and J)", sheet="TF", row=HEADER_ROW, column="Value",
                expected="delete the column you inserted")),
    Case("blank_column_before_value", "structure", xlsx("blank_col", edit=_blank_column_before_value),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("row_above_header", "structure", xlsx("row_above", edit=_row_above_header),
         Accept(None, values={"K14": _VAL["K14"]})),
    Case("blank_rows_between_kpis", "structure", xlsx("blank_rows", edit=_insert_blank_rows),
         Accept(None, values={"K03": _VAL["K03"], "K13": _VAL["K13"]})),
    Case("deleted_header_row", "structure", xlsx("no_header", edit=_delete_header("OD")),
         Reject("no header row with a 'KPI code' cell", sheet="OD", expected="in row 3")),
    Case("deleted_unit_column", "structure", xlsx("no_unit", edit=lambda wb, fw: wb["TF"].delete_cols(COL["unit"])),
         Reject("column 'Unit' is missing", sheet="TF", row=HEADER_ROW, column="Unit", expected="KPI code | KPI name")),
    Case("merged_cells", "structure", xlsx("merged", edit=_edit_merge("TF", "I5:I6")),
         Reject("merged cells I5:I6", sheet="TF", row=5, column="Value", expected="one unmerged cell")),
    Case("merged_respondent_cells", "structure", xlsx("merged_resp", edit=_unmerge_free_merge("A4:B4")),
         Reject("cells A4:B4 are merged", sheet="Respondent", row=4, column="A", expected="unmerge the cells")),
    Case("merged_answer_cells_harmless", "structure", xlsx("merged_answer", edit=_unmerge_free_merge("B3:C3")),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("chart_sheet", "structure", xlsx("chart_sheet", edit=_edit_chartsheet),
         Reject("the workbook cannot be read (AttributeError", expected="an Excel .xlsx workbook")),
    Case("deleted_kpi_row", "structure", xlsx("deleted_row", edit=_edit_delete_kpi_row("K02")),
         Reject("mandatory KPI K02", sheet="TF", column="KPI code", expected="rows must not be deleted")),
    Case("empty_workbook", "structure", _empty_workbook,
         Reject("sheet 'Respondent' is missing; found sheets 'Sheet'", sheet="Respondent", expected="Respondent, TF")),
    Case("renamed_kpi_code", "structure", xlsx("renamed_kpi", edit=set_cell("K07", 1, "K7")),
         Reject("unknown KPI code 'K7'", sheet="TF", row=_R("K07"), column="KPI code", expected="K01-K51")),
    Case("duplicated_kpi_code", "structure", xlsx("dup_kpi", edit=set_cell("K03", 1, "K02")),
         Reject("KPI code 'K02' appears more than once", sheet="TF", row=_R("K03"), column="KPI code",
                expected="each KPI code once")),
    Case("lowercase_kpi_code", "structure", xlsx("lower_kpi", edit=set_cell("K04", 1, " k04 ")),
         Accept("read as 'K04'", values={"K04": _VAL["K04"]})),
    Case("csv_missing_column", "structure", csv("missing_column.csv"),
         Reject("required column 'disclosure' is missing", row=1, column="disclosure", expected="member, cycle, kpi")),
    Case("csv_renamed_column", "structure", csv("renamed_column.csv"),
         Reject("required column 'value' is missing; header is member, cycle, kpi, val", row=1, column="value",
                expected="member, cycle, kpi, value, disclosure")),
    Case("csv_ragged_row", "structure", csv("ragged_row.csv"),
         Reject("this row has 9 fields but the header has 7", row=6, expected="same number of")),
    Case("csv_short_rows", "structure", csv("short_rows.csv"), Accept(None, values={"K01": _VAL["K01"]})),
    Case("csv_unknown_extra_column", "structure", csv("unknown_extra_column.csv"),
         Accept("column(s) remarks2 not read", values={"K01": _VAL["K01"]})),

    # ---- values: numbers, separators, percentages, counts --------------------------------
    Case("text_na", "values", xlsx("text_na", **with_value("K01", "n/a")),
         Reject("'n/a' could mean 'not applicable' or 'not available'", sheet="TF", row=_R("K01"), column="Value",
                expected="'If no value'")),
    Case("text_dash", "values", xlsx("text_dash", **with_value("K02", "\u2013")),
         Reject("'\u2013' could mean 'not applicable' or 'not available'", sheet="TF", row=_R("K02"), column="Value",
                expected="'If no value'")),
    Case("thousands_separator_text", "values", xlsx("thousands", **with_value("K29", "1,234.5")),
         Accept("thousands separator", values={"K29": 1234.5})),
    Case("european_number", "values", xlsx("european", **with_value("K29", "1.234,5")),
         Accept("thousands separator", values={"K29": 1234.5})),
    Case("space_grouped_thousands", "values", xlsx("space_thousands", **with_value("K29", "1 234")),
         Accept("thousands separator", values={"K29": 1234.0})),
    Case("ambiguous_comma", "values", xlsx("ambiguous_comma", **with_value("K29", "1,234")),
         Reject("'1,234' could mean 1234 (comma as thousands separator) or 1.234 (decimal comma)", sheet="ES",
                row=_R("K29"), column="Value", expected="without a thousands separator")),
    Case("ambiguous_dot", "values", xlsx("ambiguous_dot", **with_value("K29", "1.234")),
         Reject("'1.234' could mean 1234 (dot as thousands separator) or 1.234", sheet="ES", row=_R("K29"),
                column="Value", expected="without a thousands separator")),
    Case("decimal_comma", "values", xlsx("decimal_comma", **with_value("K02", "12,5")),
         Accept("decimal comma", values={"K02": 12.5})),
    Case("percent_sign_text", "values", xlsx("percent_text", **with_value("K03", "12%")),
         Accept("percent sign", values={"K03": 12.0})),
    Case("percent_below_one_with_sign", "values", xlsx("pct_small", **with_value("K14", "0.5%")),
         Accept("percent sign", values={"K14": 0.5})),
    Case("percent_formatted_cell", "values", xlsx("percent_format", **with_value("K03", 0.85, number_format="0%")),
         Accept("percent format", values={"K03": 85.0})),
    Case("percent_format_below_one", "values", xlsx("pct_fmt_small", **with_value("K14", 0.005, "0.0%")),
         Accept("percent format", values={"K14": 0.5})),
    Case("shares_as_fractions", "values", xlsx("fractions", edit=_edit_fractions),
         Reject("0.3 could mean 0.3 % or 30 % (a share written as a fraction)", sheet="TF", row=_R("K02"),
                column="Value", expected="for less than one per cent")),
    Case("two_percentages_as_fractions", "values",
         xlsx("two_fractions", edit=_edits(set_cell("K03", V, 0.85), set_cell("K04", V, 0.9))),
         Reject("0.85 could mean 0.85 % or 85 % (a share written as a fraction)", sheet="TF", row=_R("K03"),
                column="Value", expected="85 for 85 %, or 0.85% (with the % sign)")),
    Case("count_with_dot_thousands_text", "values", xlsx("count_dot", **with_value("K11", "1.234")),
         Reject("K11 is a count but 1.234 is not a whole number ('1.234' could mean 1234 with a thousands separator",
                sheet="TF", row=_R("K11"), column="Value", expected="a whole number")),
    Case("count_with_dot_thousands_number", "values", xlsx("count_dot_num", **with_value("K11", 1.234)),
         Reject("K11 is a count but 1.234 is not a whole number", sheet="TF", row=_R("K11"), column="Value",
                expected="a whole number")),
    Case("count_not_whole", "values", xlsx("count_half", **with_value("K35", 2.5)),
         Reject("K35 is a count but 2.5 is not a whole number", sheet="ES", row=_R("K35"), column="Value",
                expected="a whole number")),
    Case("number_as_text", "values", xlsx("number_text", **with_value("K01", "36.5")),
         Accept("number as text", values={"K01": 36.5})),
    Case("scientific_notation_text", "values", xlsx("sci", **with_value("K29", "1e2")),
         Accept("number as text", values={"K29": 100.0})),
    Case("unicode_minus", "values", xlsx("minus", **with_value("K05", "\u22125")),
         Accept("number as text", values={"K05": -5.0})),
    Case("value_with_unit_text", "values", xlsx("unit_text", **with_value("K01", "36 hours")),
         Reject("text '36 hours' is not a number", sheet="TF", row=_R("K01"), column="Value",
                expected="a number in hours")),
    Case("out_of_bounds", "values", xlsx("out_of_bounds", **with_value("K01", 1000)),
         Reject("value 1000 for K01", sheet="TF", row=_R("K01"), column="Value", expected="0 to 720 hours")),
    Case("huge_value", "values", xlsx("huge", **with_value("K29", 1e308)),
         Reject("value 1e+308 for K29", sheet="ES", row=_R("K29"), column="Value", expected="0 to 5000 per million")),
    Case("negative_count", "values", xlsx("negative_count", **with_value("K11", -3)),
         Reject("a negative value for K11", sheet="TF", row=_R("K11"), column="Value", expected="0 to 200 count")),
    Case("date_in_value", "values", xlsx("date_value", **with_value("K01", __import__("datetime").datetime(2024, 3, 1))),
         Reject("is not a number", sheet="TF", row=_R("K01"), column="Value", expected="a number in hours")),
    Case("boolean_in_value", "values", xlsx("bool_value", **with_value("K02", True)),
         Reject("True is not a number", sheet="TF", row=_R("K02"), column="Value", expected="a number")),
    Case("formula_without_result", "values", xlsx("formula", **with_value("K01", "=10*2")),
         Reject("holds a formula with no stored result", sheet="TF", row=_R("K01"), column="Value",
                expected="a typed value")),
    Case("formula_with_result", "values", _formula_with_cache, Accept("stored result 20 was used", values={"K01": 20.0})),
    Case("skipped_mandatory", "values", xlsx("skipped_mandatory", **with_value("K01", None)),
         Reject("K01 (Average release time for imports) is mandatory but its value is empty", sheet="TF",
                row=_R("K01"), column="Value", expected="only KPIs marked 'may skip'")),
    Case("skipped_optional", "values", xlsx("skipped_optional", **with_value("K05", None)),
         Accept(None, values={"K01": _VAL["K01"]}, absent=("K05",))),
    Case("status_typed_in_value", "values", xlsx("status_in_value", **with_value("K05", "not applicable")),
         Accept("read as the reason 'not applicable'", absent=("K05",), non_responses={"K05": "not_applicable"})),
    Case("value_and_status_both", "values", xlsx("value_and_status", edit=_cell("K02", status="not available")),
         Reject("both a value (30) and the reason 'not available' for no value are given", sheet="TF",
                row=_R("K02"), column="If no value", expected="either a value")),
    Case("unknown_status", "values", xlsx("unknown_status", edit=_cell("K05", value=None, status="pending")),
         Reject("'pending' is not a reason for a missing value", sheet="TF", row=_R("K05"), column="If no value",
                expected="'not applicable' or 'not available'")),
    Case("mandatory_with_reason", "values", xlsx("mandatory_reason", edit=_cell("K01", value=None,
                                                                                  status="not available")),
         Accept("K01 (Average release time for imports) is mandatory; no value, reason: not available",
                absent=("K01",), non_responses={"K01": "not_available"})),
    Case("csv_thousands_text", "values", csv("thousands_text.csv"), Accept("thousands separator", values={"K29": 1234.5})),
    Case("csv_percent_text", "values", csv("percent_text.csv"), Accept("percent sign", values={"K03": 12.0})),
    Case("csv_infinite_value", "values", csv("infinite_value.csv"),
         Reject("text 'inf' is not a number", row=3, column="value", expected="a number in %")),
    Case("csv_two_fractions_flagged", "values", csv("two_fractions.csv"),
         Accept("read as 0.85 (taken as written, below one per cent", values={"K03": 0.85, "K04": 0.9},
                columns={"K03": {"flag": "below_one_percent"}, "K01": {"flag": ""}})),
    Case("csv_count_dot_thousands", "values", csv("count_dot_thousands.csv"),
         Reject("K11 is a count but 1.234 is not a whole number ('1.234' could mean 1234", row=12, column="value",
                expected="a whole number")),
    Case("csv_ambiguous_comma", "values", csv("ambiguous_comma.csv"),
         Reject("'1,234' could mean 1234 (comma as thousands separator) or 1.234", row=30, column="value",
                expected="without a thousands separator")),
    Case("csv_ambiguous_dot", "values", csv("ambiguous_dot.csv"),
         Reject("'1.234' could mean 1234 (dot as thousands separator) or 1.234", row=30, column="value",
                expected="without a thousands separator")),
    Case("csv_value_with_unit_text", "values", csv("value_with_unit_text.csv"),
         Reject("text '36 hours' is not a number", row=2, column="value", expected="a number in hours")),
    Case("csv_skipped_mandatory", "values", csv("skipped_mandatory.csv"),
         Reject("SEN 2024: mandatory KPI(s) K01 have no row", column="kpi", expected="every KPI not marked optional")),
    Case("csv_empty_mandatory_value", "values", csv("empty_value_mandatory.csv"),
         Reject("K02 (Share of declarations released within 24 hours) is mandatory but its value is empty", row=3,
                column="value", expected="0 to 100")),
    Case("csv_negative_count", "values", csv("negative_count.csv"),
         Reject("a negative value for K11", row=12, column="value", expected="0 to 200 count")),
    Case("csv_status_with_value", "values", csv("status_with_value.csv"),
         Reject("both a value (30) and the reason 'not available'", row=3, column="status", expected="either a value")),

    # ---- units and framework version -------------------------------------------------------
    Case("unit_changed_to_days", "units", xlsx("unit_days", edit=set_cell("K01", COL["unit"], "days")),
         Reject("K01 is given in 'days' here but framework 1.0-workbench measures it in 'hours'", sheet="TF",
                row=_R("K01"), column="Unit", expected="values in hours")),
    Case("unit_cleared", "units", xlsx("unit_empty", edit=set_cell("K10", COL["unit"], None)),
         Reject("the unit of K10 is empty", sheet="TF", row=_R("K10"), column="Unit", expected="days")),
    Case("unit_upper_case", "units", xlsx("unit_case", edit=set_cell("K01", COL["unit"], "HOURS")),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("unit_in_french", "units", xlsx("unit_fr", edit=set_cell("K01", COL["unit"], "heures")),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("older_framework_version", "units", xlsx("old_version", edit=_old_version),
         Reject("this questionnaire was generated for framework version 0.9, but the current framework is version "
                "1.0-workbench", sheet="Respondent", row=8, column="Framework version", expected="pmm template")),
    Case("older_template_without_stamps", "units", xlsx("old_legacy", edit=_legacy_old_version),
         Reject("generated for framework version WCO Performance Measurement Mechanism (PMM) 0.9", sheet="Respondent",
                row=8, column="Framework version", expected="copy the values into the current template")),
    Case("percent_sign_in_hours", "units", xlsx("percent_hours", **with_value("K01", "12%")),
         Reject("'12%' has a % sign but K01 is measured in hours", sheet="TF", row=_R("K01"), column="Value",
                expected="a number in hours")),
    Case("hours_in_percent_cell", "units", xlsx("hours_pct_cell", **with_value("K01", 0.5, number_format="0%")),
         Reject("formatted as a percentage (it shows 50%) but K01 is measured in hours: 0.5 hours or 50 hours?",
                sheet="TF", row=_R("K01"), column="Value", expected="without the percentage format")),
    Case("days_in_percent_cell", "units", xlsx("days_pct_cell", **with_value("K10", 0.25, number_format="0.00%")),
         Reject("K10 is measured in days: 0.25 days or 25 days?", sheet="TF", row=_R("K10"), column="Value",
                expected="the number of days")),
    Case("csv_unit_column_ok", "units", csv("unit_column_ok.csv"), Accept(None, values={"K01": _VAL["K01"]})),
    Case("csv_unit_column_days", "units", csv("unit_column_days.csv"),
         Reject("K01 is given in 'days' here but framework 1.0-workbench measures it in 'hours'", row=2, column="unit",
                expected="values in hours")),

    # ---- identity: Member, cycle, disclosure ------------------------------------------------
    Case("unknown_member", "identity", xlsx("unknown_member", member="XKX"),
         Reject("'XKX' is not a WCO Member", sheet="Respondent", row=3, column="Member (ISO3)",
                expected="wco_members.csv")),
    Case("member_name_not_code", "identity", xlsx("member_name", member="Senegal"),
         Reject("'SENEGAL' is not an ISO3 code", sheet="Respondent", row=3, column="Member (ISO3)",
                expected="three upper-case letters")),
    Case("member_iso2", "identity", xlsx("member_iso2", member="SN"),
         Reject("'SN' is not an ISO3 code", sheet="Respondent", row=3, column="Member (ISO3)",
                expected="three upper-case letters")),
    Case("member_lower_case_spaces", "identity", xlsx("member_lower", member=" sen "),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("member_full_width", "identity", xlsx("member_fw", member="\uff33\uff25\uff2e"),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("missing_cycle", "identity", xlsx("missing_cycle", cycle=None),
         Reject("the cycle is missing", sheet="Respondent", row=4, column="Cycle (year)", expected="e.g. 2024")),
    Case("non_integer_cycle", "identity", xlsx("cycle_text", cycle="2024/25"),
         Reject("cycle '2024/25' is not a whole year", sheet="Respondent", row=4, column="Cycle (year)",
                expected="e.g. 2024")),
    Case("cycle_two_digits", "identity", xlsx("cycle_24", cycle=24),
         Reject("cycle 24 is out of range", sheet="Respondent", row=4, column="Cycle (year)",
                expected="a year 2000-2100")),
    Case("cycle_out_of_range", "identity", xlsx("cycle_1999", cycle=1999),
         Reject("cycle 1999 is out of range", sheet="Respondent", row=4, column="Cycle (year)",
                expected="a year 2000-2100")),
    Case("cycle_as_date", "identity", _cycle_date,
         Reject("is not a year", sheet="Respondent", row=4, column="Cycle (year)", expected="e.g. 2024")),
    Case("cycle_as_text", "identity", xlsx("cycle_str", cycle="2024"), Accept(None, values={"K01": _VAL["K01"]})),
    Case("cycle_full_width", "identity", xlsx("cycle_fw", cycle="\uff12\uff10\uff12\uff14"),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("bad_disclosure", "identity", xlsx("bad_disclosure", edit=set_cell("K03", D, "confidential")),
         Reject("disclosure 'confidential' is not allowed", sheet="TF", row=_R("K03"), column="Disclosure",
                expected="public or wco or restricted")),
    Case("disclosure_synonym", "identity", xlsx("wco_only", edit=set_cell("K03", D, "WCO-only")),
         Accept("read as 'wco'", disclosure={"K03": "wco"})),
    Case("disclosure_in_french", "identity", xlsx("disc_fr", edit=set_cell("K03", D, "Restreint")),
         Accept(None, disclosure={"K03": "restricted"})),
    Case("blank_disclosure_as_error", "identity", xlsx("disc_blank_err", edit=set_cell("K03", D, None)),
         Reject("the disclosure level is empty", sheet="TF", row=_R("K03"), column="Disclosure",
                expected="never guessed"), options=IngestOptions(blank_disclosure="error")),
    Case("csv_bad_disclosure", "identity", csv("bad_disclosure.csv"),
         Reject("disclosure 'secret' is not allowed", row=4, column="disclosure", expected="public or wco")),
    Case("csv_missing_cycle", "identity", csv("missing_cycle.csv"),
         Reject("the cycle is missing", row=5, column="cycle", expected="a whole year")),
    Case("csv_non_integer_cycle", "identity", csv("non_integer_cycle.csv"),
         Reject("cycle '2024.5' is not a whole year", row=5, column="cycle", expected="a whole year")),
    Case("csv_cycle_two_digits", "identity", csv("cycle_24.csv"),
         Reject("cycle 24 is out of range", row=2, column="cycle", expected="a year 2000-2100")),
    Case("csv_duplicated_row", "identity", csv("duplicated_row.csv"),
         Accept("duplicate of row 2", values={"K01": _VAL["K01"]})),
    Case("csv_conflicting_values", "identity", csv("conflicting_values.csv"),
         Reject("conflicting values for SEN 2024 K01: 99 (restricted) here and", row=53, column="value",
                expected="one value per Member, cycle and KPI")),
    Case("csv_unknown_member", "identity", csv("unknown_member.csv"),
         Reject("'XKX' is not a WCO Member", row=2, column="member", expected="wco_members.csv")),
    Case("csv_unknown_kpi", "identity", csv("unknown_kpi.csv"),
         Reject("unknown KPI code 'K52'", row=53, column="kpi", expected="K01-K51")),
    Case("csv_two_members", "identity", csv("utf8_names.csv", "other_member_same_values.csv"),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("csv_conflict_across_files", "identity", csv("utf8_names.csv", "conflict_other_file.csv"),
         Reject("conflicting values for SEN 2024 K02: 11 here and", row=3, column="value",
                expected="across all files", file="conflict_other_file.csv")),

    # ---- kept: nothing a Member wrote is lost -------------------------------------------------
    Case("comment_kept", "kept", xlsx("comment", edit=_cell("K01", comment="Provisional: port of Dakar only")),
         Accept(None, columns={"K01": {"comment": "Provisional: port of Dakar only"}, "K02": {"comment": ""}})),
    Case("data_source_kept", "kept", xlsx("data_source", edit=_cell("K01", data_source="ASYCUDA World extraction")),
         Accept(None, columns={"K01": {"data_source": "ASYCUDA World extraction"}})),
    Case("validation_status_kept", "kept",
         xlsx("validation", edit=_edits(_cell("K02", validation="validated"), _cell("K03", validation="Peer reviewed"))),
         Accept(None, columns={"K02": {"validation": "validated"}, "K03": {"validation": "peer_reviewed"},
                               "K01": {"validation": "not_stated"}})),
    Case("validation_status_unknown", "kept", xlsx("bad_validation", edit=_cell("K02", validation="checked")),
         Reject("'checked' is not a validation status", sheet="TF", row=_R("K02"), column="Validation status",
                expected="'self-assessed', 'validated', 'peer-reviewed'")),
    Case("not_applicable_vs_not_available", "kept",
         xlsx("reasons", edit=_edits(_cell("K05", value=None, status="not applicable", comment="no AEO programme"),
                                     _cell("K06", value=None, status="not available"))),
         Accept(None, absent=("K05", "K06"), non_responses={"K05": "not_applicable", "K06": "not_available"})),
    Case("comment_on_skipped_kpi", "kept", xlsx("skip_comment", edit=_cell("K07", value=None, comment="survey late")),
         Accept(None, absent=("K07",), non_responses={"K07": "not_stated"})),
    Case("reason_in_french_words", "kept", xlsx("reason_fr", edit=_cell("K05", value=None, status="sans objet")),
         Accept(None, absent=("K05",), non_responses={"K05": "not_applicable"})),
    Case("blank_disclosure_not_chosen", "kept", xlsx("disc_blank", edit=set_cell("K03", D, None)),
         Accept("1 value(s) without a disclosure choice (K03): stored as 'restricted'", disclosure={"K03": "restricted"},
                columns={"K03": {"disclosure_chosen": False}, "K01": {"disclosure_chosen": True}})),
    Case("respondent_contact_kept_internal", "kept", xlsx("contact"),
         Accept(None, respondent={"contact": "Test contact", "email": "contact@douanes.example", "language": "en"})),
    Case("french_questionnaire", "kept", _french_filled,
         Accept(None, values={"K01": _VAL["K01"]}, absent=("K05",), non_responses={"K05": "not_applicable"},
                columns={"K02": {"validation": "validated", "data_source": "SYDONIA World"}},
                respondent={"language": "fr", "framework_version": "1.0-workbench"})),
    Case("french_and_spanish_questionnaires", "kept", _two_languages,
         Accept(None, values={"K01": _VAL["K01"], "K51": _VAL["K51"]})),
    Case("csv_kept_columns", "kept", csv("kept_columns.csv"),
         Accept(None, absent=("K05",), non_responses={"K05": "not_applicable"},
                columns={"K01": {"data_source": "ASYCUDA World extraction", "validation": "validated",
                                 "comment": "provisional"}, "K02": {"validation": "peer_reviewed"}})),
    Case("csv_bad_validation", "kept", csv("bad_validation.csv"),
         Reject("'checked' is not a validation status", row=3, column="validation", expected="'validated'")),
    Case("csv_blank_disclosure", "kept", csv("blank_disclosure.csv"),
         Accept("without a disclosure choice", disclosure={"K03": "restricted"},
                columns={"K03": {"disclosure_chosen": False}})),

    # ---- files: what the file really is -------------------------------------------------------
    Case("png_renamed_xlsx", "files", _png_renamed, Reject("this is a PNG image, not an Excel workbook", expected=".xlsx")),
    Case("jpeg_renamed_xlsx", "files", _named_bytes("photo.xlsx", b"\xff\xd8\xff\xe0" + bytes(64)),
         Reject("this is a JPEG image, not an Excel workbook", expected=".xlsx")),
    Case("pdf_renamed_xlsx", "files", _named_bytes("scan.xlsx", b"%PDF-1.7\n" + bytes(64)),
         Reject("this is a PDF document, not an Excel workbook", expected=".xlsx")),
    Case("docx_renamed_xlsx", "files", _docx_renamed,
         Reject("this is a Word document, not an Excel workbook", expected=".xlsx")),
    Case("ods_renamed_xlsx", "files", _ods_renamed,
         Reject("this is an OpenDocument file, not an Excel workbook", expected=".xlsx")),
    Case("docx_file", "files", _docx_as_is, Reject("unsupported file type .docx", expected=".xlsx")),
    Case("text_file", "files", _named_bytes("notes.txt", b"hello"), Reject("unsupported file type .txt", expected=".xlsx")),
    Case("truncated_xlsx", "files", _truncated, Reject("damaged or truncated", expected="a complete .xlsx file")),
    Case("zero_byte_xlsx", "files", _zero_bytes, Reject("an empty file (0 bytes)", expected=".xlsx")),
    Case("old_xls_renamed", "files", _old_xls,
         Reject("this is an Excel 97-2003 workbook (.xls), not an Excel workbook", expected="Excel Workbook")),
    Case("encrypted_workbook", "files", _encrypted,
         Reject("this is a password-protected (encrypted) workbook: it cannot be read without its password",
                expected="saved without a password")),
    Case("xls_beside_good_workbook", "files", _folder_with("arg.xls", good=True),
         Reject("this is an Excel 97-2003 workbook (.xls), which ingest cannot read", file="arg.xls",
                expected="saved as .xlsx")),
    Case("folder_of_only_ods_and_xls", "files", _folder_with("a.ods", "b.xls"),
         Reject("this is an OpenDocument spreadsheet (.ods), which ingest cannot read", file="a.ods",
                expected="saved as .xlsx")),
    Case("folder_with_lock_file", "files", _folder_with("~$sen.xlsx", good=True),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("macro_enabled_xlsm", "files", _xlsm, Accept(None, values={"K01": _VAL["K01"]})),
    Case("csv_png_renamed", "files", csv("png_renamed.csv"),
         Reject("this is a PNG image, not a CSV text file", expected="comma-separated UTF-8 text")),
    Case("csv_xlsx_renamed", "files", csv("xlsx_renamed.csv"),
         Reject("this is a zip container (an Excel or Word file?), not a CSV text file", expected="UTF-8 text")),

    # ---- encodings: digits, line endings, separators, character sets -----------------------------
    Case("full_width_digits_in_workbook", "encodings", xlsx("fw_digits", **with_value("K01", "\uff13\uff16\uff0e\uff15")),
         Accept("non-ASCII digits", values={"K01": 36.5})),
    Case("arabic_indic_digits_in_workbook", "encodings",
         xlsx("ar_digits", **with_value("K01", "\u0663\u0666\u066b\u0665")),
         Accept("non-ASCII digits", values={"K01": 36.5})),
    Case("csv_utf8_names", "encodings", csv("utf8_names.csv"),
         Accept(None, values={"K01": _VAL["K01"]}, source=SOURCE_NAME)),
    Case("csv_latin1_names", "encodings", csv("latin1_names.csv"),
         Accept("decoded as Windows-1252", values={"K01": _VAL["K01"]}, source=SOURCE_NAME)),
    Case("csv_excel_bom_crlf", "encodings", csv("excel_bom_crlf.csv"),
         Accept(None, values={"K01": _VAL["K01"]}, source=SOURCE_NAME)),
    Case("csv_cr_only_line_endings", "encodings", csv("cr_only.csv"),
         Accept("carriage return only", values={"K01": _VAL["K01"], "K51": _VAL["K51"]})),
    Case("csv_cr_only_row_numbers", "encodings", csv("cr_only_bad_disclosure.csv"),
         Reject("disclosure 'secret' is not allowed", row=4, column="disclosure", expected="public or wco")),
    Case("csv_blank_lines_row_numbers", "encodings", csv("blank_lines.csv"),
         Reject("disclosure 'secret' is not allowed", row=7, column="disclosure", expected="public or wco")),
    Case("csv_multiline_comment_row_numbers", "encodings", csv("multiline_comment.csv"),
         Reject("disclosure 'secret' is not allowed", row=8, column="disclosure", expected="public or wco")),
    Case("csv_full_width_digits", "encodings", csv("fullwidth_digits.csv"),
         Accept("non-ASCII digits", values={"K01": 36.5})),
    Case("csv_arabic_indic_digits", "encodings", csv("arabic_indic_digits.csv"),
         Accept("non-ASCII digits", values={"K01": 36.5})),
    Case("csv_persian_digit_cycle", "encodings", csv("persian_digits_cycle.csv"),
         Accept(None, values={"K01": _VAL["K01"]})),
    Case("csv_utf16", "encodings", csv("utf16.csv"),
         Reject("this is a binary file (or UTF-16 text), not a CSV text file", expected="CSV UTF-8")),
    Case("csv_nul_bytes", "encodings", csv("nul_bytes.csv"),
         Reject("this is a binary file (or UTF-16 text)", expected="UTF-8 text")),
    Case("csv_semicolons", "encodings", csv("semicolons.csv"), Accept("separated by ';'", values={"K03": 12.5})),
    Case("csv_semicolons_decimal_comma", "encodings", csv("semicolons_decimal_comma.csv"),
         Accept("decimal comma", values={"K03": 12.5})),
    Case("csv_tabs", "encodings", csv("tabs.csv"), Accept("separated by tabs", values={"K01": _VAL["K01"]})),

    # ---- sizes: guards before anything is read ----------------------------------------------------
    Case("workbook_over_64_mib", "sizes", _big_workbook,
         Reject("the file is too large: 73,400,320 bytes (70.0 MiB)", expected=f"at most {_MAX} (64 MiB")),
    Case("zip_bomb_workbook", "sizes", _zip_bomb,
         Reject("the workbook would inflate to", expected=f"at most {256 * 1024 * 1024:,} bytes uncompressed")),
    Case("inflated_size_limit", "sizes", xlsx("inflate_small"),
         Reject("the workbook would inflate to", expected="at most 10,000 bytes uncompressed"),
         options=IngestOptions(max_inflated_bytes=10_000)),
    Case("csv_over_byte_limit", "sizes", _big_csv,
         Reject("the file is too large:", expected="at most 100,000 bytes"), options=IngestOptions(max_bytes=100_000)),
    Case("csv_over_row_limit", "sizes", csv("utf8_names.csv"),
         Reject("the file is too large: 51 data rows", expected="at most 10 rows"), options=IngestOptions(max_rows=10)),
    Case("formatting_to_row_5000", "sizes", xlsx("formatted_rows", edit=_many_blank_formatted_rows),
         Accept(None, values={"K51": _VAL["K51"]})),
]
