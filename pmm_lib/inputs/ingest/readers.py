"""Reading input files into raw records: finding files, refusing what is not a readable return, guards.

Every reader turns a file into a :class:`~pmm_lib.inputs.ingest.model.RawFile` (one record per
KPI row or CSV line, cells as written) or records precise errors and returns None. Nothing is
interpreted here beyond finding where things are; :mod:`~pmm_lib.inputs.ingest.validate` reads
the cells.

Guards, before anything is parsed: the file size (``IngestOptions.max_bytes``, 64 MiB, for
CSV and workbooks alike); for a workbook the total inflated size of its zip parts from the
central directory (``max_inflated_bytes``, 256 MiB: a zip bomb is refused without inflating
it); for a CSV the number of lines (``max_rows``). A file whose bytes are not what its name
says is named for what it is (an image, a PDF, a Word document, an old ``.xls``, an encrypted
workbook). In a folder, spreadsheets ingest cannot read (``.xls``, ``.ods``, ``.xlsb``,
``.numbers``) are errors naming each file: a Member's answers are never skipped silently.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pmm_lib import paths
from pmm_lib.inputs.framework import Framework
from pmm_lib.inputs.ingest import catalogue
from pmm_lib.inputs.ingest.catalogue import (
    COLUMNS,
    REQUIRED_COLUMNS,
    RESPONDENT_FIELDS,
    STAMP_PREFIX,
)
from pmm_lib.inputs.ingest.model import (
    RECORD_COLUMNS,
    UNREADABLE_CELL,
    Collector,
    IngestOptions,
    RawFile,
)

__all__ = ["CSV_OPTIONAL", "CSV_REQUIRED", "READABLE", "UNREADABLE", "discover", "discover_dir", "read_csv",
           "read_file", "read_xlsx"]

READABLE = (".xlsx", ".xlsm", ".csv")
#: Spreadsheet formats a Member may save by mistake: refused by name, never skipped.
UNREADABLE = {".xls": "an Excel 97-2003 workbook", ".ods": "an OpenDocument spreadsheet",
              ".xlsb": "an Excel binary workbook", ".numbers": "an Apple Numbers file",
              ".fods": "an OpenDocument spreadsheet", ".tsv": "a tab-separated file (rename it .csv)"}
CSV_REQUIRED = ("member", "cycle", "kpi", "value", "disclosure")
CSV_OPTIONAL = ("source", "flag", "status", "data_source", "validation", "comment", "unit")
_CSV_SYNONYMS = {"comments": "comment", "note": "comment", "notes": "comment", "remarks": "comment",
                 "data source": "data_source", "validation status": "validation", "if no value": "status",
                 "reason": "status"}
_MAX_BLANK_ROWS = 200  # a dimension sheet ends after this many empty rows
_XL = "an Excel .xlsx workbook (File > Save As > Excel Workbook)"


# ----------------------------------------------------------------------------------------------
# Finding files
# ----------------------------------------------------------------------------------------------

def discover_dir(d: Path) -> tuple[list[Path], list[Path]]:
    """(readable returns, refused spreadsheets) in a folder; lock files and hidden files skipped."""
    if not d.is_dir():
        return [], []
    files = sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith(("~$", ".")))
    return ([p for p in files if p.suffix.lower() in READABLE],
            [p for p in files if p.suffix.lower() in UNREADABLE])


def discover(paths_in: Sequence[str | Path] | None, col: Collector) -> list[Path]:
    """The files to read; refused spreadsheets and missing paths are recorded as errors."""
    if not paths_in:
        found, refused = discover_dir(paths.QUESTIONNAIRE_DIR)
        _refuse(refused, col)
        return found
    out: list[Path] = []
    seen: set[Path] = set()
    for p in map(Path, paths_in):
        if not p.exists():
            col.error("file not found", file=str(p), expected="an existing .xlsx or .csv file")
            continue
        if p.is_dir():
            found, refused = discover_dir(p)
            _refuse(refused, col)
        else:
            found = [p]
        for q in found:
            if q.resolve() in seen:
                col.warn("file listed more than once; read once", file=q.name)
                continue
            seen.add(q.resolve())
            out.append(q)
    return out


def _refuse(refused: list[Path], col: Collector) -> None:
    for p in refused:
        col.error(f"this is {UNREADABLE[p.suffix.lower()]} ({p.suffix}), which ingest cannot read", file=p.name,
                  expected="the questionnaire saved as .xlsx (File > Save As > Excel Workbook) or a .csv return")


def read_file(path: Path, fw: Framework, opts: IngestOptions, col: Collector) -> RawFile | None:
    """Dispatch on the extension (``.xlsx``/``.xlsm`` workbook, ``.csv`` return)."""
    ext = path.suffix.lower()
    if ext in (".xlsx", ".xlsm"):
        return read_xlsx(path, fw, opts, col)
    if ext == ".csv":
        return read_csv(path, opts, col)
    if ext in UNREADABLE:
        _refuse([path], col)
    else:
        col.error(f"unsupported file type {ext or '(none)'}", file=path.name,
                  expected="a questionnaire .xlsx or a tidy .csv return")
    return None


# ----------------------------------------------------------------------------------------------
# What a file really is
# ----------------------------------------------------------------------------------------------

def _utf16(s: str) -> bytes:
    return s.encode("utf-16-le")


def _sniff(data: bytes) -> str | None:
    """Name the real type of a file from its bytes, or None when it may be what it says."""
    if not data:
        return "an empty file (0 bytes)"
    if data.startswith(b"\x89PNG"):
        return "a PNG image"
    if data[:3] == b"\xff\xd8\xff":
        return "a JPEG image"
    if data.startswith(b"%PDF"):
        return "a PDF document"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        if _utf16("EncryptedPackage") in data or _utf16("EncryptionInfo") in data:
            return "a password-protected (encrypted) workbook"
        if _utf16("WordDocument") in data:
            return "an old-format Word document (.doc)"
        if _utf16("Workbook") in data or _utf16("Book") in data:
            return "an Excel 97-2003 workbook (.xls)"
        return "an old-format Office file (.xls/.doc)"
    return None


def _size_ok(path: Path, opts: IngestOptions, col: Collector) -> bool:
    size = path.stat().st_size
    if size > opts.max_bytes:
        col.error(f"the file is too large: {size:,} bytes ({size / 2**20:.1f} MiB)", file=path.name,
                  expected=f"at most {opts.max_bytes:,} bytes ({opts.max_bytes / 2**20:g} MiB, "
                           "IngestOptions.max_bytes); remove images and unused sheets, or split it by cycle")
        return False
    return True


def _container_ok(path: Path, opts: IngestOptions, col: Collector) -> bool:
    """A workbook's container: right type, not encrypted, not a zip bomb, not damaged."""
    name = path.name
    if not _size_ok(path, opts, col):
        return False
    with open(path, "rb") as fh:
        head = fh.read(8)
        data = head + fh.read() if head.startswith(b"\xd0\xcf\x11\xe0") else head
    real = _sniff(data)
    if real is not None:
        if "encrypted" in real:
            col.error(f"this is {real}: it cannot be read without its password", file=name,
                      expected="the workbook saved without a password (File > Info > Protect Workbook > "
                               "Encrypt with Password: clear it, then save)")
        else:
            col.error(f"this is {real}, not an Excel workbook", file=name, expected=_XL)
        return False
    if not head.startswith(b"PK"):
        col.error("not an Excel workbook (the file is not a zip container)", file=name, expected=_XL)
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            inflated = sum(i.file_size for i in infos)
            if inflated > opts.max_inflated_bytes:
                col.error(f"the workbook would inflate to {inflated:,} bytes ({inflated / 2**20:.0f} MiB) "
                          f"from {path.stat().st_size:,} bytes", file=name,
                          expected=f"at most {opts.max_inflated_bytes:,} bytes uncompressed "
                                   "(IngestOptions.max_inflated_bytes): a questionnaire is well under 1 MiB")
                return False
            names = {i.filename for i in infos}
            bad = zf.testzip()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        col.error(f"the workbook is damaged or truncated and cannot be opened ({exc})", file=name,
                  expected="a complete .xlsx file: copy or download it again")
        return False
    if bad is not None:
        col.error(f"the workbook is damaged (part {bad} fails its checksum)", file=name,
                  expected="a complete .xlsx file: copy or download it again")
        return False
    if "xl/workbook.xml" not in names:
        what = ("a Word document" if "word/document.xml" in names else
                "a PowerPoint presentation" if "ppt/presentation.xml" in names else
                "an OpenDocument file" if "content.xml" in names else "a zip archive")
        col.error(f"this is {what}, not an Excel workbook", file=name, expected=_XL)
        return False
    return True


# ----------------------------------------------------------------------------------------------
# Workbooks
# ----------------------------------------------------------------------------------------------

class _Book:
    """An open workbook plus the lazily loaded view of cached formula results."""

    def __init__(self, path: Path, col: Collector):
        import openpyxl  # noqa: PLC0415

        self.path, self.name, self.col = path, path.name, col
        self.value_labels = {catalogue.fold(x) for x in COLUMNS["value"].values()}
        self.wb = openpyxl.load_workbook(path, data_only=False)
        self._cached: Any = None

    def cell_value(self, sheet: str, cell: Any, column_label: str) -> Any:
        v = cell.value
        if cell.data_type == "f" or (isinstance(v, str) and v.startswith("=")) or type(v).__name__ == "ArrayFormula":
            if self._cached is None:
                import openpyxl  # noqa: PLC0415
                self._cached = openpyxl.load_workbook(self.path, data_only=True)
            cv = self._cached[sheet][cell.coordinate].value
            if cv is None:
                self.col.error(f"cell {cell.coordinate} holds a formula with no stored result", file=self.name,
                               sheet=sheet, row=cell.row, column=column_label,
                               expected="a typed value (or open and save the file in Excel so results are stored)")
                # a Value cell is marked so it is not reported a second time as empty
                return UNREADABLE_CELL if catalogue.fold(column_label) in self.value_labels else None
            self.col.warn(f"cell {cell.coordinate} holds a formula; its stored result {cv!r} was used",
                          file=self.name, sheet=sheet, row=cell.row, column=column_label)
            return cv
        return v


def _stamp_of(ws: Any) -> dict[str, str] | None:
    if not hasattr(ws, "iter_rows"):
        return None
    for row in ws.iter_rows(min_row=1, max_row=3, max_col=min(max(ws.max_column, 1), 40), values_only=True):
        for v in row:
            if isinstance(v, str) and v.startswith(STAMP_PREFIX + "|"):
                parts = dict(p.split("=", 1) for p in v.split("|")[1:] if "=" in p)
                return parts
    return None


def _visibility(ws: Any) -> str:
    state = getattr(ws, "sheet_state", "visible")
    return "" if state == "visible" else f" ({'very hidden' if state == 'veryHidden' else 'hidden'})"


def _locate_sheets(book: _Book, fw: Framework) -> tuple[dict[str, str | None], dict[str, str]] | None:
    """Sheet key (respondent, TF, ...) -> worksheet title, found by stamp (or by name in old templates).

    Returns (found, stamp info) or None when the layout cannot be used at all.
    """
    wb, name, col = book.wb, book.name, book.col
    keys = ["respondent", *[d.code for d in fw.dimensions]]
    stamped: dict[str, list[Any]] = {}
    versions: set[str] = set()
    langs: set[str] = set()
    for ws in wb._sheets:  # noqa: SLF001 - worksheets and chart sheets, in order
        st = _stamp_of(ws)
        if st is None:
            continue
        stamped.setdefault(st.get("sheet", "?"), []).append(ws)
        versions.add(st.get("framework", ""))
        langs.add(st.get("lang", ""))
    info: dict[str, str] = {}
    found: dict[str, str | None] = {}
    if stamped:
        info["mode"] = "stamp"
        info["language"] = sorted(langs)[0] if len(langs) == 1 else ", ".join(sorted(langs))
        info["framework_version"] = ", ".join(sorted(versions))
        for key in keys:
            cands = stamped.get(key, [])
            pretty = "Respondent" if key == "respondent" else key
            if len(cands) > 1:
                listed = ", ".join(f"{ws.title!r}{_visibility(ws)}" for ws in cands)
                col.error(f"{len(cands)} sheets are the questionnaire's {pretty} sheet: {listed}", file=name,
                          sheet=cands[0].title,
                          expected=f"exactly one {pretty} sheet: delete the copy that does not hold your answers")
                found[key] = None
            elif not cands:
                titles = ", ".join(repr(s) for s in wb.sheetnames)
                col.error(f"the questionnaire's {pretty} sheet is missing; found sheets {titles}", file=name,
                          sheet=pretty, expected="the sheets of the PMM questionnaire: Respondent, "
                          + ", ".join(d.code for d in fw.dimensions) + " (do not delete sheets)")
                found[key] = None
            else:
                found[key] = cands[0].title
                if key != "respondent" and cands[0].title != key:
                    col.warn(f"sheet {cands[0].title!r} read as {key} (its identity stamp)", file=name,
                             sheet=cands[0].title)
        known = {"instructions", "summary", *keys}
        for ws in wb._sheets:  # noqa: SLF001
            st = _stamp_of(ws)
            if (st is None or st.get("sheet") not in known) and hasattr(ws, "iter_rows") and ws.max_row * ws.max_column > 1 \
                    or (st is None and hasattr(ws, "iter_rows") and ws["A1"].value is not None):
                col.warn(f"sheet {ws.title!r} is not part of the questionnaire; not read (put anything the "
                         "methodology team should know in the Comment column)", file=name, sheet=ws.title)
        return found, info
    # no stamp at all: a questionnaire from an older template, found by sheet names
    info["mode"] = "names"
    sheetnames = list(wb.sheetnames)
    folded = {catalogue.fold(s): s for s in sheetnames}
    names_of = {"respondent": [catalogue.fold(x) for x in catalogue.LABELS["sheet.respondent"].values()]}
    for key in keys:
        cands = names_of.get(key, [catalogue.fold(key)])
        real = next((folded[c] for c in cands if c in folded), None)
        found[key] = real
    missing = [k for k, v in found.items() if v is None]
    if missing:
        extra = [s for s in sheetnames if s not in found.values()
                 and catalogue.fold(s) not in {catalogue.fold(x) for x in catalogue.LABELS["sheet.instructions"].values()}]
        hint = f"; found sheets {', '.join(repr(s) for s in sheetnames)}" if sheetnames else ""
        if extra:
            hint += f" (unexpected: {', '.join(repr(s) for s in extra)} - renamed?)"
        for k in missing:
            pretty = "Respondent" if k == "respondent" else k
            col.error(f"sheet {pretty!r} is missing{hint}", file=name, sheet=pretty,
                      expected="the sheets of the PMM questionnaire: Respondent, "
                      + ", ".join(d.code for d in fw.dimensions))
    return found, info


def _respondent_rows(ws: Any) -> dict[str, int]:
    wanted = {f: {catalogue.fold(x) for x in by_lang.values()} for f, by_lang in RESPONDENT_FIELDS.items()}
    prefixes = {"member": ("member", "membre", "miembro"), "cycle": ("cycle", "ciclo"),
                "framework": ("framework", "version du cadre", "version del marco", "cadre", "marco")}
    rows: dict[str, int] = {}
    for r in range(1, min(ws.max_row, 60) + 1):
        lab = ws.cell(row=r, column=1).value
        if not isinstance(lab, str):
            continue
        f_lab = catalogue.fold(lab)
        for key, labels in wanted.items():
            if key in rows:
                continue
            if f_lab in labels or f_lab.startswith(prefixes.get(key, ("\x00",))):
                rows[key] = r
                break
    return rows


def _read_respondent(book: _Book, title: str, raw: RawFile) -> tuple[Any, Any]:
    """Member and cycle cells (as written); contact, e-mail, version and language into raw.respondent."""
    ws = book.wb[title]
    col, name = book.col, book.name
    if not hasattr(ws, "merged_cells"):
        col.error("this is a chart sheet, not a worksheet", file=name, sheet=title,
                  expected="the Respondent worksheet (labels in column A, answers in column B)")
        return None, None
    rows = _respondent_rows(ws)
    for rng in ws.merged_cells.ranges:
        # a label merged with its answer, or an answer merged across rows, hides where the answer is
        hides = (rng.min_col == 1 and rng.max_col >= 2) or (rng.min_col <= 2 <= rng.max_col and rng.max_row > rng.min_row)
        if hides and any(rng.min_row <= r <= rng.max_row for r in rows.values()):
            col.error(f"cells {rng.coord} are merged", file=name, sheet=title, row=rng.min_row,
                      column=f"{'A' if rng.min_col == 1 else 'B'}",
                      expected="each label alone in column A and its answer alone in column B (unmerge the cells)")
    out: dict[str, Any] = {}
    for key in ("member", "cycle", "contact", "email", "framework", "language"):
        label = RESPONDENT_FIELDS[key]["en"]
        if key not in rows:
            if key in ("member", "cycle"):
                col.error(f"no {label!r} row in column A", file=name, sheet=title, column="A",
                          expected=f"the label {label!r} in column A with the answer in column B")
            continue
        r = rows[key]
        shown = ws.cell(row=r, column=1).value.strip()
        out[key] = book.cell_value(title, ws.cell(row=r, column=2), shown)
        if key in ("member", "cycle"):
            raw.overrides[key] = (title, r, shown)
        if key == "framework":
            raw.overrides["framework"] = (title, r, shown)
    for key in ("contact", "email", "framework", "language"):
        v = out.get(key)
        raw.respondent[key] = "" if v is None else str(v).strip()
    return out.get("member"), out.get("cycle")


def _header(ws: Any, book: _Book, title: str) -> tuple[int, dict[str, int], dict[str, str]] | None:
    """(header row, field -> column number, field -> header text) of a dimension sheet, or None."""
    col, name = book.col, book.name
    header_row = None
    for r in range(1, min(ws.max_row, 10) + 1):
        if any(catalogue.header_field(c.value) == "kpi" for c in ws[r]):
            header_row = r
            break
    if header_row is None:
        col.error("no header row with a 'KPI code' cell in the first 10 rows", file=name, sheet=title,
                  expected="the header " + " | ".join(v["en"] for v in COLUMNS.values()) + " in row 3")
        return None
    where: dict[str, list[Any]] = {}
    for c in ws[header_row]:
        f = catalogue.header_field(c.value)
        if f is not None:
            where.setdefault(f, []).append(c)
    ok = True
    for cells in where.values():
        if len(cells) > 1:
            text = cells[0].value.strip()
            letters = " and ".join(c.column_letter for c in cells)
            col.error(f"{len(cells)} columns are headed {text!r} (columns {letters})", file=name, sheet=title,
                      row=header_row, column=text,
                      expected=f"one {text!r} column: delete the column you inserted (values are read from one place)")
            ok = False
    for f in REQUIRED_COLUMNS:
        if f not in where:
            pretty = COLUMNS[f]["en"]
            col.error(f"column {pretty!r} is missing from the header row", file=name, sheet=title,
                      row=header_row, column=pretty,
                      expected="the header " + " | ".join(v["en"] for v in COLUMNS.values()))
            ok = False
    if not ok:
        return None
    return (header_row, {f: cells[0].column for f, cells in where.items()},
            {f: cells[0].value.strip() for f, cells in where.items()})


def _read_dimension(book: _Book, title: str, member: Any, cycle: Any, recs: list[tuple[Any, ...]],
                    raw: RawFile) -> None:
    ws = book.wb[title]
    col, name = book.col, book.name
    if not hasattr(ws, "merged_cells"):
        col.error("this is a chart sheet, not a worksheet", file=name, sheet=title,
                  expected="the questionnaire's worksheet with one row per KPI")
        return
    head = _header(ws, book, title)
    if head is None:
        return
    header_row, colmap, labels = head
    raw.labels[title] = labels
    for rng in ws.merged_cells.ranges:
        if rng.max_row > header_row:
            hit = [f for f, cc in colmap.items() if rng.min_col <= cc <= rng.max_col
                   and f in ("kpi", "value", "disclosure", "status", "unit")]
            if hit:
                col.error(f"merged cells {rng.coord} in the data area", file=name, sheet=title, row=rng.min_row,
                          column=labels[hit[0]], expected="one unmerged cell per KPI and column")
    read = [f for f in ("kpi", "value", "disclosure", "status", "data_source", "validation", "comment", "unit")
            if f in colmap]
    blank_run = 0
    for r in range(header_row + 1, ws.max_row + 1):
        if blank_run >= _MAX_BLANK_ROWS:
            break  # formatting that runs to row 1,048,576 is not data
        cells = {f: ws.cell(row=r, column=colmap[f]) for f in read}
        vals = {f: book.cell_value(title, c, labels[f]) for f, c in cells.items()}
        if all(vals.get(f) is None or (isinstance(vals.get(f), str) and not vals[f].strip())
               for f in ("kpi", "value", "status", "comment", "data_source")):
            blank_run += 1
            continue
        blank_run = 0
        v = vals.get("value")
        pct = (isinstance(v, int | float) and not isinstance(v, bool)
               and "%" in str(cells["value"].number_format))
        recs.append((member, cycle, vals.get("kpi"), v, vals.get("disclosure"), f"questionnaire {name}", "",
                     vals.get("status"), vals.get("data_source"), vals.get("validation"), vals.get("comment"),
                     vals.get("unit"), title, r, pct))


def read_xlsx(path: Path, fw: Framework, opts: IngestOptions, col: Collector) -> RawFile | None:
    """A questionnaire workbook -> raw records (one per filled KPI row)."""
    if not _container_ok(path, opts, col):
        return None
    try:
        book = _Book(path, col)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types on malformed parts
        col.error(f"the workbook cannot be read ({type(exc).__name__}: {exc})", file=path.name, expected=_XL)
        return None
    located = _locate_sheets(book, fw)
    raw = RawFile(name=path.name, kind="xlsx", records=pd.DataFrame(columns=RECORD_COLUMNS), labels={})
    found, info = located
    raw.respondent.update({"mode": info.get("mode", ""), "stamp_language": info.get("language", ""),
                           "stamp_version": info.get("framework_version", "")})
    member = cycle = None
    if found.get("respondent") is not None:
        member, cycle = _read_respondent(book, found["respondent"], raw)
    recs: list[tuple[Any, ...]] = []
    outcome_dim = {o.code: o.parent for o in fw.outcomes}
    for dim in fw.dimensions:
        title = found.get(dim.code)
        if title is None:
            continue
        raw.expected_sheets[title] = [k.code for k in fw.kpis if outcome_dim[k.parent] == dim.code]
        _read_dimension(book, title, member, cycle, recs, raw)
    raw.records = pd.DataFrame(recs, columns=RECORD_COLUMNS, dtype=object)
    return raw


# ----------------------------------------------------------------------------------------------
# CSV returns
# ----------------------------------------------------------------------------------------------

def _decode(data: bytes, name: str, col: Collector) -> tuple[str, str]:
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "latin-1"
        col.warn(f"not valid UTF-8 (first non-UTF-8 byte 0x{data[exc.start]:02x} in row {line}); "
                 f"decoded as {'Windows-1252' if encoding == 'cp1252' else 'Latin-1'}", file=name, row=line)
        return text, encoding


def _header_name(h: str) -> str:
    h = unicodedata.normalize("NFKC", h).strip().strip('"').strip().lower()
    return _CSV_SYNONYMS.get(h, h)


def read_csv(path: Path, opts: IngestOptions, col: Collector) -> RawFile | None:
    """A tidy CSV return -> raw records; rows numbered as in a text editor (header = its line)."""
    name = path.name
    if not _size_ok(path, opts, col):
        return None
    data = path.read_bytes()
    real = _sniff(data[:8] if not data.startswith(b"\xd0\xcf\x11\xe0") else data)
    if real is not None or data[:2] == b"PK":
        what = real or "a zip container (an Excel or Word file?)"
        col.error(f"this is {what}, not a CSV text file", file=name, expected="comma-separated UTF-8 text")
        return None
    if b"\x00" in data[:4096]:
        col.error("this is a binary file (or UTF-16 text), not a CSV text file", file=name,
                  expected="comma-separated UTF-8 text (Excel: Save As > CSV UTF-8)")
        return None
    n_lines = data.count(b"\n") or data.count(b"\r")
    if n_lines - 1 > opts.max_rows:
        col.error(f"the file is too large: {n_lines - 1:,} data rows", file=name,
                  expected=f"at most {opts.max_rows:,} rows (IngestOptions.max_rows); split it by cycle")
        return None
    text, encoding = _decode(data, name, col)
    if "\r" in text:
        if "\n" not in text:
            col.warn("lines end with a carriage return only (old Mac format); read as line breaks", file=name)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        col.error("the file is empty", file=name, expected="a header row " + ", ".join(CSV_REQUIRED))
        return None
    first = next(line for line in text.split("\n") if line.strip())
    sep = ","
    if first.count(";") > first.count(",") and first.count(";") >= 2:
        sep = ";"
        col.warn("fields separated by ';' (read as such)", file=name, row=1)
    elif first.count("\t") > first.count(",") and first.count("\t") >= 2:
        sep = "\t"
        col.warn("fields separated by tabs (read as such)", file=name, row=1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, skipinitialspace=True)
    header: list[str] | None = None
    header_line = 1
    rows: list[list[str]] = []
    lines: list[int] = []
    prev_end = 0
    try:
        for rec in reader:
            start, prev_end = prev_end + 1, reader.line_num
            if not rec or all(not x.strip() for x in rec):
                continue  # a blank line: skipped, but row numbers keep counting it
            if header is None:
                header, header_line = [_header_name(h) for h in rec], start
                continue
            rows.append(rec)
            lines.append(start)
    except csv.Error as exc:
        col.error(f"the CSV cannot be parsed: {exc}", file=name, row=reader.line_num,
                  expected="well-formed comma-separated text (quote text containing commas or quotes)")
        return None
    assert header is not None  # the text is not blank
    dups = sorted({h for h in header if header.count(h) > 1 and h})
    for h in dups:
        col.error(f"column {h!r} appears {header.count(h)} times in the header", file=name, row=header_line,
                  column=h, expected="each column once")
    missing = [c for c in CSV_REQUIRED if c not in header]
    for c in missing:
        col.error(f"required column {c!r} is missing; header is {', '.join(header)}", file=name, row=header_line,
                  column=c, expected="the columns " + ", ".join(CSV_REQUIRED) + " (and optionally "
                  + ", ".join(CSV_OPTIONAL) + ")")
    if missing or dups:
        return None
    extra = [h for h in header if h not in CSV_REQUIRED + CSV_OPTIONAL]
    if extra:
        col.warn(f"column(s) {', '.join(extra)} not read (ingest reads "
                 + ", ".join(CSV_REQUIRED + CSV_OPTIONAL) + ")", file=name, row=header_line)
    width = len(header)
    optional_tail = all(h in CSV_OPTIONAL or h in extra for h in header[len(CSV_REQUIRED):])
    good_rows: list[list[str]] = []
    good_lines: list[int] = []
    bad = 0
    for rec, line in zip(rows, lines, strict=True):
        if len(rec) > width and not any(x.strip() for x in rec[width:]):
            rec = rec[:width]
        if len(rec) < width and optional_tail and all(h in CSV_OPTIONAL or h in extra for h in header[len(rec):]) \
                and len(rec) >= max(header.index(c) for c in CSV_REQUIRED) + 1:
            rec = rec + [""] * (width - len(rec))
        if len(rec) != width:
            bad += 1
            col.error(f"this row has {len(rec)} fields but the header has {width}", file=name, row=line,
                      expected="the same number of comma-separated fields on every row (quote text containing commas)")
            continue
        good_rows.append(rec)
        good_lines.append(line)
    if bad:
        return None
    n = len(good_rows)
    idx = {h: i for i, h in enumerate(header)}

    def column(c: str) -> pd.Series:
        if c not in idx:
            return pd.Series([None] * n, dtype="str")
        j = idx[c]
        return pd.Series([r[j].strip() or None for r in good_rows], dtype="str")

    records = pd.DataFrame({c: column(c) for c in (*CSV_REQUIRED, *CSV_OPTIONAL)})
    records["source"] = records["source"].fillna("")
    records["flag"] = records["flag"].fillna("")
    records["_sheet"] = pd.Series([None] * n, dtype=object)
    records["_row"] = pd.Series(np.asarray(good_lines, dtype=np.int64), dtype=object)
    records["_pct_format"] = pd.Series([False] * n, dtype=object)
    records = records[RECORD_COLUMNS]
    labels = {None: {f: f for f in (*CSV_REQUIRED, *CSV_OPTIONAL)}}
    return RawFile(name=name, kind="csv", records=records, labels=labels, encoding=encoding)
