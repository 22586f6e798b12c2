"""Invariance: moving every value hidden from an audience changes nothing its run publishes.

Two real runs per audience (the runner, the project's notebooks, small knobs, no paper): one on
the bundled returns, one on a copy of the project (``PMM_HOME``, read by the notebook kernels)
where every value hidden from the audience is moved to the other end of its KPI's plausible
range. Every table the run writes (``tables/*.csv``) and every figure's data
(``figures/*.values.csv``) must be byte-identical. The same comparison for the internal audience
is the positive control: there nothing is hidden, the moved values are published, the tables differ.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pmm_lib.inputs import data
from pmm_lib.inputs.framework import load_framework
from pmm_lib.paths import ROOT
from pmm_lib.reporting import disclosure as dc
from pmm_lib.reporting.runs import RunRequest, execute_run

REGION, CYCLE = "MENA", 2024
KNOBS = {"n_boot": 10, "n_iter": 5, "n_samples": 16}


def _moved_project(tmp: Path, audience: str, *, far: bool = True) -> tuple[Path, int]:
    """A project copy whose observations have every value hidden from ``audience`` (every cycle)
    moved to the far end of its KPI's plausible range (``far``) or 10 % of the way there."""
    obs = data.load_observations()
    bounds = load_framework().table().set_index("code")[["lower", "upper"]]
    visible = dc.visible_levels(audience)
    hidden = ~obs["disclosure"].isin(visible).to_numpy()
    lo = bounds.loc[obs["kpi"], "lower"].to_numpy(float)
    hi = bounds.loc[obs["kpi"], "upper"].to_numpy(float)
    v = obs["value"].to_numpy(float)
    moved = np.where(v - lo > hi - v, lo, hi)  # the far end
    if not far:
        moved = v + 0.1 * (moved - v)
    obs = obs.assign(value=np.where(hidden, moved, v))
    (tmp / "data" / "processed").mkdir(parents=True)
    obs.to_parquet(tmp / "data" / "processed" / data.OBSERVATIONS_PARQUET, index=False)
    (tmp / "data" / "raw").symlink_to(ROOT / "data" / "raw")
    (tmp / "methodology").symlink_to(ROOT / "methodology")
    return tmp, int(hidden.sum())


def _published(run_dir: Path) -> dict[str, bytes]:
    files = sorted((run_dir / "tables").glob("*.csv")) + sorted((run_dir / "figures").glob("*.values.csv"))
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in files}


def _run(out: Path, audience: str, home: Path | None, monkeypatch: pytest.MonkeyPatch) -> Path:
    with monkeypatch.context() as m:
        if home is not None:
            m.setenv("PMM_HOME", str(home))
        res = execute_run(RunRequest(REGION, CYCLE, audience=audience, outputs_dir=out, render=False,
                                     parameters=KNOBS))
    assert res.ok, res.error
    return res.run_dir


@pytest.mark.slow
@pytest.mark.parametrize("audience", ["public", "wco"])
def test_moving_every_hidden_value_leaves_every_published_table_unchanged(audience, tmp_path, monkeypatch):
    home, n_moved = _moved_project(tmp_path / "home", audience)
    assert n_moved > 100
    base = _published(_run(tmp_path / "a", audience, None, monkeypatch))
    moved = _published(_run(tmp_path / "b", audience, home, monkeypatch))
    assert len(base) >= 20 and base.keys() == moved.keys()
    changed = sorted(k for k in base if base[k] != moved[k])
    assert changed == [], f"{audience}: these artefacts depend on values the audience may not see: {changed}"
    assert os.environ.get("PMM_HOME") is None


@pytest.mark.slow
def test_positive_control_the_internal_edition_does_change(tmp_path, monkeypatch):
    """The comparison has teeth: the values hidden from wco are data of the internal edition, so
    moving them (10 % of the way to the far bound) changes its tables."""
    home, _ = _moved_project(tmp_path / "home", "wco", far=False)
    base = _published(_run(tmp_path / "a", "internal", None, monkeypatch))
    moved = _published(_run(tmp_path / "b", "internal", home, monkeypatch))
    changed = sorted(k for k in base if base[k] != moved[k])
    assert len(changed) >= 10 and "tables/tbl-effective-weights.csv" in changed, changed


def test_moved_project_really_moves_hidden_values(tmp_path):
    home, n = _moved_project(tmp_path / "home", "public")
    moved = pd.read_parquet(home / "data" / "processed" / data.OBSERVATIONS_PARQUET)
    obs = data.load_observations()
    diff = moved["value"].to_numpy() != obs["value"].to_numpy()
    assert diff.sum() > 0.9 * n and not diff[obs["disclosure"].eq("public").to_numpy()].any()
