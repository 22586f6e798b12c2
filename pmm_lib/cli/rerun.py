"""``pmm rerun RUN_DIR``: repeat a past run from its manifest and say what changed."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pmm_lib.errors import RunError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm rerun``."""
    from pmm_lib.errors import EXIT_CODES_HELP

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXIT_CODES_HELP
    parser.add_argument("run_dir", type=Path, help="a past run folder (or its latest link)")
    parser.add_argument("--no-paper", action="store_true", help="skip rendering the paper")
    parser.add_argument("--notebooks-dir", type=Path, default=None,
                        help="take the notebooks from this folder (default: the project's, at the recorded "
                             "commit); their SHA-256 must match the manifest's")


def run(args: argparse.Namespace) -> int:
    """``pmm rerun RUN_DIR``: repeat a run and say whether inputs and outputs changed."""
    from pmm_lib.cli.run import report
    from pmm_lib.reporting.runs import rerun

    res, inputs, outputs = rerun(args.run_dir, progress=True, render=not args.no_paper,
                                 notebook_jobs=os.cpu_count() or 1, notebooks_dir=args.notebooks_dir)
    if len(inputs):
        print(f"inputs changed since the original run ({len(inputs)} file(s)):")
        for row in inputs.itertuples():
            print(f"  {row.change:8s} {row.file}")
    else:
        print("inputs unchanged since the original run")
    report(res)
    if not res.ok:
        raise RunError(res.error, exit_code=res.exit_code)
    print("outputs identical to the original run (byte for byte)" if not len(outputs)
          else f"{len(outputs)} figure/table file(s) differ from the original run")
    return 0
