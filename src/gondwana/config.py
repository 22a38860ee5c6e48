"""Server settings: command-line flags, each with a GONDWANA_* environment variable as its default."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"


@dataclass(slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 4566
    data_dir: Path | None = Path(".gondwana")  # None: in memory
    log_level: str = "info"
    state_delay_ms: int = 0
    durability: str = "normal"  # or "strict": fsync every (group) commit
    auth: str = "off"  # or "strict": verify SigV4 signatures
    default_region: str = DEFAULT_REGION
    default_account: str = DEFAULT_ACCOUNT
    # access key id -> (account id, secret key); strict auth accepts only these keys.
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)
    plugins: list[str] = field(default_factory=list)  # extra modules that register services
    services: list[str] = field(default_factory=list)  # empty: all
    region_ports: dict[str, int] = field(default_factory=dict)  # a listener per region
    tls_port: int | None = None  # an HTTPS listener (HTTP/1.1 and, by ALPN, HTTP/2)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    kinesis_throttle: bool = False  # enforce Kinesis per-shard throughput limits
    ttl_interval: float = 1.0  # seconds between DynamoDB TTL sweeps
    sqs_max_inflight: int = 120_000  # SQS in-flight messages per queue (AWS's quota; raisable there too)
    replication_delay_ms: int = 300  # default delay of cross-region replication (global tables)
    transaction_duration_ms: int = 0  # how long a write transaction holds its items (0: instantaneous)

    @property
    def state_delay(self) -> float:
        return self.state_delay_ms / 1000.0

    @property
    def transaction_duration(self) -> float:
        return self.transaction_duration_ms / 1000.0


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"GONDWANA_{name}", default)


def parse_credentials(text: str) -> dict[str, tuple[str, str]]:
    """`AKID:SECRET:ACCOUNT,AKID2:SECRET2:ACCOUNT2` -> {AKID: (ACCOUNT, SECRET)}."""
    found: dict[str, tuple[str, str]] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        parts = item.split(":")
        if len(parts) != 3:
            raise argparse.ArgumentTypeError(f"credential {item!r} is not ACCESS_KEY:SECRET:ACCOUNT")
        key, secret, account = parts
        found[key] = (account, secret)
    return found


def parse_region_ports(text: str) -> dict[str, int]:
    """`us-east-1=4567,eu-west-1=4568` -> {"us-east-1": 4567, "eu-west-1": 4568}."""
    found: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        region, sep, port = item.partition("=")
        if not sep or not port.isdigit():
            raise argparse.ArgumentTypeError(f"region port {item!r} is not REGION=PORT")
        found[region] = int(port)
    return found


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", default=_env("HOST", "127.0.0.1"), help="address to listen on [GONDWANA_HOST]")
    add("--port", type=int, default=int(_env("PORT", "4566") or 4566), help="port [GONDWANA_PORT]")
    store = parser.add_mutually_exclusive_group()
    store.add_argument(
        "--data-dir", default=_env("DATA_DIR", ".gondwana"), help="where state lives [GONDWANA_DATA_DIR]"
    )
    store.add_argument(
        "--in-memory",
        action="store_true",
        default=_flag("IN_MEMORY"),
        help="keep state in memory only [GONDWANA_IN_MEMORY]",
    )
    add("--log-level", default=_env("LOG_LEVEL", "info"), choices=["debug", "info", "warning", "error"])
    add(
        "--state-delay",
        type=int,
        default=int(_env("STATE_DELAY", "0") or 0),
        metavar="MS",
        help="how long resources stay CREATING/UPDATING/DELETING [GONDWANA_STATE_DELAY]",
    )
    add("--durability", default=_env("DURABILITY", "normal"), choices=["normal", "strict"])
    add("--auth", default=_env("AUTH", "off"), choices=["off", "strict"], help="verify SigV4 signatures")
    add("--default-region", default=_env("DEFAULT_REGION", DEFAULT_REGION))
    add("--default-account", default=_env("DEFAULT_ACCOUNT", DEFAULT_ACCOUNT))
    add(
        "--credentials",
        type=parse_credentials,
        default=parse_credentials(_env("CREDENTIALS", "") or ""),
        metavar="AKID:SECRET:ACCOUNT[,...]",
        help="known access keys [GONDWANA_CREDENTIALS]",
    )
    add(
        "--plugin",
        action="append",
        dest="plugins",
        default=[p for p in (_env("PLUGINS", "") or "").split(",") if p],
    )
    add("--services", default=_env("SERVICES", ""), help="comma-separated services to enable (default: all)")
    add(
        "--region-ports",
        type=parse_region_ports,
        default=parse_region_ports(_env("REGION_PORTS", "") or ""),
        metavar="REGION=PORT[,...]",
        help="a listener per region (for the refuse fault) [GONDWANA_REGION_PORTS]",
    )
    add(
        "--tls-port",
        type=int,
        default=int(_env("TLS_PORT", "0") or 0) or None,
        help="HTTPS port [GONDWANA_TLS_PORT]",
    )
    add("--tls-cert", default=_env("TLS_CERT"), metavar="PEM", help="certificate chain [GONDWANA_TLS_CERT]")
    add("--tls-key", default=_env("TLS_KEY"), metavar="PEM", help="private key [GONDWANA_TLS_KEY]")
    add(
        "--kinesis-throttle",
        action="store_true",
        default=_flag("KINESIS_THROTTLE"),
        help="enforce Kinesis per-shard throughput limits [GONDWANA_KINESIS_THROTTLE]",
    )
    add(
        "--sqs-max-inflight",
        type=int,
        default=int(_env("SQS_MAX_INFLIGHT", "120000") or 120000),
        metavar="N",
        help="SQS in-flight messages per queue before receives stop (AWS's quota: 120,000) "
        "[GONDWANA_SQS_MAX_INFLIGHT]",
    )
    add(
        "--ttl-interval",
        type=float,
        default=float(_env("TTL_INTERVAL", "1") or 1),
        metavar="SECONDS",
        help="how often DynamoDB's TTL sweeper runs [GONDWANA_TTL_INTERVAL]",
    )

    add(
        "--replication-delay",
        type=int,
        default=int(_env("REPLICATION_DELAY", "300") or 300),
        metavar="MS",
        help="default cross-region replication delay [GONDWANA_REPLICATION_DELAY]",
    )
    add(
        "--transaction-duration",
        type=int,
        default=int(_env("TRANSACTION_DURATION", "0") or 0),
        metavar="MS",
        help="how long a write transaction is in progress, holding its items (0: instantaneous) "
        "[GONDWANA_TRANSACTION_DURATION]",
    )


def _flag(name: str) -> bool:
    return (_env(name, "") or "").lower() in ("1", "true", "yes")


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(
        host=args.host,
        port=args.port,
        data_dir=None if args.in_memory else Path(args.data_dir),
        log_level=args.log_level,
        state_delay_ms=args.state_delay,
        durability=args.durability,
        auth=args.auth,
        default_region=args.default_region,
        default_account=args.default_account,
        credentials=args.credentials,
        plugins=args.plugins,
        services=[s for s in args.services.split(",") if s],
        region_ports=args.region_ports,
        tls_port=args.tls_port,
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        kinesis_throttle=args.kinesis_throttle,
        ttl_interval=args.ttl_interval,
        sqs_max_inflight=args.sqs_max_inflight,
        replication_delay_ms=args.replication_delay,
        transaction_duration_ms=args.transaction_duration,
    )
