"""Write the bad-input corpus.

Usage::

    python tests/bad_inputs/build_corpus.py --csv     # regenerate the committed CSV cases in tests/bad_inputs/csv/
    python tests/bad_inputs/build_corpus.py OUTDIR    # write every case (workbooks and CSVs) into OUTDIR/<case>/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bad_inputs.corpus import CASES, write_csv_files  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", type=Path, help="folder to write every case into")
    parser.add_argument("--csv", action="store_true", help="regenerate the committed CSV files")
    args = parser.parse_args(argv)
    if args.csv:
        for p in write_csv_files():
            print(p)
    if args.out:
        for case in CASES:
            d = args.out / case.name
            d.mkdir(parents=True, exist_ok=True)
            for p in case.build(d):
                print(p)
    if not (args.csv or args.out):
        parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
