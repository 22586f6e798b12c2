"""Speed of the aggregation rules and weighting methods at PMM size.

Times, on all 186 WCO Members × 51 KPIs (uniform values in [1, 100], 10 % missing, the
framework hierarchy K → O → dimension → PMM):

* the leaf rules of :mod:`pmm_lib.core.aggregate` with a sample axis of weights (the uncertainty
  engine's use: thousands of weight vectors evaluated at once), reported as microseconds per
  weight sample;
* :func:`pmm_lib.core.aggregate.aggregate_hierarchy` for every method;
* the weighting methods of :func:`pmm_lib.core.weights.resolve_weights`.

Prints a table and, as the last line, JSON ``{"benchmark": "weighting", "results": [...]}``.

Run: ``.venv/bin/python benchmarks/weighting.py [--samples 5000] [--repeat 3] [--seed 1]``
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from pmm_lib.core import aggregate as agg
from pmm_lib.core import weights as W
from pmm_lib.inputs.framework import load_framework
from pmm_lib.paths import METHODOLOGY_DIR


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    meta = load_framework().meta()
    kpis = meta.loc[meta["level"] == 1, "code"].tolist()
    x = pd.DataFrame(rng.uniform(1, 100, size=(186, len(kpis))), columns=kpis,
                     index=[f"M{i:03d}" for i in range(186)])
    x = x.mask(rng.uniform(size=x.shape) < 0.10)
    v = x.to_numpy()
    ws = rng.dirichlet(np.ones(len(kpis)), size=args.samples)
    results = []

    def record(name: str, seconds: float, per: int | None = None) -> None:
        row = {"case": name, "seconds": round(seconds, 4)}
        if per:
            row["us_per_sample"] = round(1e6 * seconds / per, 2)
        results.append(row)

    for rule in (agg.arithmetic, agg.geometric, agg.harmonic):
        record(f"{rule.__name__}: 186 x 51, {args.samples} weight samples",
               _best(lambda r=rule: r(v, ws), args.repeat), args.samples)
    record(f"generalised p=0.5: 186 x 51, {args.samples} weight samples",
           _best(lambda: agg.generalised(v, ws, 0.5), args.repeat), args.samples)
    n_cop = min(args.samples, 500)
    record(f"copeland: 186 x 51, {n_cop} weight samples",
           _best(lambda: agg.copeland(v, ws[:n_cop]), args.repeat), n_cop)
    for method in ("arithmetic", "geometric", "copeland", "bod"):
        record(f"aggregate_hierarchy({method}), 186 Members",
               _best(lambda m=method: agg.aggregate_hierarchy(x, meta, method=m), 1))
    examples = METHODOLOGY_DIR / "weights"
    for method, opts in (("budget", {"points": examples / "example_budget.csv"}),
                         ("ahp", {"path": examples / "example_ahp.csv"}),
                         ("pca", {}), ("balanced", {}), ("bod", {})):
        record(f"resolve_weights({method}), 186 Members",
               _best(lambda m=method, o=opts: W.resolve_weights(m, x, meta, **o), 1))

    width = max(len(r["case"]) for r in results)
    print(f"{'case':<{width}}  {'seconds':>9}  {'us/sample':>10}")
    for r in results:
        per = f"{r['us_per_sample']:.2f}" if "us_per_sample" in r else ""
        print(f"{r['case']:<{width}}  {r['seconds']:>9.4f}  {per:>10}")
    print(json.dumps({"benchmark": "weighting", "results": results}))


if __name__ == "__main__":
    main()
