"""pmm_lib.inputs.synthetic: determinism, the planted truth, participation and the bundled files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pmm_lib.cli import main
from pmm_lib.inputs.data import (
    REGIONS,
    load_members,
    load_observations,
    load_outcomes,
    outcome_wide,
    to_matrix,
)
from pmm_lib.inputs.framework import load_framework
from pmm_lib.inputs.synthetic import (
    DEFAULT_SEED,
    QUOTAS,
    generate,
    latent_performance,
    write_dataset,
)
from pmm_lib.paths import ROOT

SEEDS = (DEFAULT_SEED, 7)


@pytest.fixture(scope="module", params=SEEDS)
def ds(request):
    return generate(request.param)


@pytest.fixture(scope="module")
def fw():
    return load_framework()


def _oriented_r(ds, fw, cycle: int) -> pd.Series:
    """Spearman correlation of each framework-oriented KPI with the latent performance, slips excluded."""
    obs = ds.observations
    slips = {(s["member"], s["cycle"], s["kpi"]) for s in ds.truth["unit_slips"]}
    keep = [(m, c, k) not in slips for m, c, k in zip(obs["member"], obs["cycle"], obs["kpi"], strict=True)]
    m = to_matrix(obs[keep], cycle)
    lat = ds.latent.reindex(m.index)
    return pd.Series({k.code: (m[k.code] * k.direction).corr(lat, method="spearman") for k in fw.kpis})


def test_deterministic_per_seed() -> None:
    a, b = generate(11), generate(11)
    pd.testing.assert_frame_equal(a.observations, b.observations)
    assert a.truth == b.truth
    pd.testing.assert_series_equal(a.latent, b.latent)
    c = generate(12)
    assert not a.observations["value"].equals(c.observations["value"]) or len(a.observations) != len(c.observations)
    assert a.truth["participation"] != c.truth["participation"]


def test_observation_schema(ds, fw) -> None:
    obs = ds.observations
    assert list(obs.columns) == ["member", "cycle", "kpi", "value", "disclosure", "source", "flag"]
    assert set(obs["source"]) == {"synthetic"} and set(obs["flag"]) == {""}
    assert set(obs["cycle"]) == {2022, 2024}
    assert not obs.duplicated(["member", "cycle", "kpi"]).any()
    assert obs["value"].notna().all()
    bounds = {k.code: (k.lower, k.upper) for k in fw.kpis}
    lo = obs["kpi"].map(lambda c: bounds[c][0])
    hi = obs["kpi"].map(lambda c: bounds[c][1])
    assert ((obs["value"] >= lo) & (obs["value"] <= hi)).all(), "every value, slips included, inside the bounds"


def test_participation(ds, members=None) -> None:
    members = load_members().set_index("member")
    obs = ds.observations
    for cycle, quota in QUOTAS.items():
        who = obs.loc[obs["cycle"] == cycle, "member"].unique()
        assert len(who) == sum(quota.values())
        by_region = members.loc[who, "region"].astype(str).value_counts().to_dict()
        assert by_region == {r: n for r, n in quota.items() if n}
        assert ds.truth["participation"][str(cycle)]["n"] == len(who)
    n22, n24 = (obs.loc[obs["cycle"] == c, "member"].nunique() for c in (2022, 2024))
    assert (n22, n24) == (62, 110)
    assert QUOTAS[2024]["AMS"] >= 20 and min(QUOTAS[2024].values()) >= 8
    # members that joined after 2022 cannot take part in 2022
    p22 = set(obs.loc[obs["cycle"] == 2022, "member"])
    assert not {"SLB", "PLW"} & p22
    # stronger administrations take part more often
    part = members.index.isin(obs.loc[obs["cycle"] == 2024, "member"].unique())
    lat = ds.latent.reindex(members.index)
    assert lat[part].mean() > lat[~part].mean() + 0.3


def test_latent_anchored_in_real_data(ds) -> None:
    assert ds.latent.index.is_unique and len(ds.latent) == 186
    assert ds.latent.mean() == pytest.approx(0, abs=1e-9) and ds.latent.std(ddof=0) == pytest.approx(1)
    lpi = outcome_wide(load_outcomes(), "lpi_customs", 2018)["lpi_customs"]
    assert ds.latent.corr(lpi) > 0.7
    ge = outcome_wide(load_outcomes(), "wgi_ge", 2022)["wgi_ge"]
    assert ds.latent.corr(ge) > 0.7
    time = outcome_wide(load_outcomes(), "db_time_import_border_h", 2020)["db_time_import_border_h"]
    assert ds.latent.corr(np.log1p(time)) < -0.4


def test_latent_imputation_for_members_without_anchors() -> None:
    members = load_members()
    outcomes = load_outcomes()
    outcomes = outcomes[~outcomes["member"].isin(["DEU", "FRA"])]  # drop every anchor of two Members
    latent, anchors = latent_performance(members, outcomes, seed=3)
    assert anchors.loc[["DEU", "FRA"], "imputed"].all()
    assert latent.notna().all()
    assert anchors["imputed"].sum() >= 2


def test_sound_kpis_track_performance(ds, fw) -> None:
    for cycle in (2022, 2024):
        r = _oriented_r(ds, fw, cycle)
        sound = r[ds.truth["sound_kpis"]]
        assert sound.median() > 0.6, cycle
        assert (sound > 0.3).all(), sound[sound <= 0.3]


def test_unrelated_kpis_are_unrelated(ds, fw) -> None:
    r = _oriented_r(ds, fw, 2024)
    assert ds.truth["unrelated_kpis"] == ["K28", "K33", "K37"]
    for code in ds.truth["unrelated_kpis"]:
        assert abs(r[code]) < 0.25, (code, r[code])
        assert ds.truth["loadings"][code] == 0.0


def test_misdirected_kpi_has_the_wrong_sign(ds, fw) -> None:
    code = ds.truth["misdirected_kpi"]
    assert fw.kpi(code).direction == -1
    for cycle in (2022, 2024):
        assert _oriented_r(ds, fw, cycle)[code] < -0.5


def test_collinear_pair(ds, fw) -> None:
    a, b = ds.truth["collinear_pair"]
    dims = {o.code: o.parent for o in fw.outcomes}
    assert dims[fw.kpi(a).parent] == dims[fw.kpi(b).parent] == "OD"
    assert fw.kpi(a).parent != fw.kpi(b).parent
    for cycle in (2022, 2024):
        m = to_matrix(ds.observations, cycle)
        assert abs(m[a].corr(m[b])) > 0.95
        others = m.drop(columns=[a, b]).corr().abs().to_numpy()
        assert np.nanmax(others[~np.eye(len(others), dtype=bool)]) < 0.95  # the only such pair


def test_planted_kpis_distinct_outcomes_and_illustrative(ds, fw) -> None:
    planted = [*ds.truth["unrelated_kpis"], ds.truth["misdirected_kpi"], *ds.truth["collinear_pair"]]
    parents = [fw.kpi(c).parent for c in planted]
    assert len(set(parents)) == len(parents)
    assert all(fw.kpi(c).illustrative for c in planted)
    assert set(ds.truth["sound_kpis"]).isdisjoint(planted)
    assert len(ds.truth["sound_kpis"]) + len(planted) == 51
    sound_loadings = [ds.truth["loadings"][c] for c in ds.truth["sound_kpis"]]
    assert min(sound_loadings) >= 0.6 and max(sound_loadings) <= 0.9


def test_missing_group_is_missing(ds) -> None:
    group = ds.truth["missing_group"]
    sids = set(load_members().query("sids")["member"])
    assert set(group["members"]) == sids and group["kpis"] == ["K29", "K30"]
    obs = ds.observations
    in_group = obs["member"].isin(sids)
    assert not obs.loc[in_group, "kpi"].isin(group["kpis"]).any()
    assert in_group.any(), "some SIDS take part, so the gap is visible"
    # others report O16 at the usual rate for optional KPIs
    rest = obs[~in_group]
    share = rest[rest["kpi"] == "K29"].groupby("cycle")["member"].nunique() / rest.groupby("cycle")["member"].nunique()
    assert (share > 0.6).all()


def test_skips_only_optional_and_more_by_weaker(ds, fw) -> None:
    obs = ds.observations
    n = obs.groupby(["cycle", "member"]).size()
    required = [k.code for k in fw.kpis if not k.optional]
    counts = obs[obs["kpi"].isin(required)].groupby(["cycle", "member"]).size()
    assert (counts == len(required)).all(), "mandatory KPIs are never skipped"
    reported = n.groupby(level="member").mean()
    lat = ds.latent.reindex(reported.index)
    assert reported.corr(lat) > 0.2


def test_unit_slips_and_outliers(ds, fw) -> None:
    obs = ds.observations.set_index(["member", "cycle", "kpi"])["value"]
    slips = ds.truth["unit_slips"]
    fractions = [s for s in slips if s["kind"] == "share reported as a fraction"]
    assert len(fractions) == 6
    for s in slips:
        got = obs[(s["member"], s["cycle"], s["kpi"])]
        assert got == pytest.approx(s["reported"])
        factor = 0.01 if s in fractions else 1000.0
        assert s["reported"] == pytest.approx(s["correct"] * factor, rel=1e-3)
        if s in fractions:
            assert fw.kpi(s["kpi"]).unit == "%" and got <= 1.0
    assert 10 <= len(ds.truth["outliers"]) <= 80
    for o in ds.truth["outliers"][:20]:
        assert obs[(o["member"], o["cycle"], o["kpi"])] == pytest.approx(o["value"])


def test_disclosure(ds, fw) -> None:
    obs = ds.observations
    order = {"public": 0, "wco": 1, "restricted": 2}
    default = obs["kpi"].map({k.code: order[k.disclosure] for k in fw.kpis})
    level = obs["disclosure"].map(order)
    assert (level >= default).all(), "Members may only be more restrictive than the default"
    assert (level > default).mean() > 0.02
    restrictive = obs["member"].isin(ds.truth["restrictive_members"])
    assert (level > default)[restrictive].mean() > 3 * (level > default)[~restrictive].mean()


def test_truth_keys(ds) -> None:
    for key in ("unrelated_kpis", "misdirected_kpi", "collinear_pair", "missing_group", "sound_kpis",
                "unit_slips", "outliers", "participation", "model", "seed", "latent"):
        assert key in ds.truth
    assert ds.truth["seed"] in SEEDS
    json.dumps(ds.truth)  # serialisable


def test_bundled_files_equal_the_default_seed() -> None:
    """The committed data/raw/questionnaires files are exactly generate(DEFAULT_SEED)."""
    fresh = generate(DEFAULT_SEED)
    bundled = load_observations(ROOT / "data" / "raw" / "questionnaires" / "pmm_returns.csv")
    pd.testing.assert_frame_equal(bundled, fresh.observations, check_dtype=False, atol=1e-6)
    truth = json.loads((ROOT / "data" / "raw" / "questionnaires" / "truth.json").read_text(encoding="utf-8"))
    assert truth == json.loads(json.dumps(fresh.truth))
    assert (ROOT / "data" / "raw" / "questionnaires" / "pmm_returns.csv").stat().st_size < 2_000_000


def test_write_dataset_and_cli(tmp_path, capsys) -> None:
    ds = write_dataset(5, tmp_path / "a")
    back = load_observations(tmp_path / "a" / "pmm_returns.csv")
    pd.testing.assert_frame_equal(back, ds.observations, check_dtype=False, atol=1e-6)
    assert main(["synth", "--seed", "5", "--out", str(tmp_path / "b")]) == 0
    assert "62 Members" in capsys.readouterr().out
    assert (tmp_path / "a" / "pmm_returns.csv").read_bytes() == (tmp_path / "b" / "pmm_returns.csv").read_bytes()
    assert (tmp_path / "a" / "truth.json").read_bytes() == (tmp_path / "b" / "truth.json").read_bytes()
    assert set(REGIONS) == set(json.loads((tmp_path / "b" / "truth.json").read_text())["participation"]["2024"]["by_region"])
