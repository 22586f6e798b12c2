"""Reading and validating returns without writing anything: files (:func:`read_returns`) or a frame.

All problems of all files are collected (up to ``IngestOptions.max_errors``) and raised as one
:class:`~pmm_lib.errors.InputError`: its message lists each problem, its fields (file, sheet,
row, column, expected) are those of the first and ``.issues`` holds them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pmm_lib import paths
from pmm_lib.errors import InputError, PmmError
from pmm_lib.inputs.framework import Framework, load_framework
from pmm_lib.inputs.ingest.model import (
    RECORD_COLUMNS,
    Collector,
    IngestOptions,
    IngestResult,
    Issue,
    RawFile,
)
from pmm_lib.inputs.ingest.readers import CSV_OPTIONAL, CSV_REQUIRED, discover, read_file
from pmm_lib.inputs.ingest.validate import NON_RESPONSE_COLUMNS, finish, validate_raw
from pmm_lib.provenance import relative_path, sha256_file

__all__ = ["RESPONDENT_COLUMNS", "file_sha256", "known_members", "read_returns", "rel_path", "validate_returns"]

RESPONDENT_COLUMNS: tuple[str, ...] = ("member", "cycle", "contact", "email", "file", "language",
                                       "framework_version")


#: SHA-256 hex digest of a file's bytes (the one implementation is :func:`pmm_lib.provenance.sha256_file`).
file_sha256 = sha256_file


def rel_path(p: Path) -> str:
    """An input's name in manifests: relative to the project root (:func:`pmm_lib.provenance.relative_path`)."""
    return relative_path(p, paths.ROOT)


def known_members(path: str | Path | None = None) -> frozenset[str] | None:
    """WCO Member ISO3 codes, or None when no Member list is available.

    Uses :func:`pmm_lib.inputs.data.load_members` when no ``path`` is given, else reads
    ``member`` (or ``iso3``) from ``data/raw/external/wco_members.csv`` (or ``path``).
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


def _resolve_members(members: Iterable[str] | None | Literal["auto"], col: Collector) -> frozenset[str] | None:
    if isinstance(members, str) and members == "auto":
        found = known_members()
        if found is None:
            col.warn("no Member list (data/raw/external/wco_members.csv); Member codes checked for format only")
        return found
    if members is None:
        return None
    return frozenset(str(m).strip().upper() for m in members)


def _respondents(raws: list[tuple[RawFile, pd.DataFrame]]) -> pd.DataFrame:
    rows = []
    for raw, accepted in raws:
        if raw.kind != "xlsx" or not len(accepted):
            continue
        r = raw.respondent
        rows.append({"member": str(accepted["member"].iloc[0]), "cycle": int(accepted["cycle"].iloc[0]),
                     "contact": r.get("contact", ""), "email": r.get("email", ""), "file": raw.name,
                     "language": r.get("language") or r.get("stamp_language", ""),
                     "framework_version": r.get("stamp_version") or r.get("framework", "")})
    frame = pd.DataFrame(rows, columns=list(RESPONDENT_COLUMNS))
    return frame.astype({c: str for c in RESPONDENT_COLUMNS if c != "cycle"} | {"cycle": "int64"})


def _empty_non_responses() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "cycle" else str) for c in NON_RESPONSE_COLUMNS})


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
        ``observations`` sorted by cycle, member and framework KPI order; ``non_responses``;
        ``respondents``; ``warnings``; ``inputs``.

    Raises
    ------
    InputError
        All problems of all files together (first one in the fields, all in ``.issues``).
    """
    fw = framework or load_framework()
    opts = options or IngestOptions()
    col = Collector(opts.max_errors)
    mem = _resolve_members(members, col)
    files = discover(paths_in, col)
    if not files and not col.n_errors:
        where = ", ".join(map(str, paths_in)) if paths_in else rel_path(paths.QUESTIONNAIRE_DIR)
        raise InputError(f"no questionnaires (.xlsx) or returns (.csv) found in {where}",
                         expected="at least one .xlsx or .csv file")
    frames: list[tuple[RawFile, pd.DataFrame]] = []
    non: list[pd.DataFrame] = []
    inputs: list[dict[str, Any]] = []
    try:
        from tqdm.auto import tqdm  # noqa: PLC0415
        iterator = tqdm(files, desc="ingest", unit="file", disable=None if len(files) > 3 else True, leave=False)
    except ImportError:  # pragma: no cover
        iterator = files
    for path in iterator:
        raw = read_file(path, fw, opts, col)
        if raw is None:
            continue
        accepted, said = validate_raw(raw, fw, mem, opts, col)
        frames.append((raw, accepted))
        non.append(said)
        inputs.append({"path": rel_path(path), "name": path.name, "kind": raw.kind, "bytes": path.stat().st_size,
                       "sha256": file_sha256(path), "rows": int(len(raw.records)),
                       "observations": int(len(accepted)), "encoding": raw.encoding})
    col.raise_if_any()
    obs = finish(frames, fw, col)
    col.raise_if_any()
    if obs.empty:
        names = ", ".join(i["name"] for i in inputs) or None
        col.error("the inputs hold no values", file=names, expected="at least one filled value")
        col.raise_if_any()
    non_responses = pd.concat([_empty_non_responses(), *non], ignore_index=True)
    respondents = _respondents(frames)
    if cycle is not None:
        dropped = int((obs["cycle"] != cycle).sum())
        obs = obs[obs["cycle"] == cycle].reset_index(drop=True)
        non_responses = non_responses[non_responses["cycle"] == cycle].reset_index(drop=True)
        respondents = respondents[respondents["cycle"] == cycle].reset_index(drop=True)
        if dropped:
            col.warn(f"{dropped} observation(s) of other cycles left out (--cycle {cycle})")
        if obs.empty:
            raise InputError(f"no observations for cycle {cycle}", column="--cycle",
                             expected="a cycle present in the inputs")
    from pmm_lib.inputs.schemas import NON_RESPONSES_SCHEMA, OBSERVATIONS_SCHEMA  # noqa: PLC0415
    OBSERVATIONS_SCHEMA.validate(obs)  # internal contract; a failure here is a bug, not bad input
    NON_RESPONSES_SCHEMA.validate(non_responses)
    ignored = []
    if not paths_in and paths.QUESTIONNAIRE_DIR.is_dir():
        ignored = sorted(p.name for p in paths.QUESTIONNAIRE_DIR.iterdir() if p.is_file() and p not in files)
    return IngestResult(observations=obs, non_responses=non_responses, respondents=respondents,
                        warnings=col.warnings, inputs=inputs,
                        manifest={"members_checked": mem is not None, "ignored": ignored})


def validate_returns(frame: pd.DataFrame, *, framework: Framework | None = None,
                     members: Iterable[str] | None | Literal["auto"] = "auto",
                     options: IngestOptions | None = None, file: str = "<frame>") -> tuple[pd.DataFrame, list[Issue]]:
    """Validate a tidy return held in memory (columns as in a CSV return; cells may be text).

    Parameters
    ----------
    frame : DataFrame
        Columns ``member, cycle, kpi, value, disclosure`` and optionally ``source, flag, status,
        data_source, validation, comment, unit``. Row ``i`` (0-based) is reported as row ``i + 2``
        (as in the equivalent CSV).
    framework, members, options : optional
        As in :func:`read_returns`.
    file : str
        Name used in messages.

    Returns
    -------
    (DataFrame, list of Issue)
        The observations (``OBSERVATIONS_SCHEMA`` columns) and the warnings.

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
    >>> validate_returns(frame, members=["SEN"], options=IngestOptions(missing_required="warn"))
    Traceback (most recent call last):
    ...
    pmm_lib.errors.InputError: file <frame>, row 2, column 'value': 'n/a' could mean 'not applicable' or 'not available' (expected an empty Value and 'not applicable' or 'not available' in 'If no value')
    """
    fw = framework or load_framework()
    opts = options or IngestOptions()
    col = Collector(opts.max_errors)
    mem = _resolve_members(members, col)
    cols = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in CSV_REQUIRED if c not in cols]
    if missing:
        raise InputError(f"required column(s) {', '.join(missing)} missing", file=file, column=missing[0],
                         expected="the columns " + ", ".join(CSV_REQUIRED))
    n = len(frame)

    def get(c: str) -> pd.Series:
        if c not in cols:
            return pd.Series([""] * n if c in ("source", "flag") else [None] * n, dtype=object)
        return frame[cols[c]].astype(object).reset_index(drop=True)

    records = pd.DataFrame({c: get(c) for c in (*CSV_REQUIRED, *CSV_OPTIONAL)})
    records["_sheet"] = pd.Series([None] * n, dtype=object)
    records["_row"] = pd.Series(np.arange(2, n + 2), dtype=object)
    records["_pct_format"] = False
    raw = RawFile(name=file, kind="csv", records=records[RECORD_COLUMNS],
                  labels={None: {c: c for c in (*CSV_REQUIRED, *CSV_OPTIONAL)}})
    accepted, _ = validate_raw(raw, fw, mem, opts, col)
    col.raise_if_any()
    return finish([(raw, accepted)], fw, col), col.warnings
