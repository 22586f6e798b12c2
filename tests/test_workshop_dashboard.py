"""Tests of pmm_lib.workshop.dashboard without a browser: polling, flags, consensus view, export."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import yaml

from pmm_lib.inputs.framework import load_framework
from pmm_lib.workshop import exercise as ws
from pmm_lib.workshop.dashboard import FacilitatorDashboard, folder_signature
from pmm_lib.workshop.live import LiveIndex
from pmm_lib.workshop.session import register_session

FW = load_framework()
DIMS = [d.code for d in FW.dimensions]


@pytest.fixture
def dash(tmp_path):
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.uniform(0, 100, (25, len(FW.kpi_codes))), index=[f"M{i:02d}" for i in range(25)],
                     columns=FW.kpi_codes)
    cfg = register_session("d", ["North", "South", "East"], region="AMS", cycle=2024, root=tmp_path, seed=2)
    return FacilitatorDashboard(LiveIndex(x, FW), session=cfg, root=tmp_path), tmp_path


def _pmm(*v):
    return {"PMM": dict(zip(DIMS, v, strict=True))}


def test_lists_registered_groups_before_they_submit(dash):
    d, _ = dash
    assert "0 of 3 groups have submitted" in d.summary.value
    assert d.groups.value.count("waiting") == 3 and "No submissions yet" in d.consensus.value
    assert d.refresh_if_changed() is False


def test_redraws_when_a_group_submits_and_flags(dash):
    d, root = dash
    ws.submit("d", "North", _pmm(40, 30, 20, 10), root=root)
    ws.submit("d", "South", _pmm(20, 30, 30, 20), method="ahp", root=root,
              ahp={"judgements": {"TF/RC": 9, "TF/ES": 1 / 9, "TF/OD": 1, "RC/ES": 1, "RC/OD": 1, "ES/OD": 1}})
    assert d.refresh_if_changed() is True
    assert "2 of 3 groups have submitted" in d.summary.value
    assert "inconsistent comparisons" in d.groups.value and d.groups.value.count("waiting") == 1
    assert "1 AHP group(s) combined by the geometric mean" in d.consensus.value
    assert "North" in d.weights.value and "Effect on the ranking" in d.effect.value
    assert list(d.effect_table.columns[:5]) == ["member", "name", "rank_framework", "rank_mean", "rank_median"]
    d.set_language("es")
    assert "2 de 3 grupos han enviado" in d.summary.value


def test_polling_thread_picks_up_a_submission(dash):
    d, root = dash
    d.start_polling(0.2)
    try:
        ws.submit("d", "East", _pmm(25, 25, 25, 25), root=root)
        end = time.monotonic() + 5
        while "1 of 3" not in d.summary.value and time.monotonic() < end:
            time.sleep(0.05)
        assert "1 of 3 groups have submitted" in d.summary.value
    finally:
        d.stop_polling()


def test_export_writes_the_scenario_and_weight_sets(dash):
    d, root = dash
    ws.submit("d", "North", _pmm(40, 30, 20, 10), root=root)
    ws.submit("d", "South", _pmm(20, 30, 30, 20), root=root)
    d.refresh()
    scen, sets = d.export()
    doc = yaml.safe_load(scen.read_text())
    assert doc["weights"]["method"] == "explicit"
    assert [doc["weights"]["values"][c] for c in DIMS] == pytest.approx([0.3, 0.3, 0.25, 0.15])
    assert len(yaml.safe_load(sets.read_text())["weight_sets"]) == 2
    assert "consensus_mean.yaml" in d.export_msg.value and str(root) not in d.export_msg.value
    assert folder_signature(root / "d")                     # submission files, not session/claims
    assert all(n not in ("session.json", "claims.json") for n, _, _ in folder_signature(root / "d"))
