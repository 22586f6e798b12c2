"""``pmm template`` and ``pmm ingest``: arguments and handlers (the work is in the sibling modules)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pmm_lib.inputs.ingest.catalogue import LANGUAGES
from pmm_lib.inputs.ingest.model import IngestOptions
from pmm_lib.inputs.ingest.publish import ingest
from pmm_lib.inputs.ingest.questionnaire import write_template

__all__ = ["cli_add_ingest", "cli_add_template", "cli_ingest", "cli_template"]


def cli_add_template(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm template``."""
    parser.add_argument("--out", type=Path, default=None,
                        help="output .xlsx (default pmm_questionnaire[_MEMBER_CYCLE][_LANG].xlsx in the current folder)")
    parser.add_argument("--member", default=None, help="pre-fill the Member's ISO3 code")
    parser.add_argument("--cycle", type=int, default=None, help="pre-fill the cycle (year)")
    parser.add_argument("--lang", choices=LANGUAGES, default="en",
                        help="language of the questionnaire (default %(default)s); every language is ingested alike")


def cli_template(args: argparse.Namespace) -> int:
    """Run ``pmm template``."""
    path = write_template(args.out, member=args.member, cycle=args.cycle, lang=getattr(args, "lang", "en"))
    print(f"questionnaire written: {path}")
    return 0


def cli_add_ingest(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm ingest``."""
    parser.add_argument("paths", nargs="*", type=Path,
                        help="questionnaires (.xlsx), tidy returns (.csv) or folders (default data/raw/questionnaires)")
    parser.add_argument("--processed", type=Path, default=None, help="output folder (default data/processed)")
    parser.add_argument("--cycle", type=int, default=None, help="keep only this cycle")
    parser.add_argument("--allow-missing-required", action="store_true",
                        help="accept mandatory KPIs left empty (recorded as warnings)")
    parser.add_argument("--blank-disclosure", choices=("restricted", "error"), default="restricted",
                        help="a value without a disclosure choice: stored as restricted and marked "
                             "'not chosen' (default), or an error")
    parser.add_argument("--max-errors", type=int, default=IngestOptions.max_errors,
                        help="problems listed per run (default %(default)s)")


def cli_ingest(args: argparse.Namespace) -> int:
    """Run ``pmm ingest``: print what was read, the warnings and the files written."""
    opts = IngestOptions(max_errors=args.max_errors,
                         missing_required="warn" if args.allow_missing_required else "error",
                         blank_disclosure=getattr(args, "blank_disclosure", "restricted"))
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
