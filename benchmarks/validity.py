"""Timings of the validity and outcome analyses on the bundled data (all regions, cycle 2024).

Run: .venv/bin/python benchmarks/validity.py  — prints one line per analysis (best of 3).
"""

from __future__ import annotations

import time

from pmm_lib.analysis import outcomes, validity
from pmm_lib.core import build
from pmm_lib.inputs import data


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    res = build.build_pmm(region="ALL", cycle=2024, seed=1)
    x, meta = res.normalised, res.meta
    outs = data.load_outcomes()
    wide = outcomes.outcome_table(outs, outcomes.DEFAULT_OUTCOMES, as_of=2024, members=x.index)
    scores = res.aggregated[[res.top, *res.scores(3).columns]]
    cases = {
        "consistency_table (27 nodes, 1000 boot, pairwise)":
            lambda: validity.consistency_table(x, meta, n_boot=1000, seed=1, missing="pairwise"),
        "correlation_table (51 KPIs, pearson+spearman)": lambda: validity.correlation_table(x),
        "pca_table (4 dimensions, 500 parallel draws)":
            lambda: validity.pca_table(x, meta, n_iter=500, seed=1, missing="pairwise"),
        "efa_table (4 dimensions, ML + varimax)": lambda: validity.efa_table(x, meta, seed=1),
        "scorecard (51 KPIs)": lambda: validity.scorecard(res.raw, meta, oriented=False),
        "outcome_correlations (5 scores x 12 outcomes)": lambda: outcomes.outcome_correlations(scores, wide),
        "ols_outcomes (5 x 12 models, HC3)": lambda: outcomes.ols_outcomes(scores, wide, controls=()),
        "lpi_vs_db (real data)": lambda: outcomes.lpi_vs_db(outs),
    }
    print(f"units = {len(x)}, KPIs = {x.shape[1]}")
    for name, fn in cases.items():
        print(f"{name:55s} {best(fn):8.3f} s")


if __name__ == "__main__":
    main()
