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
    return parser


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
    parser.print_help()
    return 2
