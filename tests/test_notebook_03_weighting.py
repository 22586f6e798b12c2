"""notebooks/03_weighting.ipynb: structure (parameters, question, labelled figures, no outputs)
and, marked slow, a headless run that writes the artefacts the paper embeds."""

from __future__ import annotations

import json
import re

import nbformat
import pandas as pd
import pytest

from pmm_lib.paths import NOTEBOOKS_DIR
from pmm_lib.reporting.cellopts import figure_options
from pmm_lib.reporting.params import RUN_PARAMETERS


class _Any(dict):
    """A namespace in which every caption field exists (the structure test does not run the notebook)."""

    def __missing__(self, key):
        return _Field()


class _Field:
    def __getattr__(self, name):
        return self

    def __getitem__(self, key):
        return self

    def __format__(self, spec):
        return "x"

NB = NOTEBOOKS_DIR / "03_weighting.ipynb"
LABELS = ("fig-weighting-rankshift", "tbl-effective-weights", "tbl-weighting-ranks",
          "tbl-index-scores")


def test_structure():
    nb = nbformat.read(NB, as_version=4)
    first, second = nb.cells[0], nb.cells[1]
    assert first.cell_type == "code" and "parameters" in first.metadata.get("tags", [])
    params = dict(re.findall(r"^(\w+) = (.+)$", first.source, flags=re.M))
    # the run parameters only: their defaults live once in pmm_lib.reporting.params.RunParams
    assert {k: params.get(k) for k in RUN_PARAMETERS} == dict.fromkeys(RUN_PARAMETERS, "None")
    assert second.cell_type == "markdown" and "**Question:**" in second.source
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert not any(re.search(r"^\s*(def|class) ", c.source, flags=re.M) for c in code)
    for c in code:
        if "save_figure(" in c.source:
            label, caption = figure_options(source=c.source, namespace=_Any())
            assert label.startswith("fig-") and caption
    text = "\n".join(c.source for c in code)
    for label in LABELS:
        assert f'"{label}"' in text or f"#| label: {label}" in text


@pytest.mark.slow
def test_runs_headless_and_writes_artefacts(tmp_path):
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "run"
    out.mkdir()
    papermill.execute_notebook(str(NB), str(out / "03.ipynb"), cwd=str(tmp_path),
                               parameters={"out_dir": str(out), "audience": "public"},
                               progress_bar=False)
    for label in LABELS:
        kind = "figures" if label.startswith("fig-") else "tables"
        ext = "png" if kind == "figures" else "csv"
        assert (out / kind / f"{label}.{ext}").is_file(), label
        meta = json.loads((out / kind / f"{label}.json").read_text())
        assert meta["audience"] == "public" and meta["caption"]
    ranks = pd.read_csv(out / "tables" / "tbl-weighting-ranks.csv")
    assert list(ranks.columns) == ["member", "framework", "equal", "budget", "ahp", "pca",
                                   "balanced", "bod"]
    assert ranks["member"].str.startswith("Member-").all()  # pseudonyms for a public report
    ranked = ranks.drop(columns="member")
    assert ranked["framework"].notna().all()
    assert ((ranked >= 1) | ranked.isna()).all().all()
    # on the public view PCA weights can leave one Member below an outcome's weight coverage
    # (its visible KPIs there carry almost no PCA weight): unranked, never given a made-up rank
    assert (ranked.notna().sum() >= len(ranked) - 1).all()
    eff = pd.read_csv(out / "tables" / "tbl-effective-weights.csv")
    assert eff.groupby("parent")["effective"].sum().round(2).eq(1).all()  # public: 4 significant digits
