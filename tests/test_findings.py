"""Tests of pmm_lib.analysis.findings: the planted truth is found, the null case advises nothing."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from pmm_lib.analysis.findings import (
    Finding,
    FindingRules,
    advised_drops,
    compute_findings,
    findings_frame,
    group_gaps,
    headlines,
    kpi_fitness,
)
from pmm_lib.analysis.validity import scorecard
from pmm_lib.errors import SpecError
from pmm_lib.inputs import synthetic
from pmm_lib.inputs.data import load_members, load_observations, to_matrix
from pmm_lib.inputs.framework import load_framework
from pmm_lib.paths import root


def _tables(observations: pd.DataFrame) -> dict[str, pd.DataFrame]:
    fw = load_framework()
    m = to_matrix(observations, 2024)
    members = load_members().set_index("member")
    return {"tbl-scorecard": scorecard(m, fw.meta(), oriented=False),
            "tbl-missing-by-group": group_gaps(m, members[["sids", "landlocked", "income_group"]],
                                               {k.code: k.parent for k in fw.kpis})}


@pytest.fixture(scope="module")
def planted():
    return compute_findings(_tables(load_observations()))


@pytest.fixture(scope="module")
def clean():
    return compute_findings(_tables(synthetic.generate(synthetic.DEFAULT_SEED, defects=False).observations))


def test_all_region_findings_name_the_planted_truth(planted):
    truth = json.loads((root() / "data" / "raw" / "questionnaires" / "truth.json").read_text())
    by_rule: dict[str, set[str]] = {}
    for f in planted:
        by_rule.setdefault(f.rule.split(" ")[0], set()).update(f.subjects)
    assert by_rule["kpi.unrelated"] == set(truth["unrelated_kpis"]) == {"K28", "K33", "K37"}
    assert by_rule["kpi.misdirected"] == {truth["misdirected_kpi"]} == {"K40"}
    assert by_rule["kpi.collinear"] == set(truth["collinear_pair"]) == {"K46", "K47"}
    gap = [f for f in planted if f.rule.startswith("data.structural_gap")]
    assert len(gap) == 1 and gap[0].subjects[:2] == (truth["missing_group"]["outcome"], "sids")
    assert "Small island developing state" in gap[0].statement and "O16" in gap[0].statement
    # one of the collinear pair is kept, every planted defect leaves the advised index
    assert advised_drops(planted) == ("K28", "K33", "K37", "K40", "K47")
    # no sound KPI is accused
    accused = {s for f in planted if f.rule.startswith("kpi.") and f.rule != "kpi.summary" for s in f.subjects}
    assert accused <= {"K28", "K33", "K37", "K40", "K46", "K47"}


def test_statements_carry_numbers_and_n(planted):
    k40 = next(f for f in planted if f.rule.startswith("kpi.misdirected"))
    assert k40.severity == "critical" and k40.n == 110 and "n = 110" in k40.statement
    assert k40.evidence["item_rest_r"] < -0.5 and "−0." in k40.statement  # true minus, fixed decimals
    assert "Drop K40" in k40.recommendation


def test_data_without_defects_advise_no_drop(clean):
    assert advised_drops(clean) == ()
    assert not [f for f in clean if f.rule.startswith(("kpi.misdirected", "kpi.unrelated", "kpi.collinear",
                                                        "data.structural_gap"))]
    summary = next(f for f in clean if f.rule == "kpi.summary")
    assert "no KPI needs to leave the index" in summary.statement


def test_rules_are_overridable_and_checked():
    card = pd.DataFrame({"code": ["K1", "K2"], "dimension": ["D", "D"], "coverage": [1.0, 1.0], "n": [30, 30],
                         "item_rest_r": [0.6, 0.25], "index_r": [0.6, 0.15], "r_max": [0.5, 0.5],
                         "r_max_with": ["K2", "K1"], "verdict": ["keep", "review"]})
    assert kpi_fitness(card)["problem"].tolist() == ["unrelated"]
    strict = dataclasses.replace(FindingRules(), unrelated_r=0.2)
    assert kpi_fitness(card, strict)["problem"].tolist() == ["review"]
    assert FindingRules.from_dict({"rank_window": 5}).rank_window == 5
    with pytest.raises(SpecError, match="unknown name.*rank_windw"):
        FindingRules.from_dict({"rank_windw": 5})
    with pytest.raises(SpecError, match="section"):
        Finding("x", {}, 1, "info", "", "r", "nowhere")


def _ranks(n: int, fragile: dict[int, tuple[int, int]]) -> pd.DataFrame:
    rows = []
    for i in range(1, n + 1):
        lo, hi = fragile.get(i, (max(1, i - 1), min(n, i + 2)))
        rows.append({"code": "PMM", "unit": f"M{i:02d}", "rank": i, "rank_low": lo, "rank_high": hi, "n": 500})
    return pd.DataFrame(rows)


def test_robustness_in_the_jrc_form():
    # 21 of 22 within +-3 (the AMS paper's numbers); member 14 has 12-18
    f = compute_findings({"tbl-rank-intervals": _ranks(22, {14: (12, 18)})})[0]
    assert f.rule.startswith("robustness.rank_window") and f.evidence["share_within"] == pytest.approx(21 / 22)
    assert f.subjects == ("M14",) and "21 of 22" in f.statement and f.severity == "info"
    g = compute_findings({"tbl-rank-intervals": _ranks(10, {i: (1, 10) for i in range(1, 6)})})[0]
    assert g.severity == "warning" and g.evidence["n_fragile"] == 5


def test_weighting_advice_and_identical_scheme():
    n = 20
    base = np.arange(1, n + 1)
    bod = base.copy()
    bod[[0, 13]] = bod[[13, 0]]  # member 14 jumps to 1: a shift of 13
    ranks = pd.DataFrame({"member": [f"M{i}" for i in base], "framework": base, "equal": base,
                          "budget": base, "bod": bod})
    fs = compute_findings({"tbl-weighting-ranks": ranks})
    rules = [f.rule.split(" ")[0] for f in fs]
    assert "weighting.identical" in rules and next(f for f in fs if f.rule.startswith("weighting.identical")).subjects == ("equal",)
    shift = next(f for f in fs if f.rule.startswith("weighting.rank_shift"))
    assert "largest 13 (M1, rank 1 → 14)" in shift.statement and "bod" in shift.recommendation
    assert next(f for f in fs if f.rule.startswith("weighting.advice")).evidence["advised"] == "framework"


def test_outcome_warnings_wrong_sign_and_governance():
    oc = pd.DataFrame({"code": "PMM", "method": "pearson",
                       "variable": ["lpi_customs", "wgi_ge", "log_db_time_export_border_h"],
                       "estimate": [0.80, 0.86, 0.55], "ci_low": [0.6, 0.7, 0.1], "ci_high": [0.9, 0.93, 0.8],
                       "n": [22, 22, 13]})
    fs = compute_findings({"tbl-outcome-correlations": oc})
    rules = {f.rule.split(" ")[0] for f in fs}
    assert {"outcomes.wrong_sign", "outcomes.tracks_governance"} <= rules
    wrong = next(f for f in fs if f.rule.startswith("outcomes.wrong_sign"))
    assert "DB border time to export" in wrong.statement and wrong.n == 13
    # WCA's +0.14 with DB export border time: the interval includes 0, the sign is still named
    weak = compute_findings({"tbl-outcome-correlations": oc.assign(estimate=[0.8, 0.86, 0.14],
                                                                      ci_low=[0.6, 0.7, -0.45])})
    w = next(f for f in weak if f.rule.startswith("outcomes.weak"))
    assert "r = 0.14, the wrong sign, n = 13" in w.statement


def test_group_gaps_and_frame():
    m = pd.DataFrame({"K1": [1, np.nan, np.nan, np.nan, 2, 3, 4], "K2": [1.0] * 7}, index=list("abcdefg"))
    g = pd.DataFrame({"island": [False, True, True, True, False, False, False]}, index=m.index)
    gaps = group_gaps(m, g, {"K1": "O1", "K2": "O1"})
    assert gaps.iloc[0][["missing_in", "missing_out"]].tolist() == [0.5, 0.0]
    frame = findings_frame(compute_findings({"tbl-missing-by-group": gaps.assign(missing_in=1.0)}))
    assert list(frame.columns) == ["section", "severity", "statement", "recommendation", "rule", "n", "subjects"]
    assert frame["rule"].str.startswith("data.structural_gap").all()


def test_convergence_zero_effect_and_normalisation_warnings():
    rows = []
    for output in ("score", "mean_abs_rank_shift"):
        for factor, first, total in (("treat", 0.0, 0.0), ("normalise", 0.6, 0.83), ("weights", 0.01, 0.02)):
            for order, est in (("first", first), ("total", total)):
                rows.append({"code": "PMM", "output": output, "factor": factor, "order": order, "estimate": est,
                             "ci_low": est - 0.2, "ci_high": est + 0.2, "n": 64})
    fs = compute_findings({"tbl-sobol": pd.DataFrame(rows)})
    rules = {f.rule.split(" ")[0]: f for f in fs}
    assert rules["convergence.sobol"].evidence["n_base"] == 64 and "n_samples ≥ 1000" in rules["convergence.sobol"].recommendation
    assert rules["convergence.zero_effect"].subjects == ("treat",)
    assert "different scales" in rules["uncertainty.normalisation_scale"].statement
    converged = pd.DataFrame(rows).assign(n=2000, ci_low=lambda f: f["estimate"] - 0.01,
                                          ci_high=lambda f: f["estimate"] + 0.01)
    assert "convergence.sobol" not in {f.rule.split(" ")[0] for f in compute_findings({"tbl-sobol": converged})}


def test_no_drop_is_advised_on_too_few_members():
    card = pd.DataFrame({"code": ["K01", "K40"], "dimension": ["OD", "OD"], "coverage": [1.0, 1.0],
                         "n": [13, 13], "item_rest_r": [0.8, -0.74], "index_r": [0.8, -0.7],
                         "r_max": [0.8, 0.81], "r_max_with": ["K40", "K01"], "verdict": ["keep", "drop"]})
    fs = compute_findings({"tbl-scorecard": card})
    assert advised_drops(fs) == ()
    k40 = next(f for f in fs if f.rule.startswith("kpi.misdirected"))
    assert "pooled sample" in k40.recommendation and "n = 13" in k40.recommendation
    assert "too few Members to advise a drop (n = 13)" in headlines(fs)[1][1]
    assert advised_drops(compute_findings({"tbl-scorecard": card.assign(n=20)})) == ("K40",)


def test_advised_index_without_drops_reads_back_from_csv(tmp_path):
    frame = pd.DataFrame({"member": ["A", "B"], "framework": [60.0, 50.0], "advised": [60.0, 50.0],
                          "rank_framework": [1, 2], "rank_advised": [1, 2], "shift": [0, 0], "dropped": ["", ""]})
    frame.to_csv(tmp_path / "a.csv", index=False)
    back = pd.read_csv(tmp_path / "a.csv", keep_default_na=False, na_values=[""])  # as the paper reads it
    f = next(f for f in compute_findings({"tbl-advised-index": back}) if f.rule == "weighting.advised_index")
    assert "nan" not in f.statement and "advised index is the framework's" in f.statement


def test_rank_shift_finding_skips_a_member_a_scheme_leaves_unranked():
    """A scheme that leaves one Member unranked (NaN) must not crash the finding nor pick that Member:
    the largest shift is C, framework rank 3 → 1 under 'pca' (|shift| 2), while B is unranked."""
    from pmm_lib.analysis.findings import compute_findings

    ranks = pd.DataFrame({"member": ["A", "B", "C", "D"], "framework": [1, 2, 3, 4],
                          "pca": [2, np.nan, 1, 3]})
    found = [f for f in compute_findings({"tbl-weighting-ranks": ranks}) if f.rule.startswith("weighting.rank_shift")]
    assert len(found) == 1
    assert "pca: median 1.0, largest 2 (C, rank 3 → 1)" in found[0].statement
