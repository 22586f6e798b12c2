"""The Excel questionnaire generated from the framework (``pmm template [--lang en|fr|es]``).

Layout
------
* ``Instructions`` (``Instrucciones``): how to fill the workbook, including the separator and
  percent rules ingest applies (:data:`pmm_lib.inputs.ingest.catalogue.INSTRUCTIONS`).
* ``Respondent`` (``Répondant``, ``Encuestado``): labels in column A, answers in column B:
  row 3 Member (ISO3), 4 cycle, 5 contact name, 6 contact e-mail (internal only); row 8 the
  framework version and row 9 the language (locked). Ingest finds the rows by their labels.
* One sheet per dimension, named by its code (``TF``, ``RC``, ``ES``, ``OD``): row 1 a title,
  row 2 a hint, row 3 the header (:data:`~pmm_lib.inputs.ingest.catalogue.COLUMNS`: KPI code,
  name, expected outcome, definition, unit, reference period, allowed range, may skip, then the
  Member's cells Value, If no value, Disclosure, Data source, Validation status, Comment), one
  row per KPI from row 4. Only the Member's cells are unlocked; Disclosure, If no value and
  Validation status are drop-downs left empty (nothing is chosen for the Member).
* ``Completeness`` (``Complétude``, ``Integridad``): per dimension, KPIs, values entered, reasons
  given and still open (Excel formulas; ignored on ingest).

Every sheet carries its identity in a hidden cell (column Z, row 1):
``pmm-questionnaire|sheet=TF|framework=<version>|lang=fr``. Ingest finds sheets by that stamp,
not by position, name or visibility: a copied sheet (``TF (2)``) carries the same stamp, so two
candidates are reported by name instead of one being read silently.

Examples
--------
>>> import tempfile, pathlib, openpyxl
>>> with tempfile.TemporaryDirectory() as d:
...     p = write_template(pathlib.Path(d) / "q.xlsx", lang="fr")
...     wb = openpyxl.load_workbook(p)
...     wb.sheetnames, wb["TF"]["I3"].value, wb["TF"]["E4"].value
(['Instructions', 'Répondant', 'TF', 'RC', 'ES', 'OD', 'Complétude'], 'Valeur', 'heures')
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from pmm_lib.errors import InputError
from pmm_lib.inputs.framework import Framework, load_framework
from pmm_lib.inputs.ingest import catalogue
from pmm_lib.inputs.ingest.catalogue import COLUMNS, LANGUAGES, STAMP_PREFIX, label
from pmm_lib.io import write_with

__all__ = ["HEADER_ROW", "RESPONDENT_ROWS", "STAMP_CELL", "column_letter", "stamp", "write_template"]

HEADER_ROW = 3
#: Respondent sheet: field -> row (label in column A, answer in column B).
RESPONDENT_ROWS: dict[str, int] = {"member": 3, "cycle": 4, "contact": 5, "email": 6, "framework": 8, "language": 9}
STAMP_COLUMN = 26
STAMP_CELL = "Z1"
_FIELDS = list(COLUMNS)
_INPUT_FIELDS = ("value", "status", "disclosure", "data_source", "validation", "comment")
_WIDTHS = {"kpi": 9, "name": 40, "outcome": 30, "definition": 50, "unit": 12, "period": 24, "range": 14,
           "optional": 10, "value": 14, "status": 18, "disclosure": 14, "data_source": 28, "validation": 18,
           "comment": 40}


def column_letter(fieldname: str) -> str:
    """Column letter of a dimension-sheet field in the generated template (``value`` -> ``I``)."""
    return chr(65 + _FIELDS.index(fieldname))


def stamp(sheet_key: str, version: str, lang: str) -> str:
    """The identity text written into a sheet's hidden stamp cell."""
    return f"{STAMP_PREFIX}|sheet={sheet_key}|framework={version}|lang={lang}"


def _range_text(lower: float, upper: float, lang: str) -> str:
    word = {"en": ("from", "to"), "fr": ("de", "à"), "es": ("de", "a")}[lang]
    return f"{word[0]} {lower:g} {word[1]} {upper:g}"


def write_template(out: str | Path | None = None, *, member: str | None = None, cycle: int | None = None,
                   framework: Framework | None = None, lang: str = "en") -> Path:
    """Write the Excel questionnaire generated from the framework (layout: module docstring).

    Parameters
    ----------
    out : path, optional
        Output ``.xlsx`` (default ``pmm_questionnaire[_<member>_<cycle>][_<lang>].xlsx`` in the
        current folder; the language suffix only for French and Spanish).
    member, cycle : optional
        Pre-fill the Respondent sheet.
    framework : Framework, optional
        Default: ``methodology/framework.yaml``.
    lang : {"en", "fr", "es"}
        Language of the questionnaire (any of them is ingested identically).

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
    if lang not in LANGUAGES or lang not in fw.languages:
        raise InputError(f"language {lang!r} is not available", column="--lang",
                         expected=" or ".join(x for x in LANGUAGES if x in fw.languages))
    if member is not None:
        member = str(member).strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", member):
            raise InputError(f"Member code {member!r} is not an ISO3 code", column="--member",
                             expected="three letters, e.g. SEN")
    if cycle is not None and (isinstance(cycle, bool) or not isinstance(cycle, int | np.integer)):
        raise InputError(f"cycle {cycle!r} is not a year", column="--cycle", expected="an integer year, e.g. 2024")
    if out is None:
        suffix = ("_" + lang) if lang != "en" else ""
        out = (f"pmm_questionnaire_{member}_{cycle}{suffix}.xlsx" if member and cycle
               else f"pmm_questionnaire{suffix}.xlsx")
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise InputError("the questionnaire must be written as .xlsx", file=out, expected="a file name ending in .xlsx")

    bold = Font(bold=True)
    title_font = Font(bold=True, size=14)
    locked_fill = PatternFill("solid", fgColor="EDEDED")
    input_fill = PatternFill("solid", fgColor="FFF7D6")
    unlocked = Protection(locked=False)
    wrap = Alignment(wrap_text=True, vertical="top")

    def stamp_sheet(ws, key: str) -> None:  # noqa: ANN001
        ws.cell(row=1, column=STAMP_COLUMN, value=stamp(key, fw.version, lang))
        ws.column_dimensions[STAMP_CELL[0]].hidden = True

    wb = Workbook()
    ins = wb.active
    ins.title = label("sheet.instructions", lang)
    for i, line in enumerate(catalogue.INSTRUCTIONS[lang], 1):
        ins.cell(row=i, column=1, value=line)
    ins["A1"].font = title_font
    n_ins = len(catalogue.INSTRUCTIONS[lang])
    ins.cell(row=n_ins + 2, column=1, value=f"{fw.name} - {label('field.framework', lang)} {fw.version}")
    ins.column_dimensions["A"].width = 130
    stamp_sheet(ins, "instructions")
    ins.protection.sheet = True

    rs = wb.create_sheet(label("sheet.respondent", lang))
    rs["A1"] = label("respondent.title", lang)
    rs["A1"].font = title_font
    rs["A2"] = label("respondent.internal", lang)
    prefill = {"member": member, "cycle": cycle, "framework": fw.version, "language": lang}
    for key, row in RESPONDENT_ROWS.items():
        rs.cell(row=row, column=1, value=label(f"field.{key}", lang)).font = bold
        c = rs.cell(row=row, column=2, value=prefill.get(key))
        if key in ("framework", "language"):
            c.fill = locked_fill
        else:
            c.protection = unlocked
            c.fill = input_fill
    dv_cycle = DataValidation(type="whole", operator="between", formula1="2000", formula2="2100",
                              showErrorMessage=True, errorTitle=label("field.cycle", lang), error="2000-2100")
    dv_member = DataValidation(type="textLength", operator="equal", formula1="3", showErrorMessage=True,
                               errorTitle=label("field.member", lang), error="ISO3, e.g. SEN")
    rs.add_data_validation(dv_cycle)
    rs.add_data_validation(dv_member)
    dv_cycle.add(f"B{RESPONDENT_ROWS['cycle']}")
    dv_member.add(f"B{RESPONDENT_ROWS['member']}")
    rs.column_dimensions["A"].width = 42
    rs.column_dimensions["B"].width = 40
    stamp_sheet(rs, "respondent")
    rs.protection.sheet = True

    def drop_down(kind: str, title: str):  # noqa: ANN202
        words = catalogue.choice_labels(kind, lang)
        return DataValidation(type="list", formula1='"' + ",".join(words) + '"', allow_blank=True,
                              showErrorMessage=True, errorTitle=title, error=" / ".join(words))

    outcomes = {o.code: o for o in fw.outcomes}
    period = fw.reference_period_text(lang)
    spans: list[tuple[str, int, int]] = []
    for dim in fw.dimensions:
        ws = wb.create_sheet(dim.code)
        ws["A1"] = f"{dim.code} - {dim.text('name', lang)}"
        ws["A1"].font = title_font
        ws["A2"] = label("dimension.hint", lang)
        for j, fname in enumerate(_FIELDS, 1):
            c = ws.cell(row=HEADER_ROW, column=j, value=COLUMNS[fname][lang])
            c.font = bold
            c.fill = locked_fill
            c.alignment = wrap
        dvs = {f: drop_down(f, COLUMNS[f][lang]) for f in ("status", "disclosure", "validation")}
        for dv in dvs.values():
            ws.add_data_validation(dv)
        row = HEADER_ROW
        for ocode in dim.children:
            o = outcomes[ocode]
            for kcode in o.children:
                k = fw.kpi(kcode)
                row += 1
                cells = {"kpi": k.code, "name": k.text("name", lang), "outcome": f"{o.code} {o.text('name', lang)}",
                         "definition": k.text("definition", lang), "unit": fw.unit_label(k.unit, lang),
                         "period": period, "range": _range_text(k.lower, k.upper, lang),
                         "optional": label("yes" if k.optional else "no", lang)}
                for j, fname in enumerate(_FIELDS, 1):
                    c = ws.cell(row=row, column=j, value=cells.get(fname))
                    c.alignment = wrap
                    if fname in _INPUT_FIELDS:
                        c.protection = unlocked
                        c.fill = input_fill
                    else:
                        c.fill = locked_fill
                unit_text = fw.unit_label(k.unit, lang)
                dv_val = DataValidation(type="whole" if k.unit == "count" else "decimal", operator="between",
                                        formula1=f"{k.lower:g}", formula2=f"{k.upper:g}", showErrorMessage=True,
                                        errorTitle=f"{k.code}",
                                        error=f"{_range_text(k.lower, k.upper, lang)} ({unit_text})")
                ws.add_data_validation(dv_val)
                dv_val.add(f"{column_letter('value')}{row}")
                for f, dv in dvs.items():
                    dv.add(f"{column_letter(f)}{row}")
        spans.append((dim.code, HEADER_ROW + 1, row))
        for j, fname in enumerate(_FIELDS, 1):
            ws.column_dimensions[chr(64 + j)].width = _WIDTHS[fname]
        ws.freeze_panes = f"B{HEADER_ROW + 1}"
        stamp_sheet(ws, dim.code)
        ws.protection.sheet = True
        ws.protection.formatColumns = False  # widths may still be adjusted

    sm = wb.create_sheet(label("sheet.summary", lang))
    heads = [label(k, lang) for k in ("summary.dimension", "summary.kpis", "summary.values", "summary.reasons",
                                      "summary.open")]
    for j, h in enumerate(heads, 1):
        sm.cell(row=1, column=j, value=h).font = bold
    v, s, m = column_letter("value"), column_letter("status"), column_letter("optional")
    no = label("no", lang)
    for i, (code, r1, r2) in enumerate(spans, 2):
        def rng(col: str, code: str = code, r1: int = r1, r2: int = r2) -> str:
            return f"'{code}'!{col}{r1}:{col}{r2}"
        sm.cell(row=i, column=1, value=code)
        sm.cell(row=i, column=2, value=r2 - r1 + 1)
        sm.cell(row=i, column=3, value=f"=COUNTA({rng(v)})")
        sm.cell(row=i, column=4, value=f'=SUMPRODUCT(({rng(v)}="")*({rng(s)}<>""))')
        sm.cell(row=i, column=5, value=f'=SUMPRODUCT(({rng(v)}="")*({rng(s)}="")*({rng(m)}="{no}"))')
    last = len(spans) + 1
    sm.cell(row=last + 1, column=1, value=label("summary.total", lang)).font = bold
    for j, col in enumerate("BCDE", 2):
        sm.cell(row=last + 1, column=j, value=f"=SUM({col}2:{col}{last})")
    sm.column_dimensions["A"].width = 14
    for col in "BCDE":
        sm.column_dimensions[col].width = 22
    stamp_sheet(sm, "summary")
    sm.protection.sheet = True

    wb.security = WorkbookProtection(lockStructure=True)
    wb.active = 1
    return write_with(out, lambda tmp: wb.save(tmp))
