"""Tests of pmm_lib.workshop.consensus: AIJ (Aczél & Saaty 1983) by hand, the room consensus,
flags for small KPI blocks and inconsistent groups, and the effect on ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pmm_lib.errors import InputError
from pmm_lib.inputs.framework import load_framework
from pmm_lib.workshop import exercise as ws
from pmm_lib.workshop.consensus import (
    ahp_consensus,
    geometric_mean_judgements,
    group_flags,
    rank_effect,
    room_consensus,
    top_changes,
)
from pmm_lib.workshop.live import LiveIndex

FW = load_framework()
DIMS = [d.code for d in FW.dimensions]
CONSISTENT = {"TF/RC": 2, "TF/ES": 4, "TF/OD": 8, "RC/ES": 2, "RC/OD": 4, "ES/OD": 2}   # w = (8, 4, 2, 1) / 15


def test_aij_hand_computed_two_groups():
    # group 1: w = (4, 2, 1)/7; group 2: w = (16, 2, 1)/19; geometric means 4, 8, 2: w = (8, 2, 1)/11
    g = {"g1": {"A/B": 2, "A/C": 4, "B/C": 2}, "g2": {"A/B": 8, "A/C": 16, "B/C": 2}}
    assert geometric_mean_judgements(list(g.values()), "ABC") == pytest.approx({"A/B": 4, "A/C": 8, "B/C": 2})
    r = ahp_consensus(g, "ABC")
    assert list(r.weights) == pytest.approx([8 / 11, 2 / 11, 1 / 11]) and r.cr == pytest.approx(0, abs=1e-9)
    arithmetic = (4 / 7 + 16 / 19) / 2                     # the old arithmetic mean of priorities: not AIJ
    assert abs(r.weights["A"] - arithmetic) > 0.02


def test_aij_reads_pairs_either_way_and_keeps_reciprocity():
    a = geometric_mean_judgements([{"A/B": 3}, {"B/A": 1 / 12}], "AB")
    assert a == pytest.approx({"A/B": 6.0})                 # sqrt(3 * 12)
    b = geometric_mean_judgements([{"B/A": 1 / 3}, {"A/B": 12}], "BA")
    assert b["B/A"] == pytest.approx(1 / 6)                 # the same matrix seen from the other side
    with pytest.raises(InputError, match="AHP group 2 has no judgement for A vs B"):
        geometric_mean_judgements([{"A/B": 2}, {}], "AB")
    with pytest.raises(InputError, match="no AHP judgements"):
        geometric_mean_judgements([], "AB")


def _subs(rows):
    out = []
    for group, method, blocks in rows:
        for b, pts in blocks.items():
            for c, v in pts.items():
                out.append(dict(session="s", group=group, revision=1, submitted_at="", method=method, block=b,
                                code=c, points=float(v)))
    return pd.DataFrame(out, columns=ws.SUBMISSION_COLUMNS)


def _pmm(*v):
    return {"PMM": dict(zip(DIMS, v, strict=True))}


def test_room_consensus_hand_computed_with_an_ahp_group():
    ahp_pts = [800 / 15, 400 / 15, 200 / 15, 100 / 15]
    subs = _subs([("B1", "budget", _pmm(40, 30, 20, 10)), ("B2", "budget", _pmm(20, 30, 30, 20)),
                  ("A1", "ahp", _pmm(*ahp_pts))])
    room = room_consensus(subs, {"A1": CONSISTENT})
    assert room.n_budget == 2 and room.n_ahp == 1
    # mean: (2 × budget mean (30, 30, 25, 15) + 1 × AIJ points) / 3
    expect = [(2 * m + a) / 3 for m, a in zip([30, 30, 25, 15], ahp_pts, strict=True)]
    assert [room.blocks_mean["PMM"][c] for c in DIMS] == pytest.approx(expect)
    assert sum(room.blocks_mean["PMM"].values()) == pytest.approx(100)
    # median over the three groups' points
    assert [room.blocks_median["PMM"][c] for c in DIMS] == pytest.approx([40, 30, 20, 10])


def test_kpi_block_needs_three_groups():
    ks = FW.dimensions[0].children
    tf_kpis = [k.code for k in FW.kpis if k.parent in ks]
    block = {"TF": {k: (100 if i == 0 else 0) for i, k in enumerate(tf_kpis)}}
    two = _subs([("G1", "budget", _pmm(25, 25, 25, 25) | block), ("G2", "budget", _pmm(25, 25, 25, 25) | block),
                 ("G3", "budget", _pmm(25, 25, 25, 25))])
    room = room_consensus(two)
    assert "TF" not in room.blocks_mean
    assert not bool(room.table.loc[room.table["block"] == "TF", "included"].iloc[0])
    flags = group_flags(two).set_index("group")
    assert flags.loc["G1", "excluded_blocks"] == "TF" and flags.loc["G3", "excluded_blocks"] == ""
    three = _subs([(g, "budget", _pmm(25, 25, 25, 25) | block) for g in ("G1", "G2", "G3")])
    assert room_consensus(three).blocks_mean["TF"][tf_kpis[0]] == pytest.approx(100)


def test_flags_inconsistent_ahp_group():
    bad = {"TF/RC": 9, "TF/ES": 1 / 9, "TF/OD": 1, "RC/ES": 1, "RC/OD": 1, "ES/OD": 1}
    subs = _subs([("A1", "ahp", _pmm(25, 25, 25, 25)), ("A2", "ahp", _pmm(25, 25, 25, 25))])
    f = group_flags(subs, {"A1": bad, "A2": CONSISTENT}, codes=DIMS).set_index("group")
    assert bool(f.loc["A1", "inconsistent"]) and f.loc["A1", "cr"] > 0.10
    assert not bool(f.loc["A2", "inconsistent"]) and f.loc["A2", "cr"] == pytest.approx(0, abs=1e-9)


def test_rank_effect_intervals_are_the_groups_rank_ranges():
    rng = np.random.default_rng(4)
    x = pd.DataFrame(rng.uniform(0, 100, (30, len(FW.kpi_codes))), index=[f"M{i:02d}" for i in range(30)],
                     columns=FW.kpi_codes)
    live = LiveIndex(x, FW)
    groups = [("G1", _pmm(70, 10, 10, 10)), ("G2", _pmm(10, 70, 10, 10)), ("G3", _pmm(10, 10, 10, 70))]
    subs = _subs([(g, "budget", b) for g, b in groups])
    room = room_consensus(subs)
    eff = rank_effect(live, subs, room).set_index("member").loc[live.members]
    per = np.vstack([live.rank_array(live.score_array(b)) for _, b in groups])
    assert eff["rank_low"].to_numpy() == pytest.approx(per.min(axis=0))
    assert eff["rank_high"].to_numpy() == pytest.approx(per.max(axis=0))
    assert eff["rank_framework"].to_numpy() == pytest.approx(live.default_rank_array)
    mean_rank = live.rank_array(live.score_array(room.blocks_mean))
    assert eff["rank_mean"].to_numpy() == pytest.approx(mean_rank)
    assert (eff["n_groups"] == 3).all()


def test_top_changes_counts():
    eff = pd.DataFrame({"member": list("ABCDE"), "shift_mean": [5, -6, 4, 0, 1],
                        "rank_mean": [1, 2, 3, 4, 5], "rank_median": [1, 2, 4, 3, 6]})
    assert top_changes(eff, top=3, places=5) == {"moved": 2, "top_differs": 2}   # C and D swap at the cut
