"""Small-sample guards: withheld statistics state their n and reason; intervals respect bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pmm_lib.analysis import guards
from pmm_lib.analysis.outcomes import known_groups, ols_outcomes
from pmm_lib.analysis.validity import (
    alpha_ci,
    consistency_table,
    efa_table,
    pca_loadings,
    pca_table,
)


def _factor_data(n: int, k: int, seed: int = 0) -> pd.DataFrame:
    g = np.random.default_rng(seed)
    f = g.normal(size=(n, 1))
    return pd.DataFrame(0.8 * f + 0.6 * g.normal(size=(n, k)), columns=[f"K{i}" for i in range(k)])


def _meta(groups: dict[str, list[str]]) -> pd.DataFrame:
    rows = [{"code": k, "level": 1, "parent": d, "direction": 1, "name": k} for d, ks in groups.items() for k in ks]
    rows += [{"code": d, "level": 3, "parent": "PMM", "direction": 1, "name": d} for d in groups]
    rows += [{"code": "PMM", "level": 4, "parent": None, "direction": 1, "name": "PMM"}]
    return pd.DataFrame(rows)


def test_pca_withheld_when_n_not_above_k():
    x = _factor_data(5, 13)  # the AMS paper's ES: 5 Members, 13 KPIs
    meta = _meta({"ES": list(x.columns)})
    tab = pca_table(x, meta, n_iter=20, seed=0)
    assert len(tab) == 1 and tab["withheld"].iloc[0] == guards.multivariate_reason(5, 13, what="PCA, KMO and Bartlett")
    assert "n = 5" in tab["withheld"].iloc[0] and np.isnan(tab["kmo"].iloc[0])
    assert pca_loadings(x, meta, n_iter=20, seed=0).empty and efa_table(x, meta, seed=0).empty
    ok = pca_table(_factor_data(60, 6), _meta({"TF": [f"K{i}" for i in range(6)]}), n_iter=20, seed=0)
    assert (ok["withheld"] == "").all() and ok["explained"].iloc[0] > 0.5


def test_alpha_withheld_for_two_items_and_interval_bounded():
    x = _factor_data(40, 5)
    meta = _meta({"A": ["K0", "K1"], "B": ["K2", "K3", "K4"]})
    tab = consistency_table(x, meta, n_boot=50, seed=1, levels=(3,)).set_index("code")
    assert np.isnan(tab.loc["A", "alpha"]) and "k = 2" in tab.loc["A", "withheld"]
    assert tab.loc["B", "withheld"] == "" and 0 < tab.loc["B", "alpha"] <= tab.loc["B", "ci_high"] <= 1
    # Feldt's interval on a high alpha with few units passes 1 unbounded; it is clipped
    hi = alpha_ci(_factor_data(8, 3, seed=3) * 0 + _factor_data(8, 1, seed=3).to_numpy(), method="feldt")
    assert hi["ci_high"].iloc[0] <= 1.0
    assert guards.bounded(0.71, 1.14) == (0.71, 1.0)


def test_regression_drops_a_control_resting_on_one_member():
    g = np.random.default_rng(2)
    idx = [f"M{i}" for i in range(15)]
    scores = pd.DataFrame({"PMM": g.normal(size=15)}, index=idx)
    outcomes = pd.DataFrame({"lpi": scores["PMM"] + g.normal(0, 0.5, 15)}, index=idx)
    cov = pd.DataFrame({"gdp": g.normal(size=15), "landlocked": [True] + [False] * 14}, index=idx)
    res = ols_outcomes(scores, outcomes, cov, controls=("gdp", "landlocked"))
    assert "landlocked" not in set(res["term"]) and "gdp" in set(res["term"])
    assert (res["dropped_controls"] == "control landlocked dropped: rests on 1 Member (needs at least 3)").all()
    cov["landlocked"] = [True] * 4 + [False] * 11
    res = ols_outcomes(scores, outcomes, cov, controls=("gdp", "landlocked"))
    assert "landlocked" in set(res["term"]) and (res["dropped_controls"] == "").all()


def test_known_groups_leave_out_a_group_of_one():
    idx = [f"M{i}" for i in range(13)]
    scores = pd.DataFrame({"PMM": np.arange(13.0)}, index=idx)
    groups = pd.Series(["L"] + ["LM"] * 4 + ["UM"] * 4 + ["H"] * 4, index=idx)
    row = known_groups(scores, groups).iloc[0]
    assert row["groups"] == 3 and row["n"] == 12 and row["dropped_groups"] == "group L has 1 Member (needs at least 3)"
    assert guards.group_reason({"L": 5, "H": 3}) == ""
