"""`gondwana drill ...`: the drills' command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    drill = commands.add_parser("drill", help="rehearse a regional disaster against a running server")
    kinds = drill.add_subparsers(dest="drill", required=True)
    table = kinds.add_parser("dynamodb-global-table", help="fail a DynamoDB global table over (article 3)")
    table.add_argument("--endpoint", help="the server (default $GONDWANA_ENDPOINT or http://localhost:4566)")
    table.add_argument("--primary", default="us-east-1")
    table.add_argument("--secondary", default="us-west-2")
    table.add_argument("--rate", type=float, default=50, help="writes per second (default 50)")
    table.add_argument("--before", type=float, default=5, help="seconds of writing before the outage")
    table.add_argument(
        "--outage-mode",
        choices=["error", "hang", "refuse"],
        default="error",
        help="how the primary fails: 503s, hung requests, or refused connections (best with "
        "`serve --region-ports`: the drill then calls each region on its own port)",
    )
    table.add_argument("--after", type=float, default=5, help="seconds of writing after failover")
    table.add_argument("--delay-ms", type=int, help="set the server's replication delay first")
    table.add_argument("--converge-timeout", type=float, default=30)
    table.add_argument("--timeout", type=float, default=2.0, help="the writer's request timeout (s)")
    table.add_argument("--keep-table", action="store_true", help="keep the drill's table and replica")
    table.add_argument("--json", metavar="PATH", help="write the report as JSON")
    table.add_argument("--plot", metavar="PATH.png", help="write a PNG of replication lag over time")


def run(args: argparse.Namespace) -> int:
    from gondwana.control import ControlError
    from gondwana.drill.client import CallFailed
    from gondwana.drill.dynamodb_global import run_drill
    from gondwana.drill.png import lag_chart

    if args.rate <= 0 or args.before < 0 or args.after < 0:
        print("gondwana drill: --rate must be positive and phases non-negative", file=sys.stderr)
        return 2
    try:
        report = run_drill(
            args.endpoint,
            args.primary,
            args.secondary,
            rate=args.rate,
            before=args.before,
            after=args.after,
            outage_mode=args.outage_mode,
            delay_ms=args.delay_ms,
            converge_timeout=args.converge_timeout,
            timeout=args.timeout,
            log=lambda text: print(f"- {text}", file=sys.stderr),
            keep_table=args.keep_table,
        )
    except (ControlError, CallFailed, TimeoutError, ValueError) as exc:
        print(f"gondwana drill: {exc}", file=sys.stderr)
        return 1
    print(report.table_text())
    if args.json:
        Path(args.json).write_text(report.to_json())
    if args.plot:
        lag_chart(report.lag_samples, report.timeline, args.plot)
    return 0 if report.converged else 1
