"""Design reviews: a planted improvement is found, a harmful candidate is judged negative,
the bundled candidates show what the planted truth predicts, and the paper renders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pmm_lib.cli import main
from pmm_lib.errors import SpecError
from pmm_lib.paths import FRAMEWORK_PATH, METHODOLOGY_DIR, QUESTIONNAIRE_DIR
from pmm_lib.reporting.design import DesignThresholds, compare_designs, design_findings

CAND_DIR = METHODOLOGY_DIR / "candidates"
N_MEMBERS = 80


def _mini_framework(path: Path) -> Path:
    """2 dimensions x 2 outcomes x 3 KPIs (K01..K12), every KPI on 0-100, higher is better."""
    dims = []
    n = 0
    for d in range(2):
        outs = []
        for o in range(2):
            kpis = []
            for _ in range(3):
                n += 1
                kpis.append({"code": f"K{n:02d}", "name": f"KPI {n}", "definition": "test KPI", "unit": "%",
                             "direction": 1, "bounds": [0, 100]})
            outs.append({"code": f"O{2 * d + o + 1:02d}", "name": f"Outcome {2 * d + o + 1}", "kpis": kpis})
        dims.append({"code": f"D{d + 1}", "name": f"Dimension {d + 1}", "outcomes": outs})
    path.write_text(yaml.safe_dump({"name": "mini", "version": "1", "index": {"code": "IDX", "name": "Index"},
                                    "dimensions": dims}), encoding="utf-8")
    return path


def _planted(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Observations where every KPI loads 0.85 on one latent, except K02, which is pure noise."""
    gen = np.random.default_rng(seed)
    members = [f"M{i:03d}" for i in range(N_MEMBERS)]
    latent = pd.Series(gen.standard_normal(N_MEMBERS), index=members)
    rows = []
    for k in range(1, 13):
        code = f"K{k:02d}"
        signal = gen.standard_normal(N_MEMBERS) if code == "K02" else \
            0.85 * latent.to_numpy() + np.sqrt(1 - 0.85 ** 2) * gen.standard_normal(N_MEMBERS)
        values = np.clip(50 + 15 * signal, 0, 100)
        rows += [[m, 2024, code, float(v), "public", "synthetic", ""] for m, v in zip(members, values, strict=True)]
    obs = pd.DataFrame(rows, columns=["member", "cycle", "kpi", "value", "disclosure", "source", "flag"])
    outcome = latent + 0.5 * gen.standard_normal(N_MEMBERS)
    outs = pd.DataFrame({"member": members, "year": 2023, "variable": "lpi_customs", "value": 3 + 0.5 * outcome})
    return obs, outs, latent


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("design")
    fw = _mini_framework(tmp / "mini.yaml")
    (tmp / "drop_noise.yaml").write_text(f"name: drop_noise\nbase: {fw}\nchanges:\n  - remove: K02\n",
                                         encoding="utf-8")
    (tmp / "reverse_sound.yaml").write_text(
        f"name: reverse_sound\nbase: {fw}\nchanges:\n  - reverse: K07\n  - reverse: K10\n", encoding="utf-8")
    obs, outs, latent = _planted()
    kw = dict(region=None, cycle=2024, observations=obs, outcomes=outs, n_samples=100, n_boot=100, seed=3,
              latent=latent)
    return {"better": compare_designs(fw, tmp / "drop_noise.yaml", **kw),
            "worse": compare_designs(fw, tmp / "reverse_sound.yaml", **kw)}


def test_planted_noise_kpi_dropped_raises_consistency(planted):
    rv = planted["better"]
    assert rv.verdict == "improves"
    assert "raises the internal consistency of O01" in rv.verdict_text
    cons = rv.consistency.set_index("code")
    assert cons.at["O01", "alpha_after"] > cons.at["O01", "alpha_before"] + 0.2
    assert cons.at["D1", "alpha_after"] > cons.at["D1", "alpha_before"]
    # untouched outcomes keep their alpha exactly (same data, same KPIs)
    assert cons.at["O03", "change"] == pytest.approx(0.0, abs=1e-12)
    # the noise KPI was flagged before and is gone after
    v = rv.verdicts.set_index("code")
    assert v.at["K02", "verdict_before"] in ("drop", "review") and v.at["K02", "verdict_after"] == "removed"
    # no loss of outcome validity, and the index recovers the planted latent at least as well
    ov = rv.outcome_validity.set_index(["code", "variable"])
    assert ov.at[("IDX", "lpi_customs"), "change"] > -0.05
    assert "no loss of outcome validity" in rv.verdict_text
    t = rv.truth.set_index("design")["estimate"]
    assert t["candidate"] >= t["base"] - 1e-9
    assert any(f.evidence["effect"] == "positive" and f.rule == "design.alpha_rise" and f.subjects == ("O01",)
               for f in rv.findings)


def test_harmful_candidate_gets_a_negative_verdict(planted):
    rv = planted["worse"]
    assert rv.verdict == "worsens"
    assert rv.verdict_text.startswith("The candidate worsens the design")
    cons = rv.consistency.set_index("code")
    assert cons.at["O03", "alpha_after"] < cons.at["O03", "alpha_before"] - 0.2
    v = rv.verdicts.set_index("code")
    assert v.at["K07", "verdict_after"] == "drop" and v.at["K07", "verdict_before"] == "keep"
    ov = rv.outcome_validity.set_index(["code", "variable"])
    assert ov.at[("IDX", "lpi_customs"), "change"] < -0.05
    t = rv.truth.set_index("design")["estimate"]
    assert t["candidate"] < t["base"]


def test_rank_shift_intervals_are_paired_and_contain_the_point_shift(planted):
    rk = planted["worse"].ranks
    assert len(rk) == N_MEMBERS
    assert (rk["shift_low"] <= rk["shift_high"]).all()
    assert (rk["shift"] == rk["rank_before"] - rk["rank_after"]).all()
    # identical designs would give zero shift in every paired replication: the drop candidate
    # leaves half the index untouched, so its shifts are smaller than the harmful one's
    assert planted["better"].ranks["shift"].abs().mean() < rk["shift"].abs().mean()


@pytest.fixture(scope="module")
def bundled():
    truth = json.loads((QUESTIONNAIRE_DIR / "truth.json").read_text(encoding="utf-8"))
    latent = pd.Series(truth["latent"], dtype=float)
    kw = dict(region="AMS", cycle=2024, n_samples=100, n_boot=200, latent=latent)
    return {name: compare_designs(FRAMEWORK_PATH, CAND_DIR / f"{name}.yaml", **kw)
            for name in ("drop_flagged", "reverse_merge")}, truth


def test_bundled_candidates_show_what_the_truth_predicts(bundled):
    reviews, truth = bundled
    drop, rev = reviews["drop_flagged"], reviews["reverse_merge"]
    assert drop.verdict == "improves" and rev.verdict == "improves"
    # the planted unrelated KPIs and the misdirected K40 are dropped: their outcomes' alpha rises
    c = drop.consistency.set_index("code")
    assert c.at["O19", "change"] > 0.1 and c.at["O20", "change"] > 0.5  # K37 and K40
    # reversing K40 restores its outcome's consistency (truth: misdirected, not unrelated)
    r = rev.consistency.set_index("code")
    assert r.at["O20", "alpha_before"] < 0 < 0.6 < r.at["O20", "alpha_after"]
    v = rev.verdicts.set_index("code")
    assert v.at["K40", "verdict_before"] == "drop" and v.at["K40", "verdict_after"] != "drop"
    # merging the collinear pair removes the collinearity flag of K46 and drops K47
    assert "collinear" in v.at["K46", "reasons_before"] and "K47" not in v.at["K46", "reasons_after"]
    assert v.at["K47", "verdict_after"] == "removed"
    assert set(truth["unrelated_kpis"]) <= set(drop.verdicts.query("verdict_after == 'removed'")["code"])
    # the truth says K40 carries signal with its sign wrong: reversing it recovers the planted latent
    # better than the base does, and better than dropping it
    t_rev = rev.truth.set_index("design")["estimate"]
    t_drop = drop.truth.set_index("design")["estimate"]
    assert t_rev["candidate"] > t_rev["base"] and t_rev["candidate"] > t_drop["candidate"]


def test_thresholds_are_typed_and_checked():
    assert DesignThresholds.from_dict({"alpha_delta": 0.1}).alpha_delta == 0.1
    with pytest.raises(SpecError, match="unknown name.*allowed: alpha_delta"):
        DesignThresholds.from_dict({"alpha": 0.1})


def test_a_neutral_review_says_so():
    empty = pd.DataFrame(columns=["code", "alpha_before", "alpha_after", "change", "n"])
    verdicts = pd.DataFrame({"code": ["K01"], "verdict_before": ["keep"], "verdict_after": ["keep"]})
    ranks = pd.DataFrame({"unit": ["A"], "shift": [0.0], "shift_low": [0.0], "shift_high": [0.0]})
    burden = pd.DataFrame({"design": ["base", "candidate"], "kpis": [1, 1], "skipped": [0, 0],
                           "skip_share": [0.0, 0.0], "members": [1, 1]})
    _, verdict, text = design_findings({"consistency": empty, "verdicts": verdicts, "outcome_validity": pd.DataFrame(
        columns=["code"]), "ranks": ranks, "burden": burden})
    assert verdict == "neutral" and "no difference" in text


def test_cli_design_compare_renders_html_and_pdf(tmp_path, capsys):
    out = tmp_path / "review"
    code = main(["design", "compare", str(FRAMEWORK_PATH), str(CAND_DIR / "reverse_merge.yaml"), "--region", "AMS",
                 "--cycle", "2024", "--out", str(out), "--samples", "60"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "verdict: improves" in printed
    html = (out / "paper.html").read_text(encoding="utf-8")
    assert "raises the internal consistency of O20" in html
    assert (out / "paper.pdf").read_bytes()[:4] == b"%PDF"
    for label in ("tbl-design-changes", "tbl-design-consistency", "tbl-design-verdicts", "tbl-design-ranks"):
        assert (out / "tables" / f"{label}.csv").is_file()
        assert json.loads((out / "tables" / f"{label}.json").read_text())["label"] == label
    assert (out / "figures" / "fig-design-rank-shifts.png").is_file()
    payload = json.loads((out / "review.json").read_text())
    assert payload["verdict"] == "improves" and payload["meta"]["candidate_hash"] != payload["meta"]["base_hash"]


def test_cli_design_compare_reports_a_bad_candidate(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {FRAMEWORK_PATH}\nchanges:\n  - move: K01\n    to: TF\n", encoding="utf-8")
    code = main(["design", "compare", str(FRAMEWORK_PATH), str(bad), "--region", "AMS", "--cycle", "2024",
                 "--out", str(tmp_path / "o"), "--no-render"])
    assert code == 2
    err = capsys.readouterr().err
    assert "change #1 (move)" in err and "not an expected outcome" in err


@pytest.mark.slow
def test_run_on_a_candidate_framework(tmp_path, monkeypatch):
    """`pmm run --framework`: the notebooks compute on the candidate and the manifest records it."""
    from pmm_lib.reporting.bundle import internal_path
    from pmm_lib.reporting.runs import RunRequest, execute_run

    monkeypatch.setenv("PMM_PSEUDONYM_KEY", "design-test-key-0123456789")
    req = RunRequest(region="AMS", cycle=2024, notebooks=("01",), outputs_dir=tmp_path, render=False,
                     audience="internal", framework=CAND_DIR / "reverse_merge.yaml")
    res = execute_run(req).raise_for_status()
    manifest = json.loads(internal_path(res.run_dir, "manifest.json").read_text(encoding="utf-8"))
    assert manifest["framework"]["candidate"] and manifest["framework"]["kpis"] == 50
    assert manifest["framework_path"].endswith("reverse_merge.yaml")
    cov = pd.read_csv(res.run_dir / "tables" / "tbl-coverage.csv")
    codes = set(cov[cov.columns[0]].astype(str))
    assert "K47" not in codes and "K46" in codes  # the matrix has the candidate's KPIs
