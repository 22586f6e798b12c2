"""Questionnaire template and ingest: from Members' returns to validated, processed Parquet.

This module owns the Excel questionnaire generated from the framework (``pmm template``), the
reading and validation of filled questionnaires and tidy CSV returns (``pmm ingest``), and the
atomic writing of ``data/processed/`` with its ``manifest.json``. Declarative checks are the
pandera schemas of :mod:`pmm_lib.inputs.schemas`; this module adds the cell parsing and the checks
that span rows and files, and turns every problem into an :class:`~pmm_lib.errors.InputError`
that names file, sheet, row, column and what was expected.

Questionnaire layout (``pmm template``)
---------------------------------------
* ``Instructions``: how to fill the workbook (free text; ignored on ingest).
* ``Respondent``: labels in column A, answers in column B. Row 3 ``Member (ISO3)``, row 4
  ``Cycle (year)``, row 5 ``Contact name``, row 6 ``Contact e-mail``, row 8 the framework
  version (locked). Ingest finds the rows by their labels, not their positions.
* One sheet per dimension, named by its code (``TF``, ``RC``, ``ES``, ``OD``). Row 1 is a title
  (``TF - Trade Facilitation and Economic Competitiveness``), row 2 a hint, row 3 the header:
  ``KPI code | KPI name | Expected outcome | Unit | Allowed range | May skip | Value |
  Disclosure | Comment`` (columns A-I), then one row per KPI from row 4. ``Value`` (G),
  ``Disclosure`` (H, a drop-down public/wco/restricted pre-filled with the framework's default)
  and ``Comment`` (I) are the only unlocked cells; the sheet and the workbook structure are
  protected (no password: it prevents accidents, not intent). Ingest finds the header row by
  the ``KPI code`` cell within the first 10 rows and the columns by their header text.

Tidy CSV returns
----------------
UTF-8 text with the header ``member, cycle, kpi, value, disclosure`` (required) and ``source,
flag`` (optional), one row per reported value; rows are numbered as in a text editor (header =
row 1). A file that is not valid UTF-8 is decoded as Windows-1252 (Latin-1) and a warning is
recorded in the manifest: in this data only free-text columns (source, flag) can hold non-ASCII
characters, and Windows-1252 is what Excel writes on the Members' systems. A file larger than
``IngestOptions.max_bytes`` (64 MiB) or with more than ``IngestOptions.max_rows`` (200,000)
data rows - about 20 full cycles of 186 Members x 51 KPIs - is rejected before parsing with a
message giving the size and the limit; within the limits parsing is vectorised (the bundled
~8k-row file ingests in well under a second).

Rules (what is fixed with a warning, what is rejected)
------------------------------------------------------
Fixed, with a warning in the manifest and a code in the ``flag`` column: ``12%`` in a KPI
whose unit is a percentage -> 12 (``percent_sign``); an Excel percentage-formatted cell holding
0.12 in such a KPI -> 12 (``percent_format``); ``1,234.5`` or ``1,234,567`` -> 1234.5 /
1234567 (``thousands_separator``); a number typed as text in Excel -> the number
(``number_as_text``); a formula with a stored result -> that result (``formula_value``); a
Unicode minus -> ``-``; upper/lower case and spaces in codes; ``wco-only`` -> ``wco``; exact
duplicate rows -> one row.

Rejected: text that is not a number (``n/a``, ``-``, ``12,5``, ``1,234`` which could be
1.234 or 1234), a ``%`` sign in a KPI that is not a percentage, dates, booleans, non-finite
values, values outside the KPI's plausible range (negative counts included), a return whose
percentage KPIs all lie in 0-1 (shares given as fractions), a mandatory KPI left empty or
absent (``IngestOptions.missing_required="warn"`` downgrades this to a warning), unknown KPI
codes or Members, duplicated KPI codes, conflicting values for the same Member/cycle/KPI
(within or across files), missing or non-integer cycles, empty or unknown disclosure levels
(privacy choices are never guessed), missing sheets or columns, merged cells in the data area,
formulas without a stored result, and files that are not what their extension says (an image,
a Word document, a truncated or empty workbook, an old ``.xls``).

All problems of all files are collected (up to ``IngestOptions.max_errors``) and raised as one
InputError: its message lists each problem, its fields (file, sheet, row, column, expected)
are those of the first and ``.issues`` holds them all.

CSV row numbers count physical lines, so they shift after a quoted field that spans lines (the
PMM returns have none). A dimension sheet ends after 200 consecutive empty rows.

References
----------
* Shafranovich, Y. (2005). Common Format and MIME Type for Comma-Separated Values (CSV) Files.
  RFC 4180. https://doi.org/10.17487/RFC4180
* ECMA-376, Office Open XML File Formats, Part 1 (5th ed., 2016): the ``.xlsx`` container
  (a zip holding ``xl/workbook.xml``), cached formula values (``<v>``) and merged cells.
* Bantilan, N. (2020). pandera: Statistical Data Validation of Pandas Dataframes. Proceedings of
  the 19th Python in Science Conference, 116-124. https://doi.org/10.25080/Majora-342d178e-010

Examples
--------
>>> from pmm_lib.inputs.ingest import read_returns
>>> res = read_returns()  # doctest: +SKIP
>>> res.observations.columns.tolist()  # doctest: +SKIP
['member', 'cycle', 'kpi', 'value', 'disclosure', 'source', 'flag']
"""

from __future__ import annotations

import datetime as _dt
import importlib
import io as _io
import json
import os
import re
import secrets
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pmm_lib import paths
from pmm_lib.errors import InputError, PmmError, SpecError
from pmm_lib.inputs.framework import DISCLOSURE_LEVELS, Framework, load_framework
from pmm_lib.io import write_text_atomic, write_with
from pmm_lib.provenance import package_versions, relative_path, sha256_file

__all__ = [
    "ensure_processed",
    "DIMENSION_COLUMNS",
    "HEADER_ROW",
    "RESPONDENT_LABELS",
    "IngestOptions",
    "IngestResult",
    "Issue",
    "file_sha256",
    "ingest",
    "known_members",
    "read_returns",
    "validate_returns",
    "write_template",
]

# ----------------------------------------------------------------------------------------------
# Layout constants (the template writer and the reader share them)
# ----------------------------------------------------------------------------------------------

#: Dimension sheet header (row :data:`HEADER_ROW`), columns A-I.
DIMENSION_COLUMNS: tuple[str, ...] = (
    "KPI code", "KPI name", "Expected outcome", "Unit", "Allowed range", "May skip",
    "Value", "Disclosure", "Comment",
)
HEADER_ROW = 3
#: Respondent sheet: field -> (row, label in column A).
RESPONDENT_LABELS: dict[str, tuple[int, str]] = {
    "member": (3, "Member (ISO3)"),
    "cycle": (4, "Cycle (year)"),
    "contact": (5, "Contact name"),
    "email": (6, "Contact e-mail"),
}
_FRAMEWORK_ROW = 8
_MAX_BLANK_ROWS = 200  # a dimension sheet ends after this many empty rows
_REQUIRED_DIM_HEADERS = {"kpi code": "kpi", "value": "value", "disclosure": "disclosure"}
_CSV_REQUIRED = ("member", "cycle", "kpi", "value", "disclosure")
_CSV_OPTIONAL = ("source", "flag")
_MISSING_TOKENS = {"n/a", "na", "n.a.", "n.a", "-", "\u2013", "\u2014", "..", "...", "x", "nan",
                   "none", "null", "?", "not available", "not applicable"}
_DISCLOSURE_SYNONYMS = {"wco-only": "wco", "wco only": "wco", "wco_only": "wco"}
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_PERCENT = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))\s*%")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_CYCLE_TEXT = re.compile(r"\d{4}(?:\.0*)?")

Severity = Literal["error", "warning"]
MissingRequired = Literal["error", "warn"]


# ----------------------------------------------------------------------------------------------
# Options, issues, results
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IngestOptions:
    """How strict ingest is. Build with keywords or :meth:`from_dict` (unknown names are rejected).

    Attributes
    ----------
    max_errors : int
        Problems listed in one InputError (the rest are counted).
    max_rows : int
        Largest tidy CSV accepted, in data rows.
    max_bytes : int
        Largest input file accepted, in bytes.
    missing_required : {"error", "warn"}
        What a mandatory KPI left empty or absent is.
    """

    max_errors: int = 50
    max_rows: int = 200_000
    max_bytes: int = 64 * 1024 * 1024
    missing_required: MissingRequired = "error"

    def __post_init__(self) -> None:
        for name in ("max_errors", "max_rows", "max_bytes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise SpecError(f"IngestOptions.{name} must be a positive integer, got {v!r}")
        if self.missing_required not in ("error", "warn"):
            raise SpecError(f"IngestOptions.missing_required must be 'error' or 'warn', got {self.missing_required!r}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> IngestOptions:
        """Build from a mapping; an unknown key raises SpecError listing the allowed ones."""
        allowed = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise SpecError(f"unknown ingest option(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
        return cls(**values)


@dataclass(frozen=True)
class Issue:
    """One problem (or fixed irregularity) found in an input, with where it is."""

    message: str
    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    expected: str | None = None
    severity: Severity = "error"

    def describe(self, *, with_file: bool = True) -> str:
        """One line: ``file F, sheet S, row R, column C: message (expected E)``."""
        where = []
        if with_file and self.file is not None:
            where.append(f"file {self.file}")
        if self.sheet is not None:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = (", ".join(where) + ": " if where else "") + self.message
        return text + (f" (expected {self.expected})" if self.expected else "")

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class IngestResult:
    """What :func:`read_returns` / :func:`ingest` produced.

    Attributes
    ----------
    observations : DataFrame
        ``member, cycle, kpi, value, disclosure, source, flag`` (schemas.OBSERVATIONS_SCHEMA).
    warnings : list of Issue
        Fixed irregularities and notes (also in the manifest).
    inputs : list of dict
        Per input file: ``path, name, kind, bytes, sha256, rows, observations, encoding``.
    manifest : dict
        The manifest (written as ``manifest.json`` by :func:`ingest`).
    written : dict
        Output name -> path (empty for :func:`read_returns`).
    """

    observations: pd.DataFrame
    warnings: list[Issue] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    written: dict[str, Path] = field(default_factory=dict)


class _Collector:
    """Collects issues; raises them together."""

    def __init__(self, cap: int):
        self.cap = cap
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.n_errors = 0
        self._seen: set[Issue] = set()
        self.files: set[Any] = set()

    def error(self, message: str, **where: Any) -> None:
        issue = Issue(message, severity="error", **where)
        if issue in self._seen:  # e.g. one Respondent cell behind every row of a workbook
            return
        self._seen.add(issue)
        self.n_errors += 1
        self.files.add(issue.file)
        if len(self.errors) < self.cap:
            self.errors.append(issue)

    def warn(self, message: str, **where: Any) -> None:
        self.warnings.append(Issue(message, severity="warning", **where))

    def raise_if_any(self) -> None:
        if self.n_errors:
            raise _input_error(self.errors, self.n_errors, self.files)


def _input_error(issues: list[Issue], total: int, files: set[Any]) -> InputError:
    first = issues[0]
    if total == 1:
        exc = InputError(first.message, file=first.file, sheet=first.sheet, row=first.row,
                         column=first.column, expected=first.expected)
    else:
        single = len(files) == 1
        lines = [f"  {n}. {i.describe(with_file=not single)}" for n, i in enumerate(issues, 1)]
        if total > len(issues):
            lines.append(f"  ... and {total - len(issues)} more problem(s) not shown")
        head = f"{total} problems found:" if single else f"{total} problems found in {', '.join(sorted(map(str, files)))}:"
        exc = InputError(head + "\n" + "\n".join(lines), file=first.file if single else None)
        exc.file, exc.sheet, exc.row, exc.column, exc.expected = (
            first.file, first.sheet, first.row, first.column, first.expected)
    exc.issues = list(issues)  # type: ignore[attr-defined]
    return exc


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------

#: SHA-256 hex digest of a file's bytes (the one implementation is :func:`pmm_lib.provenance.sha256_file`).
file_sha256 = sha256_file


def _fmt_bound(x: float) -> str:
    return f"{x:g}"


def _range_text(lower: float, upper: float) -> str:
    return f"{_fmt_bound(lower)} to {_fmt_bound(upper)}"


def _is_percent_unit(unit: str) -> bool:
    return "%" in unit


def _text(s: pd.Series) -> pd.Series:
    """Cells -> ``str`` Series: spaces (incl. no-break spaces) trimmed, empty cells missing."""
    if not isinstance(s.dtype, pd.StringDtype):
        s = s.map(lambda x: None if x is None or (isinstance(x, float) and np.isnan(x)) else str(x)).astype("str")
    out = s.str.replace("[\u00a0\u202f]", " ", regex=True).str.strip()
    return out.mask(out == "")


def _clean_text(x: Any) -> str:
    return str(x).replace("\u00a0", " ").replace("\u202f", " ").strip()


def known_members(path: str | Path | None = None) -> frozenset[str] | None:
    """WCO Member ISO3 codes, or None when no Member list is available.

    Uses :func:`pmm_lib.inputs.data.load_members` when that module exists and no ``path`` is given,
    else reads ``member`` (or ``iso3``) from ``data/raw/external/wco_members.csv`` (or ``path``).
    """
    if path is None:
        try:
            from pmm_lib.inputs.data import load_members  # noqa: PLC0415 - optional sibling module
        except ImportError:
            pass
        else:
            try:
                return frozenset(load_members()["member"].astype(str))
            except (OSError, KeyError, PmmError):
                pass
        path = paths.EXTERNAL_DIR / "wco_members.csv"
    path = Path(path)
    if not path.exists():
        return None
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    cols = {c.strip().lower(): c for c in frame.columns}
    col = cols.get("member") or cols.get("iso3")
    if col is None:
        raise InputError("no Member code column", file=path, column="member", expected="a 'member' or 'iso3' column")
    return frozenset(frame[col].dropna().str.strip().str.upper())


# ----------------------------------------------------------------------------------------------
# Template
# ----------------------------------------------------------------------------------------------

_INSTRUCTIONS = [
    "PMM self-assessment questionnaire",
    "",
    "1. On the 'Respondent' sheet, enter your Member's ISO3 code (e.g. SEN), the assessment cycle (year) and a contact.",
    "2. On each dimension sheet (TF, RC, ES, OD) enter one value per KPI in the 'Value' column, in the unit shown.",
    "   Percentages are entered as numbers from 0 to 100: 85 means 85 %, not 0.85.",
    "   Enter numbers only: no thousands separators, units, '%' signs or words such as 'n/a'.",
    "   Type values; do not use formulas or links to other files.",
    "3. 'Allowed range' is the plausible range; values outside it are rejected and must be checked.",
    "4. To skip a KPI leave its 'Value' empty. Only KPIs marked 'May skip: yes' may be skipped.",
    "5. 'Disclosure' says who may see each value: public (anyone), wco (WCO Secretariat and Members), "
    "restricted (WCO methodology team only). The default is the framework's; change it if needed.",
    "6. Use 'Comment' for anything the methodology team should know about a value.",
    "7. Do not rename, move, insert or delete sheets, rows or columns; do not merge cells.",
]


def write_template(out: str | Path | None = None, *, member: str | None = None, cycle: int | None = None,
                   framework: Framework | None = None) -> Path:
    """Write the Excel questionnaire generated from the framework (layout: module docstring).

    Parameters
    ----------
    out : path, optional
        Output ``.xlsx`` (default ``pmm_questionnaire.xlsx``, or
        ``pmm_questionnaire_<member>_<cycle>.xlsx`` when both are given, in the current folder).
    member, cycle : optional
        Pre-fill the Respondent sheet.
    framework : Framework, optional
        Default: ``methodology/framework.yaml``.

    Returns
    -------
    Path
        The file written (atomically).
    """
    from openpyxl import Workbook  # noqa: PLC0415 - heavy import only where needed
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.workbook.protection import WorkbookProtection
    from openpyxl.worksheet.datavalidation import DataValidation

    fw = framework or load_framework()
    if member is not None:
        member = _clean_text(member).upper()
        if not re.fullmatch(r"[A-Z]{3}", member):
            raise InputError(f"Member code {member!r} is not an ISO3 code", column="--member",
                             expected="three letters, e.g. SEN")
    if cycle is not None and (isinstance(cycle, bool) or not isinstance(cycle, int | np.integer)):
        raise InputError(f"cycle {cycle!r} is not a year", column="--cycle", expected="an integer year, e.g. 2024")
    if out is None:
        out = f"pmm_questionnaire_{member}_{cycle}.xlsx" if member and cycle else "pmm_questionnaire.xlsx"
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise InputError("the questionnaire must be written as .xlsx", file=out, expected="a file name ending in .xlsx")

    bold = Font(bold=True)
    title_font = Font(bold=True, size=14)
    locked_fill = PatternFill("solid", fgColor="EDEDED")
    input_fill = PatternFill("solid", fgColor="FFF7D6")
    unlocked = Protection(locked=False)
    wrap = Alignment(wrap_text=True, vertical="top")

    wb = Workbook()
    ins = wb.active
    ins.title = "Instructions"
    for i, line in enumerate(_INSTRUCTIONS, 1):
        ins.cell(row=i, column=1, value=line)
    ins["A1"].font = title_font
    ins.cell(row=len(_INSTRUCTIONS) + 2, column=1, value=f"Framework: {fw.name}, version {fw.version}")
    ins.column_dimensions["A"].width = 120
    ins.protection.sheet = True

    rs = wb.create_sheet("Respondent")
    rs["A1"] = "Respondent"
    rs["A1"].font = title_font
    prefill = {"member": member, "cycle": cycle}
    for key, (row, label) in RESPONDENT_LABELS.items():
        rs.cell(row=row, column=1, value=label).font = bold
        c = rs.cell(row=row, column=2, value=prefill.get(key))
        c.protection = unlocked
        c.fill = input_fill
    rs.cell(row=_FRAMEWORK_ROW, column=1, value="Framework").font = bold
    rs.cell(row=_FRAMEWORK_ROW, column=2, value=f"{fw.name} {fw.version}")
    dv_cycle = DataValidation(type="whole", operator="between", formula1="2000", formula2="2100",
                              showErrorMessage=True, errorTitle="Cycle", error="Enter the year, e.g. 2024")
    dv_member = DataValidation(type="textLength", operator="equal", formula1="3", showErrorMessage=True,
                               errorTitle="Member", error="Enter the three-letter ISO3 code, e.g. SEN")
    rs.add_data_validation(dv_cycle)
    rs.add_data_validation(dv_member)
    dv_cycle.add(f"B{RESPONDENT_LABELS['cycle'][0]}")
    dv_member.add(f"B{RESPONDENT_LABELS['member'][0]}")
    rs.column_dimensions["A"].width = 22
    rs.column_dimensions["B"].width = 40
    rs.protection.sheet = True

    outcomes = {o.code: o for o in fw.outcomes}
    widths = (10, 48, 44, 12, 16, 10, 14, 14, 40)
    for dim in fw.dimensions:
        ws = wb.create_sheet(dim.code)
        ws["A1"] = f"{dim.code} - {dim.name}"
        ws["A1"].font = title_font
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(DIMENSION_COLUMNS))
        ws["A2"] = "Fill the yellow cells: Value (in the unit shown), Disclosure, Comment. Leave Value empty to skip."
        for j, head in enumerate(DIMENSION_COLUMNS, 1):
            c = ws.cell(row=HEADER_ROW, column=j, value=head)
            c.font = bold
            c.fill = locked_fill
        dv_disc = DataValidation(type="list", formula1='"' + ",".join(DISCLOSURE_LEVELS) + '"', allow_blank=False,
                                 showErrorMessage=True, errorTitle="Disclosure",
                                 error="Choose public, wco or restricted")
        ws.add_data_validation(dv_disc)
        row = HEADER_ROW
        for ocode in dim.children:
            o = outcomes[ocode]
            for kcode in o.children:
                k = fw.kpi(kcode)
                row += 1
                values = (k.code, k.name, f"{o.code} {o.name}", k.unit, _range_text(k.lower, k.upper),
                          "yes" if k.optional else "no", None, k.disclosure, None)
                for j, v in enumerate(values, 1):
                    c = ws.cell(row=row, column=j, value=v)
                    c.alignment = wrap
                    if j >= 7:
                        c.protection = unlocked
                        c.fill = input_fill
                    else:
                        c.fill = locked_fill
                dv_val = DataValidation(type="decimal", operator="between", formula1=_fmt_bound(k.lower),
                                        formula2=_fmt_bound(k.upper), showErrorMessage=True,
                                        errorTitle=f"{k.code} value",
                                        error=f"Enter a number from {_range_text(k.lower, k.upper)} ({k.unit})")
                ws.add_data_validation(dv_val)
                dv_val.add(f"G{row}")
                dv_disc.add(f"H{row}")
        for j, w in enumerate(widths, 1):
            ws.column_dimensions[chr(64 + j)].width = w
        ws.freeze_panes = f"A{HEADER_ROW + 1}"
        ws.protection.sheet = True
        ws.protection.formatColumns = False  # widths may still be adjusted
    wb.security = WorkbookProtection(lockStructure=True)
    wb.active = 1
    return write_with(out, lambda tmp: wb.save(tmp))


# ----------------------------------------------------------------------------------------------
# Reading: files -> raw records (one row per reported cell, values still as read)
# ----------------------------------------------------------------------------------------------

@dataclass
class _Raw:
    """A file's raw records plus where each field lives (for messages)."""

    name: str
    kind: str
    records: pd.DataFrame  # member, cycle, kpi, value, disclosure, source, flag, _sheet, _row, _pct_format
    labels: dict[str | None, dict[str, str]]  # sheet -> field -> column label shown to people
    overrides: dict[str, tuple[str | None, int | None, str]] = field(default_factory=dict)  # field -> (sheet,row,label)
    encoding: str | None = None
    expected_sheets: dict[str, list[str]] = field(default_factory=dict)  # sheet -> KPI codes it should list


_RECORD_COLUMNS = ["member", "cycle", "kpi", "value", "disclosure", "source", "flag", "_sheet", "_row",
                   "_pct_format"]


def _sniff(head: bytes) -> str | None:
    """Name the real type of a file from its first bytes, or None when unrecognised."""
    if not head:
        return "an empty file (0 bytes)"
    if head.startswith(b"\x89PNG"):
        return "a PNG image"
    if head[:3] == b"\xff\xd8\xff":
        return "a JPEG image"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old-format Office file (.xls/.doc)"
    return None


def _read_xlsx(path: Path, fw: Framework, col: _Collector) -> _Raw | None:
    import openpyxl  # noqa: PLC0415

    name = path.name
    with open(path, "rb") as fh:
        head = fh.read(8)
    real = _sniff(head)
    xl = "an Excel .xlsx workbook (File > Save As > Excel Workbook)"
    if real is not None:
        col.error(f"this is {real}, not an Excel workbook", file=name, expected=xl)
        return None
    if not head.startswith(b"PK"):
        col.error("not an Excel workbook (the file is not a zip container)", file=name, expected=xl)
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            bad = zf.testzip()
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        col.error(f"the workbook is damaged or truncated and cannot be opened ({exc})", file=name,
                  expected="a complete .xlsx file: copy or download it again")
        return None
    if bad is not None:
        col.error(f"the workbook is damaged (part {bad} fails its checksum)", file=name,
                  expected="a complete .xlsx file: copy or download it again")
        return None
    if "xl/workbook.xml" not in names:
        what = ("a Word document" if "word/document.xml" in names else
                "a PowerPoint presentation" if "ppt/presentation.xml" in names else "a zip archive")
        col.error(f"this is {what}, not an Excel workbook", file=name, expected=xl)
        return None
    try:
        wb = openpyxl.load_workbook(path, data_only=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types on malformed parts
        col.error(f"the workbook cannot be read ({type(exc).__name__}: {exc})", file=name, expected=xl)
        return None
    cached: Any = None  # the data_only view, loaded only if a formula is found

    def cached_value(sheet: str, coord: str) -> Any:
        nonlocal cached
        if cached is None:
            cached = openpyxl.load_workbook(path, data_only=True)
        return cached[sheet][coord].value

    sheetnames = list(wb.sheetnames)
    folded = {s.strip().casefold(): s for s in sheetnames}

    def find_sheet(wanted: str) -> str | None:
        if wanted in sheetnames:
            return wanted
        real_name = folded.get(wanted.casefold())
        if real_name is not None:
            col.warn(f"sheet {real_name!r} read as {wanted!r}", file=name, sheet=real_name)
        return real_name

    wanted = ["Respondent", *[d.code for d in fw.dimensions]]
    found = {w: find_sheet(w) for w in wanted}
    missing = [w for w, s in found.items() if s is None]
    if missing:
        extra = [s for s in sheetnames if s not in found.values() and s != "Instructions"]
        hint = f"; found sheets {', '.join(repr(s) for s in sheetnames)}" if sheetnames else ""
        if extra:
            hint += f" (unexpected: {', '.join(repr(s) for s in extra)} - renamed?)"
        for w in missing:
            col.error(f"sheet {w!r} is missing{hint}", file=name, sheet=w,
                      expected="the sheets of the PMM questionnaire: Respondent, "
                      + ", ".join(d.code for d in fw.dimensions))

    def cell_value(sheet: str, cell: Any, column_label: str) -> Any:
        v = cell.value
        if cell.data_type == "f" or (isinstance(v, str) and v.startswith("=")) or type(v).__name__ == "ArrayFormula":
            cv = cached_value(sheet, cell.coordinate)
            if cv is None:
                col.error(f"cell {cell.coordinate} holds a formula with no stored result", file=name, sheet=sheet,
                          row=cell.row, column=column_label,
                          expected="a typed value (or open and save the file in Excel so results are stored)")
                return None  # the error is recorded; read on as if empty
            col.warn(f"cell {cell.coordinate} holds a formula; its stored result {cv!r} was used", file=name,
                     sheet=sheet, row=cell.row, column=column_label)
            return cv
        return v

    overrides: dict[str, tuple[str | None, int | None, str]] = {}
    member_raw: Any = None
    cycle_raw: Any = None
    rs_name = found["Respondent"]
    if rs_name is not None and not hasattr(wb[rs_name], "merged_cells"):
        col.error("this is a chart sheet, not a worksheet", file=name, sheet=rs_name,
                  expected="the Respondent worksheet (labels in column A, answers in column B)")
        rs_name = None
    if rs_name is not None:
        rs = wb[rs_name]
        rows: dict[str, int] = {}
        for r in range(1, min(rs.max_row, 60) + 1):
            label = rs.cell(row=r, column=1).value
            if isinstance(label, str):
                lab = label.strip().casefold()
                for key in ("member", "cycle"):
                    if lab.startswith(key) and key not in rows:
                        rows[key] = r
        for key in ("member", "cycle"):
            label = RESPONDENT_LABELS[key][1]
            if key not in rows:
                col.error(f"no {label!r} row in column A", file=name, sheet=rs_name, column="A",
                          expected=f"the label {label!r} in column A with the answer in column B")
                continue
            r = rows[key]
            v = cell_value(rs_name, rs.cell(row=r, column=2), label)
            overrides[key] = (rs_name, r, label)
            if key == "member":
                member_raw = v
            else:
                cycle_raw = v

    recs: list[tuple[Any, ...]] = []
    labels: dict[str | None, dict[str, str]] = {}
    expected_sheets: dict[str, list[str]] = {}
    outcome_dim = {o.code: o.parent for o in fw.outcomes}
    for dim in fw.dimensions:
        sname = found[dim.code]
        if sname is None:
            continue
        expected_sheets[sname] = [k.code for k in fw.kpis if outcome_dim[k.parent] == dim.code]
        ws = wb[sname]
        if not hasattr(ws, "merged_cells"):
            col.error("this is a chart sheet, not a worksheet", file=name, sheet=sname,
                      expected="the questionnaire's worksheet with one row per KPI")
            continue
        header_row = None
        for r in range(1, min(ws.max_row, 10) + 1):
            if any(isinstance(c.value, str) and c.value.strip().casefold() == "kpi code" for c in ws[r]):
                header_row = r
                break
        if header_row is None:
            col.error("no header row with a 'KPI code' cell in the first 10 rows", file=name, sheet=sname,
                      expected="the header " + " | ".join(DIMENSION_COLUMNS) + f" in row {HEADER_ROW}")
            continue
        colmap: dict[str, int] = {}
        seen_heads: dict[str, str] = {}
        for c in ws[header_row]:
            if isinstance(c.value, str):
                h = c.value.strip().casefold()
                if h in _REQUIRED_DIM_HEADERS and _REQUIRED_DIM_HEADERS[h] not in colmap:
                    colmap[_REQUIRED_DIM_HEADERS[h]] = c.column
                    seen_heads[_REQUIRED_DIM_HEADERS[h]] = c.value.strip()
        absent = [h for h, f in _REQUIRED_DIM_HEADERS.items() if f not in colmap]
        if absent:
            for h in absent:
                pretty = next(x for x in DIMENSION_COLUMNS if x.casefold() == h)
                col.error(f"column {pretty!r} is missing from the header row", file=name, sheet=sname,
                          row=header_row, column=pretty,
                          expected="the header " + " | ".join(DIMENSION_COLUMNS))
            continue
        labels[sname] = {f: seen_heads[f] for f in colmap}
        data_cols = set(colmap.values())
        for rng in ws.merged_cells.ranges:
            if rng.max_row > header_row and any(rng.min_col <= cc <= rng.max_col for cc in data_cols):
                field_name = next(f for f, cc in colmap.items() if rng.min_col <= cc <= rng.max_col)
                col.error(f"merged cells {rng.coord} in the data area", file=name, sheet=sname, row=rng.min_row,
                          column=labels[sname][field_name], expected="one unmerged cell per KPI and column")
        blank_run = 0
        for r in range(header_row + 1, ws.max_row + 1):
            if blank_run >= _MAX_BLANK_ROWS:
                break  # formatting that runs to row 1,048,576 is not data
            kc = ws.cell(row=r, column=colmap["kpi"])
            vc = ws.cell(row=r, column=colmap["value"])
            dc = ws.cell(row=r, column=colmap["disclosure"])
            k = cell_value(sname, kc, labels[sname]["kpi"])
            v = cell_value(sname, vc, labels[sname]["value"])
            d = cell_value(sname, dc, labels[sname]["disclosure"])
            if all(x is None or (isinstance(x, str) and not x.strip()) for x in (k, v)):
                blank_run += 1
                continue  # empty row
            blank_run = 0
            pct = isinstance(v, int | float) and not isinstance(v, bool) and "%" in str(vc.number_format)
            recs.append((member_raw, cycle_raw, k, v, d, f"questionnaire {name}", "", sname, r, pct))
    records = pd.DataFrame(recs, columns=_RECORD_COLUMNS, dtype=object)
    return _Raw(name=name, kind="xlsx", records=records, labels=labels, overrides=overrides,
                expected_sheets=expected_sheets)


def _read_csv(path: Path, opts: IngestOptions, col: _Collector) -> _Raw | None:
    name = path.name
    size = path.stat().st_size
    if size > opts.max_bytes:
        col.error(f"the file is too large: {size:,} bytes", file=name,
                  expected=f"at most {opts.max_bytes:,} bytes (IngestOptions.max_bytes); split it by cycle")
        return None
    data = path.read_bytes()
    real = _sniff(data[:8])
    if real is not None or data[:2] == b"PK":
        what = real or "a zip container (an Excel or Word file?)"
        col.error(f"this is {what}, not a CSV text file", file=name, expected="comma-separated UTF-8 text")
        return None
    if b"\x00" in data[:4096]:
        col.error("this is a binary file (or UTF-16 text), not a CSV text file", file=name,
                  expected="comma-separated UTF-8 text")
        return None
    n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if n_lines - 1 > opts.max_rows:
        col.error(f"the file is too large: {n_lines - 1:,} data rows", file=name,
                  expected=f"at most {opts.max_rows:,} rows (IngestOptions.max_rows); split it by cycle")
        return None
    encoding = "utf-8"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "latin-1"
        col.warn(f"not valid UTF-8 (first non-UTF-8 byte 0x{data[exc.start]:02x} in row {line}); "
                 f"decoded as {'Windows-1252' if encoding == 'cp1252' else 'Latin-1'}", file=name, row=line)
    first = text.split("\n", 1)[0]
    sep = ","
    if first.count(";") > first.count(",") and first.count(";") >= 2:
        sep = ";"
        col.warn("fields separated by ';' (read as such)", file=name, row=1)
    elif first.count("\t") > first.count(",") and first.count("\t") >= 2:
        sep = "\t"
        col.warn("fields separated by tabs (read as such)", file=name, row=1)
    if not text.strip():
        col.error("the file is empty", file=name, expected="a header row " + ", ".join(_CSV_REQUIRED))
        return None
    header = [h.strip().strip('"').strip().lower() for h in first.rstrip("\r").split(sep)]
    dups = sorted({h for h in header if header.count(h) > 1 and h})
    for h in dups:
        col.error(f"column {h!r} appears {header.count(h)} times in the header", file=name, row=1, column=h,
                  expected="each column once")
    missing = [c for c in _CSV_REQUIRED if c not in header]
    if missing:
        for c in missing:
            col.error(f"required column {c!r} is missing; header is {', '.join(header)}", file=name, row=1,
                      column=c, expected="the columns " + ", ".join(_CSV_REQUIRED) + " (and optionally source, flag)")
        return None
    if dups:
        return None
    try:
        frame = pd.read_csv(_io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                            skipinitialspace=True, engine="c")
    except (pd.errors.ParserError, ValueError) as exc:
        m = re.search(r"line (\d+)", str(exc))
        col.error(f"the CSV cannot be parsed: {exc}", file=name, row=int(m.group(1)) if m else None,
                  expected="the same number of comma-separated fields on every row (quote text containing commas)")
        return None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    extra = [c for c in frame.columns if c not in _CSV_REQUIRED + _CSV_OPTIONAL]
    if extra:
        col.warn(f"column(s) {', '.join(extra)} ignored", file=name, row=1)
    n = len(frame)
    records = pd.DataFrame({
        "member": frame["member"],
        "cycle": frame["cycle"],
        "kpi": frame["kpi"],
        "value": frame["value"],
        "disclosure": frame["disclosure"],
        "source": frame["source"] if "source" in frame else pd.Series([""] * n, dtype=str),
        "flag": frame["flag"] if "flag" in frame else pd.Series([""] * n, dtype=str),
        "_sheet": pd.Series([None] * n, dtype=object),
        "_row": pd.Series(np.arange(2, n + 2), dtype=object),
        "_pct_format": pd.Series([False] * n, dtype=object),
    })
    labels = {None: {f: f for f in (*_CSV_REQUIRED, *_CSV_OPTIONAL)}}
    return _Raw(name=name, kind="csv", records=records, labels=labels, encoding=encoding)


# ----------------------------------------------------------------------------------------------
# Parsing cells
# ----------------------------------------------------------------------------------------------

def _parse_number(raw: Any, percent_unit: bool, unit: str) -> tuple[float | None, str, str | None, str | None]:
    """One cell -> (value or None, fix code, error message, expected). None value + no error = empty."""
    if raw is None:
        return None, "", None, None
    if isinstance(raw, bool | np.bool_):
        return None, "", f"{raw!r} is not a number", "a number"
    if isinstance(raw, int | float | np.integer | np.floating):
        x = float(raw)
        return (None, "", None, None) if np.isnan(x) else (x, "", None, None)
    if isinstance(raw, _dt.date | _dt.time | _dt.timedelta):
        return None, "", f"a date/time ({raw}) is not a number", f"a number in {unit}"
    s = _clean_text(raw).replace("\u2212", "-")
    if not s:
        return None, "", None, None
    if _PLAIN_NUMBER.fullmatch(s):
        return float(s), "", None, None
    m = _PERCENT.fullmatch(s)
    if m:
        if percent_unit:
            return float(m.group(1)), "percent_sign", None, None
        return None, "", f"{s!r} has a % sign but this KPI is measured in {unit}", f"a number in {unit}"
    if _THOUSANDS.fullmatch(s):
        if "." in s or s.count(",") >= 2:
            return float(s.replace(",", "")), "thousands_separator", None, None
        return None, "", f"{s!r} is ambiguous (1,234 may mean 1234 or 1.234)", "a number without separators, e.g. 1234"
    if _DECIMAL_COMMA.fullmatch(s):
        return None, "", f"{s!r} uses a decimal comma", f"a decimal point, e.g. {s.replace(',', '.')}"
    if s.casefold() in _MISSING_TOKENS:
        return None, "", f"{s!r} is text, not a number", f"a number in {unit}, or an empty cell to skip the KPI"
    return None, "", f"text {s!r} is not a number", f"a number in {unit}"


def _parse_cycle(raw: Any) -> tuple[int | None, str | None]:
    if raw is None:
        return None, "missing"
    if isinstance(raw, bool | np.bool_):
        return None, f"{raw!r} is not a year"
    if isinstance(raw, int | np.integer):
        return (int(raw), None) if abs(raw) < 10_000 else (None, f"cycle {raw!r} is not a year")
    if isinstance(raw, float | np.floating):
        if np.isnan(raw):
            return None, "missing"
        if not float(raw).is_integer():
            return None, f"cycle {raw!r} is not a whole year"
        return (int(raw), None) if abs(raw) < 10_000 else (None, f"cycle {raw!r} is not a year")
    s = _clean_text(raw)
    if not s:
        return None, "missing"
    if _CYCLE_TEXT.fullmatch(s):
        return int(float(s)), None
    return None, f"cycle {s!r} is not a whole year"


# ----------------------------------------------------------------------------------------------
# Validation of one file's records
# ----------------------------------------------------------------------------------------------

def _loc(raw: _Raw, rec_sheet: Any, rec_row: Any, fieldname: str) -> dict[str, Any]:
    if fieldname in raw.overrides:
        sheet, row, label = raw.overrides[fieldname]
        return {"file": raw.name, "sheet": sheet, "row": row, "column": label}
    sheet = rec_sheet if isinstance(rec_sheet, str) else None
    label = raw.labels.get(sheet, {}).get(fieldname, fieldname)
    return {"file": raw.name, "sheet": sheet, "row": int(rec_row) if rec_row is not None else None, "column": label}


def _validate_raw(raw: _Raw, fw: Framework, members: frozenset[str] | None, opts: IngestOptions,
                  col: _Collector) -> pd.DataFrame:
    """Parse and check one file's records; return its accepted observations (maybe partial if errors)."""
    import pandera.pandas as pa  # noqa: PLC0415

    from pmm_lib.inputs.schemas import CHECK_MESSAGES, returns_schema  # noqa: PLC0415

    rec = raw.records.reset_index(drop=True)
    n = len(rec)
    kpi_meta = {k.code: k for k in fw.kpis}
    bad = np.zeros(n, dtype=bool)  # rows with a parse error (kept out of the schema stage)
    sheets = rec["_sheet"].tolist()
    rows = rec["_row"].tolist()

    # KPI codes: trim and upper-case (warn if that changed something beyond spaces)
    kpi_clean = _text(rec["kpi"])
    kpi_up = kpi_clean.str.upper()
    for i in np.flatnonzero(kpi_clean.isna().to_numpy()):
        col.error("a value is given without a KPI code", **_loc(raw, sheets[i], rows[i], "kpi"),
                  expected="a KPI code such as K01")
        bad[i] = True
    recased = (kpi_up != kpi_clean).fillna(False).to_numpy() & kpi_up.isin(kpi_meta).to_numpy()
    for i in np.flatnonzero(recased):
        col.warn(f"KPI code {kpi_clean.iloc[i]!r} read as {kpi_up.iloc[i]!r}", **_loc(raw, sheets[i], rows[i], "kpi"))
    kpi_s = kpi_up.fillna("")
    kpis: list[str] = kpi_s.tolist()

    # Duplicated KPI codes within a questionnaire (one row per KPI)
    if raw.kind == "xlsx":
        dup = kpi_s[(kpi_s != "") & kpi_s.duplicated(keep=False)]
        for code, idx in dup.groupby(dup).groups.items():
            where = ", ".join(f"sheet {sheets[j]!r} row {rows[j]}" for j in idx)
            for j in idx[1:]:
                col.error(f"KPI code {code!r} appears more than once ({where})",
                          **_loc(raw, sheets[j], rows[j], "kpi"), expected="each KPI code once")
                bad[j] = True

    # Values: plain numbers in text files vectorised, everything else cell by cell
    unit_of = {k.code: k.unit for k in fw.kpis}
    values = np.full(n, np.nan)
    fixes = [""] * n
    present = np.zeros(n, dtype=bool)
    vraw = rec["value"]
    fast = np.zeros(n, dtype=bool)
    if raw.kind == "csv" and isinstance(vraw.dtype, pd.StringDtype):
        fast = vraw.str.fullmatch(_PLAIN_NUMBER.pattern).fillna(False).astype(bool).to_numpy(copy=True)
        values[fast] = pd.to_numeric(vraw[fast]).to_numpy(dtype=float)
        present[fast] = True
        fast |= vraw.isna().to_numpy()  # empty cells: nothing to parse
    pct_fmt = rec["_pct_format"].tolist()
    vlist = vraw.tolist()
    for i in np.flatnonzero(~fast):
        unit = unit_of.get(kpis[i], "the KPI's unit")
        x, fix, err, exp = _parse_number(vlist[i], _is_percent_unit(unit), unit)
        if err is not None:
            col.error(err, **_loc(raw, sheets[i], rows[i], "value"), expected=exp)
            bad[i] = True
            continue
        if x is None:
            continue
        present[i] = True
        if raw.kind == "xlsx" and isinstance(vlist[i], str) and not fix:
            fix = "number_as_text"
        if pct_fmt[i] and _is_percent_unit(unit):
            # Excel shows 0.12 formatted as a percentage as "12%": the Member meant 12
            x, fix = x * 100.0, "percent_format"
        if fix:
            fixes[i] = fix
            col.warn(f"value {vlist[i]!r} read as {x:g} ({fix.replace('_', ' ')})",
                     **_loc(raw, sheets[i], rows[i], "value"))
        values[i] = x

    # Empty values: skipped KPIs
    empty = ~present & ~bad
    for i in np.flatnonzero(empty):
        k = kpi_meta.get(kpis[i])
        if k is not None and not k.optional:
            msg = f"{k.code} ({k.name}) is mandatory but its value is empty"
            exp = f"a number from {_range_text(k.lower, k.upper)} ({k.unit}); only KPIs marked 'may skip' may be left empty"
            if opts.missing_required == "error":
                col.error(msg, **_loc(raw, sheets[i], rows[i], "value"), expected=exp)
            else:
                col.warn(msg + " (accepted as skipped)", **_loc(raw, sheets[i], rows[i], "value"))
        elif k is None and kpis[i]:
            col.error(f"unknown KPI code {kpis[i]!r}", **_loc(raw, sheets[i], rows[i], "kpi"),
                      expected="a framework KPI code K01-K51")
    keep = present & ~bad

    # Cycles
    cycles = np.zeros(n, dtype=np.int64)
    craw = rec["cycle"]
    if raw.kind == "xlsx":
        c, err = _parse_cycle(craw.iloc[0] if n else None)
        if n and err is not None:
            msg = "the cycle is missing" if err == "missing" else err
            col.error(msg, **_loc(raw, None, None, "cycle"), expected="the assessment year, e.g. 2024")
            keep[:] = False
        elif n:
            cycles[:] = c
    else:
        cfast = np.zeros(n, dtype=bool)
        if isinstance(craw.dtype, pd.StringDtype):
            cfast = craw.str.fullmatch(r"\d{4}").fillna(False).astype(bool).to_numpy(copy=True)
            if cfast.any():
                cycles[cfast] = craw[cfast].astype("int64").to_numpy()
        clist = craw.tolist()
        for i in np.flatnonzero(~cfast & keep):
            c, err = _parse_cycle(clist[i])
            if err is not None:
                col.error("the cycle is missing" if err == "missing" else err,
                          **_loc(raw, sheets[i], rows[i], "cycle"), expected="a whole year, e.g. 2024")
                keep[i] = False
            else:
                cycles[i] = c

    # Members
    member_s = _text(rec["member"]).str.upper()
    for i in np.flatnonzero(member_s.isna().to_numpy() & keep):
        col.error("the Member code is missing", **_loc(raw, sheets[i], rows[i], "member"),
                  expected="the Member's ISO3 code, e.g. SEN")
        keep[i] = False
    member_vals = member_s.fillna("")

    # Disclosure: case and spaces ignored, 'wco-only' and the like read as 'wco', empty rejected
    disc_clean = _text(rec["disclosure"])
    disc_s = disc_clean.str.lower()
    syn = disc_s.isin(_DISCLOSURE_SYNONYMS).to_numpy()
    for i in np.flatnonzero(syn & keep):
        col.warn(f"disclosure {disc_clean.iloc[i]!r} read as {_DISCLOSURE_SYNONYMS[disc_s.iloc[i]]!r}",
                 **_loc(raw, sheets[i], rows[i], "disclosure"))
    if syn.any():
        disc_s = disc_s.replace(_DISCLOSURE_SYNONYMS)
    for i in np.flatnonzero(disc_s.isna().to_numpy() & keep):
        col.error("the disclosure level is empty", **_loc(raw, sheets[i], rows[i], "disclosure"),
                  expected="public, wco or restricted (who may see the value is never guessed)")
        keep[i] = False
    disc = disc_s.fillna("")

    flag_s = _text(rec["flag"]).fillna("")
    if any(fixes):
        fix_s = pd.Series(fixes, dtype=str)
        flag_s = (flag_s + ";" + fix_s).str.strip(";")
    frame = pd.DataFrame({
        "member": member_vals.astype(str),
        "cycle": pd.Series(cycles, dtype="int64"),
        "kpi": kpi_s.astype(str),
        "value": pd.Series(values, dtype="float64"),
        "disclosure": disc.astype(str),
        "source": _text(rec["source"]).fillna("").astype(str),
        "flag": flag_s.astype(str),
        "lower": kpi_s.map({k.code: k.lower for k in fw.kpis}).astype("float64"),
        "upper": kpi_s.map({k.code: k.upper for k in fw.kpis}).astype("float64"),
        "_sheet": pd.Series(sheets, dtype=object),
        "_row": pd.Series(rows, dtype=object),
    })
    frame = frame[keep]

    # Schema (pandera): codes, ranges, finiteness, plausible bounds
    schema = returns_schema(fw, members)
    invalid: set[int] = set()
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna()]
        reported: set[tuple[int, str]] = set()
        for _, case in fc.iterrows():
            idx = int(case["index"])
            check = str(case["check"])
            if (idx, check) in reported:
                continue
            reported.add((idx, check))
            invalid.add(idx)
            r = frame.loc[idx]
            if check == "within_bounds":
                k = kpi_meta[r["kpi"]]
                neg = r["value"] < 0 and k.lower >= 0
                what = "a negative value" if neg else f"value {r['value']:g}"
                msg = (f"{what} for {k.code} ({k.name}, {k.unit}) is outside the plausible range "
                       f"{_range_text(k.lower, k.upper)}")
                col.error(msg, **_loc(raw, r["_sheet"], r["_row"], "value"),
                          expected=f"a value from {_range_text(k.lower, k.upper)} {k.unit}; check the unit and the figure")
                continue
            fieldname = str(case["column"])
            msg, exp = CHECK_MESSAGES.get(check, (f"{fieldname} {{value!r}} failed the check {check}", None))
            value = r[fieldname] if fieldname in r.index else case["failure_case"]
            col.error(msg.format(value=value), **_loc(raw, r["_sheet"], r["_row"], fieldname), expected=exp)
    if invalid:
        frame = frame.drop(index=sorted(invalid))

    # Exact duplicates (warn, keep first) and conflicts (error) within the file
    key = ["member", "cycle", "kpi"]
    dupmask = frame.duplicated(key, keep=False)
    if dupmask.any():
        drop: list[int] = []
        for _, grp in frame[dupmask].groupby(key, sort=False):
            first = grp.iloc[0]
            same = (grp["value"] == first["value"]) & (grp["disclosure"] == first["disclosure"])
            for idx, r in grp.iloc[1:].iterrows():
                first_where = (f"sheet {first['_sheet']!r} row {first['_row']}" if isinstance(first["_sheet"], str)
                               else f"row {first['_row']}")
                if same.loc[idx]:
                    col.warn(f"duplicate of {first_where} ({r['member']} {r['cycle']} {r['kpi']}); kept once",
                             **_loc(raw, r["_sheet"], r["_row"], "value"))
                    drop.append(idx)
                else:
                    col.error(f"conflicting values for {r['member']} {r['cycle']} {r['kpi']}: {r['value']:g} "
                              f"({r['disclosure']}) here and {first['value']:g} ({first['disclosure']}) in {first_where}",
                              **_loc(raw, r["_sheet"], r["_row"], "value"),
                              expected="one value per Member, cycle and KPI")
        frame = frame.drop(index=drop)

    # Shares given as fractions (0-1) instead of percentages (0-100)
    pct_kpis = {k.code for k in fw.kpis if k.unit == "%" and k.lower >= 0 and k.upper >= 30}
    sub = frame[frame["kpi"].isin(pct_kpis)]
    if len(sub):
        v = sub["value"]
        stats = sub.assign(_frac=(v > 0) & (v < 1)).groupby(["member", "cycle"], sort=False).agg(
            n=("value", "size"), vmax=("value", "max"), frac=("_frac", "any"))
        flagged = stats[(stats["n"] >= 3) & (stats["vmax"] <= 1) & stats["frac"]]
        for m, c in flagged.index:
            grp = sub[(sub["member"] == m) & (sub["cycle"] == c)]
            first = grp.iloc[0]
            col.error(f"all {len(grp)} percentage KPIs of {m} {c} lie between 0 and 1 "
                      f"({', '.join(grp['kpi'].head(5))}...): shares look like fractions",
                      **_loc(raw, first["_sheet"], first["_row"], "value"),
                      expected="percentages from 0 to 100, e.g. 85 for 85 % (not 0.85)")

    # Mandatory KPIs absent from a return (no row at all)
    mand = [k for k in fw.kpis if not k.optional]
    if raw.kind == "xlsx":
        seen_codes = set(kpis)
        if raw.records.shape[0] or raw.expected_sheets:
            dim_of = {kc: s for s, codes in raw.expected_sheets.items() for kc in codes}
            for k in mand:
                if k.code not in seen_codes and k.code in dim_of:
                    msg = f"mandatory KPI {k.code} ({k.name}) has no row"
                    where = {"file": raw.name, "sheet": dim_of[k.code], "column": raw.labels.get(dim_of[k.code], {}).get("kpi", "KPI code")}
                    if opts.missing_required == "error":
                        col.error(msg, **where, expected=f"a row for {k.code} (rows must not be deleted)")
                    else:
                        col.warn(msg + " (accepted as skipped)", **where)
    else:
        keys = pd.DataFrame({"member": member_vals.to_numpy(), "cycle": cycles, "kpi": kpi_s.to_numpy()})
        keys = keys[(keys["member"] != "") & (keys["cycle"] != 0)].drop_duplicates()
        wanted = keys[["member", "cycle"]].drop_duplicates().merge(
            pd.DataFrame({"kpi": [k.code for k in mand]}), how="cross")
        gone = wanted.merge(keys, how="left", indicator=True)
        gone = gone[gone["_merge"] == "left_only"]
        for (m, c), grp in gone.groupby(["member", "cycle"], sort=True):
            absent = grp["kpi"].tolist()
            if absent:
                msg = (f"{m} {c}: mandatory KPI(s) {', '.join(absent)} have no row")
                exp = "a row for every KPI not marked optional in the framework"
                if opts.missing_required == "error":
                    col.error(msg, file=raw.name, column="kpi", expected=exp)
                else:
                    col.warn(msg + " (accepted as skipped)", file=raw.name, column="kpi")
    return frame


def _finish(frames: list[tuple[_Raw, pd.DataFrame]], fw: Framework, col: _Collector) -> pd.DataFrame:
    """Cross-file duplicates/conflicts; return the observations table."""
    from pmm_lib.inputs.schemas import OBSERVATION_COLUMNS  # noqa: PLC0415

    parts = []
    for fileno, (raw, f) in enumerate(frames):
        g = f.copy()
        g["_file"] = raw.name
        g["_fileno"] = fileno
        parts.append(g)
    if parts:
        allf = pd.concat(parts, ignore_index=True)
    else:
        allf = pd.DataFrame({c: pd.Series(dtype=object)
                             for c in (*OBSERVATION_COLUMNS, "_file", "_fileno", "_sheet", "_row")})
    key = ["member", "cycle", "kpi"]
    if len(frames) > 1:
        dupmask = allf.duplicated(key, keep=False)
        drop: list[int] = []
        for _, grp in allf[dupmask].groupby(key, sort=False):
            first = grp.iloc[0]
            for idx, r in grp.iloc[1:].iterrows():
                if r["_fileno"] == first["_fileno"]:
                    continue
                where = {"file": r["_file"], "sheet": r["_sheet"] if isinstance(r["_sheet"], str) else None,
                         "row": int(r["_row"]), "column": "value"}
                other = f"file {first['_file']} row {first['_row']}"
                if r["value"] == first["value"] and r["disclosure"] == first["disclosure"]:
                    col.warn(f"{r['member']} {r['cycle']} {r['kpi']} is also reported in {other}; kept once", **where)
                    drop.append(idx)
                else:
                    col.error(f"conflicting values for {r['member']} {r['cycle']} {r['kpi']}: {r['value']:g} here and "
                              f"{first['value']:g} in {other}", **where,
                              expected="one value per Member, cycle and KPI across all files")
        allf = allf.drop(index=drop)
    order = {c: i for i, c in enumerate(fw.kpi_codes)}
    allf = allf.assign(_k=allf["kpi"].map(order)).sort_values(["cycle", "member", "_k"], kind="stable")
    out = allf[list(OBSERVATION_COLUMNS)].reset_index(drop=True)
    return out.astype({"member": str, "cycle": "int64", "kpi": str, "value": "float64", "disclosure": str,
                       "source": str, "flag": str})


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------

def _resolve_members(members: Iterable[str] | None | Literal["auto"], col: _Collector) -> frozenset[str] | None:
    if isinstance(members, str) and members == "auto":
        found = known_members()
        if found is None:
            col.warn("no Member list (data/raw/external/wco_members.csv); Member codes checked for format only")
        return found
    if members is None:
        return None
    return frozenset(str(m).strip().upper() for m in members)


def validate_returns(frame: pd.DataFrame, *, framework: Framework | None = None,
                     members: Iterable[str] | None | Literal["auto"] = "auto",
                     options: IngestOptions | None = None, file: str = "<frame>") -> tuple[pd.DataFrame, list[Issue]]:
    """Validate a tidy return held in memory (columns as in a CSV return; cells may be text).

    Parameters
    ----------
    frame : DataFrame
        Columns ``member, cycle, kpi, value, disclosure`` and optionally ``source, flag``.
        Row ``i`` (0-based) is reported as row ``i + 2`` (as in the equivalent CSV).
    framework, members, options : optional
        As in :func:`read_returns`.
    file : str
        Name used in messages.

    Returns
    -------
    (DataFrame, list of Issue)
        The observations (``member, cycle, kpi, value, disclosure, source, flag``) and the warnings.

    Raises
    ------
    InputError
        Listing every problem found (up to ``options.max_errors``).

    Examples
    --------
    >>> frame = pd.DataFrame({"member": ["SEN"], "cycle": [2024], "kpi": ["K05"], "value": ["12%"],
    ...                       "disclosure": ["public"]})
    >>> obs, warnings = validate_returns(frame, members=["SEN"], options=IngestOptions(missing_required="warn"))
    >>> float(obs.loc[0, "value"]), obs.loc[0, "flag"]
    (12.0, 'percent_sign')
    >>> frame.loc[0, "value"] = "n/a"
    >>> validate_returns(frame, members=["SEN"])
    Traceback (most recent call last):
    ...
    pmm_lib.errors.InputError: file <frame>, row 2, column 'value': 'n/a' is text, not a number (expected a number in % change, or an empty cell to skip the KPI)
    """
    fw = framework or load_framework()
    opts = options or IngestOptions()
    col = _Collector(opts.max_errors)
    mem = _resolve_members(members, col)
    cols = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in _CSV_REQUIRED if c not in cols]
    if missing:
        raise InputError(f"required column(s) {', '.join(missing)} missing", file=file, column=missing[0],
                         expected="the columns " + ", ".join(_CSV_REQUIRED))
    n = len(frame)

    def get(c: str) -> pd.Series:
        return (frame[cols[c]].astype(object).reset_index(drop=True) if c in cols
                else pd.Series([""] * n, dtype=object))

    records = pd.DataFrame({c: get(c) for c in (*_CSV_REQUIRED, *_CSV_OPTIONAL)})
    records["_sheet"] = pd.Series([None] * n, dtype=object)
    records["_row"] = pd.Series(np.arange(2, n + 2), dtype=object)
    records["_pct_format"] = False
    raw = _Raw(name=file, kind="csv", records=records, labels={None: {c: c for c in (*_CSV_REQUIRED, *_CSV_OPTIONAL)}})
    accepted = _validate_raw(raw, fw, mem, opts, col)
    col.raise_if_any()
    return _finish([(raw, accepted)], fw, col), col.warnings


def _discover(paths_in: Sequence[str | Path] | None, col: _Collector) -> list[Path]:
    if not paths_in:
        return _discover_dir(paths.QUESTIONNAIRE_DIR)
    out: list[Path] = []
    seen: set[Path] = set()
    for p in paths_in:
        p = Path(p)
        if not p.exists():
            col.error("file not found", file=str(p), expected="an existing .xlsx or .csv file")
            continue
        for q in _discover_dir(p) if p.is_dir() else [p]:
            if q.resolve() in seen:
                col.warn("file listed more than once; read once", file=q.name)
                continue
            seen.add(q.resolve())
            out.append(q)
    return out


def _discover_dir(d: Path) -> list[Path]:
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir()
                  if p.is_file() and p.suffix.lower() in (".xlsx", ".csv") and not p.name.startswith(("~$", ".")))


def _rel(p: Path) -> str:
    return relative_path(p, paths.ROOT)


def read_returns(paths_in: Sequence[str | Path] | None = None, *, cycle: int | None = None,
                 framework: Framework | None = None, members: Iterable[str] | None | Literal["auto"] = "auto",
                 options: IngestOptions | None = None) -> IngestResult:
    """Read and validate questionnaires (.xlsx) and tidy CSV returns, without writing anything.

    Parameters
    ----------
    paths_in : sequence of paths, optional
        Files or folders; default every ``.xlsx``/``.csv`` in ``data/raw/questionnaires/``.
    cycle : int, optional
        Keep only this cycle (every input is still validated in full).
    framework : Framework, optional
        Default ``methodology/framework.yaml``.
    members : iterable of str, None or "auto"
        Known Member codes; ``"auto"`` reads the Member list (``data/raw/external/wco_members.csv``),
        ``None`` checks the ISO3 format only.
    options : IngestOptions, optional

    Returns
    -------
    IngestResult
        ``observations`` sorted by cycle, member and framework KPI order; ``warnings``; ``inputs``.

    Raises
    ------
    InputError
        All problems of all files together (first one in the fields, all in ``.issues``).
    """
    fw = framework or load_framework()
    opts = options or IngestOptions()
    col = _Collector(opts.max_errors)
    mem = _resolve_members(members, col)
    files = _discover(paths_in, col)
    if not files and not col.n_errors:
        where = ", ".join(map(str, paths_in)) if paths_in else _rel(paths.QUESTIONNAIRE_DIR)
        raise InputError(f"no questionnaires (.xlsx) or returns (.csv) found in {where}",
                         expected="at least one .xlsx or .csv file")
    frames: list[tuple[_Raw, pd.DataFrame]] = []
    inputs: list[dict[str, Any]] = []
    try:
        from tqdm.auto import tqdm  # noqa: PLC0415
        iterator = tqdm(files, desc="ingest", unit="file", disable=None if len(files) > 3 else True, leave=False)
    except ImportError:  # pragma: no cover
        iterator = files
    for path in iterator:
        ext = path.suffix.lower()
        if ext == ".xlsx":
            raw = _read_xlsx(path, fw, col)
        elif ext == ".csv":
            raw = _read_csv(path, opts, col)
        else:
            col.error(f"unsupported file type {ext or '(none)'}", file=path.name,
                      expected="a questionnaire .xlsx or a tidy .csv return")
            raw = None
        if raw is None:
            continue
        accepted = _validate_raw(raw, fw, mem, opts, col)
        frames.append((raw, accepted))
        inputs.append({"path": _rel(path), "name": path.name, "kind": raw.kind, "bytes": path.stat().st_size,
                       "sha256": file_sha256(path), "rows": int(len(raw.records)),
                       "observations": int(len(accepted)), "encoding": raw.encoding})
    col.raise_if_any()
    obs = _finish(frames, fw, col)
    col.raise_if_any()
    if obs.empty:
        raise InputError("the inputs hold no values", file=", ".join(i["name"] for i in inputs) or None,
                         expected="at least one filled value")
    if cycle is not None:
        dropped = int((obs["cycle"] != cycle).sum())
        obs = obs[obs["cycle"] == cycle].reset_index(drop=True)
        if dropped:
            col.warn(f"{dropped} observation(s) of other cycles left out (--cycle {cycle})")
        if obs.empty:
            raise InputError(f"no observations for cycle {cycle}", column="--cycle",
                             expected="a cycle present in the inputs")
    from pmm_lib.inputs.schemas import OBSERVATIONS_SCHEMA  # noqa: PLC0415
    OBSERVATIONS_SCHEMA.validate(obs)  # internal contract; a failure here is a bug, not bad input
    ignored = []
    if not paths_in and paths.QUESTIONNAIRE_DIR.is_dir():
        ignored = sorted(p.name for p in paths.QUESTIONNAIRE_DIR.iterdir() if p.is_file() and p not in files)
    return IngestResult(observations=obs, warnings=col.warnings, inputs=inputs,
                        manifest={"members_checked": mem is not None, "ignored": ignored})


def _versions() -> dict[str, str]:
    return package_versions(("pmm-workbench", "pandas", "numpy", "pandera", "openpyxl", "pyarrow"),
                            python=True, missing="not installed")


def ingest(paths_in: Sequence[str | Path] | None = None, *, processed_dir: str | Path | None = None,
           cycle: int | None = None, framework: Framework | None = None,
           members: Iterable[str] | None | Literal["auto"] = "auto", options: IngestOptions | None = None,
           with_reference: bool = True) -> IngestResult:
    """Validate the inputs and write ``observations.parquet`` (+ members, outcomes) and ``manifest.json``.

    Everything is validated first; outputs are written into a new hidden folder
    ``processed_dir/.ingest-<time>-<random>/``, then published in one step: each
    ``processed_dir/<name>`` is a symlink to ``current/<name>`` and ``current`` is a symlink to
    that folder, switched by a single ``os.replace``. Readers therefore see all old outputs or
    all new ones, never a mix; after any failure (an exception or a kill) the visible files are
    byte-identical to before; a killed ingest may leave a hidden ``.ingest-*`` folder, which a
    later ingest removes once it is an hour old. Outputs not produced this time (members,
    outcomes when :mod:`pmm_lib.inputs.data` is unavailable) are carried forward and noted.

    Parameters
    ----------
    paths_in, cycle, framework, members, options
        As in :func:`read_returns`.
    processed_dir : path, optional
        Default ``data/processed``.
    with_reference : bool
        Also write ``members.parquet`` and ``outcomes.parquet`` from :mod:`pmm_lib.inputs.data`
        (skipped, with a note in the manifest, when that module is not available).

    Returns
    -------
    IngestResult
        With ``written`` (name -> path) and ``manifest``.
    """
    fw = framework or load_framework()
    result = read_returns(paths_in, cycle=cycle, framework=fw, members=members, options=options)
    out_dir = Path(processed_dir) if processed_dir is not None else paths.PROCESSED_DIR
    tables: dict[str, pd.DataFrame] = {"observations": result.observations}
    notes: list[str] = []
    if with_reference:
        try:
            data_mod = importlib.import_module("pmm_lib.inputs.data")
            loaders = {"members": data_mod.load_members, "outcomes": data_mod.load_outcomes}
        except (ImportError, AttributeError) as exc:
            notes.append(f"members.parquet and outcomes.parquet not written: pmm_lib.inputs.data is not available ({exc})")
            loaders = {}
        for name, loader in loaders.items():
            try:
                tables[name] = loader()
            except OSError as exc:
                raise InputError(f"reference data for {name}.parquet cannot be read: {exc}",
                                 file=getattr(exc, "filename", None)) from None
    fw_path = fw.path if fw.path is not None else paths.FRAMEWORK_PATH
    manifest: dict[str, Any] = {
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": "pmm ingest",
        "cycle": cycle,
        "framework": {"path": _rel(Path(fw_path)), "version": fw.version,
                      "sha256": file_sha256(fw_path) if Path(fw_path).exists() else None},
        "members_checked": result.manifest.get("members_checked"),
        "inputs": result.inputs,
        "ignored": result.manifest.get("ignored", []),
        "outputs": {},
        "warnings": [w.to_dict() for w in result.warnings],
        "notes": notes,
        "versions": _versions(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S")
    version = Path(tempfile.mkdtemp(prefix=f".ingest-{stamp}-", dir=out_dir))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(version, 0o777 & ~mask)  # mkdtemp makes it private; readers of data/processed need it
    published = False
    try:
        for name, table in tables.items():
            target = version / f"{name}.parquet"
            write_with(target, lambda tmp, t=table: t.to_parquet(tmp, index=False, engine="pyarrow"))
            manifest["outputs"][f"{name}.parquet"] = {"rows": int(len(table)), "sha256": file_sha256(target),
                                                      "bytes": target.stat().st_size}
        kept = _carry_forward(out_dir, version)
        if kept:
            notes.append(f"kept from the previous ingest: {', '.join(kept)}")
        write_text_atomic(version / "manifest.json",
                          json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n")
        written = _publish(out_dir, version)
        published = True
    finally:
        if not published:
            shutil.rmtree(version, ignore_errors=True)
    result.manifest = manifest
    result.written = written
    return result


def ensure_processed(processed_dir: str | Path | None = None) -> dict[str, Any]:
    """Bring ``data/processed`` up to date with the questionnaires in ``data/raw/questionnaires``.

    The data flow is raw → ``pmm ingest`` → processed → ``pmm run``. A run calls this first:
    when the processed manifest lists exactly the questionnaire files present now, with the
    same SHA-256 hashes, nothing happens; otherwise (no processed data yet, a file added,
    removed or changed) the questionnaires are ingested again, with every check of
    :func:`ingest` (an invalid questionnaire stops the run with its precise error).

    Returns
    -------
    dict
        ``action`` (``"current"`` or ``"ingested"``), ``reason``, ``manifest_sha256``.
    """
    out_dir = Path(processed_dir) if processed_dir is not None else paths.PROCESSED_DIR
    manifest_path = out_dir / "manifest.json"
    present = {_rel(p): file_sha256(p) for p in _discover_dir(paths.QUESTIONNAIRE_DIR)}
    reason = "no processed data yet"
    if manifest_path.is_file() and (out_dir / "observations.parquet").is_file():
        try:
            recorded = {i["path"]: i["sha256"]
                        for i in json.loads(manifest_path.read_text(encoding="utf-8")).get("inputs", [])}
        except (ValueError, KeyError, TypeError):
            recorded, reason = None, "processed manifest unreadable"
        if recorded == present:
            return {"action": "current", "reason": "processed data match the questionnaires",
                    "manifest_sha256": file_sha256(manifest_path)}
        if recorded is not None:
            changed = sorted(set(recorded.items()) ^ set(present.items()))
            reason = "questionnaires changed: " + ", ".join(sorted({k for k, _ in changed}))
    ingest(processed_dir=out_dir)
    return {"action": "ingested", "reason": reason, "manifest_sha256": file_sha256(manifest_path)}


# ----------------------------------------------------------------------------------------------
# Publishing processed outputs: one atomic switch
# ----------------------------------------------------------------------------------------------

_CURRENT = "current"
_STALE_SECONDS = 3600


def _link(out_dir: Path, name: str, target: str) -> None:
    """Make ``out_dir/name`` a symlink to ``target`` (relative), replacing what is there atomically."""
    tmp = out_dir / f".ingest-link-{os.getpid()}-{secrets.token_hex(4)}"
    os.symlink(target, tmp)
    try:
        os.replace(tmp, out_dir / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _symlinks_work(out_dir: Path) -> bool:
    probe = out_dir / f".ingest-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.symlink(".", probe)
    except (OSError, NotImplementedError):
        return False
    probe.unlink()
    return True


def _current_files(out_dir: Path) -> dict[str, Path]:
    """Output name -> the file a reader of ``out_dir/<name>`` gets today."""
    cur = out_dir / _CURRENT
    if cur.is_symlink() and cur.is_dir():
        return {p.name: p for p in cur.iterdir() if p.is_file()}
    return {p.name: p for p in out_dir.iterdir()
            if p.is_file() and not p.is_symlink() and not p.name.startswith(".")}


def _carry_forward(out_dir: Path, version: Path) -> list[str]:
    """Hard-link (or copy) outputs this ingest does not rewrite into the new version; return their names."""
    kept = []
    for name, src in sorted(_current_files(out_dir).items()):
        if name.endswith(".parquet") and not (version / name).exists():
            try:
                os.link(src, version / name)
            except OSError:
                shutil.copy2(src, version / name)
            kept.append(name)
    return kept


def _publish(out_dir: Path, version: Path) -> dict[str, Path]:
    """Make the files of ``version`` (a folder inside ``out_dir``) the current outputs, all at once.

    ``out_dir/<name>`` are symlinks to ``current/<name>`` and ``current`` is a symlink to the
    version folder, so one ``os.replace`` of ``current`` switches every output together: a
    reader sees all old files or all new ones, and a kill at any point leaves the old set in
    place (at worst with a hidden ``.ingest-*`` folder, removed by a later ingest). A folder of
    plain files from an older layout is first moved under ``current`` unchanged. Where symlinks
    are not available (some Windows set-ups) each file is replaced on its own.
    """
    names = sorted(p.name for p in version.iterdir())
    if not _symlinks_work(out_dir):
        for name in names:
            os.replace(version / name, out_dir / name)
        shutil.rmtree(version, ignore_errors=True)
        return {n: out_dir / n for n in names}
    cur = out_dir / _CURRENT
    if not cur.is_symlink():  # first ingest, or plain files from an older layout
        snapshot = Path(tempfile.mkdtemp(prefix=".ingest-previous-", dir=out_dir))
        legacy = _current_files(out_dir)
        for name, src in legacy.items():
            try:
                os.link(src, snapshot / name)
            except OSError:
                shutil.copy2(src, snapshot / name)
        _link(out_dir, _CURRENT, snapshot.name)
        for name in legacy:
            _link(out_dir, name, f"{_CURRENT}/{name}")  # same bytes, now reached through current/
    old = os.readlink(cur)
    _link(out_dir, _CURRENT, version.name)  # the switch
    for name in names:
        if os.path.islink(out_dir / name) and os.readlink(out_dir / name) == f"{_CURRENT}/{name}":
            continue
        _link(out_dir, name, f"{_CURRENT}/{name}")
    if old != version.name and old.startswith(".ingest-") and "/" not in old:
        shutil.rmtree(out_dir / old, ignore_errors=True)
    now = time.time()
    for p in out_dir.glob(".ingest-*"):  # leftovers of killed ingests
        if p.name != version.name and now - p.lstat().st_mtime > _STALE_SECONDS:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
    return {n: out_dir / n for n in names}
