"""The audience view, the group rule, presentation rounding, bundles and the free-text checks: hand cases."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pmm_lib.errors import SpecError
from pmm_lib.inputs import data
from pmm_lib.reporting import bundle, safety
from pmm_lib.reporting import disclosure as dc


@pytest.fixture(scope="module")
def obs() -> pd.DataFrame:
    return data.load_observations()


def test_audience_view_hides_exactly_the_hidden_values(obs):
    full = data.to_matrix(obs, 2024, "ESA")
    levels = dc.disclosure_matrix(obs, 2024, members=full.index, kpis=full.columns)
    for audience, visible in (("public", {"public"}), ("wco", {"public", "wco"})):
        v = dc.audience_view(obs, 2024, "ESA", audience)
        shown = levels.isin(visible) & full.notna()
        pd.testing.assert_frame_equal(v.matrix.where(shown), full.where(shown))
        assert v.matrix.where(~shown).isna().all().all()
        assert (v.hidden == (full.notna() & ~shown)).all().all() and v.n_hidden == int((full.notna() & ~shown).sum().sum())
        assert (v.reported == full.notna()).all().all()
        assert set(v.observations["disclosure"]) <= visible and len(v.observations) < len(obs)
    internal = dc.audience_view(obs, 2024, "ESA", "internal")
    assert internal.n_hidden == 0 and internal.matrix.equals(full)


def test_view_build_ignores_hidden_values_and_drops_thin_kpis(obs):
    v = dc.audience_view(obs, 2024, "MENA", "public")
    counts = v.matrix.notna().sum()
    assert v.kpis == [k for k in v.matrix.columns if counts[k] >= 3] and len(v.kpis) < v.matrix.shape[1]
    meta = v.meta()
    assert set(meta.loc[meta["level"] == 1, "code"]) == set(v.kpis)
    res = v.build(seed=1)
    # move every hidden value far: the audience's build does not move
    moved = obs.copy()
    hide = ~moved["disclosure"].isin({"public"})
    moved.loc[hide, "value"] = moved.loc[hide, "value"] * 7 + 1
    res2 = dc.audience_view(moved, 2024, "MENA", "public").build(seed=1)
    pd.testing.assert_frame_equal(res.aggregated, res2.aggregated)
    # the full-data build does move (the leak this prevents)
    from pmm_lib.core.build import build_pmm

    a = build_pmm(region="MENA", cycle=2024, observations=obs, seed=1).aggregated
    b = build_pmm(region="MENA", cycle=2024, observations=moved, seed=1).aggregated
    assert not a.equals(b)


def test_prune_meta_and_view_inputs(obs):
    v = dc.audience_view(obs, 2024, "MENA", "wco")
    d, m, options = v.inputs()
    assert list(d.columns) == v.kpis and set(m.loc[m["level"] == 1, "code"]) == set(v.kpis)
    assert options["cycle"] == 2024


def test_suppress_small_groups_wide_and_long():
    groups = pd.Series({"A": "L", "B": "H", "C": "H", "D": "H", "E": "UM", "F": "UM"})
    wide = pd.DataFrame({"kpi": ["K01", "K02"], "missing_share_L": [1.0, 0.0], "missing_share_H": [1 / 3, 0.0],
                         "missing_share_UM": [0.5, 0.5]})
    out = dc.suppress_small_groups(wide, groups, column="missing_share_{group}", min_n=3)
    assert out["missing_share_L"].isna().all() and out["missing_share_UM"].isna().all()
    assert out["missing_share_H"].tolist() == [1 / 3, 0.0]
    out2 = dc.suppress_small_groups(wide, groups, column="missing_share_{group}", min_n=2)
    assert out2["missing_share_UM"].tolist() == [0.5, 0.5]
    long = pd.DataFrame({"group": ["L", "H"], "mean": [10.0, 20.0], "n": [1, 3]})
    got = dc.suppress_small_groups(long, groups, group_col="group", value_cols=["mean"])
    assert np.isnan(got.loc[0, "mean"]) and got.loc[1, "mean"] == 20.0
    with pytest.raises(SpecError):
        dc.suppress_small_groups(long, groups, min_n=0)


def test_present_rounds_public_and_wco_tables_only():
    t = pd.DataFrame({"r": [0.123456789, -98765.4321, 0.0, np.nan], "n": [1, 2, 3, 4], "code": list("abcd")})
    pub = dc.present(t, "public")
    assert pub["r"].tolist()[:3] == [0.1235, -98770.0, 0.0] and np.isnan(pub["r"].iloc[3])
    assert pub["n"].tolist() == [1, 2, 3, 4] and pub["code"].tolist() == list("abcd")
    assert dc.present(t, "internal") is t
    assert dc.present(t, "wco", digits=2)["r"].iloc[0] == 0.12


def test_member_labels_pseudonymise_public_only(monkeypatch):
    monkeypatch.setenv(dc.KEY_ENV, "k" * 32)
    assert dc.member_labels(["FRA", "BRA"], "wco") == {"FRA": "FRA", "BRA": "BRA"}
    pub = dc.member_labels(["FRA", "BRA"], "public", cycle=2024)
    assert pub == dc.pseudonymise(["FRA", "BRA"], key=b"k" * 32, context=2024)
    assert all(p.startswith("Member-") for p in pub.values())


def test_seal_run_moves_workings_and_relativises_the_manifest(tmp_path):
    run = tmp_path / "outputs" / "AMS" / "2024" / "r1"
    (run / "notebooks").mkdir(parents=True)
    (run / "notebooks" / "01.ipynb").write_text("{}")
    (run / "tables").mkdir()
    (run / "tables" / "tbl-x.csv").write_text("a\n1\n")
    (run / "scenario.yaml").write_text("weights: {method: equal}\n")
    (run / "paper.html").write_text("<p>ok</p>")
    manifest = {"run_id": "r1", "status": "success", "parameters": {"region": "AMS", "cycle": 2024, "seed": 1,
                                                                  "audience": "public", "knobs": {"n_boot": 5}},
                "scenario": {"weights": {"method": "equal"}}, "scenario_file": "/home/me/secret/s.yaml",
                "notebooks_dir": "/srv/pmm/notebooks", "notebooks": [{"name": "01.ipynb", "seconds": 1.0,
                                                                       "path": str(run / "notebooks" / "01.ipynb")}],
                "outputs": {"tables/tbl-x.csv": "abc", "notebooks/01.ipynb": "def"}}
    (run / "manifest.json").write_text(json.dumps(manifest))
    bundle.seal_run(run, "public")
    assert not (run / "notebooks").exists() and (run / "_internal" / "notebooks" / "01.ipynb").is_file()
    assert (run / "_internal" / "scenario.yaml").is_file() and not (run / "scenario.yaml").exists()
    public = json.loads((run / "manifest.json").read_text())
    text = json.dumps(public)
    assert "/home" not in text and "/srv" not in text and str(tmp_path) not in text
    assert "scenario" not in public and public["parameters"] == {"region": "AMS", "cycle": 2024, "seed": 1,
                                                                 "audience": "public"}
    assert public["outputs"] == {"tables/tbl-x.csv": "abc"}
    assert json.loads((run / "_internal" / "manifest.json").read_text()) == manifest  # the full one kept
    assert [p.relative_to(run).as_posix() for p in bundle.published_files(run)] == [
        "manifest.json", "paper.html", "tables/tbl-x.csv"]
    copied = bundle.export_bundle(run, tmp_path / "upload")
    assert sorted(p.relative_to(tmp_path / "upload").as_posix() for p in copied) == [
        "manifest.json", "paper.html", "tables/tbl-x.csv"]
    bundle.seal_run(run, "public")  # idempotent
    assert json.loads((run / "manifest.json").read_text()) == public
    assert bundle.internal_path(run, "scenario.yaml") == run / "_internal" / "scenario.yaml"


def test_portable_paths():
    assert bundle.portable({"a": "/x/run/t.csv", "b": ["/y/z.yaml", 1], "c": "relative/ok"}, "/x/run") == {
        "a": "t.csv", "b": ["z.yaml", 1], "c": "relative/ok"}


@pytest.mark.parametrize("bad", ["<img src=x>", "a onerror=alert(1) <b>", "![x](/etc/passwd)", "{#id}", "`code`",
                                 "x" * 201, "line\nbreak", "a&b", "a;b", "a'b"])
def test_check_free_text_rejects_markup(bad):
    with pytest.raises(SpecError, match="scenario: impute.group holds"):
        safety.check_free_text({"impute": {"group": bad}}, where="scenario")


def test_html_problems_finds_active_content():
    assert safety.html_problems("<p>fine</p><img src='data:image/png;base64,AAAA'>") == []
    found = safety.html_problems("<a href='javascript:alert(1)'>x</a><p onclick='x'>y</p><script></script>"
                                 "<img src='data:text/csv;base64,QUFB'><iframe src='file:///etc/passwd'>")
    assert len(found) == 6, found  # the iframe twice: the element and its file: source
