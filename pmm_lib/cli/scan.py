"""``pmm scan RUN_DIR``: look for values the run's audience may not see; exit 1 on a hit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pmm_lib.vocab import AUDIENCES

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm scan``."""
    parser.add_argument("run_dir", type=Path, help="a run folder (or its latest link)")
    parser.add_argument("--audience", choices=AUDIENCES, default=None,
                        help="scan for what this audience may not see (default: the run's own audience)")
    parser.add_argument("--out", type=Path, default=None, help="also write the hits to this CSV")


def run(args: argparse.Namespace) -> int:
    """``pmm scan RUN_DIR``: list hidden values found in a run's artefacts; exit 1 if any."""
    from pmm_lib.io import write_text_atomic
    from pmm_lib.reporting.scan import active_content, run_needles, scan_run

    run_dir = Path(args.run_dir)
    needles = run_needles(run_dir, audience=args.audience)
    hits = scan_run(run_dir, needles)
    active = active_content(run_dir)  # script or an embedded file in the paper
    for line in active:
        print(f"pmm scan: active content or embedded file in {line}", file=sys.stderr)
    if args.out is not None:
        write_text_atomic(args.out, hits.to_csv(index=False, float_format="%.10g", lineterminator="\n"))
    if hits.empty and not active:
        print(f"pmm scan: {run_dir}: no hidden value found ({len(needles)} hidden values, "
              f"{len(needles.exact)} searched at full precision, {len(needles.forms)} rounded forms)")
        return 0
    if not hits.empty:
        print(f"pmm scan: {run_dir}: {len(hits)} hidden value(s) found", file=sys.stderr)
        print(hits.to_string(index=False, max_rows=50))
    return 1
