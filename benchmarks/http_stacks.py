"""HTTP stack comparison, for the record of why Gondwana runs its own protocol on httptools.

The ceiling workload (echo requests, answered with `{}`) against:
  ceiling        the raw uvloop + httptools protocol (benchmarks/ceiling_server.py)
  gondwana-http  Gondwana's own HttpServer (src/gondwana/server/http.py) with a trivial handler
  uvicorn        uvicorn --loop uvloop --http httptools, a trivial ASGI app
  granian-asgi   granian (Rust HTTP, 1 worker, uvloop), the same ASGI app
  granian-rsgi   granian with its native RSGI interface

Run alone with `python benchmarks/run.py --only stacks`. This module is also the servers' entry
point (`http_stacks.py serve-gondwana --port P`) and the ASGI/RSGI app module for uvicorn and
granian, so it imports only the standard library at the top.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONTENT_TYPE = "application/x-amz-json-1.0"


# ---- the trivial apps ----------------------------------------------------------------------------


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI: read the body (as every real server must), answer {}."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", CONTENT_TYPE.encode())]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


async def rsgi_app(scope: Any, protocol: Any) -> None:
    """RSGI (granian's native interface): read the body, answer {}."""
    await protocol()
    protocol.response_bytes(200, [("content-type", CONTENT_TYPE)], b"{}")


def serve_gondwana(port: int) -> None:
    """Gondwana's HttpServer with a handler that answers {}: the HTTP layer alone."""
    import uvloop

    from gondwana.server.http import HttpServer
    from gondwana.server.messages import Response

    async def handler(request: Any) -> Response:
        return Response(200, [("Content-Type", CONTENT_TYPE)], b"{}")

    async def main() -> None:
        server = HttpServer(handler, asyncio.get_running_loop())
        bound = await server.listen("127.0.0.1", port)
        print(f"gondwana-http listening on http://127.0.0.1:{bound}", flush=True)
        await asyncio.Event().wait()

    uvloop.install()
    asyncio.run(main())


# ---- the comparison ------------------------------------------------------------------------------


def stacks() -> list[Any]:
    from harness.paths import PEER_BIN, gondwana_env, project_python
    from harness.servers import ServerSpec, ceiling

    here = str(HERE)
    granian = (
        str(PEER_BIN / "granian"),
        "--loop",
        "uvloop",
        "--workers",
        "1",
        "--no-ws",
        "--log-level",
        "warning",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--working-dir",
        here,
    )
    return [
        ceiling(),
        ServerSpec(
            "gondwana-http",
            (project_python(), __file__, "serve-gondwana", "--port", "{port}"),
            env=gondwana_env(),
        ),
        ServerSpec(
            "uvicorn",
            (
                str(PEER_BIN / "python"),
                "-m",
                "uvicorn",
                "http_stacks:app",
                "--app-dir",
                here,
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
                "--host",
                "127.0.0.1",
                "--port",
                "{port}",
            ),
            needs=("uvicorn", "uvloop", "httptools"),
        ),
        ServerSpec("granian-asgi", (*granian, "--interface", "asgi", "http_stacks:app"), needs=("granian",)),
        ServerSpec(
            "granian-rsgi", (*granian, "--interface", "rsgi", "http_stacks:rsgi_app"), needs=("granian",)
        ),
    ]


def needs() -> set[str]:
    return {n for spec in stacks() for n in spec.needs}


def run_stacks(settings: Any, installed: set[str]) -> list[dict[str, Any]]:
    from harness.measure import measure
    from workloads.core import echo_calls

    rows: list[dict[str, Any]] = []
    for spec in stacks():
        row: dict[str, Any] = {"workload": "ceiling ({})", "target": spec.name, "group": "stacks"}
        if not set(spec.needs) <= installed:
            row["error"] = f"not installed: {', '.join(sorted(set(spec.needs) - installed))}"
        else:
            print(f"  stacks: {spec.name} ...", flush=True)
            try:
                row.update(measure(spec, echo_calls, settings))
            except Exception as exc:  # one stack failing must not lose the others
                row["error"] = str(exc)[:500]
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="serve one trivial stack (used by the benchmark)")
    parser.add_argument("command", choices=["serve-gondwana"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.command == "serve-gondwana":
        serve_gondwana(args.port)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
