"""The `gondwana` command."""

from __future__ import annotations

import argparse
import sys

from gondwana import __version__
from gondwana.config import add_serve_arguments, settings_from_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gondwana", description="Every AWS region on one machine.")
    parser.add_argument("--version", action="version", version=f"gondwana {__version__}")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the server")
    add_serve_arguments(serve)
    _add_fault_commands(commands)
    from gondwana.drill.cli import add_arguments as add_drill_arguments

    add_drill_arguments(commands)
    return parser


def _add_fault_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fault = commands.add_parser("fault", help="inject or clear faults in a running server")
    fault.add_argument("--endpoint", help="the server (default $GONDWANA_ENDPOINT or http://localhost:4566)")
    actions = fault.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="show the faults in force")
    actions.add_parser("clear", help="remove every fault: a healthy world")
    down = actions.add_parser("down", help="take a region down for every service in it")
    down.add_argument("region")
    down.add_argument("--mode", choices=["error", "hang", "refuse"], default="error")
    actions.add_parser("up", help="bring a region back").add_argument("region")
    for name, text in (("partition", "cut replication between two regions"), ("heal", "end a partition")):
        part = actions.add_parser(name, help=text)
        part.add_argument("region_a")
        part.add_argument("region_b")
    lag = actions.add_parser("lag", help="add replication lag from one region to another")
    lag.add_argument("source")
    lag.add_argument("target")
    lag.add_argument("ms", type=int)
    lag.add_argument("--both", action="store_true", help="both directions")
    throttle = actions.add_parser("throttle", help="throttle a fraction of a region's requests")
    throttle.add_argument("region")
    throttle.add_argument("fraction", type=float)


def _fault(args: argparse.Namespace) -> int:
    from gondwana.control import Control, ControlError

    control = Control(args.endpoint)
    try:
        if args.action == "down":
            control.add_fault(type="region-down", region=args.region, mode=args.mode)
        elif args.action == "up":
            control.remove_fault(f"region-down:{args.region}")
        elif args.action == "partition":
            control.add_fault(type="partition", regions=[args.region_a, args.region_b])
        elif args.action == "heal":
            a, b = sorted((args.region_a, args.region_b))
            control.remove_fault(f"partition:{a}|{b}")
        elif args.action == "lag":
            control.add_fault(type="lag", **{"from": args.source, "to": args.target, "ms": args.ms})
            if args.both:
                control.add_fault(type="lag", **{"from": args.target, "to": args.source, "ms": args.ms})
        elif args.action == "throttle":
            control.add_fault(type="throttle", region=args.region, fraction=args.fraction)
        elif args.action == "clear":
            control.clear_faults()
        faults = control.faults()
    except ControlError as exc:
        print(f"gondwana fault: {exc}", file=sys.stderr)
        return 1
    if not faults:
        print("no faults: a healthy world")
    for item in faults:
        shown = ("mode", "ms", "fraction")
        extra = " ".join(f"{k}={item[k]}" for k in shown if item.get(k) is not None)
        print(f"{item['id']}  {extra}".rstrip())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        from gondwana.server.app import run

        try:
            return run(settings_from_args(args))
        except ValueError as exc:
            print(f"gondwana: {exc}", file=sys.stderr)
            return 2
    if args.command == "fault":
        return _fault(args)
    if args.command == "drill":
        from gondwana.drill.cli import run as run_drill

        return run_drill(args)
    parser.print_help()
    return 2
