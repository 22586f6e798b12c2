"""Peer cross-check: every stage of COINr 1.1.14's ASEM build, reproduced to 1e-9.

The reference files in tests/data/coinr-asem/ were produced by COINr (R) on its ASEM example;
see that folder's README. Each stage is compared unit by unit and indicator by indicator,
through the stage functions, through ``build()`` and through ``pmm index``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pmm_lib.cli import main
from pmm_lib.core import transform
from pmm_lib.core.build import build, build_from_spec_file
from pmm_lib.core.spec import Spec
from pmm_lib.inputs.coinr import load_coinr

HERE = Path(__file__).parent / "data" / "coinr-asem"
SPEC = HERE / "asem_spec.yaml"
RTOL, ATOL = 1e-9, 1e-12
STAGES = ("Denominated", "Imputed", "Screened", "Treated", "Normalised", "Aggregated")


def _ref(stage: str) -> pd.DataFrame:
    return pd.read_csv(HERE / f"coinr_{stage}.csv", keep_default_na=False,
                       na_values=["", "NA"]).set_index("uCode")


def _same(ours: pd.DataFrame, stage: str) -> None:
    ref = _ref(stage)
    assert sorted(ours.index) == sorted(ref.index), f"{stage}: different units"
    assert sorted(ours.columns) == sorted(ref.columns), f"{stage}: different columns"
    got = ours.loc[ref.index, ref.columns]
    for code in ref.columns:
        np.testing.assert_allclose(got[code].to_numpy(dtype=float), ref[code].to_numpy(dtype=float),
                                   rtol=RTOL, atol=ATOL, err_msg=f"{stage}: indicator {code}")


@pytest.fixture(scope="module")
def asem():
    return load_coinr(HERE / "ASEM_iData.csv", HERE / "ASEM_iMeta.csv")


@pytest.fixture(scope="module")
def result():
    return build_from_spec_file(SPEC)


def test_spec_file_is_the_issue_example():
    spec = Spec.from_yaml(SPEC)
    assert spec.data.format == "coinr" and spec.denominate
    assert (spec.impute.method, spec.impute.group) == ("group_mean", "EurAsia_group")
    assert spec.screen.min_coverage == 0.9
    assert (spec.treat.method, spec.treat.winmax, spec.treat.skew, spec.treat.kurtosis,
            spec.treat.fallback) == ("winsorise", 5, 2.0, 3.5, "log")
    assert (spec.normalise.method, spec.normalise.low, spec.normalise.high) == ("minmax", 0.0, 100.0)
    assert [a.method for a in spec.aggregate] == ["arithmetic"]


def test_loader_shapes(asem):
    assert asem.data.shape == (51, 49)
    assert list(asem.meta.loc[asem.meta.level == 4, "code"]) == ["Index"]
    assert (asem.meta.level == 2).sum() == 8 and (asem.meta.level == 3).sum() == 2
    assert set(asem.denominators.columns) == {"Area", "Energy", "GDP", "Population"}
    assert asem.groups["EurAsia_group"].isin(["Europe", "Asia"]).all()
    assert asem.data.isna().sum().sum() == 63  # 65 after denominating (2 missing denominators)


def test_stage_functions_match_coinr(asem):
    den, _ = transform.denominate(asem.data, asem.meta, asem.denominators)
    _same(den, "Denominated")
    imp, log = transform.impute(den, "group_mean", groups=asem.groups["EurAsia_group"])
    _same(imp, "Imputed")
    assert (log.action == "imputed").sum() == 65
    scr, log = transform.screen(imp, 0.9)
    _same(scr, "Screened")
    assert (log.action == "dropped").sum() == 0
    tr, _ = transform.treat(scr, "winsorise", winmax=5, skew=2.0, kurtosis=3.5, fallback="log")
    _same(tr, "Treated")
    nm, _ = transform.normalise(tr, asem.meta, "minmax", low=0, high=100)
    _same(nm, "Normalised")


@pytest.mark.parametrize("stage", STAGES)
def test_build_matches_every_stage(result, stage):
    ours = {"Denominated": result.denominated, "Imputed": result.imputed, "Screened": result.screened,
            "Treated": result.treated, "Normalised": result.normalised,
            "Aggregated": result.aggregated}[stage]
    _same(ours, stage)


def test_treatment_details_match_coinr(result):
    ref = pd.read_csv(HERE / "coinr_treat_details.csv").set_index("iCode")
    ours = result.treatment.set_index("code").loc[ref.index]
    np.testing.assert_allclose(ours.skew_before, ref["check_SkewKurt0.Skew"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.kurtosis_before, ref["check_SkewKurt0.Kurt"], rtol=RTOL, atol=ATOL)
    assert (ours.pass_before.astype(bool) == ref["check_SkewKurt0.Pass"]).all()
    failing = ref["check_SkewKurt0.Pass"] == False  # noqa: E712
    assert failing.sum() == 15
    np.testing.assert_array_equal(ours.n_winsorised[failing], ref.loc[failing, "winsorise.nwin"])
    np.testing.assert_allclose(ours.skew_after[failing], ref.loc[failing, "check_SkewKurt1.Skew"],
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.kurtosis_after[failing], ref.loc[failing, "check_SkewKurt1.Kurt"],
                               rtol=RTOL, atol=ATOL)
    assert ours.pass_after[failing].astype(bool).all()
    assert ours.n_winsorised[~failing].isna().all()
    assert set(ours["transform"][failing]) == {"winsorise"}
    assert set(ours["transform"][~failing]) == {"none"}
    # one log row per winsorised cell, as many as the counts
    cells = result.log[(result.log.stage == "treat") & (result.log.action == "winsorised")]
    assert len(cells) == int(ref["winsorise.nwin"].sum())


def test_index_ranks_and_long_form(result):
    ref = _ref("Aggregated")
    ref_rank = ref["Index"].rank(ascending=False, method="min")
    assert (result.ranks["Index"].loc[ref.index] == ref_rank).all()
    long = result.to_long()
    assert list(long.columns) == ["unit", "code", "level", "score", "rank"]
    assert len(long) == 51 * (49 + 8 + 2 + 1)
    top = long[long.code == "Index"].set_index("unit")
    np.testing.assert_allclose(top.loc[ref.index, "score"], ref["Index"], rtol=RTOL)
    assert set(long.loc[long.code == "Index", "level"]) == {4}
    # index shares of the indicators sum to 1 and equal the product of nominal weights
    w = result.weights.set_index("code")
    assert w.loc[w.level == 1, "index_share"].sum() == pytest.approx(1.0)
    assert w.loc["LPI", "index_share"] == pytest.approx(1 / 8 * 1 / 5 * 1 / 2)
    # effective (data-driven) weights sum to 1 within each parent
    sums = w[w.level < 4].groupby("parent")["effective"].sum()
    np.testing.assert_allclose(sums, 1.0)


def test_pmm_index_cli_reproduces_coinr(tmp_path):
    out = tmp_path / "scores.csv"
    assert main(["index", "--spec", str(SPEC), "--out", str(out)]) == 0
    long = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(long.columns) == ["unit", "code", "level", "score", "rank"]
    wide = long.pivot(index="unit", columns="code", values="score")
    _same(wide, "Aggregated")
    ranks = long.pivot(index="unit", columns="code", values="rank")
    ref = _ref("Aggregated")
    assert (ranks.loc[ref.index, "Index"] == ref["Index"].rank(ascending=False, method="min")).all()
    assert not list(tmp_path.glob(".scores.csv.*"))  # atomic write left no temporary file


def test_build_with_spec_object_equals_file_route(asem, result):
    spec = Spec.from_yaml(SPEC)
    direct = build(asem.data, asem.meta, spec, groups=asem.groups, denominators=asem.denominators)
    pd.testing.assert_frame_equal(direct.aggregated, result.aggregated)


def test_docstring_examples_run():
    import doctest

    import pmm_lib.inputs.coinr as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------- loader errors / panel


def _write_pair(tmp_path, idata: str, imeta: str):
    (tmp_path / "d.csv").write_text(idata)
    (tmp_path / "m.csv").write_text(imeta)
    return tmp_path / "d.csv", tmp_path / "m.csv"


IMETA = ('Level,iCode,iName,Direction,Weight,Parent,Type\n'
         '1,x,X,1,1,P,Indicator\n1,y,Y,-1,2,P,Indicator\n2,P,P,1,1,NA,Aggregate\n'
         'NA,grp_group,G,NA,NA,NA,Group\n')


def test_loader_panel_and_literal_unit_codes(tmp_path):
    idata = ("uCode,uName,grp_group,Time,x,y\n"
             "NA,Namibia,a,2020,1,NA\nNA,Namibia,a,2021,2,5\nFRA,France,b,2021,3,4\nFRA,France,b,2020,,1\n")
    d = load_coinr(*_write_pair(tmp_path, idata, IMETA))
    assert d.time == 2021 and list(d.panel) == [2020]
    assert d.data.loc["NA", "x"] == 2.0  # Namibia's code survives, not read as missing
    assert np.isnan(d.panel[2020].loc["NA", "y"]) and np.isnan(d.panel[2020].loc["FRA", "x"])
    old = load_coinr(tmp_path / "d.csv", tmp_path / "m.csv", time=2020)
    assert old.data.loc["FRA", "y"] == 1.0 and list(old.panel) == [2021]
    assert list(d.meta.columns[:6]) == ["code", "name", "level", "parent", "direction", "weight"]
    assert d.meta.set_index("code").loc["y", "direction"] == -1


@pytest.mark.parametrize("idata, imeta, match", [
    ("uCode,x,y\nA,1,2\n", IMETA.replace(",-1,2,P,", ",0,2,P,"), r"row 3, column 'Direction'"),
    ("uCode,x,y\nA,1,2\n", IMETA.replace("1,y,Y,-1,2,P", "1,y,Y,-1,2,Q"), "unknown Parent 'Q'"),
    ("uCode,x,y\nA,1,2\n", IMETA.replace("Indicator\n2,P", "Indicators\n2,P"), "unknown Type"),
    ("uCode,x\nA,1\n", IMETA, r"missing column\(s\) \['y'\]"),
    ("uCode,x,y\nA,1,two\n", IMETA, r"row 2, column 'y': value 'two' is not a number"),
    ("uCode,x,y\nA,1,2\nA,3,4\n", IMETA, r"row 3, column 'uCode': duplicated uCode 'A'"),
    ("uCode,x,y\nA,1,2\n", IMETA.replace("Weight", "W"), r"missing column\(s\) \['Weight'\]"),
])
def test_loader_errors_name_file_row_column(tmp_path, idata, imeta, match):
    from pmm_lib.errors import InputError

    with pytest.raises(InputError, match=match):
        load_coinr(*_write_pair(tmp_path, idata, imeta))


def test_loader_missing_file(tmp_path):
    from pmm_lib.errors import InputError

    with pytest.raises(InputError, match="file not found"):
        load_coinr(tmp_path / "no.csv", HERE / "ASEM_iMeta.csv")
