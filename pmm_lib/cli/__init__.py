"""The ``pmm`` command line: one entry point, one subcommand per job.

Each subcommand ``<name>`` is a thin module ``pmm_lib.cli.<name>`` with two functions:
``add_arguments(parser)`` (declare arguments) and ``run(args) -> int`` (parse, call the library,
print). Handlers import the library lazily inside ``run``, and a handler module is imported only
when its subcommand is on the command line, so ``pmm --help`` imports nothing heavy.

This package sits beside the layers: it may import any of them, and none imports it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pmm_lib.errors import PmmError

__all__ = ["COMMANDS", "main"]

#: subcommand -> (handler module with ``add_arguments`` and ``run``, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("pmm_lib.cli.synth", "generate the bundled synthetic PMM dataset (deterministic per seed)"),
    "template": ("pmm_lib.cli.template", "write the Excel questionnaire generated from the framework"),
    "ingest": ("pmm_lib.cli.ingest", "validate questionnaires/CSVs and write data/processed/*.parquet"),
    "index": ("pmm_lib.cli.index", "build an index from a spec file and write unit/code/level/score/rank"),
    "uncertainty": ("pmm_lib.cli.uncertainty", "Monte Carlo rank intervals and Sobol sensitivity indices"),
    "run": ("pmm_lib.cli.run", "run the methodology notebooks for a region and cycle and render the paper"),
    "rerun": ("pmm_lib.cli.rerun", "repeat a past run from its manifest"),
    "compare": ("pmm_lib.cli.compare", "compare two runs: rank shifts, score differences, changed inputs"),
    "design": ("pmm_lib.cli.design", "compare a candidate framework with its base: the design-review paper"),
    "scan": ("pmm_lib.cli.scan", "scan a run folder for values its audience may not see (exit 1 on a hit)"),
    "workshop": ("pmm_lib.cli.workshop", "workshop group exercises (serve the participants' app)"),
}


def _version() -> str:
    """The installed distribution's version (``importlib.metadata``), or a note that it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pmm-workbench")
    except PackageNotFoundError:  # running from a source tree that was never pip-installed
        return "unknown (pmm-workbench is not installed: pip install -e .)"


def _parser(selected: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmm", description="PMM Workbench: methodology tools for the WCO Performance Measurement Mechanism."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == selected:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pmm`` console script; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in argv if not a.startswith("-")), None)
    parser = _parser(selected if selected in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except PmmError as exc:
        print(f"pmm {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code  # one documented code per failure class: errors.EXIT_CODES
    except PermissionError as exc:
        print(f"pmm {args.command}: error: permission denied: {exc.filename or exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        # disk full, read-only file system, missing directory...: one clear line, no traceback
        detail = exc.strerror or str(exc)
        print(f"pmm {args.command}: error: {detail}" + (f": {exc.filename}" if exc.filename else ""),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"pmm {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
