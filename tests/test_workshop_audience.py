"""The workshop's live index of an audience is built on the audience's view.

A value hidden from an audience must not move any number that audience sees: not through the
min-max bounds, not through imputation. The live index of a ``public`` or ``wco`` room is
therefore :meth:`AudienceView.build` (the notebooks' and the paper's numbers), not a build on
every value masked afterwards; the ``internal`` room keeps the build on every value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pmm_lib.core.build import build
from pmm_lib.core.spec import Spec
from pmm_lib.errors import SpecError
from pmm_lib.inputs import data
from pmm_lib.inputs.framework import load_framework
from pmm_lib.reporting.disclosure import (
    audience_view,
    disclosure_matrix,
    mask_matrix,
    visible_levels,
)
from pmm_lib.workshop.exercise import check_blocks
from pmm_lib.workshop.live import LiveIndex, load_live_index

REGION, CYCLE = "AMS", 2024
FW = load_framework()


def _perturbed(obs: pd.DataFrame, audience: str) -> tuple[pd.DataFrame, int]:
    """Every value hidden from ``audience`` (every region and cycle) moved to its KPI's far bound."""
    bounds = FW.table().set_index("code")[["lower", "upper"]]
    out = obs.copy()
    hide = ~out["disclosure"].astype(object).isin(visible_levels(audience))
    lo = out["kpi"].map(bounds["lower"]).astype(float)
    hi = out["kpi"].map(bounds["upper"]).astype(float)
    v = out["value"].astype(float)
    far = np.where((v - lo).abs() >= (hi - v).abs(), lo, hi)
    out.loc[hide, "value"] = far[hide.to_numpy()]
    return out, int((hide & (out["value"] != obs["value"])).sum())


@pytest.fixture(scope="module")
def observations() -> pd.DataFrame:
    return data.load_observations().copy()


def _live(monkeypatch, obs: pd.DataFrame, audience: str, spec=None) -> LiveIndex:
    monkeypatch.setattr(data, "load_observations", lambda: obs.copy())
    return load_live_index(REGION, CYCLE, audience=audience, spec=spec)[0]


def _blocks(live: LiveIndex) -> list[dict]:
    dims = live.dims
    kpis = live.kpis_of[dims[1]]
    kpi_pts = [0.0] * len(kpis)
    kpi_pts[0], kpi_pts[-1] = 60.0, 40.0
    return [
        {"PMM": dict(zip(dims, live.default_dim_points, strict=True))},
        {"PMM": dict(zip(dims, [70, 10, 10, 10], strict=True))},
        {"PMM": dict(zip(dims, [5, 15, 25, 55], strict=True)), dims[1]: dict(zip(kpis, kpi_pts, strict=True))},
    ]


def test_public_live_index_is_invariant_to_hidden_values(monkeypatch, observations):
    moved_obs, n_moved = _perturbed(observations, "public")
    view = audience_view(observations, CYCLE, REGION, "public")
    assert n_moved > 400 and view.n_hidden > 400  # 456 hidden values in AMS 2024 alone
    base = _live(monkeypatch, observations, "public")
    moved = _live(monkeypatch, moved_obs, "public")
    assert moved.members == base.members and len(base.members) == 22
    for blocks in _blocks(base):
        a, b = base.ranking(blocks), moved.ranking(blocks)
        assert a["score"].notna().sum() >= 20
        pd.testing.assert_frame_equal(a, b, check_exact=True)

    # teeth: the same perturbation moves the internal room's scores and ranks ...
    internal = _live(monkeypatch, observations, "internal")
    internal_moved = _live(monkeypatch, moved_obs, "internal")
    for blocks in _blocks(internal):
        a, b = internal.ranking(blocks), internal_moved.ranking(blocks)
        assert np.nanmax(np.abs(a["score"].to_numpy() - b.set_index("member").loc[a["member"], "score"].to_numpy())) > 1.0
        assert not a["member"].equals(b["member"])
    # ... and the old path (build on every value, mask the normalised values) leaked them
    def masked(obs: pd.DataFrame) -> np.ndarray:
        matrix = data.to_matrix(obs, CYCLE, REGION)
        norm = build(matrix, FW.meta()).normalised
        disc = disclosure_matrix(obs, CYCLE, members=matrix.index, kpis=matrix.columns)
        return LiveIndex(mask_matrix(norm, disc, "public"), FW).default_score_array
    assert np.nanmax(np.abs(masked(observations) - masked(moved_obs))) > 1.0


@pytest.mark.parametrize("spec", [None, Spec.default()], ids=["workshop-spec", "paper-spec"])
def test_public_live_index_equals_the_audience_view_build(monkeypatch, observations, spec):
    live = _live(monkeypatch, observations, "public", spec)
    view = audience_view(observations, CYCLE, REGION, "public")
    res = view.build(Spec() if spec is None else spec)
    ref = res.index.reindex(live.members).to_numpy(dtype=float)
    got = live.default_score_array
    assert np.array_equal(np.isnan(ref), np.isnan(got)) and np.isfinite(got).sum() >= 20
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(live.default_rank_array, res.ranks[FW.index.code].reindex(live.members).to_numpy())
    # the ranking's KPI blocks offer the view's KPIs only (29 of 51), in framework order
    offered = [k for d in live.dims for k in live.kpis_of[d]]
    assert sorted(offered) == sorted(view.kpis) and len(offered) == 29
    assert {"K06", "K20", "K51"}.isdisjoint(offered)
    # names are the keyed pseudonyms, never ISO3 codes
    assert set(live.names) == set(view.labels().values()) and not set(live.names) & set(live.members)
    # the app's default blocks are valid submissions for the room's framework
    blocks = {"PMM": dict(zip(live.dims, live.default_dim_points, strict=True))}
    blocks |= {d: dict(zip(live.kpis_of[d], live.default_kpi_points[d], strict=True)) for d in live.dims}
    assert check_blocks(blocks, live.framework)
    assert np.isfinite(live.score_array(blocks)).sum() >= 20


def test_wco_room_is_its_view_and_internal_is_unchanged(monkeypatch, observations):
    wco = _live(monkeypatch, observations, "wco")
    view = audience_view(observations, CYCLE, REGION, "wco")
    np.testing.assert_allclose(wco.default_score_array, view.build(Spec()).index.reindex(wco.members), atol=1e-9)
    assert sum(len(v) for v in wco.kpis_of.values()) == 46
    internal = _live(monkeypatch, observations, "internal")
    ref = build(data.to_matrix(observations, CYCLE, REGION), FW.meta())
    np.testing.assert_allclose(internal.default_score_array, ref.index.reindex(internal.members), atol=1e-12)
    assert sum(len(v) for v in internal.kpis_of.values()) == 51


def test_from_build_refuses_to_mask_after_the_build():
    matrix = data.to_matrix(data.load_observations(), CYCLE, REGION)
    disc = disclosure_matrix(data.load_observations(), CYCLE, members=matrix.index, kpis=matrix.columns)
    with pytest.raises(SpecError, match="from_view"):
        LiveIndex.from_build(matrix, FW, disclosure=disc, audience="public")
