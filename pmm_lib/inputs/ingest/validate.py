"""Checking one file's raw records against the framework: small checks, one concern each.

:func:`validate_raw` runs the checks in order on a shared :class:`_Ctx` (the file's records,
which rows are still good, the parsed columns) and returns the accepted observations and the
non-responses (KPIs without a value for which the Member wrote a reason, a comment or a
source). :func:`finish` joins the files (conflicts across files) into the observations table.
Declarative checks (codes, ranges, finiteness, bounds) are the pandera schema of
:mod:`pmm_lib.inputs.schemas`; each failure becomes a message a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pmm_lib.inputs.framework import Framework, Kpi
from pmm_lib.inputs.ingest import catalogue
from pmm_lib.inputs.ingest.model import (
    UNREADABLE_CELL,
    Collector,
    IngestOptions,
    RawFile,
    plain,
    show,
)
from pmm_lib.inputs.ingest.parse import (
    AMBIGUOUS_DOT,
    PLAIN_NUMBER,
    normalise_text,
    parse_cycle,
    parse_value,
)

__all__ = ["EXTRA_COLUMNS", "NON_RESPONSE_COLUMNS", "finish", "validate_raw"]

#: Columns added to the observations table (after ``OBSERVATION_COLUMNS``).
EXTRA_COLUMNS: tuple[str, ...] = ("data_source", "validation", "comment", "disclosure_chosen")
NON_RESPONSE_COLUMNS: tuple[str, ...] = ("member", "cycle", "kpi", "status", "data_source", "comment", "file")
_FIX_TEXT = {"percent_sign": "percent sign", "percent_format": "percent format", "thousands_separator":
             "thousands separator", "decimal_comma": "decimal comma", "number_as_text": "number as text",
             "non_ascii_digits": "non-ASCII digits", "below_one_percent": "taken as written, below one per cent: "
             "check it is not a fraction", "status_in_value": "a reason typed in the Value cell"}


_OFFERED_DISCLOSURE = {catalogue.fold(w) for lang in catalogue.LANGUAGES
                       for w in catalogue.choice_labels("disclosure", lang)}


def _blank(x: Any) -> bool:
    """An empty cell: None, NaN or only spaces."""
    if x is None:
        return True
    if isinstance(x, float) and np.isnan(x):
        return True
    return isinstance(x, str) and not x.strip()


def _range_text(k: Kpi) -> str:
    return f"{k.lower:g} to {k.upper:g}"


def _text(s: pd.Series) -> pd.Series:
    """Cells -> ``str`` Series: spaces (incl. no-break spaces) trimmed, empty cells missing."""
    if not isinstance(s.dtype, pd.StringDtype):
        s = s.map(lambda x: None if x is None or (isinstance(x, float) and np.isnan(x))
                  else str(plain(x))).astype("str")
    out = s.str.replace("[\u00a0\u202f]", " ", regex=True).str.strip()
    return out.mask(out == "")


@dataclass
class _Ctx:
    """One file being checked: its records and what has been read from them so far."""

    raw: RawFile
    fw: Framework
    opts: IngestOptions
    col: Collector
    rec: pd.DataFrame
    n: int
    kmeta: dict[str, Kpi]
    sheets: list[Any]
    rows: list[Any]
    bad: np.ndarray
    kpis: list[str] = field(default_factory=list)
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fixes: list[str] = field(default_factory=list)
    present: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    status: list[str | None] = field(default_factory=list)

    def where(self, i: int | None, fieldname: str) -> dict[str, Any]:
        raw = self.raw
        if fieldname in raw.overrides:
            sheet, row, label = raw.overrides[fieldname]
            return {"file": raw.name, "sheet": sheet, "row": row, "column": label}
        if i is None:
            return {"file": raw.name}
        sheet = self.sheets[i] if isinstance(self.sheets[i], str) else None
        label = raw.labels.get(sheet, {}).get(fieldname, catalogue.COLUMNS.get(fieldname, {}).get("en", fieldname)
                                             if raw.kind == "xlsx" else fieldname)
        row = self.rows[i]
        return {"file": raw.name, "sheet": sheet, "row": int(row) if row is not None else None, "column": label}


# ----------------------------------------------------------------------------------------------
# The checks
# ----------------------------------------------------------------------------------------------

def _check_version(c: _Ctx) -> None:
    """A questionnaire must come from the current framework version (units and KPIs may differ)."""
    raw, fw = c.raw, c.fw
    if raw.kind != "xlsx":
        return
    stamped = raw.respondent.get("stamp_version", "")
    written = raw.respondent.get("framework", "")
    got = stamped if raw.respondent.get("mode") == "stamp" else written
    ok = got == fw.version or (raw.respondent.get("mode") != "stamp" and got.endswith(" " + fw.version))
    if not ok:
        shown = got or "none"
        c.col.error(f"this questionnaire was generated for framework version {shown}, but the current framework "
                    f"is version {fw.version}", **c.where(None, "framework"),
                    expected=f"a questionnaire generated by `pmm template` for framework {fw.version} "
                             "(KPIs and units may have changed: copy the values into the current template)")


def _kpi_codes(c: _Ctx) -> None:
    clean = _text(c.rec["kpi"])
    up = clean.str.upper()
    for i in np.flatnonzero(clean.isna().to_numpy()):
        c.col.error("a value is given without a KPI code", **c.where(i, "kpi"), expected="a KPI code such as K01")
        c.bad[i] = True
    recased = (up != clean).fillna(False).to_numpy() & up.isin(c.kmeta).to_numpy()
    for i in np.flatnonzero(recased):
        c.col.warn(f"KPI code {clean.iloc[i]!r} read as {up.iloc[i]!r}", **c.where(i, "kpi"))
    codes = up.fillna("")
    c.kpis = codes.tolist()
    if c.raw.kind == "xlsx":
        dup = codes[(codes != "") & codes.duplicated(keep=False)]
        for code, idx in dup.groupby(dup).groups.items():
            where = ", ".join(f"sheet {c.sheets[j]!r} row {c.rows[j]}" for j in idx)
            for j in idx[1:]:
                c.col.error(f"KPI code {code!r} appears more than once ({where})", **c.where(j, "kpi"),
                            expected="each KPI code once")
                c.bad[j] = True


def _check_units(c: _Ctx) -> None:
    """The unit written beside each value must be the framework's (in any language)."""
    units = c.rec["unit"].tolist()
    if c.raw.kind == "csv" and all(_blank(u) for u in units):
        return
    readings: dict[str, set[str]] = {}
    for i, code in enumerate(c.kpis):
        k = c.kmeta.get(code)
        if k is None or c.bad[i]:
            continue
        u = units[i]
        if _blank(u):
            if c.raw.kind == "xlsx":
                c.col.error(f"the unit of {code} is empty", **c.where(i, "unit"),
                            expected=f"{k.unit} (the unit cells are part of the template: do not clear them)")
                c.bad[i] = True
            continue
        if k.unit not in readings:
            readings[k.unit] = {catalogue.fold(x) for x in c.fw.unit_readings(k.unit)}
        if catalogue.fold(str(plain(u))) not in readings[k.unit]:
            c.col.error(f"{code} is given in {str(u).strip()!r} here but framework {c.fw.version} measures it in "
                        f"{k.unit!r}", **c.where(i, "unit"),
                        expected=f"values in {k.unit}, in a questionnaire generated for framework {c.fw.version}")
            c.bad[i] = True


def _parse_values(c: _Ctx) -> None:
    n, kmeta = c.n, c.kmeta
    c.values = np.full(n, np.nan)
    c.fixes = [""] * n
    c.present = np.zeros(n, dtype=bool)
    c.status = [None] * n
    vraw = c.rec["value"]
    fast = np.zeros(n, dtype=bool)
    if c.raw.kind == "csv" and isinstance(vraw.dtype, pd.StringDtype):
        plain_ = vraw.str.fullmatch(PLAIN_NUMBER.pattern).fillna(False).astype(bool).to_numpy(copy=True)
        plain_ &= vraw.str.isascii().fillna(False).astype(bool).to_numpy()
        plain_ &= ~vraw.str.fullmatch(AMBIGUOUS_DOT.pattern).fillna(False).astype(bool).to_numpy()
        vals = np.full(n, np.nan)
        vals[plain_] = pd.to_numeric(vraw[plain_]).to_numpy(dtype=float)
        unit = np.array([kmeta[k].unit if k in kmeta else "" for k in c.kpis], dtype=object)
        special = ((unit == "%") & (vals > 0) & (vals < 1)) | ((unit == "count") & (vals != np.round(vals)))
        fast = plain_ & ~special
        c.values[fast] = vals[fast]
        c.present[fast] = True
        fast |= vraw.isna().to_numpy()
    pct_fmt = c.rec["_pct_format"].tolist()
    vlist = vraw.tolist()
    for i in np.flatnonzero(~fast):
        if vlist[i] is UNREADABLE_CELL:  # already reported (a formula without a stored result)
            c.bad[i] = True
            continue
        k = kmeta.get(c.kpis[i])
        p = parse_value(vlist[i], unit=k.unit if k else "the KPI's unit", code=k.code if k else "this KPI",
                        lower=k.lower if k else -np.inf, upper=k.upper if k else np.inf,
                        pct_format=bool(pct_fmt[i]), questionnaire=c.raw.kind == "xlsx")
        if p.error is not None:
            c.col.error(p.error, **c.where(i, "value"), expected=p.expected)
            c.bad[i] = True
            continue
        if p.status is not None:
            c.status[i] = p.status
            c.col.warn(f"{vlist[i]!r} in the Value cell read as the reason {p.status.replace('_', ' ')!r} "
                       "(no value)", **c.where(i, "value"))
            continue
        if p.value is None:
            continue
        c.present[i] = True
        c.values[i] = p.value
        if p.fix:
            c.fixes[i] = p.fix
            c.col.warn(f"value {show(vlist[i])} read as {p.value:g} ({_FIX_TEXT.get(p.fix, p.fix)})",
                       **c.where(i, "value"))


def _parse_status(c: _Ctx) -> None:
    """The "If no value" column: not applicable / not available, in any language."""
    allowed = " or ".join(repr(w) for w in catalogue.choice_labels("status"))
    for i, s in enumerate(c.rec["status"].tolist()):
        if _blank(s) or c.bad[i]:
            continue
        code = catalogue.choice("status", str(plain(s)))
        if code is None:
            c.col.error(f"{str(s).strip()!r} is not a reason for a missing value", **c.where(i, "status"),
                        expected=f"{allowed} (or empty when a value is given)")
            c.bad[i] = True
        elif c.present[i]:
            c.col.error(f"both a value ({c.values[i]:g}) and the reason {code.replace('_', ' ')!r} for no value "
                        "are given", **c.where(i, "status"),
                        expected="either a value, or an empty Value with the reason")
            c.bad[i] = True
        else:
            c.status[i] = code


def _empty_values(c: _Ctx) -> None:
    """KPIs without a value: a reason, a skip (optional KPIs) or an error (mandatory, no reason)."""
    for i in np.flatnonzero(~c.present & ~c.bad):
        k = c.kmeta.get(c.kpis[i])
        if k is None:
            if c.kpis[i]:
                c.col.error(f"unknown KPI code {c.kpis[i]!r}", **c.where(i, "kpi"),
                            expected="a framework KPI code K01-K51")
            continue
        if k.optional:
            continue
        if c.status[i] is not None:
            c.col.warn(f"{k.code} ({k.name}) is mandatory; no value, reason: {c.status[i].replace('_', ' ')}",
                       **c.where(i, "value"))
            continue
        msg = f"{k.code} ({k.name}) is mandatory but its value is empty"
        exp = (f"a number from {_range_text(k)} ({k.unit}), or 'not applicable' / 'not available' in "
               "'If no value'; only KPIs marked 'may skip' may be left empty")
        if c.opts.missing_required == "error":
            c.col.error(msg, **c.where(i, "value"), expected=exp)
        else:
            c.col.warn(msg + " (accepted as skipped)", **c.where(i, "value"))


def _cycles(c: _Ctx, keep: np.ndarray) -> np.ndarray:
    cycles = np.zeros(c.n, dtype=np.int64)
    craw = c.rec["cycle"]
    if c.raw.kind == "xlsx":
        if not c.n:
            return cycles
        year, err = parse_cycle(craw.iloc[0])
        if err is not None:
            c.col.error("the cycle is missing" if err == "missing" else err, **c.where(None, "cycle"),
                        expected="the assessment year, e.g. 2024")
            keep[:] = False
        else:
            cycles[:] = year
        return cycles
    cfast = np.zeros(c.n, dtype=bool)
    if isinstance(craw.dtype, pd.StringDtype):
        cfast = craw.str.fullmatch(r"[0-9]{4}").fillna(False).astype(bool).to_numpy(copy=True)
        if cfast.any():
            cycles[cfast] = craw[cfast].astype("int64").to_numpy()
    clist = craw.tolist()
    for i in np.flatnonzero(~cfast):
        year, err = parse_cycle(clist[i])
        if err is None:
            cycles[i] = year
        elif keep[i]:  # rows already rejected are not reported twice
            c.col.error("the cycle is missing" if err == "missing" else err, **c.where(i, "cycle"),
                        expected="a whole year, e.g. 2024")
            keep[i] = False
    return cycles


def _members(c: _Ctx, keep: np.ndarray) -> pd.Series:
    member = c.rec["member"].map(lambda x: None if x is None else normalise_text(x)[0] or None)
    member_s = _text(member).str.upper()
    for i in np.flatnonzero(member_s.isna().to_numpy() & keep):
        c.col.error("the Member code is missing", **c.where(i, "member"), expected="the Member's ISO3 code, e.g. SEN")
        keep[i] = False
    return member_s.fillna("")


def _disclosure(c: _Ctx, keep: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """The Member's choice, in any language; a blank is never guessed: restricted and 'not chosen'."""
    clean = _text(c.rec["disclosure"])
    out: list[str] = []
    chosen = np.ones(c.n, dtype=bool)
    blanks: list[int] = []
    for i, s in enumerate(clean.tolist()):
        if s is None or (isinstance(s, float) and np.isnan(s)):
            out.append("restricted")
            chosen[i] = False
            if keep[i] and c.present[i]:
                blanks.append(i)
            continue
        code = catalogue.choice("disclosure", s)
        if code is None:
            out.append(s.lower())  # reported by the schema's disclosure_level check
        else:
            if catalogue.fold(s) not in _OFFERED_DISCLOSURE and keep[i]:
                c.col.warn(f"disclosure {s!r} read as {code!r}", **c.where(i, "disclosure"))
            out.append(code)
    if blanks:
        if c.opts.blank_disclosure == "error":
            for i in blanks:
                c.col.error("the disclosure level is empty", **c.where(i, "disclosure"),
                            expected="public, wco or restricted (who may see the value is never guessed)")
                keep[i] = False
        else:
            first = c.where(blanks[0], "disclosure")
            cells = ", ".join(c.kpis[i] for i in blanks[:8]) + (" ..." if len(blanks) > 8 else "")
            c.col.warn(f"{len(blanks)} value(s) without a disclosure choice ({cells}): stored as 'restricted' "
                       "(the safest level) and marked disclosure_chosen = false", **first)
    return pd.Series(out, dtype=str), chosen


def _validation(c: _Ctx, keep: np.ndarray) -> pd.Series:
    allowed = ", ".join(repr(w) for w in catalogue.choice_labels("validation"))
    out: list[str] = []
    for i, s in enumerate(_text(c.rec["validation"]).tolist()):
        if s is None or (isinstance(s, float) and np.isnan(s)):
            out.append("not_stated")
            continue
        code = catalogue.choice("validation", s)
        if code is None:
            if keep[i]:
                c.col.error(f"{s!r} is not a validation status", **c.where(i, "validation"),
                            expected=f"{allowed} (or empty if not stated)")
                keep[i] = False
            out.append("")
        else:
            out.append(code)
    return pd.Series(out, dtype=str)


def _schema(c: _Ctx, frame: pd.DataFrame, members: frozenset[str] | None) -> pd.DataFrame:
    import pandera.pandas as pa  # noqa: PLC0415

    from pmm_lib.inputs.schemas import CHECK_MESSAGES, returns_schema  # noqa: PLC0415

    invalid: set[int] = set()
    try:
        returns_schema(c.fw, members).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna()]
        reported: set[tuple[int, str]] = set()
        for _, case in fc.iterrows():
            idx, check = int(case["index"]), str(case["check"])
            if (idx, check) in reported:
                continue
            reported.add((idx, check))
            invalid.add(idx)
            r = frame.loc[idx]
            loc = _row_where(c, r)
            if check == "within_bounds":
                k = c.kmeta[r["kpi"]]
                neg = r["value"] < 0 and k.lower >= 0
                what = "a negative value" if neg else f"value {r['value']:g}"
                c.col.error(f"{what} for {k.code} ({k.name}, {k.unit}) is outside the plausible range "
                            f"{_range_text(k)}", **loc("value"),
                            expected=f"a value from {_range_text(k)} {k.unit}; check the unit and the figure")
                continue
            fieldname = str(case["column"])
            msg, exp = CHECK_MESSAGES.get(check, (f"{fieldname} {{value!r}} failed the check {check}", None))
            value = plain(r[fieldname] if fieldname in r.index else case["failure_case"])
            c.col.error(msg.format(value=value), **loc(fieldname), expected=exp)
    return frame.drop(index=sorted(invalid)) if invalid else frame


def _row_where(c: _Ctx, r: pd.Series):  # noqa: ANN202
    i = int(r["_i"])
    return lambda fieldname: c.where(i, fieldname)


def _duplicates(c: _Ctx, frame: pd.DataFrame) -> pd.DataFrame:
    key = ["member", "cycle", "kpi"]
    dupmask = frame.duplicated(key, keep=False)
    if not dupmask.any():
        return frame
    drop: list[int] = []
    for _, grp in frame[dupmask].groupby(key, sort=False):
        first = grp.iloc[0]
        same = (grp["value"] == first["value"]) & (grp["disclosure"] == first["disclosure"])
        first_where = (f"sheet {first['_sheet']!r} row {first['_row']}" if isinstance(first["_sheet"], str)
                       else f"row {first['_row']}")
        for idx, r in grp.iloc[1:].iterrows():
            if same.loc[idx]:
                c.col.warn(f"duplicate of {first_where} ({r['member']} {r['cycle']} {r['kpi']}); kept once",
                           **_row_where(c, r)("value"))
                drop.append(idx)
            else:
                c.col.error(f"conflicting values for {r['member']} {r['cycle']} {r['kpi']}: {r['value']:g} "
                            f"({r['disclosure']}) here and {first['value']:g} ({first['disclosure']}) in "
                            f"{first_where}", **_row_where(c, r)("value"),
                            expected="one value per Member, cycle and KPI")
    return frame.drop(index=drop)


def _all_fractions(c: _Ctx, frame: pd.DataFrame) -> None:
    """Every percentage KPI of a return between 0 and 1: shares given as fractions."""
    pct_kpis = {k.code for k in c.fw.kpis if k.unit == "%" and k.lower >= 0 and k.upper >= 30}
    sub = frame[frame["kpi"].isin(pct_kpis)]
    if not len(sub):
        return
    v = sub["value"]
    stats = sub.assign(_frac=(v > 0) & (v < 1)).groupby(["member", "cycle"], sort=False).agg(
        n=("value", "size"), vmax=("value", "max"), frac=("_frac", "any"))
    for m, cy in stats[(stats["n"] >= 3) & (stats["vmax"] <= 1) & stats["frac"]].index:
        grp = sub[(sub["member"] == m) & (sub["cycle"] == cy)]
        c.col.error(f"all {len(grp)} percentage KPIs of {m} {cy} lie between 0 and 1 "
                    f"({', '.join(grp['kpi'].head(5))}...): shares look like fractions",
                    **_row_where(c, grp.iloc[0])("value"),
                    expected="percentages from 0 to 100, e.g. 85 for 85 % (not 0.85)")


def _absent_mandatory(c: _Ctx, member_vals: pd.Series, cycles: np.ndarray) -> None:
    mand = [k for k in c.fw.kpis if not k.optional]
    raw = c.raw
    if raw.kind == "xlsx":
        seen = set(c.kpis)
        dim_of = {kc: s for s, codes in raw.expected_sheets.items() for kc in codes}
        for k in mand:
            if k.code not in seen and k.code in dim_of:
                msg = f"mandatory KPI {k.code} ({k.name}) has no row"
                where = {"file": raw.name, "sheet": dim_of[k.code],
                         "column": raw.labels.get(dim_of[k.code], {}).get("kpi", "KPI code")}
                if c.opts.missing_required == "error":
                    c.col.error(msg, **where, expected=f"a row for {k.code} (rows must not be deleted)")
                else:
                    c.col.warn(msg + " (accepted as skipped)", **where)
        return
    keys = pd.DataFrame({"member": member_vals.to_numpy(), "cycle": cycles, "kpi": np.asarray(c.kpis, dtype=object)})
    keys = keys[(keys["member"] != "") & (keys["cycle"] != 0)].drop_duplicates()
    wanted = keys[["member", "cycle"]].drop_duplicates().merge(pd.DataFrame({"kpi": [k.code for k in mand]}),
                                                               how="cross")
    gone = wanted.merge(keys, how="left", indicator=True)
    gone = gone[gone["_merge"] == "left_only"]
    for (m, cy), grp in gone.groupby(["member", "cycle"], sort=True):
        msg = f"{m} {plain(cy)}: mandatory KPI(s) {', '.join(grp['kpi'])} have no row"
        if c.opts.missing_required == "error":
            c.col.error(msg, file=raw.name, column="kpi", expected="a row for every KPI not marked optional in the "
                        "framework (with a value, or an empty value and a status)")
        else:
            c.col.warn(msg + " (accepted as skipped)", file=raw.name, column="kpi")


# ----------------------------------------------------------------------------------------------
# One file, all files
# ----------------------------------------------------------------------------------------------

def validate_raw(raw: RawFile, fw: Framework, members: frozenset[str] | None, opts: IngestOptions,
                 col: Collector) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse and check one file's records -> (accepted observations, non-responses); errors go to ``col``."""
    rec = raw.records.reset_index(drop=True)
    n = len(rec)
    c = _Ctx(raw=raw, fw=fw, opts=opts, col=col, rec=rec, n=n, kmeta={k.code: k for k in fw.kpis},
             sheets=rec["_sheet"].tolist(), rows=rec["_row"].tolist(), bad=np.zeros(n, dtype=bool))
    _check_version(c)
    _kpi_codes(c)
    _check_units(c)
    _parse_values(c)
    _parse_status(c)
    _empty_values(c)
    keep = c.present & ~c.bad
    speaks = ~c.present & ~c.bad  # rows without a value that may carry a reason or a comment
    cycles = _cycles(c, keep)
    member_vals = _members(c, keep)
    disc, chosen = _disclosure(c, keep)
    validation = _validation(c, keep)
    flags = _text(rec["flag"]).fillna("")
    if any(c.fixes):
        flags = (flags + ";" + pd.Series(c.fixes, dtype=str)).str.strip(";")
    data_source = _text(rec["data_source"]).fillna("").astype(str)
    comment = _text(rec["comment"]).fillna("").astype(str)
    kpi_s = pd.Series(c.kpis, dtype=str)
    frame = pd.DataFrame({
        "member": member_vals.astype(str), "cycle": pd.Series(cycles, dtype="int64"), "kpi": kpi_s,
        "value": pd.Series(c.values, dtype="float64"), "disclosure": disc,
        "source": _text(rec["source"]).fillna("").astype(str), "flag": flags.astype(str),
        "data_source": data_source, "validation": validation, "comment": comment,
        "disclosure_chosen": pd.Series(chosen, dtype=bool),
        "lower": kpi_s.map({k.code: k.lower for k in fw.kpis}).astype("float64"),
        "upper": kpi_s.map({k.code: k.upper for k in fw.kpis}).astype("float64"),
        "_sheet": pd.Series(c.sheets, dtype=object), "_row": pd.Series(c.rows, dtype=object),
        "_i": pd.Series(np.arange(n), dtype="int64"),
    })
    said = speaks & (pd.Series(c.status, dtype=object).notna().to_numpy() | (comment != "").to_numpy()
                     | (data_source != "").to_numpy()) & kpi_s.isin(c.kmeta).to_numpy()
    non = pd.DataFrame({
        "member": member_vals.astype(str), "cycle": pd.Series(cycles, dtype="int64"), "kpi": kpi_s,
        "status": pd.Series([s or "not_stated" for s in c.status], dtype=str), "data_source": data_source,
        "comment": comment, "file": pd.Series([raw.name] * n, dtype=str),
    })[said & (member_vals != "").to_numpy() & (cycles != 0)]
    frame = frame[keep]
    frame = _schema(c, frame, members)
    frame = _duplicates(c, frame)
    _all_fractions(c, frame)
    _absent_mandatory(c, member_vals, cycles)
    return frame, non.reset_index(drop=True)


def finish(frames: list[tuple[RawFile, pd.DataFrame]], fw: Framework, col: Collector) -> pd.DataFrame:
    """Cross-file duplicates/conflicts; return the observations table (schema column order)."""
    from pmm_lib.inputs.schemas import OBSERVATION_COLUMNS  # noqa: PLC0415

    columns = (*OBSERVATION_COLUMNS, *EXTRA_COLUMNS)
    parts = []
    for fileno, (raw, f) in enumerate(frames):
        parts.append(f.assign(_file=raw.name, _fileno=fileno))
    if parts:
        allf = pd.concat(parts, ignore_index=True)
    else:
        allf = pd.DataFrame({c: pd.Series(dtype=object) for c in (*columns, "_file", "_fileno", "_sheet", "_row")})
    key = ["member", "cycle", "kpi"]
    if len(frames) > 1:
        drop: list[int] = []
        for _, grp in allf[allf.duplicated(key, keep=False)].groupby(key, sort=False):
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
                    col.error(f"conflicting values for {r['member']} {r['cycle']} {r['kpi']}: {r['value']:g} here "
                              f"and {first['value']:g} in {other}", **where,
                              expected="one value per Member, cycle and KPI across all files")
        allf = allf.drop(index=drop)
    order = {code: i for i, code in enumerate(fw.kpi_codes)}
    allf = allf.assign(_k=allf["kpi"].map(order)).sort_values(["cycle", "member", "_k"], kind="stable")
    out = allf[list(columns)].reset_index(drop=True)
    return out.astype({"member": str, "cycle": "int64", "kpi": str, "value": "float64", "disclosure": str,
                       "source": str, "flag": str, "data_source": str, "validation": str, "comment": str,
                       "disclosure_chosen": bool})
