"""Reading one cell: what number (or which choice) a Member meant, or why it cannot be known.

Rules (also written in the questionnaire's Instructions sheet and the README)
-----------------------------------------------------------------------------
Digits: full-width (``１２``), Arabic-Indic (``١٢``), Persian and other Unicode decimal digits,
the Arabic decimal separator (``٫``) and thousands separator (``٬``) are read as ASCII, with a
warning (``non_ascii_digits``). A Unicode minus is a minus; no-break and thin spaces are spaces.

Separators:

=========================  ===================  ===============================================
text                       read as              why
=========================  ===================  ===============================================
``12.5`` / ``12,5``        12.5                 one decimal mark (``decimal_comma`` warning)
``1,234.5`` ``1.234,5``    1234.5               both marks: the last one is the decimal mark
``1,234,567`` ``1.234.567``  1234567            repeated groups can only be thousands
``1 234`` ``1 234,5``      1234 / 1234.5        space-grouped thousands (French usage)
``1,234``                  rejected             1234 or 1.234: both readings are named
``1.234``                  1.234, or rejected   rejected when 1234 is also within the KPI's range
=========================  ===================  ===============================================

Percentages (unit ``%``) are 0-100. ``12%`` is 12; an Excel cell formatted as a percentage
showing 12% (stored 0.12) is 12 (``percent_format``). A plain number strictly between 0 and 1 is
ambiguous (0.85 % or 85 % written as a fraction): rejected in a questionnaire, where the
Instructions ask for ``0.5%`` (with the sign) below one per cent; in a tidy CSV return it is
taken as written and flagged ``below_one_percent`` with a warning. A % sign or a percentage
format in a KPI whose unit is not a percentage is rejected with both readings. A count is a
whole number. ``n/a``, ``-`` and the like are rejected: they may mean "not applicable" or
"not available", which the Member says in the "If no value" column; the words themselves
("not applicable", "sans objet", "no disponible", ...) typed in the Value cell are read as
that status with a warning.

Examples
--------
>>> parse_value("١٢٫٥", unit="hours").value
12.5
>>> parse_value("1,234", unit="count", upper=5000).error
"'1,234' could mean 1234 (comma as thousands separator) or 1.234 (decimal comma)"
>>> parse_value(0.85, unit="%", questionnaire=True).error
'0.85 could mean 0.85 % or 85 % (a share written as a fraction)'
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from pmm_lib.inputs.ingest import catalogue
from pmm_lib.inputs.ingest.model import plain, show

__all__ = ["Parsed", "normalise_text", "parse_cycle", "parse_value", "PLAIN_NUMBER", "AMBIGUOUS_DOT"]

PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
#: A plain number that could also be a dot-grouped thousand (``1.234``).
AMBIGUOUS_DOT = re.compile(r"[+-]?[1-9]\d{0,2}\.\d{3}", re.ASCII)
_PERCENT = re.compile(r"(.+?)\s*%", re.ASCII)
_COMMA_GROUPS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)
_DOT_GROUPS_COMMA_DEC = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+,\d+", re.ASCII)
_DOT_GROUPS = re.compile(r"[+-]?\d{1,3}(?:\.\d{3}){2,}", re.ASCII)
_SPACE_GROUPS = re.compile(r"[+-]?\d{1,3}(?: \d{3})+(?:[.,]\d+)?", re.ASCII)
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+", re.ASCII)
_CYCLE_TEXT = re.compile(r"\d{1,4}(?:\.0*)?", re.ASCII)
#: Typed in a Value cell, these could mean "not applicable" or "not available".
_AMBIGUOUS_MISSING = {"n/a", "na", "n.a.", "n.a", "n/d", "nd", "n.d.", "-", "\u2013", "\u2014", "..", "...", "x",
                      "nan", "none", "null", "?", "s/o", "s.o."}
_SPACES = {"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u2212": "-",
           "\u066b": ".", "\u066c": ",", "\u060c": ","}


@dataclass(frozen=True)
class Parsed:
    """What one Value cell holds: a number, a status, nothing, or an error with what was expected."""

    value: float | None = None
    fix: str = ""
    error: str | None = None
    expected: str | None = None
    status: str | None = None


def normalise_text(raw: Any) -> tuple[str, bool]:
    """Text -> (ASCII-digit text, trimmed; whether non-ASCII digits were converted).

    >>> normalise_text("\\uff11\\uff12\\uff0e\\uff15 ")
    ('12.5', True)
    """
    original = str(raw)
    converted = any(not ch.isascii() and unicodedata.decimal(ch, None) is not None for ch in original)
    s = unicodedata.normalize("NFKC", original)
    out = []
    for ch in s:
        if ch in _SPACES:
            out.append(_SPACES[ch])
        elif not ch.isascii() and unicodedata.decimal(ch, None) is not None:
            out.append(str(unicodedata.decimal(ch)))
        else:
            out.append(ch)
    return "".join(out).strip(), converted


def _num(s: str) -> tuple[float | None, str]:
    """Separator rules on ASCII text (no %): (value, fix) or (None, reason code)."""
    if PLAIN_NUMBER.fullmatch(s):
        return float(s), ""
    if _COMMA_GROUPS.fullmatch(s):
        if "." in s or s.count(",") >= 2:
            return float(s.replace(",", "")), "thousands_separator"
        return None, "ambiguous_comma"
    if _DOT_GROUPS_COMMA_DEC.fullmatch(s):
        return float(s.replace(".", "").replace(",", ".")), "thousands_separator"
    if _DOT_GROUPS.fullmatch(s):
        return float(s.replace(".", "")), "thousands_separator"
    if _SPACE_GROUPS.fullmatch(s):
        return float(s.replace(" ", "").replace(",", ".")), "thousands_separator"
    if _DECIMAL_COMMA.fullmatch(s):
        return float(s.replace(",", ".")), "decimal_comma"
    return None, "text"


def _in(x: float, lower: float, upper: float) -> bool:
    return lower <= x <= upper


def parse_value(raw: Any, *, unit: str, code: str = "this KPI", lower: float = -np.inf, upper: float = np.inf,
                pct_format: bool = False, questionnaire: bool = False) -> Parsed:
    """Read one Value cell for a KPI measured in ``unit`` with plausible range [lower, upper].

    Parameters
    ----------
    raw : cell content (None, number, text, date, bool)
    unit, code, lower, upper : the KPI's unit, code and plausible bounds (from the framework)
    pct_format : bool
        The Excel cell is formatted as a percentage (it shows ``100 * raw`` followed by %).
    questionnaire : bool
        The cell comes from a questionnaire (where the Instructions ask for ``0.5%`` below 1 %);
        False for a tidy CSV return.

    Returns
    -------
    Parsed
        ``value`` (or ``status``) and a ``fix`` code for a warning, or ``error`` and ``expected``.
    """
    is_pct = unit == "%"
    pct_like = "%" in unit
    in_unit = f"a number in {unit}"
    if raw is None:
        return Parsed()
    raw = plain(raw)
    if isinstance(raw, bool):
        return Parsed(error=f"{raw!r} is not a number", expected="a number")
    if isinstance(raw, _dt.date | _dt.time | _dt.timedelta):
        return Parsed(error=f"a date/time ({raw}) is not a number", expected=in_unit)
    fix = ""
    text: str | None = None
    if isinstance(raw, int | float):
        x = float(raw)
        if np.isnan(x):
            return Parsed()
        if pct_format:
            if not pct_like:
                return Parsed(error=(f"the cell is formatted as a percentage (it shows {x * 100:g}%) but {code} is "
                                     f"measured in {unit}: {x:g} {unit} or {x * 100:g} {unit}?"),
                              expected=f"the number of {unit}, typed in a cell without the percentage format")
            x, fix = x * 100.0, "percent_format"
    else:
        s, converted = normalise_text(raw)
        if not s:
            return Parsed()
        fix = "non_ascii_digits" if converted else ""
        folded = catalogue.fold(s)
        status = catalogue.choice("status", s)
        if status is not None:
            return Parsed(status=status, fix="status_in_value")
        if folded in _AMBIGUOUS_MISSING or s in _AMBIGUOUS_MISSING:
            return Parsed(error=f"{s!r} could mean 'not applicable' or 'not available'",
                          expected="an empty Value and 'not applicable' or 'not available' in 'If no value'")
        m = _PERCENT.fullmatch(s)
        if m:
            if not pct_like:
                return Parsed(error=f"{s!r} has a % sign but {code} is measured in {unit}", expected=in_unit)
            x_, why = _num(m.group(1).strip())
            if x_ is None:
                return Parsed(error=f"text {s!r} is not a number", expected=in_unit)
            return Parsed(value=x_, fix=fix or "percent_sign")
        x_, why = _num(s)
        if x_ is None:
            if why == "ambiguous_comma":
                a, b = s.replace(",", ""), s.replace(",", ".")
                return Parsed(error=f"{s!r} could mean {a} (comma as thousands separator) or {b} (decimal comma)",
                              expected=f"the number without a thousands separator, e.g. {a} or {b}")
            return Parsed(error=f"text {s!r} is not a number", expected=in_unit)
        x = x_
        fix = fix or why or ("number_as_text" if questionnaire else "")
        text = s
        if AMBIGUOUS_DOT.fullmatch(s):
            thousands = float(s.replace(".", ""))
            if _in(thousands, lower, upper):
                return Parsed(error=f"{s!r} could mean {thousands:g} (dot as thousands separator) or {x:g}",
                              expected=f"the number without a thousands separator, e.g. {thousands:g} or {x:g}")
    if not np.isfinite(x):
        return Parsed(value=x, fix=fix)  # reported by the schema's finiteness check
    if unit == "count" and not float(x).is_integer():
        shown = text if text is not None else f"{x:g}"
        grouped = re.fullmatch(r"[+-]?[1-9]\d{0,2}[.,]\d{3}", shown or "", re.ASCII)
        why = (f" ({shown!r} could mean {float(re.sub(r'[.,]', '', shown)):g} with a thousands separator, "
               f"or {x:g})") if grouped else ""
        return Parsed(error=f"{code} is a count but {show(x)} is not a whole number{why}",
                      expected="a whole number, typed without separators")
    if is_pct and 0 < x < 1 and fix not in ("percent_format", "percent_sign"):
        if questionnaire:
            return Parsed(error=f"{x:g} could mean {x:g} % or {x * 100:g} % (a share written as a fraction)",
                          expected=f"{x * 100:g} for {x * 100:g} %, or {x:g}% (with the % sign) "
                                   "for less than one per cent")
        return Parsed(value=x, fix="below_one_percent")
    return Parsed(value=x, fix=fix)


def parse_cycle(raw: Any) -> tuple[int | None, str | None]:
    """A cycle cell -> (year, None) or (None, reason); reason "missing" for an empty cell."""
    raw = plain(raw)
    if raw is None:
        return None, "missing"
    if isinstance(raw, bool):
        return None, f"{raw!r} is not a year"
    if isinstance(raw, int):
        return (raw, None) if abs(raw) < 10_000 else (None, f"cycle {raw} is not a year")
    if isinstance(raw, float):
        if np.isnan(raw):
            return None, "missing"
        if not raw.is_integer():
            return None, f"cycle {raw:g} is not a whole year"
        return (int(raw), None) if abs(raw) < 10_000 else (None, f"cycle {raw:g} is not a year")
    if isinstance(raw, _dt.date | _dt.time | _dt.timedelta):
        return None, f"a date ({raw}) is not a year"
    s, _ = normalise_text(raw)
    if not s:
        return None, "missing"
    if _CYCLE_TEXT.fullmatch(s):
        return int(float(s)), None
    return None, f"cycle {s!r} is not a whole year"
