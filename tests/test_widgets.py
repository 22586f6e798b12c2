"""Tests of pmm_lib.workshop.widgets: the participants' app driven through its widgets (no browser)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmm_lib.inputs.framework import load_framework
from pmm_lib.workshop import exercise as ws
from pmm_lib.workshop.widgets import WeightingApp, ahp_options, rank_shift_svg

FW = load_framework()
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "workshop" / "group_exercise.ipynb"


def _live(n=40, seed=5, missing=0.1):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(0, 100, (n, 51)), index=[f"M{i:02d}" for i in range(n)], columns=FW.kpi_codes)
    x = x.mask(rng.random(x.shape) < missing)
    names = pd.Series([f"Member {i}" for i in range(n)], index=x.index)
    return ws.LiveIndex(x, FW, names=names)


LIVE = _live()


def _outcomes(live, seed=2):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"member": live.members, "year": 2018, "variable": "lpi_customs",
                         "value": rng.normal(3, 0.5, len(live.members))})


@pytest.fixture
def app(tmp_path):
    return WeightingApp(LIVE, session="unit", outcomes=_outcomes(LIVE), root=tmp_path)


def _points(app):
    return [s.value for s in app.dim_sliders]


def test_initial_state_is_default(app):
    assert _points(app) == [25, 25, 25, 25]
    assert (app.ranking["rank_shift"] == 0).all()
    assert "Budget: <b>100</b> / 100" in app.dim_total.value
    assert "No rank shifts" in app.chart.value
    assert app.outcome.options == ("LPI customs score 2018",)   # only outcomes with data are offered


def test_moving_a_slider_rebalances_and_updates_views(app):
    before = app.table.value
    app.dim_sliders[0].value = 40
    assert _points(app) == [40, 20, 20, 20]
    app.dim_sliders[3].value = 0
    assert _points(app) == [50, 25, 25, 0]     # 40 : 20 : 20 share 100 → 50, 25, 25
    assert sum(_points(app)) == 100
    expected = LIVE.ranking({"PMM": dict(zip(LIVE.dims, _points(app), strict=True))})
    pd.testing.assert_frame_equal(app.ranking, expected)
    assert app.table.value != before
    shown = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td>", app.table.value)
    assert [(int(r), n) for r, n in shown] == list(zip(expected["rank"].astype(int), expected["name"], strict=False))[:app.top]
    assert app.chart.value.count("<rect") == min(app.top, int((expected["rank_shift"] != 0).sum()))
    assert "Spearman" in app.correlation.value and "n = 40" in app.correlation.value
    assert np.isfinite(app.last_update_ms)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 100)), min_size=1, max_size=12))
def test_budget_always_100_under_any_moves(tmp_path, moves):
    app = WeightingApp(LIVE, session="prop", root=tmp_path, chart=False)
    for i, v in moves:
        app.dim_sliders[i].value = v
        pts = _points(app)
        assert sum(pts) == 100 and pts[i] == v and min(pts) >= 0


def test_kpi_block_of_one_dimension(app):
    app.kpi_dim.value = "RC"
    sliders = app.kpi_sliders["RC"]
    assert [s.description for s in sliders] == LIVE.kpis_of["RC"]
    assert sum(s.value for s in sliders) == 100
    assert "KPI budget in RC: <b>100</b>" in app.kpi_total.value
    sliders[0].value = 70
    assert sum(s.value for s in sliders) == 100 and sliders[0].value == 70
    blocks = app.blocks()
    assert set(blocks) == {"PMM", "RC"}
    pd.testing.assert_frame_equal(app.ranking, LIVE.ranking(blocks))
    app.kpi_dim.value = ""                      # back to dimension weights only
    assert set(app.blocks()) == {"PMM"}
    app.kpi_dim.value = "RC"                    # the group's KPI points are remembered
    assert app.kpi_sliders["RC"][0].value == 70


def test_ahp_mode_consistent_hand_computed(app):
    # a_ij = w_i / w_j for w = (8, 4, 2, 1): all on the Saaty scale, CR = 0, weights 8/15, 4/15, ...
    values = {"TF/RC": 2.0, "TF/ES": 4.0, "TF/OD": 8.0, "RC/ES": 2.0, "RC/OD": 4.0, "ES/OD": 2.0}
    app.mode.value = "ahp"
    assert app.budget_box.layout.display == "none" and app.ahp_box.layout.display is None
    for (a, b), s in zip(app.pairs, app.ahp_sliders, strict=True):
        s.value = values[f"{a}/{b}"]
    pts = app.dimension_points()
    assert list(pts.values()) == pytest.approx([800 / 15, 400 / 15, 200 / 15, 100 / 15])
    assert "CR = 0.000" in app.ahp_status.value and "acceptable" in app.ahp_status.value
    assert "Weights (of 100): TF 53.3, RC 26.7, ES 13.3, OD 6.7" in app.ahp_status.value
    pd.testing.assert_frame_equal(app.ranking, LIVE.ranking({"PMM": pts}))


def test_ahp_mode_inconsistent_names_the_judgement(app):
    # consistent (8, 4, 2, 1) except TF/OD reversed to 1/8: the app must point at TF vs OD
    values = {"TF/RC": 2.0, "TF/ES": 4.0, "TF/OD": 1 / 8, "RC/ES": 2.0, "RC/OD": 4.0, "ES/OD": 2.0}
    app.mode.value = "ahp"
    for (a, b), s in zip(app.pairs, app.ahp_sliders, strict=True):
        s.value = values[f"{a}/{b}"]
    r = ws.ahp_judgements(LIVE.dims, values)
    cr = float(re.search(r"CR = ([0-9.]+)", app.ahp_status.value).group(1))
    assert cr == pytest.approx(r.cr, abs=5e-4) and cr > 0.1
    assert "inconsistent" in app.ahp_status.value and "TF vs OD = 1/8" in app.ahp_status.value


def test_ahp_options_scale():
    opts = ahp_options("TF", "RC")
    assert len(opts) == 17
    assert [v for _, v in opts] == pytest.approx([9, 8, 7, 6, 5, 4, 3, 2, 1] + [1 / k for k in range(2, 10)])


def test_submit_keeps_history_and_reports(app, tmp_path):
    assert app.submit() is None and "Not submitted" in app.status.value    # no group name yet
    assert not list(tmp_path.rglob("*.json"))
    app.group.value = "Andean Group"
    app.dim_sliders[1].value = 55
    p1 = app.submit()
    assert "Submitted for group <b>Andean Group</b>" in app.status.value
    app.mode.value = "ahp"
    app.ahp_sliders[0].value = 3.0
    p2 = app.submit()
    assert p1 == p2 == tmp_path / "unit" / "andean-group.json"
    hist = json.loads(p1.read_text())["history"]
    assert [h["method"] for h in hist] == ["budget", "ahp"]
    assert hist[0]["points"]["PMM"] == {"TF": 15, "RC": 55, "ES": 15, "OD": 15}
    assert hist[1]["ahp"]["judgements"]["TF/RC"] == 3.0 and hist[1]["ahp"]["labels"]["TF/RC"] == "3"
    assert sum(hist[1]["points"]["PMM"].values()) == pytest.approx(100)
    subs = ws.load_submissions("unit", root=tmp_path, framework=FW)
    assert set(subs["revision"]) == {2}


def test_reset_restores_defaults(app):
    app.dim_sliders[2].value = 70
    app.kpi_dim.value = "TF"
    app.kpi_sliders["TF"][0].value = 90
    app.mode.value = "ahp"
    app.ahp_sliders[1].value = 5.0
    app.reset_weights()
    assert _points(app) == LIVE.default_dim_points
    assert [s.value for s in app.kpi_sliders["TF"]] == LIVE.default_kpi_points["TF"]
    assert all(s.value == 1.0 for s in app.ahp_sliders)


def test_rank_shift_svg():
    r = pd.DataFrame({"name": list("ABCDE"), "rank_shift": [3.0, -2.0, 0.0, 5.0, np.nan]})
    svg = rank_shift_svg(r, top=2)
    assert svg.count("<rect") == 2                       # the two largest |shifts|: D +5, A +3
    assert ">D</text>" in svg and ">A</text>" in svg and ">B</text>" not in svg
    assert "+5" in svg and "+3" in svg
    assert "No rank shifts" in rank_shift_svg(r.assign(rank_shift=0.0))


def test_session_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(ws.ENV_SESSION, "Americas-2021")
    app = WeightingApp(LIVE, root=tmp_path, chart=False)
    assert app.session == "Americas-2021" and "Americas-2021" in app.widget.children[0].value


@pytest.mark.slow
def test_exercise_notebook_runs_headless(tmp_path, monkeypatch):
    papermill = pytest.importorskip("papermill")
    monkeypatch.setenv(ws.ENV_DIR, str(tmp_path))
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters={"session": "nb", "region": "AMS"},
                               kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
    nb = json.loads(out.read_text())
    assert nb["cells"][0]["metadata"]["tags"] == ["parameters"]
    assert not [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
