"""Latency of the participants' app: milliseconds per slider change, for all Members × 51 KPIs.

Drives :class:`pmm_lib.workshop.widgets.WeightingApp` the way the browser does (setting a widget's
value fires the same observers) and times each change from the new value to the refreshed
views (rebalancing, index, ranks, table, rank-shift chart, outcome correlation). Two data sets:

* ``synthetic-186``: all 186 WCO Members × 51 KPIs (uniform values, 10 % missing), the
  size the app must handle;
* ``bundled``: the bundled PMM data for the cycle (every participating Member), built with
  the method core as ``pmm workshop serve`` does.

Prints a table and, as the last line, JSON: ``{"benchmark": "widgets", "results": [...]}``
with ``median_ms`` and ``p95_ms`` per data set and kind of change. The target is < 100 ms.

Run: ``.venv/bin/python benchmarks/widgets.py [--changes 200] [--seed 1]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from pmm_lib.inputs.framework import load_framework
from pmm_lib.seed import rng
from pmm_lib.workshop.live import LiveIndex, load_live_index
from pmm_lib.workshop.widgets import WeightingApp


def _synthetic(seed: int) -> tuple[LiveIndex, pd.DataFrame]:
    fw = load_framework()
    g = rng(seed)
    members = [f"M{i:03d}" for i in range(186)]
    x = pd.DataFrame(g.uniform(0, 100, (186, len(fw.kpi_codes))), index=members, columns=fw.kpi_codes)
    x = x.mask(g.random(x.shape) < 0.10)
    outcomes = pd.DataFrame({"member": members, "year": 2018, "variable": "lpi_customs",
                             "value": g.normal(3, 0.5, 186)})
    return LiveIndex(x, fw), outcomes


def _measure(app: WeightingApp, kind: str, n: int, g: np.random.Generator) -> list[float]:
    times = []
    if kind == "kpi":
        app.kpi_dim.value = "TF"
    if kind == "ahp":
        app.mode.value = "ahp"
    for _ in range(n):
        if kind == "dimension":
            s = list(app.budget.sliders.values())[int(g.integers(4))]
        elif kind == "kpi":
            app.kpi_use["TF"].value = True
            sl = list(app.kpi_blocks["TF"].sliders.values())
            s = sl[int(g.integers(len(sl)))]
        else:
            s = app.ahp_sliders[int(g.integers(len(app.ahp_sliders)))]
        if kind == "ahp":
            new = s.options[int(g.integers(len(s.options)))][1]
        else:
            new = int(g.integers(0, 101))
        if new == s.value:
            continue
        t0 = time.perf_counter()
        s.value = new
        times.append((time.perf_counter() - t0) * 1000)
    app.reset_weights()
    app.kpi_dim.value = ""
    app.mode.value = "budget"
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=200, help="changes per kind (default 200)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cycle", type=int, default=2024)
    args = ap.parse_args(argv)
    g = rng(args.seed)
    datasets = {"synthetic-186": _synthetic(args.seed)}
    t0 = time.perf_counter()
    try:
        datasets["bundled"] = load_live_index("ALL", args.cycle)
        load_s = time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001 - the benchmark still reports the synthetic case
        print(f"bundled data unavailable: {exc}", file=sys.stderr)
        load_s = float("nan")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (live, outcomes) in datasets.items():
            app = WeightingApp(live, session="bench", outcomes=outcomes, root=tmp, join="Bench group")
            for kind in ("dimension", "kpi", "ahp"):
                _measure(app, kind, 10, g)                       # warm-up
                t = np.asarray(_measure(app, kind, args.changes, g))
                results.append({"data": name, "members": len(live.members), "kpis": len(live.framework.kpi_codes), "change": kind,
                                "n": int(t.size), "median_ms": round(float(np.median(t)), 2),
                                "p95_ms": round(float(np.percentile(t, 95)), 2),
                                "max_ms": round(float(t.max()), 2)})
    print(f"{'data':15s} {'members':>7s} {'change':>10s} {'n':>5s} {'median ms':>10s} {'p95 ms':>8s} {'max ms':>8s}")
    for r in results:
        print(f"{r['data']:15s} {r['members']:7d} {r['change']:>10s} {r['n']:5d} {r['median_ms']:10.2f} "
              f"{r['p95_ms']:8.2f} {r['max_ms']:8.2f}")
    print(f"bundled data load + normalisation once: {load_s:.2f} s")
    print(json.dumps({"benchmark": "widgets", "target_ms": 100, "load_s": round(load_s, 3),
                      "cpu_count": os.cpu_count(), "python": platform.python_version(), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
