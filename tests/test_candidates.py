"""Candidate frameworks: typed changes applied to the base, precise errors, observation mapping, diffs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pmm_lib.inputs import candidates as C
from pmm_lib.inputs.data import load_observations, to_matrix
from pmm_lib.inputs.framework import load_framework
from pmm_lib.paths import FRAMEWORK_PATH, METHODOLOGY_DIR

CAND_DIR = METHODOLOGY_DIR / "candidates"


def _cand(tmp_path: Path, changes: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"name: test\nbase: {FRAMEWORK_PATH}\nchanges:\n" + textwrap.indent(textwrap.dedent(changes), "  "),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base():
    return load_framework()


# ------------------------------------------------------------------ the worked candidates
def test_drop_flagged_removes_the_four_validity_drops(base):
    fw = C.apply_candidate(CAND_DIR / "drop_flagged.yaml")
    assert len(fw.kpis) == len(base.kpis) - 4
    assert not {"K28", "K33", "K37", "K40"} & set(fw.kpi_codes)
    assert "K30" in fw.kpi_codes  # coverage-only drop, kept on purpose
    assert fw.path == CAND_DIR / "drop_flagged.yaml"


def test_reverse_merge_reverses_k40_and_merges_the_collinear_pair(base):
    fw = C.apply_candidate(CAND_DIR / "reverse_merge.yaml")
    assert base.kpi("K40").direction == -1 and fw.kpi("K40").direction == 1
    assert "K47" not in fw.kpi_codes
    k46 = fw.kpi("K46")
    assert (k46.lower, k46.upper, k46.unit) == (0.0, 100.0, "score (0-100)")
    assert k46.parent == base.kpi("K46").parent  # the merged KPI takes its first part's place
    assert not any("K47" in o.children for o in fw.outcomes)


def test_load_design_accepts_a_framework_or_a_candidate_file():
    assert C.load_design(FRAMEWORK_PATH).kpi_codes == load_framework().kpi_codes
    fw = C.load_design(CAND_DIR / "reverse_merge.yaml")
    assert len(fw.kpis) == 50 and fw.kpi("K40").direction == 1


# ------------------------------------------------------------------ every change type
def test_every_change_type(tmp_path, base):
    path = _cand(tmp_path, """
        - add: {code: K99, name: New KPI, parent: O01, unit: '%', direction: 1, bounds: [0, 100]}
        - remove: K02
        - move: K03
          to: O01
        - reweight: O05
          weight: 2.5
        - merge_outcomes: [O17, O18]
          into: O17
          name: Merged outcome
        - split_outcome: O05
          into:
            - {code: O05, name: First part, kpis: [K08]}
            - {code: O30, name: Second part, kpis: [K09]}
        - rename: K01
          code: K01a
          name: Release time (renamed)
        - reverse: K05
    """)
    fw = C.apply_candidate(path)
    out = {o.code: o for o in fw.outcomes}
    assert out["O01"].children == ("K01a", "K99", "K03")
    assert "K02" not in fw.kpi_codes
    assert fw.kpi("K01a").name == "Release time (renamed)"
    assert "O18" not in out and out["O17"].name == "Merged outcome"
    base_o17 = {o.code: o for o in base.outcomes}
    assert set(out["O17"].children) == set(base_o17["O17"].children) | set(base_o17["O18"].children)
    assert out["O05"].children == ("K08",) and out["O30"].children == ("K09",)
    assert out["O05"].weight == 2.5 and out["O30"].weight == 2.5  # parts inherit the re-weighted outcome's weight
    assert out["O30"].parent == out["O05"].parent
    assert fw.kpi("K05").direction == -base.kpi("K05").direction
    # the table view is consistent: every KPI's parent is an outcome listing it
    t = fw.table()
    for k in fw.kpis:
        assert k.code in out[k.parent].children
    assert t["code"].is_unique
    srcs = C.kpi_sources(path)
    assert srcs["K99"].kind == "added" and srcs["K01a"].parts == ("K01",)


# ------------------------------------------------------------------ precise errors
@pytest.mark.parametrize("changes, needles", [
    ("- remove: K01\n- remove: K77\n", ["change #2 (remove)", "unknown KPI code 'K77'"]),
    ("- move: K01\n  to: TF\n", ["change #1 (move)", "to:", "'TF' is a dimension, not an expected outcome"]),
    ("- move: K01\n  to: K02\n", ["'K02' is a KPI, not an expected outcome"]),
    ("- merge: [K01, K20]\n", ["change #1 (merge)", "different dimensions", "K01 in TF", "K20 in"]),
    ("- merge_outcomes: [O01, O20]\n", ["different dimensions"]),
    ("- reverse: O01\n", ["'O01' is an expected outcome, not a KPI"]),
    ("- remove: K01\n- remove: K02\n", ["change #2 (remove)", "last KPI of O01"]),
    ("- frobnicate: K01\n", ["change #1", "expected exactly one of add, remove"]),
    ("- remove: K01\n  weight: 2\n", ["change #1 (remove)", "weight: unknown key"]),
    ("- reweight: K01\n  weight: -1\n", ["weight: expected a positive number"]),
    ("- move: K01\n", ["to: missing"]),
    ("- add: {code: K01, name: x, parent: O01, unit: '%', direction: 1, bounds: [0, 1]}\n",
     ["code 'K01' is already used by a KPI"]),
    ("- add: {code: K98, name: x, parent: O01, unit: '%', direction: 2, bounds: [0, 1]}\n",
     ["direction: expected 1 or -1"]),
    ("- split_outcome: O01\n  into:\n    - {code: O01, name: a, kpis: [K01]}\n    - {code: O40, name: b, kpis: [K03]}\n",
     ["'K03' is not a KPI of O01"]),
    ("- split_outcome: O01\n  into:\n    - {code: O01, name: a, kpis: [K01]}\n    - {code: O40, name: b, kpis: [K01]}\n",
     ["assigned to more than one part"]),
    ("- merge: [K46]\n", ["expected a list of at least two codes"]),
    ("- rename: K01\n  code: K02\n", ["code 'K02' is already used"]),
])
def test_bad_changes_name_file_change_key_and_expectation(tmp_path, changes, needles):
    path = _cand(tmp_path, changes)
    with pytest.raises(C.CandidateError) as exc:
        C.apply_candidate(path)
    msg = str(exc.value)
    assert str(path) in msg
    for needle in needles:
        assert needle in msg, msg


def test_candidate_file_level_errors(tmp_path):
    p = tmp_path / "nobase.yaml"
    p.write_text("changes:\n  - remove: K01\n", encoding="utf-8")
    with pytest.raises(C.CandidateError, match="base: missing"):
        C.load_candidate(p)
    p.write_text("base: missing.yaml\nchanges:\n  - remove: K01\n", encoding="utf-8")
    with pytest.raises(C.CandidateError, match="base framework could not be loaded"):
        C.apply_candidate(p)
    p.write_text("base: ../x.yaml\nchanges: []\n", encoding="utf-8")
    with pytest.raises(C.CandidateError, match="non-empty list"):
        C.load_candidate(p)
    chained = _cand(tmp_path, "- remove: K01\n", "chain.yaml")
    chained.write_text(f"base: {CAND_DIR / 'drop_flagged.yaml'}\nchanges:\n  - remove: K01\n", encoding="utf-8")
    with pytest.raises(C.CandidateError, match="itself a candidate"):
        C.apply_candidate(chained)


# ------------------------------------------------------------------ observation mapping
def _obs(rows):
    return pd.DataFrame(rows, columns=["member", "cycle", "kpi", "value", "disclosure", "source", "flag"])


def test_merged_kpi_is_mean_of_bound_scaled_oriented_parts(tmp_path, base):
    k01, k02 = base.kpi("K01"), base.kpi("K02")  # release time (hours, lower better), share within 24 h
    path = _cand(tmp_path, "- merge: [K02, K01]\n  into: K02\n")
    obs = _obs([["ARG", 2024, "K01", 72.0, "public", "s", ""], ["ARG", 2024, "K02", 80.0, "wco", "s", ""],
                ["BRA", 2024, "K01", 36.0, "public", "s", ""], ["ARG", 2024, "K03", 50.0, "public", "s", ""]])
    out = C.map_observations(obs, path).set_index(["member", "kpi"])
    s01 = 100 * (72 - k01.lower) / (k01.upper - k01.lower)
    s02 = 100 * (80 - k02.lower) / (k02.upper - k02.lower)
    assert k01.direction != k02.direction
    # K01 runs the other way: its scaled value is flipped before averaging
    assert out.loc[("ARG", "K02"), "value"] == pytest.approx(((100 - s01) + s02) / 2)
    assert out.loc[("ARG", "K02"), "disclosure"] == "wco"  # the most restrictive part
    # BRA reported one part only: its merged value is that part's
    assert out.loc[("BRA", "K02"), "value"] == pytest.approx(100 - 100 * 36 / (k01.upper - k01.lower))
    assert out.loc[("ARG", "K03"), "value"] == 50.0  # kept unchanged
    assert "K01" not in out.index.get_level_values("kpi")


def test_removed_renamed_added_and_moved(tmp_path):
    path = _cand(tmp_path, """
        - remove: K03
        - rename: K04
          code: K04x
        - move: K05
          to: O01
        - add: {code: K98, name: x, parent: O01, unit: '%', direction: 1, bounds: [0, 100]}
    """)
    obs = _obs([["ARG", 2024, "K03", 1.0, "public", "s", ""], ["ARG", 2024, "K04", 2.0, "public", "s", ""],
                ["ARG", 2024, "K05", 3.0, "public", "s", ""]])
    out = C.map_observations(obs, path)
    assert out[["kpi", "value"]].values.tolist() == [["K05", 3.0], ["K04x", 2.0]]
    m = to_matrix(obs, 2024, framework_path=path)
    assert "K98" in m.columns and m["K98"].isna().all()  # added: missing for everyone
    assert m.loc["ARG", "K04x"] == 2.0 and "K03" not in m.columns


def test_to_matrix_on_a_candidate_matches_manual_mapping():
    obs = load_observations()
    path = CAND_DIR / "reverse_merge.yaml"
    m = to_matrix(obs, 2024, "AMS", framework_path=path)
    assert list(m.columns) == C.load_design(path).kpi_codes
    manual = to_matrix(C.map_observations(obs, path), 2024, "AMS", framework_path=path)  # not mapped twice
    pd.testing.assert_frame_equal(m, manual)
    raw = to_matrix(obs, 2024, "AMS")
    both = raw[["K46", "K47"]]
    b = load_framework()
    scaled = [(both[c] - b.kpi(c).lower) / (b.kpi(c).upper - b.kpi(c).lower) * 100 for c in ("K46", "K47")]
    expected = pd.concat(scaled, axis=1).mean(axis=1)
    np.testing.assert_allclose(m["K46"].to_numpy(), expected.to_numpy())


# ------------------------------------------------------------------ differences
def test_framework_diff(base):
    assert C.framework_diff(base, base).empty
    fw = C.apply_candidate(CAND_DIR / "drop_flagged.yaml")
    d = C.framework_diff(base, fw)
    assert d[["code", "change"]].values.tolist() == [["K28", "removed"], ["K33", "removed"], ["K37", "removed"],
                                                    ["K40", "removed"]]
    assert C.framework_hash(base) != C.framework_hash(fw)
    assert C.framework_hash(base) == C.framework_hash(load_framework())


def test_changes_table_lists_each_change_with_reason():
    t = C.changes_table(CAND_DIR / "reverse_merge.yaml")
    assert t["type"].tolist() == ["reverse", "merge"]
    assert t["codes"].tolist() == ["K40", "K46, K47"]
    assert t["reason"].str.len().gt(0).all()


# ------------------------------------------------------------------ runs on a candidate; pmm compare
def test_run_request_checks_the_framework(tmp_path):
    from pmm_lib.reporting.runs import RunRequest

    bad = _cand(tmp_path, "- remove: K77\n")
    with pytest.raises(C.CandidateError, match="unknown KPI code 'K77'"):
        RunRequest(region="AMS", cycle=2024, framework=bad)
    req = RunRequest(region="AMS", cycle=2024, framework=CAND_DIR / "drop_flagged.yaml")
    assert req.framework.is_absolute()  # notebooks run in another working directory
    with pytest.raises(Exception, match="set by the runner"):
        RunRequest(region="AMS", cycle=2024, parameters={"framework_path": "x.yaml"})


def test_framework_record_and_manifest_diff():
    rec = C.framework_record(CAND_DIR / "reverse_merge.yaml")
    assert rec["candidate"] and rec["kpis"] == 50 and len(rec["changes"]) == 2
    base = C.framework_record(FRAMEWORK_PATH)
    assert not base["candidate"] and base["structure_hash"] != rec["structure_hash"]
    assert rec["base_sha256"] == base["sha256"]
    diff = C.manifest_framework_diff({"framework": base}, {"framework": rec})
    assert diff[["code", "change"]].values.tolist() == [["K40", "direction"], ["K46", "unit"], ["K46", "renamed"],
                                                       ["K47", "removed"]]
    assert C.manifest_framework_diff({"framework": rec}, {"framework": dict(rec)}).empty
    # an old manifest with only framework_path
    assert C.manifest_framework_diff({"framework_path": str(FRAMEWORK_PATH)}, {"framework": rec}).shape[0] == 4


def test_compare_runs_explains_framework_differences(tmp_path):
    import json

    from pmm_lib.reporting.runs import compare_runs

    for name, path in (("a", FRAMEWORK_PATH), ("b", CAND_DIR / "drop_flagged.yaml")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(json.dumps({
            "run_id": name, "parameters": {"region": "AMS", "cycle": 2024}, "inputs": {}, "outputs": {},
            "framework_path": str(path), "framework": C.framework_record(path)}), encoding="utf-8")
    cmp = compare_runs(tmp_path / "a", tmp_path / "b")
    assert sorted(cmp.framework["code"]) == ["K28", "K33", "K37", "K40"]
    md = cmp.to_markdown()
    assert "## Framework" in md and "4 difference(s) in the framework" in md and "| K40  | kpi   | removed" in md
