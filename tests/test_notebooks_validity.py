"""Notebooks 02 (indicator validity) and 04 (trade-cost outcomes) run headless and write their labelled artefacts."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pmm_lib.analysis import outcomes
from pmm_lib.inputs import data
from pmm_lib.paths import NOTEBOOKS_DIR

papermill = pytest.importorskip("papermill")


def _run(name: str, tmp_path, **params) -> None:
    papermill.execute_notebook(str(NOTEBOOKS_DIR / name), str(tmp_path / name), parameters=params,
                               progress_bar=False, kernel_name="python3", cwd=str(tmp_path))


@pytest.mark.slow
def test_notebook_02_writes_contract_labels(tmp_path):
    out = tmp_path / "out"
    _run("02_indicator_validity.ipynb", tmp_path, region="ALL", cycle=2024, out_dir=str(out), n_boot=100, n_iter=50)
    for label in ("fig-correlation-heatmap", "fig-alpha", "fig-pca-scree"):
        assert (out / "figures" / f"{label}.png").stat().st_size > 10_000
        assert json.loads((out / "figures" / f"{label}.json").read_text())["caption"]
    for label in ("tbl-alpha", "tbl-scorecard", "tbl-pca"):
        assert (out / "tables" / f"{label}.csv").is_file()
    card = pd.read_csv(out / "tables" / "tbl-scorecard.csv").set_index("code")
    assert card.loc["K40", "verdict"] == "drop"  # the planted mis-directed KPI of the bundled data
    assert set(card.loc[["K46", "K47"], "verdict"]) == {"review"}


@pytest.mark.slow
def test_notebook_04_writes_contract_labels_and_the_lpi_db_relation(tmp_path):
    out = tmp_path / "out"
    _run("04_trade_cost_outcomes.ipynb", tmp_path, region="AMS", cycle=2024, out_dir=str(out))
    for label in ("fig-outcome-correlations", "fig-lpi-db-scatter", "fig-ols-coefficients"):
        assert (out / "figures" / f"{label}.png").is_file()
    for label in ("tbl-outcome-correlations", "tbl-ols", "tbl-lpi-db"):
        assert (out / "tables" / f"{label}.csv").is_file()
    got = pd.read_csv(out / "tables" / "tbl-lpi-db.csv").set_index("method")
    ref = outcomes.lpi_vs_db(data.load_outcomes()).set_index("method")
    assert got.loc["pearson", "estimate"] == pytest.approx(ref.loc["pearson", "estimate"], rel=1e-3)  # wco: 4 digits
    assert got.loc["pearson", "n"] == ref.loc["pearson", "n"]
