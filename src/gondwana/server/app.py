"""Assemble and run the server: settings -> store -> services -> chain -> HTTP listener."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import sys
import time

from gondwana import __version__
from gondwana.config import Settings
from gondwana.runtime import Runtime
from gondwana.server.chain import Chain
from gondwana.server.http import HttpServer
from gondwana.services import load_service_classes
from gondwana.storage import open_store
from gondwana.storage.base import StoreError

log = logging.getLogger("gondwana")


def build_runtime(settings: Settings) -> Runtime:
    store = open_store(settings.data_dir, settings.durability)
    runtime = Runtime(settings, store)
    for cls in load_service_classes(settings.services, settings.plugins):
        runtime.services[cls.name] = cls(runtime)
    return runtime


async def serve(settings: Settings, ready: asyncio.Future[int] | None = None) -> None:
    loop = asyncio.get_running_loop()
    runtime = build_runtime(settings)
    for service in runtime.services.values():
        service.start()
    runtime.reclaimer.resume()  # what a deletion before a restart left to do
    chain = Chain(runtime)
    http = HttpServer(chain.handle, loop)
    port = await _listen(http, settings.host, settings.port)
    for region, region_port in settings.region_ports.items():
        await _listen(http, settings.host, region_port, region)
    tls_line = ""
    if settings.tls_port:
        tls_port = await _listen(http, settings.host, settings.tls_port, tls=tls_context(settings))
        tls_line = f"  https: {tls_port}"
    runtime.faults.listeners.append(lambda: loop.create_task(_sync_listeners(runtime, http)))
    data = "memory" if settings.data_dir is None else str(settings.data_dir)
    print(
        f"gondwana {__version__} listening on http://{settings.host}:{port}  data: {data}  regions: all"
        + "".join(f"  {r}: {p}" for r, p in settings.region_ports.items())
        + tls_line,
        flush=True,
    )
    if ready is not None:
        ready.set_result(port)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.call_later(0.05, _warm_up, runtime)
    await stop.wait()

    log.info("shutting down: finishing in-flight requests")
    runtime.shutting_down.set()
    await http.shutdown()
    runtime.cancel_background()
    for service in runtime.services.values():
        service.close()
    runtime.store.close()
    log.info("stopped")


class ListenError(Exception):
    """A port the server was asked to listen on cannot be had."""


async def _listen(
    http: HttpServer, host: str, port: int, region: str | None = None, tls: ssl.SSLContext | None = None
) -> int:
    try:
        return await http.listen(host, port, region, tls)
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


async def _sync_listeners(runtime: Runtime, http: HttpServer) -> None:
    """Regions down in "refuse" mode stop accepting connections on their own port."""
    for region in runtime.settings.region_ports:
        await http.refuse(region, runtime.faults.down_mode(region) == "refuse")


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The HTTPS listener's context: TLS 1.2 or newer, ALPN offering h2 then http/1.1."""
    if settings.tls_cert is None or settings.tls_key is None:
        raise ValueError("--tls-port needs --tls-cert and --tls-key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load --tls-cert/--tls-key: {exc.strerror or exc}") from None
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


def _warm_up(runtime: Runtime) -> None:
    """Load the service models once the listener is up, so the first real request is not slowed."""
    for service in runtime.services.values():
        try:
            _ = service.spec
        except Exception:
            log.exception("could not load the model of %s", service.name)


def run(settings: Settings) -> int:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency on every supported platform
        pass
    started = time.perf_counter()
    try:
        asyncio.run(serve(settings))
    except (ListenError, StoreError) as exc:
        print(f"gondwana: {exc}", file=sys.stderr)
        return 1
    log.debug("ran for %.1f s", time.perf_counter() - started)
    return 0
