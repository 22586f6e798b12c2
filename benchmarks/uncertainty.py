"""Benchmark of the uncertainty engine (pmm_lib.uncertainty) against a structure-aware numpy floor and COINr.

Problems:

* ASEM (COINr's example, tests/data/coinr-asem: 51 units, 49 indicators, 4 levels) with
  COINr's sensitivity set-up: winsorisation limit winmax 1..5, min-max [1, 100] vs z-score
  (10, 2), +-25 % noise on the weights of levels 2 and 3, arithmetic vs geometric mean.
  Reference: COINr 1.1.14 measured on the same problem needs 130 ms of CPU per replication
  (7.7 replications/s), one sitting.
* PMM: every Member x 51 KPIs, cycle 2024, region ALL (bundled synthetic returns), with
  the same kinds of assumptions (and the default 50 % aggregation coverage rule).

Figures:

* ``asem_whole_rps``: the whole Monte Carlo analysis at N = 100,000 in process (nominal build,
  design, every distinct normalised matrix, kernel, ranks, rank intervals) per second;
* ``asem_floor_rps``: the structure-aware numpy floor measured in the same run on the same
  design: given the group matrices, level 2 aggregated once per group, then for every sample
  one GEMM per parent and the ranks of the tracked codes (argsort), nothing else (no missing
  values, no checks, no summaries); ``asem_floor_scores_rps`` the same without ranks;
* ``asem_e2e_1000_seconds``: end to end at N = 1,000 (best of 5; build, design, evaluate, summaries);
* ``peak_rss_10k_units_10k_mb``: peak RSS of a subprocess running the analysis (summaries only)
  on 10,000 synthetic units (ASEM hierarchy) x 10,000 replications.

Wall-clock figures depend on how busy the machine is (the ``load_average`` is printed); the
``*_cpu_*`` figures count CPU time of this process. The whole analysis and the floor are
measured interleaved, best of 3 each. The engine evaluates batches on one thread per core
(``evaluate(threads=...)``, BLAS on one thread); the floor's batched products use BLAS's own
threads. Prints a
readable report, then as its LAST line one JSON object.

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

#: COINr 1.1.14 on ASEM with its four uncertain assumptions: CPU milliseconds per replication
COINR_MS_PER_REPLICATION = 130.0


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
    prep = sa.prepare(data, meta, problem, opts)  # nominal build (once per analysis)
    design = sa.sample_design(data, meta, problem, n, seed=seed, _prep=prep)
    reps = sa.evaluate(data, meta, problem, design, _prep=prep)
    return time.perf_counter() - t0, time.process_time() - c0, reps


def time_whole(data, meta, problem, opts, n: int, seed: int) -> tuple[float, float, int]:
    """The whole analysis as a user runs it: uncertainty_analysis (build, design, evaluate, summaries)."""
    t0, c0 = time.perf_counter(), time.process_time()
    ua = sa.uncertainty_analysis(data, meta, problem, n_samples=n, seed=seed, build_options=opts)
    return time.perf_counter() - t0, time.process_time() - c0, len(ua.rank_intervals)


def floor(data, meta, problem, opts, n: int, seed: int, ranks: bool = True) -> tuple[float, float]:
    """The structure-aware numpy floor on the same design (see the module docstring).

    The group matrices are computed before the clock starts; then per group and aggregation:
    the indicator level once (its weights never vary), every noisy level by one GEMM per
    parent over all the group's samples, and (``ranks``) the ranks of the tracked codes.
    """
    import dataclasses

    from pmm_lib.core.rank import rank_desc_int

    prep = sa.prepare(data, meta, problem, opts)
    design = sa.sample_design(data, meta, problem, n, seed=seed, _prep=prep)
    h = prep.hierarchy
    ch = {name: design.values(name) for name in design.names}
    keys = np.stack([ch["treat"], ch["normalise"]], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    b = problem.base
    mats = []
    for t, nm in uniq:
        spec = dataclasses.replace(b, treat=problem.treat[t], normalise=problem.normalise[nm])
        x1 = prep.pipeline.stage("normalised", spec).reindex(index=prep.units, columns=list(h.leaves)).to_numpy()
        assert not np.isnan(x1).any(), "the floor assumes complete matrices"
        mats.append(x1)
    lv_slices, start = {}, 0
    for lv in range(1, h.n_levels):
        lv_slices[lv] = slice(start, start + len(h.level_codes[lv]))
        start += len(h.level_codes[lv])
    groups3 = [np.flatnonzero(r) for r in h.incidence[3]]
    a4 = h.incidence[4]
    w_nom = prep.nominal_weights
    t0, c0 = time.perf_counter(), time.process_time()
    for g in range(len(uniq)):
        rows_g = np.flatnonzero(inv == g)
        for agg in (0, 1):
            rows = rows_g[ch["aggregate"][rows_g] == agg]
            if not len(rows):
                continue
            w = w_nom[None, :] * design.weight_bank[ch["weights"][rows]]
            x1 = mats[g]
            w1 = w_nom[lv_slices[1]]
            a2 = h.incidence[2] * w1[None, :]
            if agg == 0:
                x2 = (x1 @ a2.T) / a2.sum(axis=1)
            else:
                x2 = np.exp((np.log(x1) @ a2.T) / a2.sum(axis=1))
            t2 = x2 if agg == 0 else np.log(x2)
            w2 = w[:, lv_slices[2]]
            x3 = np.empty((len(rows), len(x1), len(groups3)))
            for p, kids in enumerate(groups3):
                x3[:, :, p] = (w2[:, kids] @ t2[:, kids].T) / w2[:, kids].sum(axis=1)[:, None]
            if agg == 1:
                np.exp(x3, out=x3)
            w3 = w[:, lv_slices[3]]
            t3 = x3 if agg == 0 else np.log(x3)
            x4 = np.matmul(t3, (w3[:, :, None] * a4.T[None])) / (w3 @ a4.T)[:, None, :]
            if agg == 1:
                np.exp(x4, out=x4)
            if ranks:
                rank_desc_int(x4[:, :, 0], np.int16)
                for p in range(x3.shape[2]):
                    rank_desc_int(x3[:, :, p], np.int16)
    return time.perf_counter() - t0, time.process_time() - c0


def time_loop(data, meta, problem, opts, n: int, seed: int) -> tuple[float, float, float]:
    """Replications per second (wall, CPU) of a plain loop over build(); max |score diff| vs engine."""
    design = sa.sample_design(data, meta, problem, n, seed=seed, build_options=opts)
    reps = sa.evaluate(data, meta, problem, design, build_options=opts, score_dtype=np.float64)
    t0, c0 = time.perf_counter(), time.process_time()
    diff = 0.0
    for i in range(n):
        res = sa.build_replication(data, meta, problem, design, i, build_options=opts)
        sc = res.aggregated.reindex(index=reps.units, columns=list(reps.targets)).to_numpy()
        diff = max(diff, float(np.nanmax(np.abs(sc - reps.scores[i]))))
    return n / (time.perf_counter() - t0), n / (time.process_time() - c0), diff


_RSS_CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
import numpy as np, pandas as pd
from uncertainty import asem_problem
from pmm_lib.uncertainty import sensitivity as sa
data, meta, problem, opts = asem_problem()
gen = np.random.default_rng(0)
pick = gen.integers(0, len(data), {units})
big = data.iloc[pick].copy()
num = big.select_dtypes("number").columns
big[num] = big[num] * gen.uniform(0.9, 1.1, (len(big), len(num)))
big.index = [f"U{{i:05d}}" for i in range(len(big))]
groups = opts["groups"].iloc[pick].copy(); groups.index = big.index
den = opts["denominators"].iloc[pick].copy(); den.index = big.index
t0 = time.perf_counter()
ua = sa.uncertainty_analysis(big, meta, problem, n_samples={n}, seed=1,
                             build_options={{"groups": groups, "denominators": den}}, keep_replications=False)
print(len(ua.rank_intervals), round(time.perf_counter() - t0, 2),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
"""


def peak_rss_subprocess(units: int, n: int) -> tuple[float, float, int]:
    """Peak RSS (MB) and seconds of the analysis on ``units`` synthetic units x ``n`` replications."""
    import subprocess

    code = _RSS_CHILD.format(root=str(ROOT), bench=str(ROOT / "benchmarks"), units=units, n=n)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rows, secs, rss = proc.stdout.split()[-3:]
    return float(rss), float(secs), int(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = ap.parse_args(argv)
    n_mc = 6_000 if args.quick else 60_000
    n_base = 1_000 if args.quick else 10_000
    n_loop = 5 if args.quick else 20
    n_pmm = 4_000 if args.quick else 20_000
    n_whole = 10_000 if args.quick else 100_000
    n_rss_units, n_rss = (2_000, 2_000) if args.quick else (10_000, 10_000)
    out: dict[str, float | int | bool] = {"load_average_1min": round(os.getloadavg()[0], 2),
                                          "cpu_count": os.cpu_count() or 0}

    data, meta, problem, opts = asem_problem()
    print(f"ASEM: {data.shape[0]} units x {data.shape[1]} indicators; factors {problem.varied}; "
          f"load average {out['load_average_1min']} on {out['cpu_count']} cores")
    sa.uncertainty_analysis(data, meta, problem, n_samples=200, seed=0, build_options=opts)  # warm-up
    warm = sa.sobol_design([sa.Factor("x")], 4, seed=0)
    sa.sobol_indices(warm.u[:, 0], warm, num_resamples=4, seed=0)
    out["coinr_ms_per_replication"] = COINR_MS_PER_REPLICATION
    # the whole analysis at N = 100,000 and the floor on the same design, side by side:
    # interleaved, best of 3 for each (a busy moment of the machine then hits neither alone)
    best = {"whole": (np.inf, np.inf), "floor": (np.inf, np.inf), "scores": (np.inf, np.inf)}
    for _ in range(1 if args.quick else 3):
        for name, run in (("whole", lambda: time_whole(data, meta, problem, opts, n_whole, seed=1)[:2]),
                          ("floor", lambda: floor(data, meta, problem, opts, n_whole, seed=1)),
                          ("scores", lambda: floor(data, meta, problem, opts, n_whole, seed=1, ranks=False))):
            wall, cpu_s = run()
            if name == "whole" and "asem_whole_first_rps" not in out:  # the cold first call, for the record
                out["asem_whole_first_rps"] = round(n_whole / wall, 1)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu_s))
    (secs, cpu), (f_secs, f_cpu), (s_secs, s_cpu) = best["whole"], best["floor"], best["scores"]
    out["asem_whole_rps"] = round(n_whole / secs, 1)
    out["asem_whole_cpu_rps"] = round(n_whole / cpu, 1)
    out["asem_floor_rps"] = round(n_whole / f_secs, 1)
    out["asem_floor_cpu_rps"] = round(n_whole / f_cpu, 1)
    out["asem_floor_scores_rps"] = round(n_whole / s_secs, 1)
    out["asem_floor_scores_cpu_rps"] = round(n_whole / s_cpu, 1)
    out["asem_whole_over_floor"] = round(out["asem_whole_rps"] / out["asem_floor_rps"], 3)
    out["asem_whole_over_floor_cpu"] = round(out["asem_whole_cpu_rps"] / out["asem_floor_cpu_rps"], 3)
    out["asem_vs_coinr_cpu"] = round(out["asem_whole_cpu_rps"] * COINR_MS_PER_REPLICATION / 1000, 1)
    print(f"  whole analysis, N = {n_whole:,}: {secs:.2f} s = {out['asem_whole_rps']:,.0f} rps "
          f"(CPU {cpu:.2f} s = {out['asem_whole_cpu_rps']:,.0f} rps)")
    print(f"  structure-aware numpy floor (scores + ranks): {out['asem_floor_rps']:,.0f} rps "
          f"(CPU {out['asem_floor_cpu_rps']:,.0f}); scores only {out['asem_floor_scores_rps']:,.0f} rps "
          f"(CPU {out['asem_floor_scores_cpu_rps']:,.0f}); whole / floor = {out['asem_whole_over_floor']:.2f} "
          f"(CPU {out['asem_whole_over_floor_cpu']:.2f})")
    print(f"  COINr 1.1.14: {COINR_MS_PER_REPLICATION:.0f} ms CPU per replication -> "
          f"x{out['asem_vs_coinr_cpu']:,.0f} (CPU)")
    e2e, e2e_cpu = [], []
    for r in range(5):
        w, c, _ = time_whole(data, meta, problem, opts, 1000, seed=10 + r)
        e2e.append(w)
        e2e_cpu.append(c)
    out["asem_e2e_1000_seconds"] = round(min(e2e), 4)
    out["asem_e2e_1000_cpu_seconds"] = round(min(e2e_cpu), 4)
    print(f"  end to end at N = 1,000 (build, design, evaluate, summaries): best of 5 {min(e2e):.3f} s "
          f"(CPU {min(e2e_cpu):.3f} s)")
    secs, cpu, reps = time_vectorised(data, meta, problem, opts, n_mc, seed=1)
    out["asem_vectorised_rps"] = round(n_mc / secs, 1)
    out["asem_vectorised_cpu_rps"] = round(n_mc / cpu, 1)
    out["asem_groups"] = reps.n_groups
    del reps
    loop_rps, loop_cpu_rps, diff = time_loop(data, meta, problem, opts, n_loop, seed=2)
    out["asem_loop_rps"] = round(loop_rps, 2)
    out["asem_loop_cpu_rps"] = round(loop_cpu_rps, 2)
    out["asem_speedup"] = round(out["asem_vectorised_rps"] / loop_rps, 1)
    out["asem_cpu_speedup"] = round(out["asem_vectorised_cpu_rps"] / loop_cpu_rps, 1)
    out["asem_loop_max_abs_diff"] = diff
    print(f"  loop over build(): {loop_rps:.2f} rps (CPU {loop_cpu_rps:.2f} rps; max |score diff| vs engine {diff:.2e}); "
          f"speed-up x{out['asem_speedup']:,.0f}")

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

    rss, rss_s, rss_rows = peak_rss_subprocess(n_rss_units, n_rss)
    out["peak_rss_10k_units_10k_mb"] = round(rss, 1)
    out["rss_10k_units_10k_seconds"] = rss_s
    print(f"{n_rss_units:,} units x {n_rss:,} replications (summaries only, 3 codes, subprocess): "
          f"peak RSS {rss:.0f} MB in {rss_s:.1f} s ({rss_rows:,} rank-interval rows)")
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    out["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    out["quick"] = bool(args.quick)
    print(f"peak RSS {out['peak_rss_mb']:.0f} MB")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
