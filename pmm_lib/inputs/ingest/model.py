"""Ingest's small data types: options, issues (errors and warnings), the raw records of a file, the result.

Messages print plain values: :func:`plain` turns NumPy scalars into Python numbers before they
are formatted, so a message says ``cycle 24``, never ``np.int64(24)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pmm_lib.errors import InputError, SpecError

__all__ = ["UNREADABLE_CELL", "IngestOptions", "IngestResult", "Issue", "RawFile", "Collector", "plain", "show"]


class _Unreadable:
    """A cell whose problem was already reported (a formula without a stored result)."""

    def __repr__(self) -> str:
        return "<unreadable cell>"


#: Stands for a Value cell already reported as unreadable, so it is not reported again as empty.
UNREADABLE_CELL = _Unreadable()

Severity = Literal["error", "warning"]
MissingRequired = Literal["error", "warn"]
BlankDisclosure = Literal["restricted", "error"]


def plain(x: Any) -> Any:
    """NumPy scalars -> Python scalars (``np.int64(24)`` -> ``24``); everything else unchanged."""
    return x.item() if isinstance(x, np.generic) else x


def show(x: Any) -> str:
    """A value as a person reads it in a message: text quoted, numbers plain (``24``, ``0.85``)."""
    x = plain(x)
    if isinstance(x, float):
        return f"{x:g}" if np.isfinite(x) else str(x)
    return repr(x)


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
        Largest input file accepted (compressed size for a workbook), in bytes (64 MiB).
    max_inflated_bytes : int
        Largest total uncompressed size of a workbook's parts (256 MiB), checked before reading.
    missing_required : {"error", "warn"}
        What a mandatory KPI left empty without a reason, or absent, is.
    blank_disclosure : {"restricted", "error"}
        A value whose disclosure the Member did not choose: stored as ``restricted`` with
        ``disclosure_chosen = False`` and a warning (default), or an error.
    """

    max_errors: int = 50
    max_rows: int = 200_000
    max_bytes: int = 64 * 1024 * 1024
    max_inflated_bytes: int = 256 * 1024 * 1024
    missing_required: MissingRequired = "error"
    blank_disclosure: BlankDisclosure = "restricted"

    def __post_init__(self) -> None:
        for name in ("max_errors", "max_rows", "max_bytes", "max_inflated_bytes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise SpecError(f"IngestOptions.{name} must be a positive integer, got {v!r}")
        if self.missing_required not in ("error", "warn"):
            raise SpecError(f"IngestOptions.missing_required must be 'error' or 'warn', got {self.missing_required!r}")
        if self.blank_disclosure not in ("restricted", "error"):
            raise SpecError("IngestOptions.blank_disclosure must be 'restricted' or 'error', "
                            f"got {self.blank_disclosure!r}")

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
    """What :func:`~pmm_lib.inputs.ingest.read_returns` / :func:`~pmm_lib.inputs.ingest.ingest` produced.

    Attributes
    ----------
    observations : DataFrame
        ``member, cycle, kpi, value, disclosure, source, flag`` then ``data_source, validation,
        comment, disclosure_chosen`` (:data:`pmm_lib.inputs.schemas.OBSERVATIONS_SCHEMA`).
    non_responses : DataFrame
        KPIs without a value for which the Member wrote something: ``member, cycle, kpi, status
        (not_applicable | not_available | not_stated), data_source, comment, file``.
    respondents : DataFrame
        One row per questionnaire: ``member, cycle, contact, email, file, language,
        framework_version`` (internal: never published).
    warnings : list of Issue
        Fixed irregularities and notes (also in the manifest).
    inputs : list of dict
        Per input file: ``path, name, kind, bytes, sha256, rows, observations, encoding``.
    manifest : dict
        The manifest (written as ``manifest.json`` by ``ingest``).
    written : dict
        Output name -> path (empty for ``read_returns``).
    """

    observations: pd.DataFrame
    non_responses: pd.DataFrame = field(default_factory=pd.DataFrame)
    respondents: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[Issue] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    written: dict[str, Path] = field(default_factory=dict)


#: Columns of a file's raw records (one row per KPI row / CSV line, cells as read).
RECORD_COLUMNS = ["member", "cycle", "kpi", "value", "disclosure", "source", "flag", "status", "data_source",
                  "validation", "comment", "unit", "_sheet", "_row", "_pct_format"]


@dataclass
class RawFile:
    """A file's raw records plus where each field lives (for messages)."""

    name: str
    kind: str  # "xlsx" or "csv"
    records: pd.DataFrame  # RECORD_COLUMNS
    labels: dict[str | None, dict[str, str]]  # sheet -> field -> column label shown to people
    overrides: dict[str, tuple[str | None, int | None, str]] = field(default_factory=dict)  # field -> where
    encoding: str | None = None
    expected_sheets: dict[str, list[str]] = field(default_factory=dict)  # sheet -> KPI codes it should list
    respondent: dict[str, Any] = field(default_factory=dict)  # contact, email, language, framework_version


class Collector:
    """Collects issues; raises them together as one InputError."""

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
            raise input_error(self.errors, self.n_errors, self.files)


def input_error(issues: list[Issue], total: int, files: set[Any]) -> InputError:
    """One InputError for many issues: the first one's fields, all of them in ``.issues``."""
    first = issues[0]
    if total == 1:
        exc = InputError(first.message, file=first.file, sheet=first.sheet, row=first.row,
                         column=first.column, expected=first.expected)
    else:
        single = len(files) == 1
        lines = [f"  {n}. {i.describe(with_file=not single)}" for n, i in enumerate(issues, 1)]
        if total > len(issues):
            lines.append(f"  ... and {total - len(issues)} more problem(s) not shown")
        head = (f"{total} problems found:" if single
                else f"{total} problems found in {', '.join(sorted(map(str, files)))}:")
        exc = InputError(head + "\n" + "\n".join(lines), file=first.file if single else None)
        exc.file, exc.sheet, exc.row, exc.column, exc.expected = (
            first.file, first.sheet, first.row, first.column, first.expected)
    exc.issues = list(issues)  # type: ignore[attr-defined]
    return exc
