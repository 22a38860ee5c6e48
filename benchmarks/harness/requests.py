"""Pre-built requests, exactly as botocore sends them, signed once.

A workload names botocore calls (`Call(service, operation, params)`); each call goes through a real
botocore client (parameter validation, serialization, SigV4 signing, user agent, invocation id) and
is caught just before it would be sent. The captured method, path, headers and body become raw
HTTP/1.1 bytes that the load generator replays. Signatures go stale, which is fine: servers do not
verify them by default (and moto never does).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from botocore.config import Config

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
# Put this in a parameter and the load generator replaces it, in each request it sends, by a
# 12-digit number unique within the run (same length, so Content-Length holds): distinct keys,
# message bodies or dedup ids from one pre-built request. Letters and digits only, so no protocol
# escapes it.
SEQ = "Zseq00000000"


@dataclass(frozen=True)
class Call:
    service: str  # botocore service name ("sqs", "echo")
    operation: str  # client method name ("send_message")
    params: dict[str, Any] = field(default_factory=dict)
    region: str = REGION


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def _capture(request: Any, **_: Any) -> None:
    raise _Captured(request)


class Clients:
    """botocore clients bound to one endpoint: real ones for set-up, capturing ones for requests."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.session = botocore.session.get_session()
        self.session.get_component("data_loader").search_paths.insert(0, str(_extra_models()))
        self._real: dict[tuple[str, str], Any] = {}
        self._capturing: dict[tuple[str, str], Any] = {}

    def _make(self, service: str, region: str) -> Any:
        return self.session.create_client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"max_attempts": 0}, read_timeout=30),
        )

    def client(self, service: str, region: str = REGION) -> Any:
        """A real client, for a workload's set-up (create the queue, fill the table)."""
        key = (service, region)
        if key not in self._real:
            self._real[key] = self._make(service, region)
        return self._real[key]

    def raw(self, call: Call) -> bytes:
        """The bytes of one HTTP/1.1 request for `call`, as botocore would send it."""
        key = (call.service, call.region)
        client = self._capturing.get(key)
        if client is None:
            client = self._capturing[key] = self._make(call.service, call.region)
            client.meta.events.register("before-send", _capture)
        try:
            getattr(client, call.operation)(**call.params)
        except _Captured as captured:
            return to_bytes(captured.request)
        raise RuntimeError(f"{call.service}.{call.operation} was not sent")


def to_bytes(request: Any) -> bytes:
    url = urlsplit(request.url)
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = body.read()
    lines = [f"{request.method} {target} HTTP/1.1", f"Host: {url.netloc}"]
    for name, value in request.headers.items():
        if name.lower() in ("host", "content-length"):
            continue
        lines.append(f"{name}: {value.decode() if isinstance(value, bytes) else value}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


_models_dir: Path | None = None


def _extra_models() -> Path:
    """botocore models for test-only services (the echo plugin), written once per run."""
    global _models_dir
    if _models_dir is None:
        from tests.plugins.echo import write_models

        _models_dir = write_models(Path(tempfile.mkdtemp(prefix="bench-models-")))
        atexit.register(shutil.rmtree, _models_dir, True)
    return _models_dir
