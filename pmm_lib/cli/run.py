"""``pmm run``: run the methodology notebooks for a region and cycle and render the paper."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pmm_lib.errors import RunError, SpecError
from pmm_lib.vocab import AUDIENCES, DEFAULT_SEED, REGIONS

if TYPE_CHECKING:
    from pmm_lib.reporting.runs import RunResult

__all__ = ["add_arguments", "report", "run"]


def _knob(text: str) -> tuple[str, Any]:
    from pmm_lib.io import load_yaml

    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param expects KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), load_yaml(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm run``."""
    from pmm_lib.errors import EXIT_CODES_HELP
    from pmm_lib.paths import NOTEBOOKS_DIR, OUTPUTS_DIR

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXIT_CODES_HELP + "\n(several runs: the code of the first failed run, in the order given)"

    parser.add_argument("--region", default=None,
                        help=f"region code, a comma list, or ALL for the global paper ({', '.join(REGIONS)})")
    parser.add_argument("--all-regions", action="store_true", help="run the six regions in parallel")
    parser.add_argument("--cycle", type=int, required=True, help="PMM cycle (year)")
    parser.add_argument("--scenario", action="append", type=Path, default=None, metavar="FILE.yaml",
                        help="scenario/spec YAML; repeat for several scenarios (run in parallel)")
    parser.add_argument("--framework", type=Path, default=None, metavar="FILE.yaml",
                        help="framework or candidate file (methodology/candidates/*.yaml) to run instead of "
                             "methodology/framework.yaml; recorded in the manifest with its hashes")
    parser.add_argument("--audience", choices=AUDIENCES, default="wco",
                        help="who the report is for (default: wco)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--notebooks", default=None, help="comma list of notebook numbers, e.g. 01,02")
    parser.add_argument("--notebooks-dir", type=Path, default=NOTEBOOKS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--outputs-dir", type=Path, default=OUTPUTS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--param", action="append", type=_knob, default=[], metavar="KEY=VALUE",
                        help="extra notebook parameter (small-size knobs, e.g. n_samples=256)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel runs (default: CPU count)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="Dask scheduler address (needs the 'dask' extra)")
    parser.add_argument("--notebook-jobs", type=int, default=None,
                        help="notebooks of one run executed at the same time "
                             "(default: CPU count for a single run, 1 when several runs share the machine)")
    parser.add_argument("--renderer", choices=("auto", "quarto", "pandoc"), default="auto",
                        help="paper renderer (default: Quarto if on PATH, else pandoc + typst)")
    parser.add_argument("--no-paper", action="store_true", help="skip rendering the paper")


def report(res: RunResult) -> None:
    """Print one run's outcome (success with its folder and ``latest`` link, or the failure)."""
    if res.ok:
        latest = res.run_dir.parent / "latest"
        print(f"run {res.run_dir.name}: success in {res.seconds:.1f} s (renderer: {res.renderer or 'none'})")
        print(f"  {res.run_dir}")
        print(f"  latest -> {latest}" if res.renderer else "  (no paper rendered: latest unchanged)")
    else:
        print(f"run {res.run_dir}: FAILED: {res.error}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """``pmm run``: one run (progress over notebooks) or several in parallel; exit 1 if any fails."""
    from pmm_lib.reporting.runs import RunRequest, execute_run, run_many

    if args.all_regions:
        regions = list(REGIONS)
    elif args.region:
        regions = [r.strip().upper() for r in args.region.split(",") if r.strip()]
    else:
        raise SpecError("give --region R (or a comma list, or ALL) or --all-regions")
    scenarios: list[Path | None] = list(args.scenario) if args.scenario else [None]
    select = tuple(s.strip() for s in args.notebooks.split(",")) if args.notebooks else None
    knobs = dict(args.param)
    single = len(regions) * len(scenarios) == 1 and args.scheduler is None
    nb_jobs = args.notebook_jobs or (os.cpu_count() or 1 if single else 1)
    requests = [RunRequest(region=r, cycle=args.cycle, scenario=s, audience=args.audience, seed=args.seed,
                           notebooks=select, notebooks_dir=args.notebooks_dir, outputs_dir=args.outputs_dir,
                           parameters=knobs, render=not args.no_paper, renderer=args.renderer,
                           notebook_jobs=nb_jobs, framework=args.framework)
                for r in regions for s in scenarios]
    if len(requests) == 1 and args.scheduler is None:
        req = requests[0]
        print(f"pmm run: {req.region} {req.cycle} (audience {req.audience}, seed {req.seed})")
        res = execute_run(req, progress=True, on_event=lambda m: None)
        report(res)
        if not res.ok:
            raise RunError(f"{res.error}; {res.run_dir.parent / 'latest'} was left unchanged",
                           exit_code=res.exit_code)
        return 0
    print(f"pmm run: {len(requests)} runs "
          + (f"on the Dask cluster {args.scheduler}" if args.scheduler else f"with {args.jobs or 'auto'} jobs"))
    results = run_many(requests, jobs=args.jobs, scheduler=args.scheduler, progress=True)
    for res in results:
        report(res)
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"pmm run: {len(failed)} of {len(results)} runs failed; their latest links are unchanged",
              file=sys.stderr)
        return failed[0].exit_code or 3
    return 0
