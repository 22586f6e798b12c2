"""Benchmark of a design review and of the cycles computations on the bundled data (AMS 2024).

Times :func:`pmm_lib.reporting.design.compare_designs` (two builds, alpha bootstraps, scorecards,
outcome correlations and 2 x ``n_samples`` paired Monte Carlo replications) and the pooled-panel
cycle comparison. The last printed line is JSON (seconds per case).
"""

from __future__ import annotations

import json
import time

from pmm_lib.analysis import cycles
from pmm_lib.core.build import build
from pmm_lib.core.spec import Spec
from pmm_lib.inputs.data import load_observations, to_matrix
from pmm_lib.inputs.framework import load_framework
from pmm_lib.paths import FRAMEWORK_PATH, METHODOLOGY_DIR
from pmm_lib.reporting.design import compare_designs


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    obs = load_observations()
    meta = load_framework().table()
    cand = METHODOLOGY_DIR / "candidates" / "reverse_merge.yaml"
    results = {}
    for n in (500, 2000):
        results[f"compare_designs n_samples={n}"] = _time(
            lambda n=n: compare_designs(FRAMEWORK_PATH, cand, region="AMS", cycle=2024, observations=obs, n_samples=n))
    common = cycles.panel_members(obs, 2024, 2022, region="AMS")

    def panel() -> None:
        pooled = cycles.pool_cycles({c: to_matrix(obs, c, "AMS") for c in (2022, 2024)}, members=common)
        res = build(pooled, meta, Spec.default())
        by = cycles.split_pooled(res.aggregated[["PMM", "TF", "RC", "ES", "OD"]])
        cycles.rank_stability(by[2022], by[2024], n_boot=2000, seed=1)

    results["pooled build + rank stability (2000 boot)"] = _time(panel)
    for name, sec in results.items():
        print(f"{name:50s} {sec:8.2f} s")
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))


if __name__ == "__main__":
    main()
