"""Pandera schemas for PMM returns: what a parsed return and a processed observation table must satisfy.

This module owns the *declarative* part of input validation (types, allowed codes, ranges,
finiteness, per-KPI plausible bounds). Checks that span rows or files (duplicates, conflicts,
skipped mandatory KPIs, shares given as fractions) and the turning of raw cells into numbers
live in :mod:`pmm_lib.inputs.ingest`, which also turns pandera's failure cases into
:class:`pmm_lib.errors.InputError` messages a person can act on.

Every check has a stable ``name``; :data:`CHECK_MESSAGES` maps it to the human message and the
"expected" text, so the wording lives in one place.

Schemas
-------
``returns_schema(framework, members)``
    A parsed return (one row per reported value) *before* it is accepted: columns ``member,
    cycle, kpi, value, disclosure, source, flag`` plus the KPI's plausible ``lower``/``upper``
    bounds joined from the framework.
``OBSERVATIONS_SCHEMA``
    The processed table written to ``data/processed/observations.parquet`` (strict, ordered,
    unique on ``member, cycle, kpi``): the contract :func:`pmm_lib.inputs.data.load_observations` reads.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pandera.pandas as pa

from pmm_lib.inputs.framework import DISCLOSURE_LEVELS, Framework

__all__ = [
    "CHECK_MESSAGES",
    "CYCLE_RANGE",
    "MEMBER_PATTERN",
    "OBSERVATION_COLUMNS",
    "OBSERVATIONS_SCHEMA",
    "NON_RESPONSES_SCHEMA",
    "VALIDATION_STATUSES",
    "NON_RESPONSE_STATUSES",
    "returns_schema",
]

#: Columns of the tidy observations table, in order.
OBSERVATION_COLUMNS: tuple[str, ...] = ("member", "cycle", "kpi", "value", "disclosure", "source", "flag")
#: A Member code is an upper-case ISO 3166-1 alpha-3 code.
MEMBER_PATTERN = r"^[A-Z]{3}$"
#: Plausible PMM cycles (reporting years), inclusive.
CYCLE_RANGE: tuple[int, int] = (2000, 2100)

#: check name -> (message, expected). ``{value}`` is replaced by the offending value.
CHECK_MESSAGES: dict[str, tuple[str, str]] = {
    "member_format": ("Member code {value!r} is not an ISO3 code", "three upper-case letters, e.g. SEN"),
    "known_member": ("{value!r} is not a WCO Member", "an ISO3 code listed in data/raw/external/wco_members.csv"),
    "cycle_range": ("cycle {value!r} is out of range", f"a year {CYCLE_RANGE[0]}-{CYCLE_RANGE[1]}"),
    "known_kpi": ("unknown KPI code {value!r}", "a framework KPI code K01-K51"),
    "finite_value": ("value {value!r} is not a finite number", "a finite number"),
    "disclosure_level": ("disclosure {value!r} is not allowed", " or ".join(DISCLOSURE_LEVELS)),
    "within_bounds": ("value {value!r} is outside the plausible range", "a value within the KPI's range"),
}


def _finite(s: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(s.to_numpy(dtype=float, na_value=np.nan)), index=s.index)


def _within_bounds(df: pd.DataFrame) -> pd.Series:
    v = df["value"].to_numpy(dtype=float, na_value=np.nan)
    lo = df["lower"].to_numpy(dtype=float)
    hi = df["upper"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        # non-finite values are reported by finite_value, unknown KPIs (no bounds) by known_kpi
        ok = ~np.isfinite(v) | np.isnan(lo) | np.isnan(hi) | ((v >= lo) & (v <= hi))
    return pd.Series(ok, index=df.index)


def returns_schema(framework: Framework, members: Iterable[str] | None = None) -> pa.DataFrameSchema:
    """Schema of a parsed return, before it is accepted into the observations table.

    Parameters
    ----------
    framework : Framework
        Supplies the allowed KPI codes.
    members : iterable of str, optional
        Known WCO Member codes. ``None`` checks the ISO3 format only.

    Returns
    -------
    pandera.DataFrameSchema
        Columns ``member`` (str, ISO3, known), ``cycle`` (int, in :data:`CYCLE_RANGE`), ``kpi``
        (str, a framework KPI), ``value`` (float, finite), ``disclosure`` (one of
        ``public, wco, restricted``), ``source``, ``flag`` (str), ``lower``/``upper`` (float,
        the KPI's plausible bounds) and the frame-level check ``lower <= value <= upper``.
        Extra columns (row bookkeeping) are allowed. Check names are keys of
        :data:`CHECK_MESSAGES`.
    """
    member_checks = [pa.Check(lambda s: s.str.fullmatch(MEMBER_PATTERN).fillna(False), name="member_format")]
    if members is not None:
        allowed = frozenset(members)
        member_checks.append(pa.Check(lambda s: s.isin(allowed), name="known_member"))
    kpis = frozenset(framework.kpi_codes)
    lo, hi = CYCLE_RANGE
    return pa.DataFrameSchema(
        {
            "member": pa.Column(str, member_checks),
            "cycle": pa.Column("int64", pa.Check(lambda s: s.between(lo, hi), name="cycle_range")),
            "kpi": pa.Column(str, pa.Check(lambda s: s.isin(kpis), name="known_kpi")),
            # NaN is reported once, by finite_value; unknown KPIs have no bounds (reported by known_kpi)
            "value": pa.Column("float64", pa.Check(_finite, name="finite_value", ignore_na=False), nullable=True),
            "disclosure": pa.Column(str, pa.Check(lambda s: s.isin(DISCLOSURE_LEVELS), name="disclosure_level")),
            "source": pa.Column(str),
            "flag": pa.Column(str),
            "lower": pa.Column("float64", nullable=True),
            "upper": pa.Column("float64", nullable=True),
        },
        checks=[pa.Check(_within_bounds, name="within_bounds")],
        strict=False,
        name="pmm_returns",
    )


#: How a value was checked before it was reported (``not_stated`` when the Member left it blank).
VALIDATION_STATUSES: tuple[str, ...] = ("self_assessed", "validated", "peer_reviewed", "not_stated")
#: Why a KPI has no value (``not_stated``: the Member wrote a comment or a source but no reason).
NON_RESPONSE_STATUSES: tuple[str, ...] = ("not_applicable", "not_available", "not_stated")

#: The processed observations table (``data/processed/observations.parquet``): the seven contract
#: columns first (what :func:`pmm_lib.inputs.data.load_observations` reads), then what the Member
#: wrote beside each value.
OBSERVATIONS_SCHEMA = pa.DataFrameSchema(
    {
        "member": pa.Column(str, pa.Check.str_matches(MEMBER_PATTERN)),
        "cycle": pa.Column("int64", pa.Check.in_range(*CYCLE_RANGE)),
        "kpi": pa.Column(str, pa.Check.str_matches(r"^K\d{2}$")),
        "value": pa.Column("float64", pa.Check(_finite, name="finite_value")),
        "disclosure": pa.Column(str, pa.Check.isin(DISCLOSURE_LEVELS)),
        "source": pa.Column(str),
        "flag": pa.Column(str),
        "data_source": pa.Column(str),
        "validation": pa.Column(str, pa.Check.isin(VALIDATION_STATUSES)),
        "comment": pa.Column(str),
        "disclosure_chosen": pa.Column(bool),
    },
    strict=True,
    ordered=True,
    unique=["member", "cycle", "kpi"],
    name="pmm_observations",
)

#: KPIs without a value for which the Member wrote a reason, a comment or a source
#: (``data/processed/non_responses.parquet``).
NON_RESPONSES_SCHEMA = pa.DataFrameSchema(
    {
        "member": pa.Column(str, pa.Check.str_matches(MEMBER_PATTERN)),
        "cycle": pa.Column("int64"),
        "kpi": pa.Column(str, pa.Check.str_matches(r"^K\d{2}$")),
        "status": pa.Column(str, pa.Check.isin(NON_RESPONSE_STATUSES)),
        "data_source": pa.Column(str),
        "comment": pa.Column(str),
        "file": pa.Column(str),
    },
    strict=True,
    ordered=True,
    unique=["member", "cycle", "kpi"],
    name="pmm_non_responses",
)
