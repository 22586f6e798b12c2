"""Tests of pmm_lib.workshop.exercise: budgets, AHP, submissions, consensus, Kendall's W, exports, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pmm_lib.errors import InputError, SpecError
from pmm_lib.inputs.framework import load_framework
from pmm_lib.io import write_text_atomic
from pmm_lib.workshop import exercise as ws

FW = load_framework()
DIMS = ["TF", "RC", "ES", "OD"]


# --------------------------------------------------------------------------- budgets

def test_largest_remainder_hand_computed():
    # 1/3 each of 100: 33.33 → floor 33 ×3 = 99, the one unit left goes to the first (tie rule)
    assert ws.largest_remainder([1, 1, 1]) == [34, 33, 33]
    # quotas 14.2857·(1,2,4): 14.29, 28.57, 57.14 → floors 14, 28, 57 (99); largest fraction .57 → 28+1
    assert ws.largest_remainder([1, 2, 4]) == [14, 29, 57]
    assert ws.largest_remainder([0, 0, 5]) == [0, 0, 100]
    with pytest.raises(SpecError, match="non-negative"):
        ws.largest_remainder([0, 0])


def test_rebalance_hand_computed():
    # others 25,25,25 share 60 → 20 each
    assert ws.rebalance([25, 25, 25, 25], 0, 40) == [40, 20, 20, 20]
    # others 40,30,20 share 100: quotas 44.44, 33.33, 22.22 → 44, 33, 22 (+1 to largest fraction .44)
    assert ws.rebalance([40, 30, 20, 10], 3, 0) == [45, 33, 22, 0]
    # the moved slider takes everything
    assert ws.rebalance([10, 20, 30, 40], 2, 100) == [0, 0, 100, 0]
    # others all zero: equal shares of the rest (fallback)
    assert ws.rebalance([0, 0, 100, 0], 2, 40) == [20, 20, 40, 20]
    assert ws.rebalance([0, 0, 100, 0], 2, 40, fallback=[3, 1, 0, 0]) == [45, 15, 40, 0]
    # out-of-range values are clipped
    assert ws.rebalance([25, 25, 25, 25], 1, 150) == [0, 100, 0, 0]
    with pytest.raises(SpecError, match="index"):
        ws.rebalance([50, 50], 2, 10)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=2, max_size=14), st.data())
def test_rebalance_properties(points, data):
    i = data.draw(st.integers(0, len(points) - 1))
    v = data.draw(st.integers(-5, 110))
    out = ws.rebalance(points, i, v)
    assert sum(out) == 100
    assert all(p >= 0 for p in out)
    assert out[i] == min(max(v, 0), 100)
    # deterministic
    assert ws.rebalance(points, i, v) == out
    # proportional: the others keep their order (a larger slider never ends below a smaller one)
    others = [j for j in range(len(points)) if j != i]
    if sum(points[j] for j in others) > 0:
        for a in others:
            for b in others:
                if points[a] > points[b]:
                    assert out[a] >= out[b]
                # and each is within one point of its exact proportional share
        s = sum(points[j] for j in others)
        for j in others:
            assert abs(out[j] - (100 - out[i]) * points[j] / s) < 1


# --------------------------------------------------------------------------- AHP

def test_ahp_saaty_hand_computed():
    # A = [[1,3,5],[1/3,1,3],[1/5,1/3,1]]: lambda_max = 3.0385, CI = 0.0193, CR = CI/0.58 = 0.0332
    r = ws.ahp_judgements(["A", "B", "C"], {"A/B": 3, "A/C": 5, "B/C": 3})
    assert r.lambda_max == pytest.approx(3.03851, abs=1e-4)
    assert r.ci == pytest.approx((3.03851 - 3) / 2, abs=1e-4)
    assert r.cr == pytest.approx(0.0332, abs=1e-4)
    assert r.weights.to_numpy() == pytest.approx([0.6370, 0.2583, 0.1047], abs=1e-4)
    assert r.consistent


def test_ahp_consistent_matrix_has_cr_zero_and_exact_weights():
    # w = (8, 4, 2, 1)/15 gives a_ij = w_i/w_j exactly
    w = {"TF": 8, "RC": 4, "ES": 2, "OD": 1}
    judg = {f"{a}/{b}": w[a] / w[b] for i, a in enumerate(DIMS) for b in DIMS[i + 1:]}
    r = ws.ahp_judgements(DIMS, judg)
    assert r.weights.to_numpy() == pytest.approx(np.array([8, 4, 2, 1]) / 15)
    assert r.cr == pytest.approx(0.0, abs=1e-9)
    assert r.lambda_max == pytest.approx(4.0)


def test_ahp_names_the_planted_inconsistent_judgement():
    # consistent w = (8,4,2,1) except OD vs TF flipped to "OD 8x more important than TF"
    w = {"TF": 8, "RC": 4, "ES": 2, "OD": 1}
    judg = {f"{a}/{b}": w[a] / w[b] for i, a in enumerate(DIMS) for b in DIMS[i + 1:]}
    judg["TF/OD"] = 1 / 8
    r = ws.ahp_judgements(DIMS, judg)
    assert r.cr > 0.1 and not r.consistent
    assert r.worst == ("TF", "OD")
    assert r.worst_value == pytest.approx(1 / 8)
    # hand check of lambda_max via the Rayleigh-free identity: sum_j a_ij w_j = lambda w_i
    a = r.matrix
    assert a @ r.weights.to_numpy() == pytest.approx(r.lambda_max * r.weights.to_numpy())
    text = r.explain()
    assert "TF vs OD" in text and "1/8" in text and "inconsistent" in text


def test_ahp_errors_name_the_pair():
    with pytest.raises(SpecError, match="missing .*ES/OD"):
        ws.ahp_judgements(DIMS, {"TF/RC": 1, "TF/ES": 1, "TF/OD": 1, "RC/ES": 1, "RC/OD": 1})
    with pytest.raises(SpecError, match="TF/XX"):
        ws.ahp_judgements(DIMS, {"TF/XX": 2})
    with pytest.raises(SpecError, match="> 0"):
        ws.ahp_judgements(["A", "B"], {"A/B": 0})
    with pytest.raises(SpecError, match="twice"):
        ws.ahp_judgements(["A", "B"], {"A/B": 2, ("B", "A"): 0.5})


def test_saaty_label():
    assert [ws.saaty_label(v) for v in (9, 1, 1 / 3, 2.5)] == ["9", "1", "1/3", "2.50"]


# --------------------------------------------------------------------------- blocks

def test_points_to_explicit_effective_kpi_weights():
    tf_kpis = [k.code for k in FW.kpis if k.parent in FW.dimensions[0].children]
    pts = {k: 0 for k in tf_kpis}
    pts[tf_kpis[0]], pts[tf_kpis[1]], pts[tf_kpis[2]] = 50, 30, 20   # K01, K02 in O01; K03 in O02
    v = ws.points_to_explicit({"PMM": {"TF": 40, "RC": 30, "ES": 20, "OD": 10}, "TF": pts}, FW)
    assert (v["TF"], v["RC"], v["ES"], v["OD"]) == (0.4, 0.3, 0.2, 0.1)
    assert v["O01"] == pytest.approx(0.8) and v["O02"] == pytest.approx(0.2)
    # effective weight within TF after re-normalising in each parent = points/100
    osum = sum(v[o] for o in FW.dimensions[0].children)
    assert v["K01"] / (v["K01"] + v["K02"]) * v["O01"] / osum == pytest.approx(0.5)
    # an outcome whose KPIs all have 0 points: weight 0, KPIs keep framework weights (no 0/0)
    o3 = FW.dimensions[0].children[2]
    assert v[o3] == 0
    assert all(v[k] == FW.kpi(k).weight for k in next(o for o in FW.outcomes if o.code == o3).children)


def test_check_blocks_errors():
    with pytest.raises(InputError, match="sum to 90"):
        ws.check_blocks({"PMM": {"TF": 30, "RC": 30, "ES": 20, "OD": 10}}, FW)
    with pytest.raises(InputError, match="lacks points for \\['OD'\\]"):
        ws.check_blocks({"PMM": {"TF": 40, "RC": 40, "ES": 20}}, FW)
    with pytest.raises(InputError, match="unknown block 'XX'"):
        ws.check_blocks({"PMM": {"TF": 25, "RC": 25, "ES": 25, "OD": 25}, "XX": {}}, FW)
    with pytest.raises(InputError, match=">= 0"):
        ws.check_blocks({"PMM": {"TF": 110, "RC": -10, "ES": 0, "OD": 0}}, FW)
    with pytest.raises(InputError, match="unknown codes"):
        ws.check_blocks({"PMM": {"TF": 25, "RC": 25, "ES": 25, "OD": 25}, "RC": {"K01": 100}}, FW)


# --------------------------------------------------------------------------- submissions

def _dims(tf, rc, es, od):
    return {"PMM": {"TF": tf, "RC": rc, "ES": es, "OD": od}}


def test_submission_history_kept(tmp_path):
    p1 = ws.submit("demo", "Caribbean 1", _dims(40, 20, 20, 20), root=tmp_path, framework=FW,
                   submitted_at="2026-02-10T14:00:00.000Z")
    p2 = ws.submit("demo", "Caribbean 1", _dims(30, 30, 20, 20), root=tmp_path, framework=FW,
                   submitted_at="2026-02-10T14:05:00.000Z")
    assert p1 == p2 == tmp_path / "demo" / "caribbean-1.json"
    doc = json.loads(p1.read_text())
    assert doc["schema"] == ws.SUBMISSION_SCHEMA and doc["group"] == "Caribbean 1"
    assert [h["revision"] for h in doc["history"]] == [1, 2]
    assert doc["history"][0]["points"]["PMM"] == {"TF": 40, "RC": 20, "ES": 20, "OD": 20}
    assert doc["history"][1]["submitted_at"] == "2026-02-10T14:05:00.000Z"
    latest = ws.load_submissions("demo", root=tmp_path, framework=FW)
    assert set(latest["revision"]) == {2}
    assert latest.set_index("code")["points"].to_dict() == {"TF": 30, "RC": 30, "ES": 20, "OD": 20}
    every = ws.load_submissions("demo", root=tmp_path, latest=False, framework=FW)
    assert sorted(set(every["revision"])) == [1, 2] and len(every) == 8
    # no temporary files left behind by the atomic writes
    assert sorted(x.name for x in (tmp_path / "demo").iterdir()) == [".lock", "caribbean-1.json"]


def test_submission_timestamp_default_is_utc_iso(tmp_path):
    p = ws.submit("s", "G", _dims(25, 25, 25, 25), root=tmp_path, framework=FW)
    ts = json.loads(p.read_text())["history"][0]["submitted_at"]
    assert ts.endswith("Z") and pd.Timestamp(ts).year >= 2024


def test_submission_rejects_bad_input(tmp_path):
    with pytest.raises(InputError, match="parameter 'group'"):
        ws.submit("demo", "  ", _dims(25, 25, 25, 25), root=tmp_path, framework=FW)
    with pytest.raises(InputError, match="parameter 'group'"):
        ws.submit("demo", "../evil", _dims(25, 25, 25, 25), root=tmp_path, framework=FW)
    with pytest.raises(InputError, match="sum to 101"):
        ws.submit("demo", "G", _dims(26, 25, 25, 25), root=tmp_path, framework=FW)
    with pytest.raises(SpecError, match="budget, ahp"):
        ws.submit("demo", "G", _dims(25, 25, 25, 25), method="vote", root=tmp_path, framework=FW)
    ws.submit("demo", "Group A", _dims(25, 25, 25, 25), root=tmp_path, framework=FW)
    with pytest.raises(InputError, match="clashes"):
        ws.submit("demo", "group a", _dims(25, 25, 25, 25), root=tmp_path, framework=FW)
    assert not list((tmp_path / "demo").glob("*.tmp"))


def test_load_submissions_names_a_broken_file(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="bad.json"):
        ws.load_submissions("demo", root=tmp_path, framework=FW)
    assert ws.load_submissions("empty", root=tmp_path, framework=FW).empty


def test_session_dir_and_env(tmp_path, monkeypatch):
    monkeypatch.setenv(ws.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(ws.ENV_SESSION, "Americas 2021")
    assert ws.resolve_session("") == "Americas 2021"
    assert ws.resolve_session("other") == "other"
    assert ws.session_dir("Americas 2021") == tmp_path / "americas-2021"
    monkeypatch.delenv(ws.ENV_SESSION)
    assert ws.resolve_session(None) == "demo"


# --------------------------------------------------------------------------- consensus

GROUPS = {  # hand-computable: TF points 40, 30, 20, 30 → mean 30, median 30, sd sqrt(200/3)
    "A": (40, 20, 20, 20),
    "B": (30, 30, 20, 20),
    "C": (20, 40, 30, 10),
    "D": (30, 25, 25, 20),
}


@pytest.fixture
def session(tmp_path):
    for g, p in GROUPS.items():
        ws.submit("hand", g, _dims(*p), root=tmp_path, framework=FW)
    ws.submit("hand", "A", _dims(50, 20, 20, 10), root=tmp_path, framework=FW)   # superseded
    ws.submit("hand", "A", _dims(*GROUPS["A"]), root=tmp_path, framework=FW)     # latest
    return tmp_path


def test_consensus_hand_computed(session):
    subs = ws.load_submissions("hand", root=session, framework=FW)
    c = ws.consensus(subs).set_index("code")
    # TF: 40,30,20,30 | RC: 20,30,40,25 | ES: 20,20,30,25 | OD: 20,20,10,20
    assert c.loc["TF", "mean"] == 30 and c.loc["TF", "median"] == 30
    assert c.loc["TF", "sd"] == pytest.approx(np.sqrt(200 / 3))
    assert c.loc["RC", "mean"] == pytest.approx(28.75) and c.loc["RC", "median"] == pytest.approx(27.5)
    assert c.loc["ES", "mean"] == pytest.approx(23.75) and c.loc["ES", "median"] == pytest.approx(22.5)
    assert c.loc["OD", "mean"] == pytest.approx(17.5) and c.loc["OD", "median"] == 20
    # IQR (type 7) of RC 20,25,30,40: Q1 = 23.75, Q3 = 32.5
    assert c.loc["RC", "iqr"] == pytest.approx(8.75)
    assert (c.loc["OD", "min"], c.loc["OD", "max"]) == (10, 20)
    assert (c["n"] == 4).all()
    # means already sum to 100; medians 30+27.5+22.5+20 = 100 too here
    assert c["weight_mean"].sum() == pytest.approx(100)
    assert c.loc["TF", "weight_median"] == pytest.approx(30)


def test_submission_overview(session):
    ws.submit("hand", "B", {**_dims(30, 30, 20, 20), "OD": dict.fromkeys([k for k in FW.kpi_codes
              if any(k in o.children for o in FW.outcomes if o.parent == "OD")], 0) | {"K51": 100}},
              root=session, framework=FW)
    subs = ws.load_submissions("hand", root=session, framework=FW)
    o = ws.submission_overview(subs).set_index("group")
    assert o.loc["A", "revision"] == 3 and o.loc["B", "revision"] == 2
    assert o.loc["B", "kpi_blocks"] == "OD" and o.loc["A", "kpi_blocks"] == ""
    assert o.loc["C", ["TF", "RC", "ES", "OD"]].tolist() == [20, 40, 30, 10]


def test_consensus_median_renormalised():
    # medians 30, 30, 30, 0 sum to 90 → consensus weights 30/0.9 = 33.33 each, OD 0
    t = pd.DataFrame({"TF": [30, 70, 0], "RC": [30, 0, 70], "ES": [30, 30, 30], "OD": [10, 0, 0]})
    c = ws.consensus_points(t).set_index("code")
    assert c["median"].tolist() == [30, 30, 30, 0]
    assert c["weight_median"].to_numpy() == pytest.approx(np.array([100, 100, 100, 0]) / 3)
    # means 33.33, 33.33, 30, 3.33 already sum to 100
    assert c["weight_mean"].to_numpy() == pytest.approx([100 / 3, 100 / 3, 30, 10 / 3])
    with pytest.raises(InputError, match="no submissions"):
        ws.consensus_points(pd.DataFrame())


# --------------------------------------------------------------------------- Kendall's W

ANXIETY = pd.DataFrame({  # irr/DescTools 'anxiety': 20 subjects × 3 raters
    "rater1": [3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3],
    "rater2": [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4],
    "rater3": [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2]})


def test_kendall_w_peer_reference_anxiety_tie_corrected():
    # DescTools::KendallW(anxiety, TRUE, test=TRUE): W = 0.5396569, chi2 = 30.76, df = 19, p = 0.04288
    k = ws.kendall_w(ANXIETY.T, correct=True).iloc[0]
    assert k["estimate"] == pytest.approx(0.5396569, abs=1e-7)
    assert k["chi2"] == pytest.approx(30.76, abs=5e-3)
    assert k["df"] == 19 and k["n"] == 3 and k["n_items"] == 20
    assert k["p_value"] == pytest.approx(0.04288, abs=5e-6)
    # the chi-square is Friedman's statistic (scipy applies the same tie correction)
    assert k["chi2"] == pytest.approx(stats.friedmanchisquare(*ANXIETY.to_numpy()).statistic)


def test_kendall_w_siegel_castellan_hand_computed():
    # Siegel & Castellan (1988) via DescTools docs: 3 raters rank 8 items, no ties.
    # Rank sums 10,18,14,6,7,16,13,24; mean 13.5; S = 248; W = 12·248/(9·(512-8)) = 0.656084
    d = pd.DataFrame({"airfare": [5, 1, 4], "climate": [6, 7, 5], "season": [7, 6, 1],
                      "people": [1, 2, 3], "program": [2, 3, 2], "publicity": [4, 5, 7],
                      "present": [3, 4, 6], "interest": [8, 8, 8]})
    k = ws.kendall_w(d).iloc[0]
    assert k["estimate"] == pytest.approx(12 * 248 / (9 * 504))
    assert k["chi2"] == pytest.approx(3 * 7 * 12 * 248 / (9 * 504))
    assert k["p_value"] == pytest.approx(stats.chi2.sf(k["chi2"], 7))


def test_kendall_w_bounds_and_identity():
    perfect = pd.DataFrame([[1, 2, 3, 4]] * 5)
    assert ws.kendall_w(perfect).iloc[0]["estimate"] == pytest.approx(1.0)
    opposite = pd.DataFrame([[1, 2, 3, 4], [4, 3, 2, 1]])
    assert ws.kendall_w(opposite).iloc[0]["estimate"] == pytest.approx(0.0)
    # without ties W = ((m - 1) mean(r_s) + 1) / m (Kendall 1948), checked on random rankings
    rng = np.random.default_rng(7)
    t = pd.DataFrame([rng.permutation(6) for _ in range(5)])
    rs = [stats.spearmanr(t.iloc[i], t.iloc[j]).statistic for i in range(5) for j in range(i + 1, 5)]
    assert ws.kendall_w(t).iloc[0]["estimate"] == pytest.approx((4 * np.mean(rs) + 1) / 5)
    # too few raters: NaN, not an error
    assert np.isnan(ws.kendall_w(pd.DataFrame([[1, 2, 3]])).iloc[0]["estimate"])


def test_agreement_of_a_session(session):
    subs = ws.load_submissions("hand", root=session, framework=FW)
    a = ws.agreement(subs)
    assert a["block"].tolist() == ["PMM"]
    expected = ws.kendall_w(ws.weights_table(subs)).iloc[0]["estimate"]
    assert a.iloc[0]["estimate"] == pytest.approx(expected)
    assert 0 <= expected <= 1


# --------------------------------------------------------------------------- exports

def test_export_scenario_and_weight_sets(session, tmp_path):
    subs = ws.load_submissions("hand", root=session, framework=FW)
    cons = ws.consensus(subs)
    path = ws.export_scenario(cons, tmp_path / "out" / "consensus.yaml", session="hand", framework=FW)
    doc = yaml.safe_load(path.read_text())
    assert doc["weights"]["method"] == "explicit"
    assert doc["weights"]["values"] == pytest.approx({"TF": 0.3, "RC": 0.2875, "ES": 0.2375, "OD": 0.175})
    med = ws.scenario_dict(cons, statistic="median", framework=FW)
    assert med["weights"]["values"]["RC"] == pytest.approx(0.275)
    with pytest.raises(SpecError, match="mean, median"):
        ws.scenario_dict(cons, statistic="mode", framework=FW)
    ys = yaml.safe_load(ws.export_weight_sets(subs, tmp_path / "sets.yaml", session="hand", framework=FW).read_text())
    assert ys["kind"] == "pmm-weight-sets" and [s["name"] for s in ys["weight_sets"]] == ["A", "B", "C", "D"]
    assert ys["weight_sets"][2]["values"] == pytest.approx({"TF": 0.2, "RC": 0.4, "ES": 0.3, "OD": 0.1})
    csv_path = ws.export_weight_sets(subs, tmp_path / "sets.csv", framework=FW)
    csv = pd.read_csv(csv_path)
    assert list(csv.columns) == ["submission", "code", "weight"] and len(csv) == 16
    sensitivity = pytest.importorskip("pmm_lib.uncertainty.sensitivity")
    sets = sensitivity.load_weight_sets(csv_path)               # the uncertainty engine reads it back
    assert [s.name for s in sets] == ["A", "B", "C", "D"]
    assert sets[1].to_dict() == pytest.approx({"TF": 0.3, "RC": 0.3, "ES": 0.2, "OD": 0.2})


def test_scenario_accepted_by_spec(session, tmp_path):
    spec_mod = pytest.importorskip("pmm_lib.core.spec")
    subs = ws.load_submissions("hand", root=session, framework=FW)
    path = ws.export_scenario(ws.consensus(subs), tmp_path / "c.yaml", framework=FW)
    spec = spec_mod.Spec.from_yaml(path)
    # the consensus mean of the four hand-made submissions, as computed by hand in
    # test_export_scenario_and_weight_sets, now as the spec's explicit dimension weights
    assert spec.weights.method == "explicit"
    assert dict(spec.weights.values) == pytest.approx({"TF": 0.3, "RC": 0.2875, "ES": 0.2375, "OD": 0.175})
    assert spec_mod.Spec.from_yaml_text(spec.to_yaml()) == spec  # what `pmm run --scenario` reads back


# --------------------------------------------------------------------------- live index

def _matrix(seed=3, n=30, missing=0.0):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(0, 100, (n, 51)), index=[f"M{i:02d}" for i in range(n)], columns=FW.kpi_codes)
    return x.mask(rng.random(x.shape) < missing) if missing else x


def test_live_index_matches_hand_computed_hierarchy():
    x = _matrix(missing=0.15)
    live = ws.LiveIndex(x, FW)
    meta = FW.meta()
    # reference: nan-aware weighted means level by level with framework weights
    kw = meta.set_index("code")["weight"]
    outs = {}
    for o in FW.outcomes:
        v = x[list(o.children)]
        w = kw[list(o.children)]
        outs[o.code] = (v * w).sum(axis=1, min_count=1) / v.notna().mul(w).sum(axis=1).replace(0, np.nan)
    dims = {}
    for d in FW.dimensions:
        v = pd.DataFrame({o: outs[o] for o in d.children})
        w = kw[list(d.children)]
        dims[d.code] = (v * w).sum(axis=1, min_count=1) / v.notna().mul(w).sum(axis=1).replace(0, np.nan)
    dims = pd.DataFrame(dims)
    blocks = _dims(40, 30, 20, 10)
    w = pd.Series(blocks["PMM"], dtype=float)
    ref = (dims * w).sum(axis=1) / dims.notna().mul(w).sum(axis=1)
    assert live.scores(blocks).to_numpy() == pytest.approx(ref.to_numpy())
    assert live.dimension_scores().to_numpy() == pytest.approx(dims.to_numpy())


def test_live_index_kpi_block_equals_flat_weighted_mean_without_missing():
    x = _matrix()
    live = ws.LiveIndex(x, FW)
    ks = live.kpis_of["RC"]
    pts = dict.fromkeys(ks, 0)
    pts[ks[0]], pts[ks[3]], pts[ks[-1]] = 60, 30, 10
    blocks = {**_dims(0, 100, 0, 0), "RC": pts}
    expect = 0.6 * x[ks[0]] + 0.3 * x[ks[3]] + 0.1 * x[ks[-1]]
    assert live.scores(blocks).to_numpy() == pytest.approx(expect.to_numpy())


def test_live_ranking_and_default():
    x = _matrix()
    live = ws.LiveIndex(x, FW)
    default = {"PMM": {d.code: d.weight for d in FW.dimensions}}
    r = live.ranking(default)
    assert (r["rank_shift"] == 0).all()
    assert r["rank"].tolist() == sorted(r["rank"].tolist())
    # all weight on TF: ranks follow the TF dimension score
    r2 = live.ranking(_dims(100, 0, 0, 0)).set_index("member")
    tf = live.dimension_scores()["TF"]
    assert r2.loc[tf.idxmax(), "rank"] == 1
    assert (r2["rank_shift"] == r2["default_rank"] - r2["rank"]).all()
    assert live.default_dim_points == [25, 25, 25, 25]
    assert all(sum(p) == 100 for p in live.default_kpi_points.values())


def test_live_correlation_planted_outcome():
    x = _matrix(n=60)
    live = ws.LiveIndex(x, FW)
    s = live.scores(_dims(100, 0, 0, 0))
    outcome = -s * 2 + 5                     # a perfectly monotone decreasing outcome
    c = live.correlation(s, outcome.iloc[:40])
    assert c["estimate"] == pytest.approx(-1.0) and c["n"] == 40
    assert np.isnan(live.correlation(s, outcome.iloc[:2])["estimate"])


def test_outcome_series_log1p():
    o = pd.DataFrame({"member": ["A", "B", "A"], "year": [2020, 2020, 2019],
                      "variable": ["db_time_import_border_h"] * 3, "value": [0.0, np.e - 1, 5.0]})
    choice = next(c for c in ws.OUTCOME_CHOICES if c.variable == "db_time_import_border_h")
    s = ws.outcome_series(o, choice)
    assert s.to_dict() == pytest.approx({"A": 0.0, "B": 1.0})


def test_outcome_choice_validates_options():
    with pytest.raises(SpecError, match="identity, log1p"):
        ws.OutcomeChoice("x", "lpi_customs", 2018, transform="sqrt")


def test_live_index_rejects_unknown_columns():
    with pytest.raises(InputError, match="K99"):
        ws.LiveIndex(pd.DataFrame({"K99": [1.0]}), FW)


# --------------------------------------------------------------------------- plots and CLI

def test_plots_return_axes(session):
    import matplotlib
    matplotlib.use("Agg")
    subs = ws.load_submissions("hand", root=session, framework=FW)
    ax = ws.plot_consensus(subs)
    assert ax.get_ylabel().startswith("weight points")
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == sorted([30.0, 28.75, 23.75, 17.5])
    live = ws.LiveIndex(_matrix(), FW)
    ax2 = ws.plot_rank_shift(live.ranking(_dims(70, 10, 10, 10)), top=5)
    assert len(ax2.patches) == 5 and "rank shift" in ax2.get_xlabel()
    import matplotlib.pyplot as plt
    plt.close("all")


def test_cli_consensus(session, capsys):
    from pmm_lib.cli import main
    assert main(["workshop", "consensus", "--session", "hand", "--out-dir", str(session)]) == 0
    out = capsys.readouterr().out
    assert "consensus_mean.yaml" in out
    doc = yaml.safe_load((session / "hand" / "consensus_mean.yaml").read_text())
    assert doc["weights"]["values"]["TF"] == pytest.approx(0.3)
    assert main(["workshop", "consensus", "--session", "nobody", "--out-dir", str(session)]) == 2


def test_serve_command_is_one_solara_process():
    from pmm_lib.workshop.server import serve_command, serve_env

    cmd = serve_command(9999)
    assert cmd[1:4] == ["-m", "solara", "run"] and "pmm_lib.workshop.server" in cmd and "--production" in cmd
    assert cmd[cmd.index("--port") + 1] == "9999" and cmd[cmd.index("--host") + 1] == "127.0.0.1"
    env = serve_env("s1", "/tmp/x", base={})
    assert env[ws.ENV_SESSION] == "s1" and env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_cli_register_prints_links(tmp_path, capsys):
    from pmm_lib.cli import main

    assert main(["workshop", "register", "--session", "r1", "--region", "AMS", "--cycle", "2024",
                 "--groups", "Caribbean 1", "Andes", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    key = __import__("pmm_lib.workshop.session", fromlist=["load_session"]).load_session("r1", tmp_path).facilitator_key
    assert "Caribbean 1: http://localhost:8765/?join=" in out
    assert f"http://localhost:8765/dashboard?key={key}" in out and len(key) >= 20
    assert main(["workshop", "register", "--session", "r1", "--region", "AMS", "--cycle", "2024",
                 "--groups", "X", "--out-dir", str(tmp_path)]) == 2          # already registered
    assert main(["workshop", "serve", "--session", "nobody", "--out-dir", str(tmp_path)]) == 2
    assert "is not registered" in capsys.readouterr().err


# --------------------------------------------------------------------------- agreement with the method core

def test_live_index_and_exported_scenario_agree_with_build(tmp_path):
    """LiveIndex on build's normalised matrix = build's index, at default and at exported weights."""
    build_mod = pytest.importorskip("pmm_lib.core.build")
    spec_mod = pytest.importorskip("pmm_lib.core.spec")
    x = _matrix(seed=11, n=25)
    res = build_mod.build(x, FW.meta())
    live = ws.LiveIndex(res.normalised, FW)
    assert live.default_score_array == pytest.approx(res.index.reindex(live.members).to_numpy(), abs=1e-9)
    ks = live.kpis_of["TF"]
    kpts = dict.fromkeys(ks, 0)
    kpts.update({ks[0]: 40, ks[2]: 35, ks[5]: 25})
    blocks = {**_dims(40, 30, 20, 10), "TF": kpts}
    path = tmp_path / "scenario.yaml"
    write_text_atomic(path, yaml.safe_dump({"weights": {"method": "explicit", "values": ws.points_to_explicit(blocks, FW)}}))
    res2 = build_mod.build(x, FW.meta(), spec_mod.Spec.from_yaml(path))
    assert live.score_array(blocks) == pytest.approx(res2.index.reindex(live.members).to_numpy(), abs=1e-9)


# --------------------------------------------------------------------------- notebook and server (slow)

@pytest.mark.slow
def test_facilitator_notebook_exports_hand_computed_consensus(session, tmp_path):
    papermill = pytest.importorskip("papermill")
    from pmm_lib.paths import NOTEBOOKS_DIR
    out = tmp_path / "run"
    papermill.execute_notebook(str(NOTEBOOKS_DIR / "workshop" / "facilitator.ipynb"), str(tmp_path / "f.ipynb"),
                               parameters={"session": "hand", "out_dir": str(out),
                                           "submissions_dir": str(session)},
                               kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
    doc = yaml.safe_load((out / "workshop_mean.yaml").read_text())
    assert doc["weights"]["values"] == pytest.approx({"TF": 0.3, "RC": 0.2875, "ES": 0.2375, "OD": 0.175})
    sets = yaml.safe_load((out / "workshop_weight_sets.yaml").read_text())
    assert len(sets["weight_sets"]) == 4
    cons = pd.read_csv(out / "tables" / "tbl-workshop-consensus.csv").set_index("code")
    assert cons.loc["RC", "median"] == pytest.approx(27.5)
    assert (out / "figures" / "fig-workshop-consensus.png").stat().st_size > 0
    groups = pd.read_csv(out / "tables" / "tbl-workshop-groups.csv").set_index("group")
    assert groups.loc["A", "revision"] == 3 and groups.loc["D", ["TF", "RC", "ES", "OD"]].tolist() == [30, 25, 25, 20]


@pytest.mark.slow
def test_cli_serve_starts_one_solara_process(tmp_path):
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from pmm_lib.workshop.commands import free_port
    from pmm_lib.workshop.session import register_session

    register_session("cli-test", ["A", "B"], region="AMS", cycle=2024, root=tmp_path, seed=1)
    port = free_port()
    cmd = [sys.executable, "-m", "pmm_lib.cli", "workshop", "serve", "--session", "cli-test",
           "--port", str(port), "--out-dir", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=tmp_path, start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert f"http://localhost:{port}/" in line and "cli-test" in line and "/dashboard" in line
        end = time.monotonic() + 90
        while time.monotonic() < end:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.25)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as r:
            assert r.status == 200 and "solara" in r.read().decode("utf-8").lower()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def test_facilitator_notebook_reads_a_wco_rooms_kpi_blocks(tmp_path):
    """A wco room offers 46 of the 51 KPIs: its KPI blocks are read against the room's view."""
    papermill = pytest.importorskip("papermill")
    from pmm_lib.paths import NOTEBOOKS_DIR
    from pmm_lib.workshop.live import load_live_index
    from pmm_lib.workshop.session import register_session

    register_session("wco-room", ["North", "South"], region="AMS", cycle=2024, audience="wco", root=tmp_path, seed=2)
    live, _ = load_live_index("AMS", 2024, audience="wco")
    kpis = live.kpis_of["RC"]
    assert "K20" not in kpis and len(kpis) == 10                 # the full framework's RC block has 11
    pts = [10.0] * len(kpis)
    for group, top in (("North", [40, 30, 20, 10]), ("South", [20, 30, 40, 10])):
        ws.submit("wco-room", group, {"PMM": dict(zip(live.dims, top, strict=True)), "RC": dict(zip(kpis, pts, strict=True))},
                  root=tmp_path, framework=live.framework)
    with pytest.raises(InputError, match="K20"):                 # what the report cell used to do
        ws.load_submissions("wco-room", root=tmp_path)
    out = tmp_path / "run"
    papermill.execute_notebook(str(NOTEBOOKS_DIR / "workshop" / "facilitator.ipynb"), str(tmp_path / "f.ipynb"),
                               parameters={"session": "wco-room", "out_dir": str(out), "submissions_dir": str(tmp_path),
                                           "demo_groups": 0},
                               kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
    cons = pd.read_csv(out / "tables" / "tbl-workshop-consensus.csv")
    rc = cons.loc[cons["block"] == "RC"].set_index("code")
    assert sorted(rc.index) == sorted(kpis) and rc["mean"].to_numpy() == pytest.approx(10.0)
    top = cons.loc[cons["block"] == "PMM"].set_index("code")
    assert top.loc["TF", "mean"] == pytest.approx(30.0) and top.loc["ES", "mean"] == pytest.approx(30.0)
    doc = yaml.safe_load((out / "workshop_mean.yaml").read_text())
    assert set(kpis) <= set(doc["weights"]["values"]) and "K20" not in doc["weights"]["values"]  # the room's KPIs
    assert doc["weights"]["values"]["TF"] == pytest.approx(0.3)
