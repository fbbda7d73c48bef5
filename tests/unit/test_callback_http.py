"""The callback HTTP client on its own: TLS to a checked address keeps the URL's name, one deadline.

A real TLS receiver on 127.0.0.1 with a self-signed certificate for ``hooks.test``
(made with the ``openssl`` command), and a resolver the test controls.
"""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rtcconsole_server.domain.callbacks._http import CallbackClient
from rtcconsole_server.domain.common import DestinationPolicy, IPAddress

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=hooks.test",
         "-addext", "subjectAltName=DNS:hooks.test", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_receiver(certificate: tuple[Path, Path]) -> Iterator[tuple[int, list[str]]]:
    """An HTTPS receiver answering 200; yields its port and the SNI names it was sent."""
    cert, key = certificate
    names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def record_sni(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(str(name))

    context.sni_callback = record_sni

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], names
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def _resolve(host: str, port: int) -> Sequence[IPAddress]:
    """``hooks.test`` is 127.0.0.1; an address is itself."""
    return [ipaddress.ip_address("127.0.0.1" if host == "hooks.test" else host)]


async def test_tls_goes_to_the_checked_address_with_the_urls_name(
    certificate: tuple[Path, Path], tls_receiver: tuple[int, list[str]]
) -> None:
    port, names = tls_receiver
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    client = CallbackClient(
        DestinationPolicy.of(["127.0.0.1/32"]), resolver=_resolve, ssl_context=trusting, keepalive=0
    )
    try:
        by_name = await client.post(f"https://hooks.test:{port}/cb", b"{}", {}, timeout_s=5, keep=16)
        by_address = await client.post(f"https://127.0.0.1:{port}/cb", b"{}", {}, timeout_s=5)
    finally:
        await client.aclose()
    # connected to 127.0.0.1 (the resolver's answer), certificate checked for hooks.test and SNI sent
    assert (by_name.status_code, by_name.error, by_name.response_head) == (200, "", b"ok")
    assert names[0] == "hooks.test"
    # the same receiver by its address: the certificate does not name it, so TLS fails
    assert (by_address.status_code, by_address.error) == (0, "cannot connect (network or TLS)")


async def test_a_name_that_resolves_nowhere_allowed_is_refused_before_any_connection(
    tls_receiver: tuple[int, list[str]],
) -> None:
    port, names = tls_receiver
    client = CallbackClient(DestinationPolicy(), resolver=_resolve)  # 127.0.0.1 not opened
    try:
        result = await client.post(f"https://hooks.test:{port}/cb", b"{}", {}, timeout_s=5)
    finally:
        await client.aclose()
    assert (result.status_code, result.error, result.failure) == (0, "destination not allowed", "forbidden")
    assert names == []  # no TLS handshake ever started
