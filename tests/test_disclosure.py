"""Disclosure control: hand-computed masks, the threshold rule, pseudonyms and figure data."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmm_lib.errors import SpecError
from pmm_lib.reporting import disclosure as dc

OBS = pd.DataFrame({
    "member": ["AAA", "AAA", "BBB", "BBB", "CCC", "CCC", "DDD"],
    "cycle": [2024] * 7,
    "kpi": ["K01", "K02", "K01", "K02", "K01", "K02", "K01"],
    "value": [10.5, 20.25, 11.75, 21.125, 12.0625, 22.5, 13.375],
    "disclosure": ["public", "wco", "restricted", "public", "wco", "restricted", "public"],
})


def _matrix() -> pd.DataFrame:
    return OBS.pivot(index="member", columns="kpi", values="value")


def test_visible_levels_and_unknown_audience():
    assert dc.visible_levels("public") == {"public"}
    assert dc.visible_levels("wco") == {"public", "wco"}
    assert dc.visible_levels("internal") == {"public", "wco", "restricted"}
    with pytest.raises(SpecError, match="public, wco, internal"):
        dc.visible_levels("press")


def test_disclosure_matrix_shape_and_default_for_absent_cells():
    d = dc.disclosure_matrix(OBS, 2024)
    assert d.loc["AAA", "K02"] == "wco"
    assert d.loc["DDD", "K02"] == "public"  # nothing reported, nothing to protect
    assert list(d.columns) == ["K01", "K02"]


@pytest.mark.parametrize(("audience", "expected_nan"), [
    ("public", {("AAA", "K02"), ("BBB", "K01"), ("CCC", "K01"), ("CCC", "K02")}),
    ("wco", {("BBB", "K01"), ("CCC", "K02")}),
    ("internal", set()),
])
def test_mask_matrix_hand_cases(audience, expected_nan):
    m = _matrix()
    masked = dc.mask_matrix(m, dc.disclosure_matrix(OBS, 2024), audience)
    got = {(i, c) for i in masked.index for c in masked.columns
           if np.isnan(masked.loc[i, c]) and not np.isnan(m.loc[i, c])}
    assert got == expected_nan
    # visible values untouched; the input is not modified
    keep = masked.notna()
    pd.testing.assert_frame_equal(masked.where(keep), m.where(keep))
    assert m.notna().sum().sum() == 7


def test_unknown_disclosure_is_suppressed_fail_safe():
    m = pd.DataFrame({"K01": [1.0]}, index=["ZZZ"])
    d = pd.DataFrame({"K01": ["public"]}, index=["AAA"])
    assert dc.mask_matrix(m, d, "wco")["K01"].isna().all()
    assert dc.mask_matrix(m, d, "internal")["K01"].tolist() == [1.0]


def test_hidden_values_lists_exactly_the_suppressed_cells():
    hv = dc.hidden_values(_matrix(), dc.disclosure_matrix(OBS, 2024), "public")
    assert sorted(hv["value"]) == [11.75, 12.0625, 20.25, 22.5]


def test_suppress_member_kpi_tidy():
    frame = OBS[["member", "kpi", "value"]].copy()
    out = dc.suppress_member_kpi(frame, observations=OBS, cycle=2024, audience="wco")
    assert out.loc[out["suppressed"], "value"].isna().all()
    assert sorted(out.loc[out["suppressed"], ["member", "kpi"]].itertuples(index=False)) == [
        ("BBB", "K01"), ("CCC", "K02")]
    assert out.loc[~out["suppressed"], "value"].tolist() == [10.5, 20.25, 21.125, 12.0625, 13.375]


def test_group_aggregate_on_the_view_with_threshold_rule():
    m = _matrix()
    d = dc.disclosure_matrix(OBS, 2024)
    groups = pd.Series({"AAA": "g1", "BBB": "g1", "CCC": "g1", "DDD": "g2"})
    out = dc.group_aggregate(m, d, groups, audience="wco", min_n=2).set_index(["group", "kpi"])
    # g1/K01 for wco: AAA (public) and CCC (wco) visible, BBB restricted left out: mean of two
    assert out.loc[("g1", "K01"), "score"] == pytest.approx((10.5 + 12.0625) / 2)
    assert out.loc[("g1", "K01"), "n"] == 2 and out.loc[("g1", "K01"), "n_hidden"] == 1
    # g2 has one Member: suppressed whatever is hidden (a group of one is that Member)
    assert np.isnan(out.loc[("g2", "K01"), "score"]) and out.loc[("g2", "K01"), "suppressed"]
    pub = dc.group_aggregate(m, d, groups, audience="public", min_n=1).set_index(["group", "kpi"])
    assert pub.loc[("g1", "K01"), "score"] == 10.5  # only AAA is public
    # invariance: moving a hidden value changes nothing the audience gets
    m2 = m.copy()
    m2.loc["BBB", "K01"] = 99.0
    pd.testing.assert_frame_equal(dc.group_aggregate(m2, d, groups, audience="wco", min_n=2),
                                  dc.group_aggregate(m, d, groups, audience="wco", min_n=2))
    with pytest.raises(SpecError):
        dc.group_aggregate(m, d, groups, audience="public", min_n=0)


@given(st.lists(st.from_regex(r"[A-Z]{3}", fullmatch=True), min_size=1, max_size=60, unique=True),
       st.text(min_size=1, max_size=8))
def test_pseudonyms_stable_unique_and_unrevealing(codes, salt):
    p = dc.pseudonymise(codes, salt=salt)
    assert p == dc.pseudonymise(list(reversed(codes)), salt=salt)
    assert len(set(p.values())) == len(codes)
    assert all(re.fullmatch(r"Member-[0-9A-F]{4,}", name) for name in p.values())


def test_pseudonymise_needs_salt():
    with pytest.raises(SpecError):
        dc.pseudonymise(["FRA"], salt="")


def test_figure_values_finds_plotted_numbers():
    fig, ax = plt.subplots()
    ax.plot([1.5, 2.5], [3.25, 4.125])
    ax.bar(["a"], [7.875])
    ax.scatter([9.0625], [10.5])
    ax.text(0, 0, "value 11.375")
    vals = dc.figure_values(fig)
    plt.close(fig)
    for v in (1.5, 2.5, 3.25, 4.125, 7.875, 9.0625, 10.5, 11.375):
        assert np.isclose(vals, v).any(), v


def test_save_figure_records_the_plotted_numbers(tmp_path):
    from pmm_lib.reporting.report import save_figure

    fig, ax = plt.subplots()
    ax.scatter([12.345678], [98.7654321])
    save_figure(fig, "fig-x", "A caption", tmp_path, audience="public")
    plt.close(fig)
    recorded = pd.read_csv(tmp_path / "figures" / "fig-x.values.csv")["value"].to_numpy()
    assert np.isclose(recorded, 12.345678).any() and np.isclose(recorded, 98.7654321).any()


def test_mask_aggregates_threshold_rule():
    meta = pd.DataFrame({"code": ["K01", "K02", "K03", "O1", "O2", "I"],
                         "level": [1, 1, 1, 2, 2, 3],
                         "parent": ["O1", "O2", "O2", "I", "I", None]})
    raw = pd.DataFrame({"K01": [1.0, 2.0], "K02": [3.0, np.nan], "K03": [4.0, 5.0]}, index=["AAA", "BBB"])
    disc = pd.DataFrame({"K01": ["restricted", "public"], "K02": ["public", "public"],
                         "K03": ["public", "public"]}, index=["AAA", "BBB"])
    scores = pd.DataFrame({"K01": [10.0, 20.0], "K02": [30.0, np.nan], "K03": [40.0, 50.0],
                           "O1": [10.0, 20.0], "O2": [35.0, 50.0], "I": [22.5, 35.0]},
                          index=["AAA", "BBB"])
    out = dc.mask_aggregates(scores, raw, meta, disc, "public", min_kpis=3)
    # AAA: K01 hidden; O1 pools only K01 -> suppressed; I pools 3 reported KPIs -> shown
    assert np.isnan(out.loc["AAA", "K01"]) and np.isnan(out.loc["AAA", "O1"])
    assert out.loc["AAA", "I"] == 22.5 and out.loc["AAA", "O2"] == 35.0
    # BBB: nothing hidden -> unchanged
    pd.testing.assert_series_equal(out.loc["BBB"], scores.loc["BBB"])
    # a stricter rule also suppresses AAA's index score
    assert np.isnan(dc.mask_aggregates(scores, raw, meta, disc, "public", min_kpis=4).loc["AAA", "I"])
    # internal sees everything
    pd.testing.assert_frame_equal(dc.mask_aggregates(scores, raw, meta, disc, "internal"), scores)
