"""pmm_lib.inputs.data: Members, real outcomes, observations and the members × KPIs matrix."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmm_lib.errors import InputError
from pmm_lib.inputs import data
from pmm_lib.inputs.data import (
    OBSERVATION_COLUMNS,
    REGIONS,
    load_members,
    load_observations,
    load_outcomes,
    outcome_wide,
    to_matrix,
)
from pmm_lib.paths import ROOT

RETURNS = ROOT / "data" / "raw" / "questionnaires" / "pmm_returns.csv"


@pytest.fixture(scope="module")
def members() -> pd.DataFrame:
    return load_members()


@pytest.fixture(scope="module")
def outcomes() -> pd.DataFrame:
    return load_outcomes()


@pytest.fixture(scope="module")
def observations() -> pd.DataFrame:
    return load_observations(RETURNS)


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """A copy of the project's data folders under PMM_HOME, for corrupting files safely."""
    for sub in ("data/raw/external", "data/raw/questionnaires", "methodology"):
        shutil.copytree(ROOT / sub, tmp_path / sub)
    monkeypatch.setenv("PMM_HOME", str(tmp_path))
    data.clear_cache()
    yield tmp_path
    data.clear_cache()


# ------------------------------------------------------------------ members

def test_members_count_and_regions(members) -> None:
    assert len(members) == 186
    assert members["member"].is_unique and members["member"].is_monotonic_increasing
    assert set(members["region"].astype(str)) == set(REGIONS)
    counts = members["region"].value_counts().to_dict()
    assert counts == {"EUR": 52, "AP": 35, "AMS": 33, "ESA": 24, "WCA": 24, "MENA": 18}
    assert members["member"].str.fullmatch(r"[A-Z]{3}").all()


def test_member_decisions(members) -> None:
    m = members.set_index("member")
    for code, region in (("SLB", "AP"), ("PLW", "AP"), ("CUW", "AMS"), ("GNQ", "WCA")):
        assert m.loc[code, "region"] == region
    assert m.loc["SLB", "joined"] == "2023-01-26" and m.loc["PLW", "joined"] == "2024-02-02"
    assert "EUU" not in m.index and "ANT" not in m.index
    assert "VCT" not in m.index  # 187th Member (2025), after the reference membership
    assert m.loc["XKX", "region"] == "EUR"


def test_namibia_iso2_is_not_missing(members) -> None:
    m = members.set_index("member")
    assert m.loc["NAM", "iso2"] == "NA"
    assert m.loc["NAM", "name"] == "Namibia"
    assert members["iso2"].notna().all()


def test_member_groups(members) -> None:
    m = members.set_index("member")
    assert list(members["income_group"].cat.categories) == ["L", "LM", "UM", "H"]
    assert members["income_group"].isna().sum() == 1 and pd.isna(m.loc["VEN", "income_group"])
    assert m.loc["DEU", "income_group"] == "H" and m.loc["AFG", "income_group"] == "L"
    for col in ("landlocked", "sids", "ldc"):
        assert members[col].dtype == bool
    assert m.loc["CHE", "landlocked"] and m.loc["BOL", "landlocked"] and not m.loc["CHL", "landlocked"]
    assert m.loc["FJI", "sids"] and m.loc["SLB", "sids"] and not m.loc["AUS", "sids"]
    assert m.loc["BGD", "ldc"] and not m.loc["IND", "ldc"]


def test_loaders_return_copies(members) -> None:
    a = load_members()
    a.loc[0, "name"] = "changed"
    assert load_members().loc[0, "name"] != "changed"


def test_members_file_errors(home) -> None:
    path = home / "data/raw/external/wco_members.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(",ESA,", ",XXX,", 1), encoding="utf-8")
    with pytest.raises(InputError, match=r"column 'region'.*'XXX'") as info:
        load_members()
    assert "wco_members.csv" in str(info.value) and "row" in str(info.value)
    data.clear_cache()
    path.unlink()
    with pytest.raises(InputError, match="wco_members.csv.*not found"):
        load_members()


def test_members_missing_column(home) -> None:
    path = home / "data/raw/external/wco_members.csv"
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""]).drop(columns="region")
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match="missing column.*region"):
        load_members()


# ------------------------------------------------------------------ outcomes

def test_outcomes_tidy(outcomes, members) -> None:
    assert list(outcomes.columns) == ["member", "year", "variable", "value", "source"]
    assert not outcomes.duplicated(["member", "year", "variable"]).any()
    assert outcomes["value"].notna().all()
    assert outcomes["year"].dtype.kind == "i"
    assert set(outcomes["member"]) <= set(members["member"])
    expected = {"lpi_overall", "lpi_customs", "db_time_export_border_h", "db_cost_export_border_usd",
                "db_time_export_doc_h", "db_cost_export_doc_usd", "db_time_import_border_h",
                "db_cost_import_border_usd", "db_time_import_doc_h", "db_cost_import_doc_usd",
                "db_tab_score", "wgi_ge", "wgi_cc", "gdp_pc_ppp", "population", "trade_gs_pct_gdp",
                "customs_duties_pct_tax"}
    assert expected <= set(outcomes["variable"])


def test_outcome_years(outcomes) -> None:
    years = outcomes.groupby("variable")["year"].agg(["min", "max"])
    assert years.loc["lpi_customs"].tolist() == [2007, 2023]
    assert years.loc["db_time_import_border_h"].tolist() == [2015, 2020]
    lpi_editions = set(outcomes.loc[outcomes["variable"] == "lpi_overall", "year"])
    assert lpi_editions == {2007, 2010, 2012, 2014, 2016, 2018, 2023}


def _value(outcomes, member, variable, year) -> float:
    row = outcomes[(outcomes["member"] == member) & (outcomes["variable"] == variable) & (outcomes["year"] == year)]
    assert len(row) == 1, (member, variable, year)
    return float(row["value"].iloc[0])


@pytest.mark.parametrize(("member", "variable", "year", "expected"), [
    # values checked by eye against the published sources once
    ("DEU", "lpi_customs", 2018, 4.092256),     # Germany, LPI 2018 Customs, rank 1
    ("BRA", "lpi_customs", 2018, 2.406162),
    ("KEN", "lpi_customs", 2018, 2.653857),
    ("KEN", "db_time_import_border_h", 2020, 194.0),
    ("BRA", "db_time_import_border_h", 2020, 30.0),
    ("DEU", "db_time_import_border_h", 2020, 0.0),  # EU internal border: zero hours
    ("NAM", "db_time_import_border_h", 2020, 5.5),
    ("NAM", "db_tab_score", 2020, 61.4713),
    ("AFG", "db_cost_import_doc_usd", 2015, 900.0),
])
def test_known_values(outcomes, member, variable, year, expected) -> None:
    assert _value(outcomes, member, variable, year) == pytest.approx(expected, abs=1e-6)


def test_wgi_and_wdi_ranges(outcomes) -> None:
    ge = outcomes[outcomes["variable"] == "wgi_ge"]["value"]
    assert ge.between(-3, 3).all()
    gdp = outcomes[outcomes["variable"] == "gdp_pc_ppp"]["value"]
    assert (gdp > 0).all()
    lpi = outcomes[outcomes["variable"].str.startswith("lpi_")]["value"]
    assert lpi.between(1, 5).all()
    # WGI '..' is missing (absent), never zero-filled
    wgi_rows = outcomes[outcomes["variable"].str.startswith("wgi_")]
    assert len(wgi_rows) > 13000


def test_outcome_sources(outcomes) -> None:
    src = outcomes.groupby("variable")["source"].first()
    assert src["lpi_customs"] == "World Bank LPI"
    assert src["db_tab_score"] == "World Bank Doing Business"
    assert src["wgi_cc"] == "World Bank WGI"
    assert src["population"] == "World Bank WDI"


def test_outcome_wide(outcomes) -> None:
    w = outcome_wide(outcomes, ["lpi_customs", "db_time_import_border_h"],
                     {"lpi_customs": 2018, "db_time_import_border_h": 2020})
    assert list(w.columns) == ["lpi_customs", "db_time_import_border_h"]
    assert w.index.name == "member" and w.index.is_unique and w.index.is_monotonic_increasing
    assert w.loc["DEU", "lpi_customs"] == pytest.approx(4.092256)
    assert w.loc["KEN", "db_time_import_border_h"] == 194.0
    one = outcome_wide(outcomes, "lpi_customs", 2018)
    assert one["lpi_customs"].notna().sum() == 159  # 160 economies in LPI 2018, Taiwan is not a Member
    latest = outcome_wide(outcomes, "lpi_customs", "latest")
    sub = outcomes[(outcomes["variable"] == "lpi_customs") & (outcomes["member"] == "DEU")]
    assert latest.loc["DEU", "lpi_customs"] == sub.sort_values("year")["value"].iloc[-1]


def test_outcome_wide_errors(outcomes) -> None:
    with pytest.raises(InputError, match="unknown outcome variable.*nonsense.*expected.*lpi_customs"):
        outcome_wide(outcomes, ["nonsense"], 2018)
    with pytest.raises(InputError, match="no year given for variable 'wgi_ge'"):
        outcome_wide(outcomes, ["lpi_customs", "wgi_ge"], {"lpi_customs": 2018})


def test_outcomes_bad_number_names_row_and_column(home) -> None:
    path = home / "data/raw/external/lpi_scores_2007_2023.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    fields = lines[5].split(",")
    fields[6] = "abc"  # customs_score
    lines[5] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 6, column 'customs_score': value 'abc' is not a number"):
        load_outcomes()


# ------------------------------------------------------------------ observations and matrix

def test_observations_shape(observations) -> None:
    assert list(observations.columns) == list(OBSERVATION_COLUMNS)
    assert observations["value"].dtype == float and observations["cycle"].dtype.kind == "i"
    assert not observations.duplicated(["member", "cycle", "kpi"]).any()
    assert set(observations["disclosure"]) <= {"public", "wco", "restricted"}


def test_load_observations_default_and_parquet(tmp_path, observations, home) -> None:
    assert load_observations().equals(observations)  # no processed parquet in the copy: the bundled CSV
    processed = home / "data" / "processed"
    processed.mkdir(parents=True)
    observations.iloc[:10].to_parquet(processed / "observations.parquet")
    assert len(load_observations()) == 10


def test_load_observations_errors(tmp_path, observations) -> None:
    with pytest.raises(InputError, match="not found"):
        load_observations(tmp_path / "none.csv")
    bad = observations.iloc[:5].copy()
    bad["value"] = bad["value"].astype(object)
    bad.loc[bad.index[2], "value"] = "n/a"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputError, match=r"row 4, column 'value'"):
        load_observations(tmp_path / "bad.csv")
    observations.iloc[:5].drop(columns="disclosure").to_csv(tmp_path / "nodisc.csv", index=False)
    with pytest.raises(InputError, match="missing column.*disclosure"):
        load_observations(tmp_path / "nodisc.csv")
    odd = observations.iloc[:5].copy()
    odd["disclosure"] = "secret"
    odd.to_csv(tmp_path / "odd.csv", index=False)
    with pytest.raises(InputError, match="disclosure 'secret' unknown"):
        load_observations(tmp_path / "odd.csv")


def test_to_matrix_hand_made() -> None:
    obs = pd.DataFrame({
        "member": ["URY", "ARG", "ARG", "DEU", "URY"],
        "cycle": [2024, 2024, 2024, 2024, 2022],
        "kpi": ["K02", "K01", "K51", "K01", "K01"],
        "value": [50.0, 10.0, 7.0, 3.0, 99.0],
        "disclosure": "public", "source": "test", "flag": "",
    })
    m = to_matrix(obs, 2024)
    assert list(m.index) == ["ARG", "DEU", "URY"] and m.index.name == "member"
    assert list(m.columns) == [f"K{i:02d}" for i in range(1, 52)]
    assert m.loc["ARG", "K01"] == 10.0 and m.loc["ARG", "K51"] == 7.0 and m.loc["URY", "K02"] == 50.0
    assert np.isnan(m.loc["DEU", "K02"]) and m.notna().sum().sum() == 4
    ams = to_matrix(obs, 2024, "AMS")
    assert list(ams.index) == ["ARG", "URY"]
    assert to_matrix(obs, 2024, "ALL").equals(m)
    assert to_matrix(obs, 2022).loc["URY", "K01"] == 99.0


def test_to_matrix_errors(observations) -> None:
    with pytest.raises(InputError, match="unknown region 'XX'.*AMS, AP, ESA, EUR, MENA, WCA"):
        to_matrix(observations, 2024, "XX")
    with pytest.raises(InputError, match="no observations for cycle 1999.*2022, 2024"):
        to_matrix(observations, 1999)
    dup = pd.concat([observations.iloc[:1], observations.iloc[:1]])
    with pytest.raises(InputError, match="twice"):
        to_matrix(dup, int(dup["cycle"].iloc[0]))
    odd = observations.iloc[:1].assign(kpi="K99")
    with pytest.raises(InputError, match="unknown KPI code.*K99"):
        to_matrix(odd, int(odd["cycle"].iloc[0]))


def test_to_matrix_on_bundled_data(observations, members) -> None:
    m = to_matrix(observations, 2024, "AMS")
    region = members.set_index("member")["region"]
    assert (region.reindex(m.index) == "AMS").all()
    assert len(m) >= 20
    full = to_matrix(observations, 2024)
    assert len(full) == observations.loc[observations["cycle"] == 2024, "member"].nunique()
    assert full.notna().sum().sum() == (observations["cycle"] == 2024).sum()


# ------------------------------------------------------------------ property: matrix ⇔ tidy rows

_codes = [f"K{i:02d}" for i in range(1, 52)]


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(
    st.tuples(st.sampled_from(["ARG", "BRA", "DEU", "KEN", "NAM", "URY"]), st.sampled_from([2022, 2024]),
              st.sampled_from(_codes)),
    st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60))
def test_to_matrix_holds_exactly_the_rows_of_the_cycle(cells) -> None:
    obs = pd.DataFrame([dict(member=m, cycle=c, kpi=k, value=v, disclosure="public", source="t", flag="")
                        for (m, c, k), v in cells.items()])
    for cycle in sorted(obs["cycle"].unique()):
        mat = to_matrix(obs, int(cycle))
        sub = obs[obs["cycle"] == cycle]
        assert list(mat.columns) == _codes
        assert list(mat.index) == sorted(sub["member"].unique())
        assert mat.notna().sum().sum() == len(sub)
        for m, k, v in zip(sub["member"], sub["kpi"], sub["value"], strict=True):
            assert mat.loc[m, k] == v
