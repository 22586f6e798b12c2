"""``pmm compare RUN_A RUN_B``: rank shifts, score differences and changed inputs of two runs."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm compare``."""
    parser.add_argument("run_a", type=Path, help="first run folder")
    parser.add_argument("run_b", type=Path, help="second run folder")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for comparison.md and the CSVs (default outputs/comparisons/A__B)")


def run(args: argparse.Namespace) -> int:
    """``pmm compare RUN_A RUN_B``: print the comparison and write it as markdown + CSV."""
    from pmm_lib.paths import OUTPUTS_DIR
    from pmm_lib.reporting.runs import compare_runs, write_comparison

    cmp = compare_runs(args.run_a, args.run_b)
    out = args.out or OUTPUTS_DIR / "comparisons" / f"{cmp.run_a.name}__{cmp.run_b.name}"
    files = write_comparison(cmp, out)
    print(cmp.to_markdown())
    print(f"written: {files['markdown']}")
    return 0
