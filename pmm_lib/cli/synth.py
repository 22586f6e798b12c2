"""``pmm synth``: write the bundled synthetic PMM returns and their planted truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from pmm_lib.vocab import DEFAULT_SEED

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm synth``."""
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default data/raw/questionnaires)")


def run(args: argparse.Namespace) -> int:
    """Run ``pmm synth``: write the synthetic returns and their truth."""
    from pmm_lib import paths
    from pmm_lib.inputs.synthetic import write_dataset

    ds = write_dataset(args.seed, args.out)
    out = args.out or paths.root() / "data" / "raw" / "questionnaires"
    counts = ds.observations.groupby("cycle")["member"].nunique().to_dict()
    print(f"wrote {len(ds.observations)} values ({', '.join(f'{c}: {n} Members' for c, n in counts.items())}) "
          f"and truth.json to {out}")
    return 0
