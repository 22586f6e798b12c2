"""``pmm workshop serve|consensus``: serve the participants' app; export a session's consensus."""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from pmm_lib.errors import InputError, RunError
from pmm_lib.vocab import REGIONS

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm workshop`` (sub-subcommands ``serve`` and ``consensus``)."""
    from typing import get_args

    from pmm_lib.workshop.exercise import Statistic

    sub = parser.add_subparsers(dest="workshop_command", metavar="ACTION", required=True)
    s = sub.add_parser("serve", help="serve the participants' app with Voila and print its URL")
    s.add_argument("--session", required=True, help="session name (submissions go to outputs/workshop/<session>)")
    s.add_argument("--port", type=int, default=8866, help="port (default 8866; 0 = any free port)")
    s.add_argument("--ip", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    s.add_argument("--out-dir", default="", help="where sessions are kept (default outputs/workshop)")
    s.add_argument("--region", default="", choices=["", "ALL", *REGIONS],
                   metavar="REGION", help=f"region shown: ALL, {', '.join(REGIONS)} (default ALL)")
    c = sub.add_parser("consensus", help="export a session's consensus scenario and weight sets")
    c.add_argument("--session", required=True)
    c.add_argument("--statistic", default="mean", choices=list(get_args(Statistic)),
                   help="consensus statistic exported as the scenario (default mean)")
    c.add_argument("--out-dir", default="", help="where sessions are kept (default outputs/workshop)")


def run(args: argparse.Namespace) -> int:
    """Run ``pmm workshop serve`` or ``pmm workshop consensus``."""
    from pmm_lib.workshop import exercise as ws

    root = args.out_dir or None
    session = ws.resolve_session(args.session)
    if args.workshop_command == "consensus":
        subs = ws.load_submissions(session, root=root)
        if subs.empty:
            raise InputError(f"no submissions in session {session!r}", file=ws.session_dir(session, root))
        folder = ws.session_dir(session, root)
        scen = ws.export_scenario(ws.consensus(subs), folder / f"consensus_{args.statistic}.yaml",
                                  statistic=args.statistic, session=session)
        sets = ws.export_weight_sets(subs, folder / "weight_sets.yaml", session=session)
        print(f"scenario: {scen}\nweight sets: {sets}")
        return 0
    port = args.port or ws._free_port(args.ip)
    env = dict(os.environ, **{ws.ENV_SESSION: session})
    if root:
        env[ws.ENV_DIR] = str(Path(root).resolve())
    if args.region:
        env[ws.ENV_REGION] = args.region
    cmd = ws.voila_command(port, ip=args.ip)
    try:
        proc = subprocess.Popen(cmd, env=env)
    except OSError as exc:
        raise RunError(f"could not start Voila ({cmd[0]} -m voila): {exc}") from exc
    host = "localhost" if args.ip in ("127.0.0.1", "0.0.0.0") else args.ip
    print(f"PMM workshop session {session!r}: http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 130
