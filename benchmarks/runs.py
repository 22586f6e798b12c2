"""Benchmark of the runner: wall time of one region's run and of all six regions in parallel.

Targets (issue 15, 2 cores): one region <= 12 s (``one_region_seconds``, as ``pmm run --region R``:
notebooks in CPU-count warm kernels, paper rendered) and all six regions <= 60 s
(``six_regions_seconds``, as ``pmm run --all-regions``: a pool of CPU-count workers, each keeping
one warm kernel from run to run), and ``pmm --help`` <= 0.3 s (``pmm_help_seconds``, a fresh
process, best of 5). Before the change: 23 s and 230 s (every notebook paid 3.5-4 s
of kernel start and imports). Prints one line per measurement and a JSON object as the last line.

    .venv/bin/python benchmarks/runs.py [--jobs 2] [--notebooks 01,02] [--param n_samples=64]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

from pmm_lib.reporting import runs
from pmm_lib.reporting.runs import RunRequest


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (kernels, workers, pandoc)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _load() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover
        return float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycle", type=int, default=2024)
    ap.add_argument("--region", default="AMS")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="parallel runs for all six regions, and parallel notebooks for the one-region run")
    ap.add_argument("--notebooks", default=None, help="comma list of notebook numbers (default: all)")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--skip-all", action="store_true", help="only the one-region run")
    ap.add_argument("--outputs-dir", type=Path, default=None, help="default: a temporary folder")
    args = ap.parse_args(argv)
    if not (os.environ.get("PMM_PSEUDONYM_KEY") or os.environ.get("PMM_PSEUDONYM_KEY_FILE")):
        import secrets  # a wco run needs a pseudonym key; the benchmark makes a throw-away one

        os.environ["PMM_PSEUDONYM_KEY"] = secrets.token_hex(32)
    knobs = {k: yaml.safe_load(v) for k, v in (p.split("=", 1) for p in args.param)}
    select = tuple(args.notebooks.split(",")) if args.notebooks else None
    tmp = None
    out = args.outputs_dir
    if out is None:
        tmp = tempfile.TemporaryDirectory(prefix="pmm-bench-")
        out = Path(tmp.name)
    result: dict[str, object] = {"cpu_count": os.cpu_count(), "jobs": args.jobs, "cycle": args.cycle,
                                 "notebooks": [p.name for p in runs.discover_notebooks(select=select)]}

    # start-up of the command line (target <= 0.3 s): `pmm --help` in a fresh process, best of 5
    import subprocess

    help_times = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pmm_lib.cli", "--help"], check=True, capture_output=True)
        help_times.append(time.perf_counter() - t)
    result["pmm_help_seconds"] = round(min(help_times), 3)
    print(f"pmm --help: {result['pmm_help_seconds']:.2f} s (best of 5)", flush=True)

    def request(region: str, notebook_jobs: int = 1) -> RunRequest:
        return RunRequest(region, args.cycle, notebooks=select, outputs_dir=out, parameters=knobs,
                          notebook_jobs=notebook_jobs)

    # set-up: one warm-up run of the first notebook (imports, kernel spec, font cache)
    t = time.perf_counter()
    runs.execute_run(RunRequest(args.region, args.cycle, notebooks=(result["notebooks"][0][:2],),  # type: ignore[index]
                                outputs_dir=out, render=False))
    result["setup_seconds"] = round(time.perf_counter() - t, 2)
    print(f"set-up (warm-up run of one notebook): {result['setup_seconds']:.1f} s", flush=True)

    t, c = time.perf_counter(), _cpu()
    result["load_before_one_region"] = _load()
    one = runs.execute_run(request(args.region, args.jobs))  # as `pmm run`: notebooks side by side
    result["one_region_seconds"] = round(time.perf_counter() - t, 2)
    # CPU seconds do not depend on what else the machine runs: the wall time an idle 2-core
    # machine needs is at least cpu / 2
    result["one_region_cpu_seconds"] = round(_cpu() - c, 2)
    result["one_region_ok"] = one.ok
    m = runs.load_manifest(one.run_dir)
    result["per_notebook_seconds"] = {n["name"]: n["seconds"] for n in m["notebooks"]}
    result["paper_seconds"] = m.get("paper", {}).get("seconds")
    result["one_region_timeline"] = m.get("timeline", {})
    print(f"one region ({args.region}): {result['one_region_seconds']:.1f} s wall, "
          f"{result['one_region_cpu_seconds']:.1f} s CPU, status {one.status}"
          + (f" ({one.error})" if not one.ok else ""), flush=True)
    for name, sec in result["per_notebook_seconds"].items():  # type: ignore[union-attr]
        print(f"  {name}: {sec:.1f} s")
    print(f"  paper: {result['paper_seconds']} s")
    print("  timeline (s since start): " + ", ".join(f"{k} {v}" for k, v in m.get("timeline", {}).items()))

    if not args.skip_all:
        t, c = time.perf_counter(), _cpu()
        result["load_before_six_regions"] = _load()
        many = runs.run_many([request(r) for r in runs.REGIONS], jobs=args.jobs, progress=False)
        result["six_regions_seconds"] = round(time.perf_counter() - t, 2)
        result["six_regions_cpu_seconds"] = round(_cpu() - c, 2)
        result["all_regions_seconds"] = result["six_regions_seconds"]  # the old key, kept for comparisons
        result["six_regions_ok"] = [r.ok for r in many]
        print(f"all six regions, {args.jobs} jobs: {result['six_regions_seconds']:.1f} s wall, "
              f"{result['six_regions_cpu_seconds']:.1f} s CPU, "
              f"{sum(r.ok for r in many)}/6 succeeded", flush=True)
        for r in many:
            if not r.ok:
                print(f"  {r.run_dir}: {r.error}")
    result["targets"] = {"one_region_seconds": 12, "six_regions_seconds": 60, "pmm_help_seconds": 0.3}
    if tmp is not None:
        tmp.cleanup()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
