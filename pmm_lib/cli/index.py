"""``pmm index``: build an index from a spec file and write unit/code/level/score/rank."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm index``."""
    parser.add_argument("--spec", required=True, type=Path, help="spec YAML file (see docs/CONTRACTS.md)")
    parser.add_argument("--out", required=True, type=Path,
                        help="CSV to write: unit, code, level, score, rank (one row per unit and code)")
    parser.add_argument("--seed", type=int, default=None, help="seed for stochastic stages (iterative imputation)")


def run(args: argparse.Namespace) -> int:
    """Run ``pmm index``: build from ``--spec`` and write the tidy scores to ``--out`` atomically."""
    from pmm_lib.core.build import build_from_spec_file
    from pmm_lib.io import write_with

    result = build_from_spec_file(args.spec, seed=args.seed)
    frame = result.to_long()
    write_with(args.out, lambda p: frame.to_csv(p, index=False))
    n_units = result.aggregated.shape[0]
    print(f"pmm index: {n_units} units x {result.aggregated.shape[1]} codes -> {args.out}")
    return 0
