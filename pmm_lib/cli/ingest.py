"""``pmm ingest``: validate questionnaires and CSV returns, write ``data/processed/*.parquet``."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm ingest``."""
    parser.add_argument("paths", nargs="*", type=Path,
                        help="questionnaires (.xlsx), tidy returns (.csv) or folders (default data/raw/questionnaires)")
    parser.add_argument("--processed", type=Path, default=None, help="output folder (default data/processed)")
    parser.add_argument("--cycle", type=int, default=None, help="keep only this cycle")
    parser.add_argument("--allow-missing-required", action="store_true",
                        help="accept mandatory KPIs left empty (recorded as warnings)")
    parser.add_argument("--blank-disclosure", choices=("restricted", "error"), default="restricted",
                        help="a value without a disclosure choice: stored as restricted and marked 'not chosen' "
                             "(default), or an error")
    parser.add_argument("--max-errors", type=int, default=None,
                        help="problems listed per run (default: IngestOptions.max_errors)")


def run(args: argparse.Namespace) -> int:
    """Run ``pmm ingest``: print what was read, the warnings and the files written."""
    from pmm_lib.inputs.ingest import IngestOptions, ingest

    opts = IngestOptions(missing_required="warn" if args.allow_missing_required else "error",
                         blank_disclosure=args.blank_disclosure)
    if args.max_errors is not None:
        opts = dataclasses.replace(opts, max_errors=args.max_errors)
    res = ingest(args.paths or None, processed_dir=args.processed, cycle=args.cycle, options=opts)
    for inp in res.inputs:
        print(f"read {inp['path']}: {inp['rows']} rows, {inp['observations']} observations")
    obs = res.observations
    print(f"{len(obs)} observations: {obs['member'].nunique()} Members, cycles "
          f"{', '.join(map(str, sorted(obs['cycle'].unique())))}")
    if len(res.non_responses):
        print(f"{len(res.non_responses)} KPI(s) without a value but with a reason or comment (non_responses.parquet)")
    if res.warnings:
        print(f"{len(res.warnings)} warning(s):")
        for w in res.warnings[:20]:
            print(f"  - {w.describe()}")
        if len(res.warnings) > 20:
            print(f"  ... {len(res.warnings) - 20} more in manifest.json")
    for note in res.manifest.get("notes", []):
        print(f"note: {note}")
    for path in res.written.values():
        print(f"wrote {path}")
    return 0
