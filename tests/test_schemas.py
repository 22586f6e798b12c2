"""Tests of pmm_lib.inputs.schemas: each named check fails exactly on the rows that break it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from pmm_lib.inputs.framework import load_framework
from pmm_lib.inputs.schemas import (
    CHECK_MESSAGES,
    NON_RESPONSES_SCHEMA,
    OBSERVATION_COLUMNS,
    OBSERVATIONS_SCHEMA,
    returns_schema,
)

FW = load_framework()


def returns(**override) -> pd.DataFrame:
    base = {"member": ["SEN", "FRA", "KEN"], "cycle": [2024, 2024, 2022], "kpi": ["K01", "K02", "K05"],
            "value": [24.0, 50.0, -20.0], "disclosure": ["public", "wco", "restricted"],
            "source": ["", "x", ""], "flag": ["", "", ""], "lower": [0.0, 0.0, -100.0],
            "upper": [720.0, 100.0, 500.0]}
    base.update(override)
    return pd.DataFrame(base).astype({"member": str, "kpi": str, "disclosure": str, "source": str, "flag": str})


def failures(frame: pd.DataFrame, members=("SEN", "FRA", "KEN")) -> set[tuple[str, int]]:
    try:
        returns_schema(FW, members).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        return {(str(c), int(i)) for c, i in zip(fc["check"], fc["index"], strict=True) if pd.notna(i)}
    return set()


def test_valid_returns_pass() -> None:
    assert failures(returns()) == set()


@pytest.mark.parametrize(("override", "expected"), [
    ({"member": ["SEN", "fra", "KEN"]}, {("member_format", 1), ("known_member", 1)}),
    ({"member": ["SEN", "FRA", "USA"]}, {("known_member", 2)}),
    ({"cycle": [2024, 1999, 2101]}, {("cycle_range", 1), ("cycle_range", 2)}),
    ({"kpi": ["K01", "K52", "K05"], "lower": [0.0, np.nan, -100.0], "upper": [720.0, np.nan, 500.0]},
     {("known_kpi", 1)}),
    ({"value": [np.inf, 50.0, np.nan]}, {("finite_value", 0), ("finite_value", 2)}),
    ({"disclosure": ["public", "WCO", "secret"]}, {("disclosure_level", 1), ("disclosure_level", 2)}),
    ({"value": [721.0, 100.0, -100.5]}, {("within_bounds", 0), ("within_bounds", 2)}),
])
def test_each_check_flags_exactly_its_rows(override, expected) -> None:
    assert failures(returns(**override)) == expected
    assert {c for c, _ in expected} <= set(CHECK_MESSAGES)


def test_members_none_checks_format_only() -> None:
    frame = returns(member=["SEN", "FRA", "USA"])
    assert failures(frame, members=None) == set()


def test_observations_schema_contract() -> None:
    """The seven contract columns first (load_observations reads them), then what the Member wrote."""
    obs = returns().drop(columns=["lower", "upper"]).assign(
        data_source="DGD statistics", validation="validated", comment="", disclosure_chosen=True)
    assert list(obs.columns)[:7] == list(OBSERVATION_COLUMNS)
    assert list(OBSERVATIONS_SCHEMA.columns) == [*OBSERVATION_COLUMNS, "data_source", "validation", "comment",
                                                 "disclosure_chosen"]
    OBSERVATIONS_SCHEMA.validate(obs)
    with pytest.raises(pa.errors.SchemaError):
        OBSERVATIONS_SCHEMA.validate(obs.assign(validation="checked"))  # not a validation status
    with pytest.raises(pa.errors.SchemaError):
        OBSERVATIONS_SCHEMA.validate(pd.concat([obs, obs.iloc[[0]]], ignore_index=True))  # duplicate key
    with pytest.raises((pa.errors.SchemaError, pa.errors.SchemaErrors), match="out-of-order"):
        OBSERVATIONS_SCHEMA.validate(obs[list(reversed(obs.columns))])
    with pytest.raises((pa.errors.SchemaError, pa.errors.SchemaErrors), match="extra"):
        OBSERVATIONS_SCHEMA.validate(obs.assign(extra=1))  # strict


def test_non_responses_schema() -> None:
    ok = pd.DataFrame({"member": ["SEN"], "cycle": [2024], "kpi": ["K05"], "status": ["not_applicable"],
                       "data_source": [""], "comment": ["no AEO programme yet"], "file": ["sen.xlsx"]})
    NON_RESPONSES_SCHEMA.validate(ok)
    with pytest.raises(pa.errors.SchemaError):
        NON_RESPONSES_SCHEMA.validate(ok.assign(status="n/a"))
