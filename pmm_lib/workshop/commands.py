"""``pmm workshop``: register a session, serve the room, export the consensus, install assets.

Sub-commands::

    pmm workshop register --session S --region AMS --cycle 2024 --groups "Caribbean 1" "Andes" [--audience wco]
    pmm workshop serve --session S [--port 8765] [--ip 127.0.0.1]
    pmm workshop consensus --session S [--statistic mean|median]
    pmm workshop assets            # once, on the serving machine: the browser assets (npm)

``register`` prints each group's join link; ``serve`` starts one Solara process for the whole
room (:mod:`pmm_lib.workshop.server`) and prints the participants' and the dashboard's URLs.
"""

from __future__ import annotations

import argparse
import os
import socket

from pmm_lib.errors import InputError, RunError

__all__ = ["cli_add_workshop", "cli_workshop", "free_port"]


def free_port(ip: str = "127.0.0.1") -> int:
    """A free TCP port on ``ip``."""
    with socket.socket() as s:
        s.bind((ip, 0))
        return int(s.getsockname()[1])


def cli_add_workshop(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm workshop`` (actions ``register``, ``serve``, ``consensus``, ``assets``)."""
    from pmm_lib.vocab import REGIONS

    sub = parser.add_subparsers(dest="workshop_command", metavar="ACTION", required=True)
    r = sub.add_parser("register", help="register a session's groups, region, cycle and audience; print the links")
    r.add_argument("--session", required=True)
    r.add_argument("--region", required=True, choices=["ALL", *REGIONS], metavar="REGION",
                   help="region the room works on: ALL, " + ", ".join(REGIONS))
    r.add_argument("--cycle", required=True, type=int, help="PMM cycle (year)")
    r.add_argument("--groups", required=True, nargs="+", metavar="NAME", help="group names")
    r.add_argument("--audience", default="wco", choices=["public", "wco", "internal"],
                   help="who may see what the app shows (public: Members by pseudonyms); default wco")
    r.add_argument("--url", default="http://localhost:8765", help="server address used in the printed links")
    r.add_argument("--replace", action="store_true", help="replace an existing registration")
    r.add_argument("--out-dir", default="", help="where sessions are kept (default outputs/workshop)")
    s = sub.add_parser("serve", help="serve the participants' app and the dashboard (one process) and print the URLs")
    s.add_argument("--session", required=True, help="a registered session")
    s.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    s.add_argument("--ip", default="127.0.0.1", help="interface to listen on (default 127.0.0.1; 0.0.0.0 for a room)")
    s.add_argument("--out-dir", default="", help="where sessions are kept (default outputs/workshop)")
    c = sub.add_parser("consensus", help="export a session's consensus scenario and weight sets")
    c.add_argument("--session", required=True)
    c.add_argument("--statistic", default="mean", choices=["mean", "median"],
                   help="consensus statistic exported as the scenario (default mean)")
    c.add_argument("--out-dir", default="", help="where sessions are kept (default outputs/workshop)")
    sub.add_parser("assets", help="install the browser assets the server ships (once; needs npm)")


def cli_workshop(args: argparse.Namespace) -> int:
    """Run ``pmm workshop ACTION``."""
    from pmm_lib.workshop.exercise import resolve_session, session_dir

    action = args.workshop_command
    if action == "assets":
        from pmm_lib.workshop.assets import install_assets, missing_assets

        done = install_assets()
        print("installed: " + ", ".join(done) if done else "all browser assets present")
        return 0 if not missing_assets() else 1
    root = args.out_dir or None
    session = resolve_session(args.session)
    if action == "register":
        from pmm_lib.workshop.session import register_session

        cfg = register_session(session, args.groups, region=args.region, cycle=args.cycle, audience=args.audience,
                               root=root, replace=args.replace)
        print(f"session {session!r}: region {cfg.region}, cycle {cfg.cycle}, audience {cfg.audience}")
        for name, link in cfg.links(args.url).items():
            print(f"  {name}: {link}")
        print(f"  dashboard (facilitator only: the link carries its key): {cfg.dashboard_link(args.url)}")
        return 0
    if action == "consensus":
        import pandas as pd
        import yaml

        from pmm_lib.io import write_text_atomic
        from pmm_lib.workshop.consensus import room_consensus
        from pmm_lib.workshop.exercise import (
            export_weight_sets,
            load_ahp,
            load_submissions,
            scenario_dict,
        )

        subs = load_submissions(session, root=root)
        if subs.empty:
            raise InputError(f"no submissions in session {session!r}", file=session_dir(session, root))
        room = room_consensus(subs, load_ahp(session, root=root))
        blocks = room.blocks(args.statistic)
        cons = pd.DataFrame([dict(block=b, code=c, weight_mean=v, weight_median=v)
                             for b, pts in blocks.items() for c, v in pts.items()])
        folder = session_dir(session, root)
        head = (f"# PMM workshop consensus ({args.statistic}; AHP groups by the geometric mean of judgements), "
                f"session {session}\n")
        scen = write_text_atomic(folder / f"consensus_{args.statistic}.yaml",
                                 head + yaml.safe_dump(scenario_dict(cons, statistic=args.statistic), sort_keys=False))
        sets = export_weight_sets(subs, folder / "weight_sets.yaml", session=session)
        print(f"scenario: {scen}\nweight sets: {sets}")
        return 0
    # serve
    from pmm_lib.workshop.assets import missing_assets
    from pmm_lib.workshop.server import serve_command, serve_env
    from pmm_lib.workshop.session import load_session

    cfg = load_session(session, root)  # clear errors before starting anything
    if cfg.audience == "public":
        from pmm_lib.reporting.disclosure import pseudonym_key

        pseudonym_key("public")  # a public room shows pseudonyms: the secret key must be set up
    missing = missing_assets()
    if missing:
        raise RunError(f"browser assets missing ({', '.join(missing)}): run `pmm workshop assets` once "
                       "(the room then needs no internet)")
    port = args.port or free_port(args.ip)
    cmd = serve_command(port, ip=args.ip)
    host = "localhost" if args.ip in ("127.0.0.1", "0.0.0.0") else args.ip
    print(f"PMM workshop session {session!r}: participants http://{host}:{port}/ · "
          f"dashboard {cfg.dashboard_link(f'http://{host}:{port}')}  (Ctrl-C to stop)", flush=True)
    try:  # replace this process: one process for the room, stopped by one signal
        os.execvpe(cmd[0], cmd, serve_env(session, root))
    except OSError as exc:
        raise RunError(f"could not start the workshop server ({cmd[0]} -m solara): {exc}") from exc
    return 0  # pragma: no cover - execvpe does not return
