"""``pmm uncertainty``: Monte Carlo rank intervals (and Sobol' indices) on the PMM data."""

from __future__ import annotations

import argparse
from pathlib import Path

from pmm_lib.vocab import DEFAULT_SEED

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm uncertainty``."""
    parser.add_argument("--region", default="AMS", help="WCO region code or ALL (default AMS)")
    parser.add_argument("--cycle", type=int, default=None, help="PMM cycle (default: the latest)")
    parser.add_argument("--spec", type=Path, default=None, help="spec YAML (default: the recommended build)")
    parser.add_argument("--n-samples", type=int, default=1000,
                        help="Monte Carlo replications; also the Sobol' base sample size N")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--sobol", action="store_true", help="also estimate Sobol' indices (N (k+2) replications)")
    parser.add_argument("--exclude-kpis", action="store_true", help="add the exclusion of single KPIs as a factor")
    parser.add_argument("--weight-sets", type=Path, default=None,
                        help="CSV of alternative weight sets (submission, code, weight)")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for rank_intervals.csv, summary.csv (and sobol.csv, convergence.csv)")


def run(args: argparse.Namespace) -> int:
    """Run ``pmm uncertainty``: the standard problem on the PMM data; tidy CSVs written atomically."""
    import time

    import pandas as pd

    from pmm_lib.core.spec import Spec
    from pmm_lib.io import write_text_atomic
    from pmm_lib.uncertainty import sensitivity as sa

    spec = Spec.from_yaml(args.spec) if args.spec else Spec.default()
    data, meta, options = sa.pmm_inputs(spec, region=args.region, cycle=args.cycle)
    sets = sa.load_weight_sets(args.weight_sets) if args.weight_sets else ()
    problem = sa.standard_problem(spec, weight_sets=sets, exclude_kpis=bool(args.exclude_kpis))
    t0 = time.perf_counter()
    ua = sa.uncertainty_analysis(data, meta, problem, n_samples=args.n_samples, seed=args.seed,
                                 progress=True, build_options=options, keep_replications=False)
    seconds = time.perf_counter() - t0

    def write(frame: pd.DataFrame, name: str) -> None:
        write_text_atomic(Path(args.out) / name, frame.to_csv(index=False, float_format="%.10g", lineterminator="\n"))

    write(ua.rank_intervals, "rank_intervals.csv")
    write(ua.summary, "summary.csv")
    line = (f"pmm uncertainty: {len(data)} Members, {args.n_samples} replications "
            f"({ua.n_failed} failed) in {seconds:.2f} s")
    if args.sobol:
        sens = sa.sensitivity_analysis(data, meta, problem, n_base=args.n_samples, seed=args.seed,
                                       progress=True, build_options=options)
        write(sens.indices, "sobol.csv")
        write(sens.convergence, "convergence.csv")
        line += f"; Sobol' on {sens.replications.n} replications, converged: {sens.converged}"
    print(line + f" -> {args.out}")
    return 0
