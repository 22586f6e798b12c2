"""Benchmark of the uncertainty/sensitivity engine (pmm_lib.uncertainty.sensitivity) against a plain loop.

Problems:

* ASEM (COINr's example, tests/data/coinr-asem: 51 units, 49 indicators, 4 levels) with
  COINr's sensitivity set-up: winsorisation limit winmax 1..5, min-max [1, 100] vs z-score
  (10, 2), +-25 % noise on the weights of levels 2 and 3, arithmetic vs geometric mean.
  Reference: COINr 1.1.14 needs ~75 ms per replication (~13 replications/s).
* PMM: every Member x 51 KPIs, cycle 2024, region ALL (bundled synthetic returns), with
  the same kinds of assumptions (and the default 50 % aggregation coverage rule).

Wall-clock figures depend on how busy the machine is; CPU-time figures (``*_cpu_*``) do not
(the engine runs on one core). Prints a readable report, then as its LAST line one JSON object with (at least)
``asem_vectorised_rps, asem_loop_rps, pmm_vectorised_rps, sobol_60k_seconds, peak_rss_mb``.

Run: ``.venv/bin/python benchmarks/uncertainty.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pmm_lib.core.spec import NormaliseSpec, Spec, TreatSpec  # noqa: E402
from pmm_lib.uncertainty import sensitivity as sa  # noqa: E402


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def _normalise_alternatives() -> tuple[NormaliseSpec, NormaliseSpec]:
    return (NormaliseSpec("minmax", low=1.0, high=100.0), NormaliseSpec("zscore", mean=10.0, sd=2.0))


def asem_problem():
    """COINr's ASEM build and sensitivity set-up (see the module docstring)."""
    from pmm_lib.core.spec import ImputeSpec, ScreenSpec
    from pmm_lib.inputs.coinr import load_coinr

    ds = load_coinr(ROOT / "tests/data/coinr-asem/ASEM_iData.csv", ROOT / "tests/data/coinr-asem/ASEM_iMeta.csv")
    base = Spec(denominate=True, impute=ImputeSpec("group_mean", "EurAsia_group"), screen=ScreenSpec(0.9),
                treat=TreatSpec("winsorise"), normalise=NormaliseSpec("minmax", low=1.0, high=100.0))
    problem = sa.UncertaintyProblem(base, treat=sa.winmax_alternatives(base.treat, range(1, 6)),
                                    normalise=_normalise_alternatives(),
                                    aggregate=("arithmetic", "geometric"), weight_noise={2: 0.25, 3: 0.25})
    return ds.data, ds.meta, problem, {"groups": ds.groups, "denominators": ds.denominators}


def pmm_problem():
    """All Members x 51 KPIs (2024, region ALL) with the same kinds of assumptions."""
    from pmm_lib.errors import InputError
    from pmm_lib.inputs import data as data_mod
    from pmm_lib.inputs.framework import load_framework

    try:
        obs = data_mod.load_observations()
    except InputError:  # bundled returns not written yet: generate them in memory
        from pmm_lib.inputs.synthetic import generate

        obs = generate(seed=20240601).observations
    matrix = data_mod.to_matrix(obs, 2024, "ALL")
    meta = load_framework().meta()
    base = Spec.default()
    base = Spec(treat=base.treat, normalise=NormaliseSpec("minmax", low=1.0, high=100.0), aggregate=base.aggregate)
    problem = sa.UncertaintyProblem(base, treat=sa.winmax_alternatives(base.treat, range(1, 6)),
                                    normalise=_normalise_alternatives(),
                                    aggregate=("arithmetic", "geometric"), weight_noise={2: 0.25, 3: 0.25})
    return matrix, meta, problem, {}


def time_vectorised(data, meta, problem, opts, n: int, seed: int) -> tuple[float, float, sa.Replications]:
    """Wall and CPU time of a full Monte Carlo evaluation (nominal build, design, group
    matrices, kernel, ranks)."""
    t0, c0 = time.perf_counter(), time.process_time()
    prep = sa._prepare(data, meta, problem, opts)  # nominal build (once per analysis)
    design = sa.sample_design(data, meta, problem, n, seed=seed, _prep=prep)
    reps = sa.evaluate(data, meta, problem, design, _prep=prep)
    return time.perf_counter() - t0, time.process_time() - c0, reps


def time_loop(data, meta, problem, opts, n: int, seed: int) -> tuple[float, float]:
    """Replications per second (wall, CPU) of a plain loop over build(); max |score diff| vs engine."""
    design = sa.sample_design(data, meta, problem, n, seed=seed, build_options=opts)
    reps = sa.evaluate(data, meta, problem, design, build_options=opts)
    t0, c0 = time.perf_counter(), time.process_time()
    diff = 0.0
    for i in range(n):
        res = sa.build_replication(data, meta, problem, design, i, build_options=opts)
        sc = res.aggregated.reindex(index=reps.units, columns=list(reps.targets)).to_numpy()
        diff = max(diff, float(np.nanmax(np.abs(sc - reps.scores[i]))))
    return n / (time.perf_counter() - t0), n / (time.process_time() - c0), diff


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = ap.parse_args(argv)
    n_mc = 6_000 if args.quick else 60_000
    n_base = 1_000 if args.quick else 10_000
    n_loop = 5 if args.quick else 20
    n_pmm = 4_000 if args.quick else 20_000
    out: dict[str, float | int | bool] = {"load_average_1min": round(os.getloadavg()[0], 2),
                                          "cpu_count": os.cpu_count() or 0}

    data, meta, problem, opts = asem_problem()
    print(f"ASEM: {data.shape[0]} units x {data.shape[1]} indicators; factors {problem.varied}")
    sa.evaluate(data, meta, problem, sa.sample_design(data, meta, problem, 50, seed=0, build_options=opts),
                build_options=opts)  # warm-up: imports (SALib, SciPy) and caches, once per session
    warm = sa.sobol_design([sa.Factor("x")], 4, seed=0)
    sa.sobol_indices(warm.u[:, 0], warm, num_resamples=4, seed=0)
    secs, cpu, reps = time_vectorised(data, meta, problem, opts, n_mc, seed=1)
    out["asem_vectorised_rps"] = round(n_mc / secs, 1)
    out["asem_vectorised_cpu_rps"] = round(n_mc / cpu, 1)
    out["asem_vectorised_seconds"] = round(secs, 3)
    out["asem_groups"] = reps.n_groups
    print(f"  vectorised: {n_mc} replications in {secs:.2f} s = {n_mc / secs:,.0f} rps "
          f"(CPU {cpu:.2f} s = {n_mc / cpu:,.0f} rps) "
          f"({reps.n_groups} distinct normalised matrices, {int(reps.failed.sum())} failed)")
    loop_rps, loop_cpu_rps, diff = time_loop(data, meta, problem, opts, n_loop, seed=2)
    out["asem_loop_rps"] = round(loop_rps, 2)
    out["asem_loop_cpu_rps"] = round(loop_cpu_rps, 2)
    out["asem_speedup"] = round(out["asem_vectorised_rps"] / loop_rps, 1)
    out["asem_cpu_speedup"] = round(out["asem_vectorised_cpu_rps"] / loop_cpu_rps, 1)
    out["asem_loop_max_abs_diff"] = diff
    print(f"  loop over build(): {loop_rps:.2f} rps (CPU {loop_cpu_rps:.2f} rps; max |score diff| vs engine {diff:.2e}); "
          f"speed-up x{out['asem_speedup']:,.0f}; COINr 1.1.14 reference ~13 rps "
          f"(x{out['asem_vectorised_rps'] / 13:,.0f})")
    del reps

    t0, c0 = time.perf_counter(), time.process_time()
    res = sa.sensitivity_analysis(data, meta, problem, n_base=n_base, seed=3, build_options=opts)
    sobol_s = time.perf_counter() - t0
    out["sobol_60k_seconds"] = round(sobol_s, 3)
    out["sobol_60k_cpu_seconds"] = round(time.process_time() - c0, 3)
    out["sobol_replications"] = res.replications.n
    out["sobol_converged"] = res.converged
    idx = res.indices
    top = idx[(idx["code"] == "Index") & (idx["output"] == "mean_abs_rank_shift")]
    print(f"  Sobol': N={n_base} base samples, {res.replications.n} replications, indices + bootstrap "
          f"CIs + N/2 convergence in {sobol_s:.2f} s (CPU {out['sobol_60k_cpu_seconds']:.2f} s); "
          f"converged: {res.converged}")
    for row in top.itertuples():
        print(f"    Index mean |rank shift|  {row.factor:<10} {row.order:<5} {row.estimate:6.3f} "
              f"[{row.ci_low:6.3f}, {row.ci_high:6.3f}]")
    del res

    data, meta, problem, opts = pmm_problem()
    print(f"PMM: {data.shape[0]} Members x {data.shape[1]} KPIs, {int(data.isna().sum().sum())} missing values")
    secs, cpu, reps = time_vectorised(data, meta, problem, opts, n_pmm, seed=4)
    out["pmm_vectorised_rps"] = round(n_pmm / secs, 1)
    out["pmm_vectorised_cpu_rps"] = round(n_pmm / cpu, 1)
    out["pmm_vectorised_seconds"] = round(secs, 3)
    out["pmm_failed"] = int(reps.failed.sum())
    print(f"  vectorised: {n_pmm} replications in {secs:.2f} s = {n_pmm / secs:,.0f} rps "
          f"(CPU {n_pmm / cpu:,.0f} rps; {reps.n_groups} groups, {int(reps.failed.sum())} failed)")
    del reps
    pmm_loop_rps, pmm_loop_cpu_rps, diff = time_loop(data, meta, problem, opts, max(3, n_loop // 4), seed=5)
    out["pmm_loop_rps"] = round(pmm_loop_rps, 2)
    out["pmm_loop_cpu_rps"] = round(pmm_loop_cpu_rps, 2)
    out["pmm_speedup"] = round(out["pmm_vectorised_rps"] / pmm_loop_rps, 1)
    out["pmm_cpu_speedup"] = round(out["pmm_vectorised_cpu_rps"] / pmm_loop_cpu_rps, 1)
    print(f"  loop over build(): {pmm_loop_rps:.2f} rps (max |score diff| {diff:.2e}); "
          f"speed-up x{out['pmm_speedup']:,.0f}")

    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    out["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    out["quick"] = bool(args.quick)
    print(f"peak RSS {out['peak_rss_mb']:.0f} MB")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
