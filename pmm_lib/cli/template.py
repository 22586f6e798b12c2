"""``pmm template``: write the Excel questionnaire generated from the framework."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm template``."""
    parser.add_argument("--out", type=Path, default=None,
                        help="output .xlsx (default pmm_questionnaire[_MEMBER_CYCLE].xlsx in the current folder)")
    parser.add_argument("--member", default=None, help="pre-fill the Member's ISO3 code")
    parser.add_argument("--cycle", type=int, default=None, help="pre-fill the cycle (year)")
    parser.add_argument("--lang", choices=("en", "fr", "es"), default="en",
                        help="language of the questionnaire (default %(default)s); every language is ingested alike")


def run(args: argparse.Namespace) -> int:
    """Run ``pmm template``."""
    from pmm_lib.inputs.ingest import write_template

    path = write_template(args.out, member=args.member, cycle=args.cycle, lang=args.lang)
    print(f"questionnaire written: {path}")
    return 0
