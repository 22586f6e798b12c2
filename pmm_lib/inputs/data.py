"""Data access: WCO Members, real outcome data, PMM observations and the members × KPIs matrix.

This module owns reading the bundled files in ``data/raw/external`` (Members and public
country-level outcome data, see ``data/raw/external/SOURCES.md``) and the observations
(``data/processed/observations.parquet`` if present, else the bundled synthetic returns in
``data/raw/questionnaires/pmm_returns.csv``), and the one derived shape the methods consume:
:func:`to_matrix`.

Loaders are cached (``functools.lru_cache``) and return copies, so callers may modify what
they get. Every file is read with ``keep_default_na=False, na_values=['']`` because Namibia's
ISO-2 code is ``"NA"``; the WGI file marks missing values with ``".."``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from pmm_lib import paths
from pmm_lib.errors import InputError
from pmm_lib.inputs.framework import DISCLOSURE_LEVELS
from pmm_lib.vocab import REGIONS

__all__ = [
    "INCOME_GROUPS",
    "OBSERVATION_COLUMNS",
    "OUTCOME_VARIABLES",
    "REGIONS",
    "clear_cache",
    "load_members",
    "load_observations",
    "load_outcomes",
    "outcome_wide",
    "to_matrix",
]

INCOME_GROUPS: tuple[str, ...] = ("L", "LM", "UM", "H")
OBSERVATION_COLUMNS: tuple[str, ...] = ("member", "cycle", "kpi", "value", "disclosure", "source", "flag")

_READ = dict(keep_default_na=False, na_values=[""])

MEMBERS_FILE = "wco_members.csv"
LPI_FILE = "lpi_scores_2007_2023.csv"
DB_FILE = "doing_business_trading_across_borders_db2015_2020.csv"
WGI_FILE = "wgi_ge_cc_rq_1996_2023.csv"
WDI_FILE = "wdi_extract_2000_2025.csv"
RETURNS_FILE = "pmm_returns.csv"
OBSERVATIONS_PARQUET = "observations.parquet"

#: variable -> (file, source column, description with unit). Year conventions in load_outcomes.
OUTCOME_VARIABLES: dict[str, tuple[str, str, str]] = {
    "lpi_overall": (LPI_FILE, "lpi_score", "LPI overall score (1-5), year = edition"),
    "lpi_customs": (LPI_FILE, "customs_score", "LPI Customs component (1-5), year = edition"),
    "db_time_export_border_h": (DB_FILE, "time_export_border_h", "DB time to export, border compliance (hours)"),
    "db_cost_export_border_usd": (DB_FILE, "cost_export_border_usd", "DB cost to export, border compliance (USD)"),
    "db_time_export_doc_h": (DB_FILE, "time_export_doc_h", "DB time to export, documentary compliance (hours)"),
    "db_cost_export_doc_usd": (DB_FILE, "cost_export_doc_usd", "DB cost to export, documentary compliance (USD)"),
    "db_time_import_border_h": (DB_FILE, "time_import_border_h", "DB time to import, border compliance (hours)"),
    "db_cost_import_border_usd": (DB_FILE, "cost_import_border_usd", "DB cost to import, border compliance (USD)"),
    "db_time_import_doc_h": (DB_FILE, "time_import_doc_h", "DB time to import, documentary compliance (hours)"),
    "db_cost_import_doc_usd": (DB_FILE, "cost_import_doc_usd", "DB cost to import, documentary compliance (USD)"),
    "db_tab_score": (DB_FILE, "tab_score_db16_20", "DB Trading across Borders score (0-100, DB16-20 method)"),
    "wgi_ge": (WGI_FILE, "ge", "WGI government effectiveness estimate (about -2.5 to 2.5)"),
    "wgi_cc": (WGI_FILE, "cc", "WGI control of corruption estimate (about -2.5 to 2.5)"),
    "wgi_rq": (WGI_FILE, "rq", "WGI regulatory quality estimate (about -2.5 to 2.5)"),
    "gdp_pc_ppp": (WDI_FILE, "gdp_pc_ppp_current_intl", "GDP per capita, PPP (current international $)"),
    "population": (WDI_FILE, "population", "Population, total"),
    "trade_gs_pct_gdp": (WDI_FILE, "trade_gs_pct_gdp", "Trade in goods and services (% of GDP)"),
    "customs_duties_pct_tax": (WDI_FILE, "customs_import_duties_pct_tax_rev",
                               "Customs and other import duties (% of tax revenue)"),
}
_SOURCES = {LPI_FILE: "World Bank LPI", DB_FILE: "World Bank Doing Business",
            WGI_FILE: "World Bank WGI", WDI_FILE: "World Bank WDI"}


def _external(name: str) -> Path:
    return paths.root() / "data" / "raw" / "external" / name


def _read_csv(path: Path, required: Iterable[str], **kwargs: object) -> pd.DataFrame:
    """Read a CSV with the project's NA convention; InputError naming file/column on problems."""
    if not path.is_file():
        raise InputError("file not found", file=path, expected="the bundled file (see data/README.md)")
    try:
        frame = pd.read_csv(path, **{**_READ, **kwargs})
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot be parsed as CSV: {exc}", file=path) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", file=path, column=missing[0],
                         expected=f"columns {', '.join(required)}")
    return frame


def _numeric(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """Column as float; '..' counts as missing; any other text raises InputError with the row."""
    raw = frame[column]
    if raw.dtype.kind in "fiu":
        return raw.astype(float)
    text = raw.astype("string").str.strip().replace({"..": pd.NA, "": pd.NA})
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & text.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"value {text.iloc[i]!r} is not a number", file=path, row=i + 2, column=column,
                         expected="a number, '..' or an empty cell")
    return values.astype(float)


def clear_cache() -> None:
    """Forget cached files (after regenerating data or changing ``PMM_HOME``)."""
    _members_cached.cache_clear()
    _outcomes_cached.cache_clear()
    _kpi_codes_cached.cache_clear()


# --------------------------------------------------------------------------- members

@functools.lru_cache(maxsize=4)
def _members_cached(root: str) -> pd.DataFrame:
    path = Path(root) / "data" / "raw" / "external" / MEMBERS_FILE
    cols = ["member", "name", "region", "income_group", "landlocked", "sids", "ldc"]
    frame = _read_csv(path, cols, dtype={"member": str, "iso2": str, "joined": str})
    for i, (code, region) in enumerate(zip(frame["member"], frame["region"], strict=True)):
        if not (isinstance(code, str) and len(code) == 3 and code.isupper()):
            raise InputError(f"member code {code!r} is not an ISO3 code", file=path, row=i + 2,
                             column="member", expected="three capital letters")
        if region not in REGIONS:
            raise InputError(f"region {region!r} is not a WCO region", file=path, row=i + 2,
                             column="region", expected=", ".join(REGIONS))
    dup = frame["member"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"member {frame['member'].iloc[i]} appears twice", file=path, row=i + 2,
                         column="member")
    bad_income = frame["income_group"].notna() & ~frame["income_group"].isin(INCOME_GROUPS)
    if bad_income.any():
        i = int(np.flatnonzero(bad_income.to_numpy())[0])
        raise InputError(f"income group {frame['income_group'].iloc[i]!r} unknown", file=path, row=i + 2,
                         column="income_group", expected=", ".join(INCOME_GROUPS) + " or empty")
    for col in ("landlocked", "sids", "ldc", "lldc"):
        if col not in frame.columns:
            continue
        mapped = frame[col].map({True: True, False: False, "True": True, "False": False})
        if mapped.isna().any():
            i = int(np.flatnonzero(mapped.isna().to_numpy())[0])
            raise InputError(f"value {frame[col].iloc[i]!r} is not a boolean", file=path, row=i + 2,
                             column=col, expected="True or False")
        frame[col] = mapped.astype(bool)
    frame["region"] = pd.Categorical(frame["region"], categories=list(REGIONS))
    frame["income_group"] = pd.Categorical(frame["income_group"], categories=list(INCOME_GROUPS),
                                           ordered=True)
    return frame.sort_values("member").reset_index(drop=True)


def load_members() -> pd.DataFrame:
    """The 186 WCO Members (membership of the 2024 PMM cycle) with grouping variables.

    Returns
    -------
    DataFrame
        One row per Member, sorted by ``member``. Columns: ``member`` (ISO3), ``iso2``, ``name``,
        ``region`` (categorical, :data:`REGIONS`), ``income_group`` (ordered categorical L < LM < UM < H,
        World Bank FY2023; empty for Venezuela), ``landlocked``, ``sids``, ``ldc``, ``lldc`` (bool),
        ``wb_region``, ``member_type``, ``joined`` (date of membership as text), ``note``.

    Raises
    ------
    InputError
        The file is missing or a row has a bad code, region, income group or flag (names row and column).

    Examples
    --------
    >>> m = load_members()
    >>> len(m), sorted(m["region"].unique().tolist())
    (186, ['AMS', 'AP', 'ESA', 'EUR', 'MENA', 'WCA'])
    >>> m.set_index("member").loc["NAM", "iso2"]
    'NA'
    """
    return _members_cached(str(paths.root())).copy()


# --------------------------------------------------------------------------- outcomes

def _tidy(frame: pd.DataFrame, year_col: str, specs: list[tuple[str, str]], file: str,
          path: Path) -> pd.DataFrame:
    parts = []
    for variable, column in specs:
        part = pd.DataFrame({"member": frame["iso3"], "year": frame[year_col].astype(int),
                             "variable": variable, "value": _numeric(frame, column, path)})
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["source"] = _SOURCES[file]
    return out


@functools.lru_cache(maxsize=4)
def _outcomes_cached(root: str) -> pd.DataFrame:
    ext = Path(root) / "data" / "raw" / "external"
    by_file: dict[str, list[tuple[str, str]]] = {}
    for var, (file, column, _) in OUTCOME_VARIABLES.items():
        by_file.setdefault(file, []).append((var, column))
    parts = []
    lpi = _read_csv(ext / LPI_FILE, ["edition", "iso3", "lpi_score", "customs_score"])
    parts.append(_tidy(lpi, "edition", by_file[LPI_FILE], LPI_FILE, ext / LPI_FILE))
    db_cols = ["iso3", "db_edition"] + [c for _, c in by_file[DB_FILE]]
    db = _read_csv(ext / DB_FILE, db_cols)
    parts.append(_tidy(db, "db_edition", by_file[DB_FILE], DB_FILE, ext / DB_FILE))
    wgi = _read_csv(ext / WGI_FILE, ["iso3", "year", "indicator", "estimate"], dtype={"estimate": str})
    for var, indicator in by_file[WGI_FILE]:
        sub = wgi[wgi["indicator"] == indicator].reset_index(drop=True)
        parts.append(_tidy(sub, "year", [(var, "estimate")], WGI_FILE, ext / WGI_FILE))
    wdi_cols = ["iso3", "year"] + [c for _, c in by_file[WDI_FILE]]
    wdi = _read_csv(ext / WDI_FILE, wdi_cols)
    parts.append(_tidy(wdi, "year", by_file[WDI_FILE], WDI_FILE, ext / WDI_FILE))
    out = pd.concat(parts, ignore_index=True)
    members = set(_members_cached(root)["member"])
    out = out[out["member"].isin(members) & out["value"].notna()]
    dup = out.duplicated(["member", "year", "variable"])
    if dup.any():
        row = out[dup].iloc[0]
        raise InputError(f"duplicate value for {row['member']} {row['variable']} {row['year']}",
                         file=ext, expected="one value per member, year and variable")
    return out.sort_values(["variable", "member", "year"]).reset_index(drop=True)


def load_outcomes() -> pd.DataFrame:
    """Real public outcome data for WCO Members in one tidy table.

    Returns
    -------
    DataFrame
        Columns ``member`` (ISO3), ``year`` (int), ``variable``, ``value`` (float), ``source``.
        One row per member, year and variable; missing values are absent rows. Variables
        (:data:`OUTCOME_VARIABLES`):

        * ``lpi_overall``, ``lpi_customs``: World Bank Logistics Performance Index, 1-5, year =
          edition (2007 ... 2018, 2023; the 2023 edition is year 2023, not WDI's 2022).
        * ``db_time_{export,import}_{border,doc}_h``, ``db_cost_{export,import}_{border,doc}_usd``,
          ``db_tab_score``: Doing Business Trading across Borders, year = DB edition (DB2020 -> 2020;
          data refer to the previous calendar year).
        * ``wgi_ge``, ``wgi_cc``, ``wgi_rq``: Worldwide Governance Indicators estimates.
        * ``gdp_pc_ppp``, ``population``, ``trade_gs_pct_gdp``, ``customs_duties_pct_tax``: WDI.

    Notes
    -----
    Only WCO Members (:func:`load_members`) are kept. Sources: World Bank (2023) *Connecting to
    Compete*; World Bank Doing Business (2020); Kaufmann, Kraay & Mastruzzi (2011) "The Worldwide
    Governance Indicators", *Hague Journal on the Rule of Law* 3(2), doi:10.1017/S1876404511200046.

    Examples
    --------
    >>> o = load_outcomes()
    >>> sorted(o.columns)
    ['member', 'source', 'value', 'variable', 'year']
    """
    return _outcomes_cached(str(paths.root())).copy()


def outcome_wide(outcomes: pd.DataFrame, variables: Iterable[str] | str,
                 year: int | Mapping[str, int | Literal["latest"]] | Literal["latest"] = "latest",
                 ) -> pd.DataFrame:
    """One row per member, one column per variable, for a given year (or the latest available).

    Parameters
    ----------
    outcomes : DataFrame
        Tidy outcomes (:func:`load_outcomes`).
    variables : str or list of str
        Variables to keep, in this column order.
    year : int, ``"latest"`` or mapping variable -> int or ``"latest"``
        Which year to take for each variable. ``"latest"`` takes, per member, the most recent
        year with a value (a member's years may then differ; use a fixed year for comparability).

    Returns
    -------
    DataFrame
        Index ``member`` (sorted), columns = ``variables``, NaN where a member has no value.

    Raises
    ------
    InputError
        Unknown variable (lists the available ones) or a mapping without an entry for a variable.

    Examples
    --------
    >>> w = outcome_wide(load_outcomes(), ["lpi_customs", "db_time_import_border_h"],
    ...                  {"lpi_customs": 2018, "db_time_import_border_h": 2020})
    >>> list(w.columns)
    ['lpi_customs', 'db_time_import_border_h']
    """
    variables = [variables] if isinstance(variables, str) else list(variables)
    known = set(outcomes["variable"].unique())
    unknown = [v for v in variables if v not in known]
    if unknown:
        raise InputError(f"unknown outcome variable(s) {', '.join(unknown)}", column="variable",
                         expected=", ".join(sorted(known)))
    cols = {}
    for var in variables:
        if isinstance(year, Mapping):
            if var not in year:
                raise InputError(f"no year given for variable {var!r}", column="year",
                                 expected=f"a year for each of {', '.join(variables)}")
            y = year[var]
        else:
            y = year
        sub = outcomes[outcomes["variable"] == var]
        if y == "latest":
            sub = sub.sort_values("year").groupby("member").tail(1)
        else:
            sub = sub[sub["year"] == int(y)]
        cols[var] = sub.set_index("member")["value"]
    wide = pd.DataFrame(cols, columns=variables)
    wide.index.name = "member"
    return wide.sort_index().astype(float)


# --------------------------------------------------------------------------- observations

def _validate_observations(frame: pd.DataFrame, path: Path | None) -> pd.DataFrame:
    missing = [c for c in OBSERVATION_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", file=path, column=missing[0],
                         expected=f"columns {', '.join(OBSERVATION_COLUMNS)}")
    frame = frame[list(OBSERVATION_COLUMNS)].copy()
    values = pd.to_numeric(frame["value"], errors="coerce")
    bad = values.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"value {frame['value'].iloc[i]!r} is not a number", file=path, row=i + 2,
                         column="value", expected="a number (a skipped KPI is an absent row)")
    frame["value"] = values.astype(float)
    cycles = pd.to_numeric(frame["cycle"], errors="coerce")
    if cycles.isna().any():
        i = int(np.flatnonzero(cycles.isna().to_numpy())[0])
        raise InputError(f"cycle {frame['cycle'].iloc[i]!r} is not a year", file=path, row=i + 2,
                         column="cycle", expected="a year such as 2024")
    frame["cycle"] = cycles.astype(int)
    bad_disc = ~frame["disclosure"].isin(DISCLOSURE_LEVELS)
    if bad_disc.any():
        i = int(np.flatnonzero(bad_disc.to_numpy())[0])
        raise InputError(f"disclosure {frame['disclosure'].iloc[i]!r} unknown", file=path, row=i + 2,
                         column="disclosure", expected=", ".join(DISCLOSURE_LEVELS))
    for col in ("member", "kpi", "disclosure", "source", "flag"):
        frame[col] = frame[col].fillna("").astype(str)
    return frame


def load_observations(path: str | Path | None = None) -> pd.DataFrame:
    """PMM observations in tidy form.

    Parameters
    ----------
    path : str or Path, optional
        A ``.parquet`` or ``.csv`` file of observations. Default: ``data/processed/observations.parquet``
        if it exists (written by ``pmm ingest``), else the bundled synthetic returns
        ``data/raw/questionnaires/pmm_returns.csv``.

    Returns
    -------
    DataFrame
        Columns ``member, cycle, kpi, value, disclosure, source, flag`` (:data:`OBSERVATION_COLUMNS`);
        ``cycle`` int, ``value`` float. One row per reported value; a skipped KPI is absent.

    Raises
    ------
    InputError
        File missing, a required column missing, a non-numeric value or cycle, an unknown
        disclosure level (names file, row and column).

    Examples
    --------
    >>> obs = load_observations(paths.QUESTIONNAIRE_DIR / "pmm_returns.csv")
    >>> sorted(obs["cycle"].unique().tolist())
    [2022, 2024]
    """
    if path is None:
        processed = paths.root() / "data" / "processed" / OBSERVATIONS_PARQUET
        path = processed if processed.is_file() else paths.root() / "data" / "raw" / "questionnaires" / RETURNS_FILE
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=path,
                         expected="observations (run `pmm synth` or `pmm ingest`)")
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise InputError(f"cannot be read as Parquet: {exc}", file=path) from None
    else:
        frame = _read_csv(path, OBSERVATION_COLUMNS, dtype={"member": str, "kpi": str, "flag": str})
    return _validate_observations(frame, path)


def _kpi_codes(framework_path: str | Path | None) -> tuple[str, ...]:
    """KPI codes of a framework file, cached on its path and modification time."""
    path = Path(framework_path) if framework_path is not None else paths.FRAMEWORK_PATH
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = -1  # let load_framework raise its FrameworkError naming the file
    return _kpi_codes_cached(str(path), stamp)


@functools.lru_cache(maxsize=8)
def _kpi_codes_cached(path: str, stamp: int) -> tuple[str, ...]:
    from pmm_lib.inputs.candidates import load_design  # a framework or a candidate file

    return tuple(load_design(path).kpi_codes)


def to_matrix(observations: pd.DataFrame, cycle: int, region: str | None = None,
              *, framework_path: str | Path | None = None) -> pd.DataFrame:
    """The members × KPIs matrix of one cycle (and region) that the methods consume.

    Parameters
    ----------
    observations : DataFrame
        Tidy observations (:func:`load_observations`).
    cycle : int
        PMM cycle (year).
    region : str, optional
        A WCO region (:data:`REGIONS`); ``None`` or ``"ALL"`` keeps every participating Member.
    framework_path : str or Path, optional
        Framework file giving the KPI columns (default: the bundled framework). A candidate file
        (:mod:`pmm_lib.inputs.candidates`) maps the observations onto its KPIs first.

    Returns
    -------
    DataFrame
        Index ``member`` (sorted; Members with at least one value in that cycle), columns: every KPI
        code in framework order (NaN where skipped), float values.

    Raises
    ------
    InputError
        Unknown region (lists the allowed ones), a cycle with no observations (lists the cycles),
        an unknown KPI code or a duplicated (member, cycle, kpi) row.

    Examples
    --------
    >>> m = to_matrix(load_observations(paths.QUESTIONNAIRE_DIR / "pmm_returns.csv"), 2024, "AMS")
    >>> m.shape[1], m.index.is_monotonic_increasing
    (51, True)
    """
    if region is not None and region != "ALL" and region not in REGIONS:
        raise InputError(f"unknown region {region!r}", column="region", expected="ALL, " + ", ".join(REGIONS))
    codes = list(_kpi_codes(framework_path))
    if framework_path is not None:  # a candidate framework: observations mapped onto its KPIs
        from pmm_lib.inputs.candidates import is_candidate_file, map_observations

        if is_candidate_file(framework_path) and observations.attrs.get("framework") != str(framework_path):
            observations = map_observations(observations, framework_path)
    obs = observations[observations["cycle"] == cycle]
    if obs.empty:
        cycles = sorted(pd.unique(observations["cycle"]).tolist())
        raise InputError(f"no observations for cycle {cycle}", column="cycle",
                         expected="one of " + ", ".join(str(c) for c in cycles))
    unknown = sorted(set(obs["kpi"]) - set(codes))
    if unknown:
        raise InputError(f"unknown KPI code(s) {', '.join(unknown)}", column="kpi",
                         expected="codes of the framework (K01 ... K51)")
    dup = obs.duplicated(["member", "kpi"])
    if dup.any():
        row = obs[dup].iloc[0]
        raise InputError(f"{row['member']} reports {row['kpi']} twice in cycle {cycle}", column="kpi",
                         expected="one value per member, cycle and KPI")
    if region not in (None, "ALL"):
        members = load_members()
        keep = set(members.loc[members["region"] == region, "member"])
        obs = obs[obs["member"].isin(keep)]
    matrix = obs.pivot(index="member", columns="kpi", values="value").reindex(columns=codes)
    matrix = matrix.sort_index().astype(float)
    matrix.index.name, matrix.columns.name = "member", None
    return matrix
