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

from pmm_lib import transform
from pmm_lib.build import build, build_from_spec_file
from pmm_lib.cli import main
from pmm_lib.coinr import load_coinr
from pmm_lib.spec import Spec

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

    import pmm_lib.coinr as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
