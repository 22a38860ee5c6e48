"""HTTPS: a TLS listener beside the plain one, HTTP/1.1 for boto3 and HTTP/2 chosen by ALPN for
Node's http2 client (as the Java SDK's Netty client does for SubscribeToShard)."""

from __future__ import annotations

import base64
import socket
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.support.node import run_js
from tests.support.server import ServerProcess, free_port


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(
    fresh_server: Callable[..., ServerProcess], certificate: tuple[Path, Path]
) -> tuple[ServerProcess, str]:
    port = free_port()
    proc = fresh_server(
        "--plugin",
        "tests.plugins.echo",
        "--tls-port",
        str(port),
        "--tls-cert",
        str(certificate[0]),
        "--tls-key",
        str(certificate[1]),
        in_memory=True,
    )
    assert any(f"https: {port}" in line for line in proc.output)
    return proc, f"https://127.0.0.1:{port}"


def test_boto3_over_https(
    tls_server: tuple[ServerProcess, str], echo_session: boto3.Session, certificate: tuple[Path, Path]
) -> None:
    _, url = tls_server
    echo = echo_session.client(
        "echo",
        endpoint_url=url,
        region_name="us-east-1",
        verify=str(certificate[0]),
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert echo.echo(Name="secure", Count=2)["Count"] == 2


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_alpn_offers_h2_then_http_1_1_and_tls_1_2_minimum(tls_server: tuple[ServerProcess, str]) -> None:
    _, url = tls_server
    port = int(url.rsplit(":", 1)[1])
    for offered, chosen in ((["h2", "http/1.1"], "h2"), (["http/1.1"], "http/1.1")):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(offered)
        with socket.create_connection(("127.0.0.1", port)) as raw, context.wrap_socket(raw) as tls:
            assert tls.selected_alpn_protocol() == chosen
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", port)) as raw, pytest.raises(ssl.SSLError):
        old.wrap_socket(raw)


def test_node_http2_over_tls_with_alpn(tls_server: tuple[ServerProcess, str]) -> None:
    _, url = tls_server
    out = run_js(
        """
        import http2 from "node:http2";
        const session = http2.connect(process.env.ENDPOINT, { rejectUnauthorized: false });
        const answer = await new Promise((resolve, reject) => {
          const req = session.request({ ":method": "POST", ":path": "/",
            "x-amz-target": "GondwanaEcho11_20261127.Watch", "content-type": "application/x-amz-json-1.1" });
          const chunks = [];
          let status;
          req.on("response", (h) => { status = h[":status"]; });
          req.on("data", (c) => chunks.push(c));
          req.on("end", () => resolve({ status, alpn: session.alpnProtocol,
                                        body: Buffer.concat(chunks).toString("base64") }));
          req.on("error", reject);
          req.end(JSON.stringify({ Count: 2 }));
        });
        session.close();
        console.log(JSON.stringify(answer));
        """,
        url,
    )
    assert out["alpn"] == "h2" and out["status"] == 200
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    buffer.add_data(base64.b64decode(out["body"]))
    assert [m.headers[":event-type"] for m in buffer] == ["initial-response", "Tick", "Tick"]
