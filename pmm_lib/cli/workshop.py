"""``pmm workshop register|serve|consensus|assets``: the handler lives in :mod:`pmm_lib.workshop.commands`."""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm workshop`` (see :func:`pmm_lib.workshop.commands.cli_add_workshop`)."""
    from pmm_lib.workshop.commands import cli_add_workshop

    cli_add_workshop(parser)


def run(args: argparse.Namespace) -> int:
    """Run ``pmm workshop ACTION`` (see :func:`pmm_lib.workshop.commands.cli_workshop`)."""
    from pmm_lib.workshop.commands import cli_workshop

    return cli_workshop(args)
