"""Cycles: panel Members, stability of validity evidence, rank stability with intervals, paired score
changes on pooled goalposts, variation KPIs - against hand-computed and planted answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pmm_lib.analysis import cycles
from pmm_lib.core.build import build
from pmm_lib.core.spec import Spec
from pmm_lib.errors import InputError
from pmm_lib.inputs.data import load_observations, to_matrix
from pmm_lib.inputs.framework import load_framework


@pytest.fixture(scope="module")
def obs():
    return load_observations()


def test_previous_cycle_and_panel_members(obs):
    assert cycles.previous_cycle(obs, 2024) == 2022 and cycles.previous_cycle(obs, 2022) is None
    common = cycles.panel_members(obs, 2024, 2022, region="AMS")
    a = set(to_matrix(obs, 2022, "AMS").index) & set(to_matrix(obs, 2024, "AMS").index)
    assert common == sorted(a) and len(common) == 11
    with pytest.raises(InputError, match="no observations for cycle 2019"):
        cycles.panel_members(obs, 2024, 2019)


def test_rank_stability_known_answers():
    gen = np.random.default_rng(0)
    x = pd.DataFrame({"PMM": gen.normal(size=30), "TF": gen.normal(size=30)}, index=[f"M{i}" for i in range(30)])
    same = cycles.rank_stability(x, 3 * x + 1, n_boot=300, seed=1).set_index("code")
    assert same.at["PMM", "estimate"] == pytest.approx(1.0) and same.at["PMM", "ci_low"] == pytest.approx(1.0)
    rev = cycles.rank_stability(x, -x, n_boot=300, seed=1).set_index("code")
    assert rev.at["TF", "estimate"] == pytest.approx(-1.0) and rev.at["TF", "ci_high"] == pytest.approx(-1.0)
    y = x + gen.normal(scale=1.0, size=x.shape)
    out = cycles.rank_stability(x, y, n_boot=2000, seed=2).set_index("code")
    rho = stats.spearmanr(x["PMM"], y["PMM"]).statistic
    assert out.at["PMM", "estimate"] == pytest.approx(rho)
    assert out.at["PMM", "ci_low"] < rho < out.at["PMM", "ci_high"]
    # the bootstrap interval is close to the Fisher-z interval for Spearman (se = sqrt(1.06/(n-3)))
    z, se = np.arctanh(rho), np.sqrt(1.06 / 27)
    assert out.at["PMM", "ci_low"] == pytest.approx(np.tanh(z - 1.96 * se), abs=0.12)
    again = cycles.rank_stability(x, y, n_boot=2000, seed=2)
    pd.testing.assert_frame_equal(again, cycles.rank_stability(x, y, n_boot=2000, seed=2))
    # only Members in both cycles count
    part = cycles.rank_stability(x.iloc[:20], y, n_boot=100, seed=3)
    assert part["n"].tolist() == [20, 20]


def test_score_changes_are_paired():
    gen = np.random.default_rng(1)
    prev = pd.DataFrame(gen.normal(50, 10, size=(400, 3)), columns=["A", "B", "C"])
    # the same draws shifted by a known change per Member: the interval collapses on it
    curr = prev + [5.0, 0.0, -2.0]
    out = cycles.score_changes(prev.mean(), curr.mean(), prev, curr).set_index("unit")
    assert out.loc["A", ["change_low", "change_high"]].tolist() == pytest.approx([5.0, 5.0])
    assert out.loc["C", "change"] == pytest.approx(-2.0)
    assert out.index.tolist() == ["A", "B", "C"]  # sorted by change, descending
    # unpaired (shuffled) replications would give a wide interval around the same change
    shuffled = curr.sample(frac=1.0, random_state=0).reset_index(drop=True)
    wide = cycles.score_changes(prev.mean(), curr.mean(), prev, shuffled).set_index("unit")
    assert (wide["change_high"] - wide["change_low"]).min() > 20


def test_pooled_goalposts_make_scores_comparable(obs):
    meta = load_framework().table()
    m22 = to_matrix(obs, 2022, "AMS").fillna(to_matrix(obs, 2022, "AMS").median())
    m24 = m22.copy()
    # plant a change: one Member improves one required KPI within the observed range
    k = "K03"
    lo, hi = m22[k].min(), m22[k].max()
    member = m22[k].idxmin()
    m24.loc[member, k] = (lo + hi) / 2
    pooled = cycles.pool_cycles({2022: m22, 2024: m24})
    assert pooled.shape == (2 * len(m22), m22.shape[1])
    res = build(pooled, meta, Spec.default())
    by = cycles.split_pooled(res.index)
    change = by[2024] - by[2022]
    assert change[member] > 0
    assert change.drop(member).abs().max() == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(InputError, match="KPI columns differ"):
        cycles.pool_cycles({2022: m22, 2024: m24.drop(columns=k)})
    with pytest.raises(InputError, match="pooled"):
        cycles.split_pooled(pd.Series([1.0], index=["ARG"]))


def test_variation_kpis_from_t_and_t_minus_1():
    obs = pd.DataFrame({"member": ["A", "A", "B", "B", "C"], "cycle": [2022, 2024, 2022, 2024, 2024],
                        "kpi": ["K01", "K01", "K01", "K01", "K01"], "value": [40.0, 30.0, 0.0, 5.0, 9.0]})
    meta = pd.DataFrame({"code": ["K01"], "direction": [-1]})
    out = cycles.variation_kpis(obs, 2024, 2022, meta=meta).set_index("member")
    assert out.index.tolist() == ["A", "B"]  # C has no T-1 value
    assert out.at["A", "change"] == -10.0 and out.at["A", "pct_change"] == pytest.approx(-25.0)
    assert out.at["A", "improvement"] == 10.0  # lower is better: a fall is an improvement
    assert np.isnan(out.at["B", "pct_change"])  # no percentage change from zero
    assert cycles.variation_kpis(obs, 2024, 2020).empty


def test_kpi_and_alpha_stability_on_the_bundled_panel(obs):
    meta = load_framework().table()
    m22, m24 = to_matrix(obs, 2022, "AMS"), to_matrix(obs, 2024, "AMS")
    ks = cycles.kpi_stability(m22, m24, meta).set_index("code")
    assert (ks["n"] <= 11).all()  # common Members only
    # the planted misdirected KPI is flagged in both cycles: a stable finding, not noise
    assert ks.at["K40", "verdict_prev"] == "drop" and ks.at["K40", "verdict"] == "drop"
    assert ks.at["K40", "stable"]
    assert ks.at["K01", "item_rest_change"] == pytest.approx(ks.at["K01", "item_rest"] - ks.at["K01", "item_rest_prev"])
    spec = Spec.default()
    common = cycles.panel_members(obs, 2024, 2022, region="AMS")
    res = build(cycles.pool_cycles({2022: m22, 2024: m24}, members=common), meta, spec)
    norm = cycles.split_pooled(res.normalised)
    al = cycles.alpha_stability(norm[2022], norm[2024], meta, n_boot=100, seed=1).set_index("code")
    assert {"TF", "RC", "ES", "OD"} <= set(al.index)
    assert al.at["OD", "change"] == pytest.approx(al.at["OD", "alpha"] - al.at["OD", "alpha_prev"])
