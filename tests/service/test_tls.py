"""TLS on the gRPC listener and mutual TLS on the data plane (decision 0031), in process.

Certificates come from a throwaway CA made by ``trustme``; the server is a real one on
ephemeral ports (the data-plane listener on a port picked free just before).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import trustme

from rtcconsole.client import IngestClient, RtcConsole
from rtcconsole.errors import Unauthenticated, Unavailable
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import app_service_pb2_grpc as app_grpc
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.server import ListenError, Server, build_server
from rtcconsole_server.settings import Settings
from tests.callback_support import DATA_PLANE_TOKEN, room_event
from tests.support import free_port, running_server


@dataclass(frozen=True)
class Pki:
    """The files of one test: the CA, the server's pair, a client pair from the CA and one from a stranger."""

    ca: Path
    cert: Path
    key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path

    def read(self, name: str) -> bytes:
        path: Path = getattr(self, name)
        return path.read_bytes()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca, stranger = trustme.CA(), trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    client = ca.issue_cert("media-1.example", common_name="media-1")
    other = stranger.issue_cert("media-2.example", common_name="media-2")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    server.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    client.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    other.private_key_pem.write_to_path(str(tmp_path / "stranger.key"))
    for name, issued in (("server", server), ("client", client), ("stranger", other)):
        (tmp_path / f"{name}.pem").write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    return Pki(
        tmp_path / "ca.pem",
        tmp_path / "server.pem",
        tmp_path / "server.key",
        tmp_path / "client.pem",
        tmp_path / "client.key",
        tmp_path / "stranger.pem",
        tmp_path / "stranger.key",
    )


@pytest.fixture
async def tls_server(settings: Settings, clock: ManualClock, pki: Pki) -> AsyncIterator[Server]:
    """TLS on ``--listen``, no client certificates."""
    tls = dataclasses.replace(settings, tls_cert=pki.cert, tls_key=pki.key)
    async with running_server(tls, clock) as built:
        yield built


@dataclass(frozen=True)
class Mutual:
    server: Server
    data_plane: str
    """The target of ``--tls-data-plane-listen``."""


@pytest.fixture
async def mtls(settings: Settings, clock: ManualClock, pki: Pki) -> AsyncIterator[Mutual]:
    """TLS on ``--listen`` and mutual TLS on ``--tls-data-plane-listen``."""
    data_plane = f"127.0.0.1:{free_port()}"
    tls = dataclasses.replace(
        settings, tls_cert=pki.cert, tls_key=pki.key, tls_client_ca=pki.ca, tls_data_plane_listen=data_plane
    )
    async with running_server(tls, clock) as built:
        yield Mutual(built, data_plane)


async def api_key(server: Server) -> str:
    issued = await asyncio.to_thread(server.console.accounts.create, "tls-tenant")
    return str(issued.api_key)


async def test_a_tls_call_with_the_ca_works(tls_server: Server, pki: Pki) -> None:
    key = await api_key(tls_server)
    async with await RtcConsole.connect(
        tls_server.target, api_key=key, root_certificates=pki.read("ca")
    ) as console:
        app = await console.apps.create_app(name="over_tls")
        assert (await console.apps.get_app(app.sdk_app_id)).name == "over_tls"


async def test_without_the_ca_or_in_plain_text_it_is_unavailable(tls_server: Server) -> None:
    key = await api_key(tls_server)
    async with await RtcConsole.connect(tls_server.target, api_key=key, secure=True, timeout=10) as console:
        with pytest.raises(Unavailable):  # the system roots do not know the test's CA
            await console.apps.list_apps()
    async with await RtcConsole.connect(tls_server.target, api_key=key, timeout=10) as console:
        with pytest.raises(Unavailable):
            await console.apps.list_apps()


async def test_the_log_says_tls_and_never_shows_the_key(
    settings: Settings, clock: ManualClock, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rtcconsole_server")
    tls = dataclasses.replace(settings, tls_cert=pki.cert, tls_key=pki.key)
    async with running_server(tls, clock):
        pass
    async with running_server(settings, clock):
        pass
    lines = [r.getMessage() for r in caplog.records]
    assert any("TLS (--tls-cert" in line and str(pki.cert) in line for line in lines), lines
    assert any("plain text (no --tls-cert)" in line for line in lines), lines
    key_body = pki.read("key").decode().splitlines()[1]
    assert not any(key_body in line for line in lines)


async def test_mtls_data_plane_with_a_client_certificate_works(mtls: Mutual, pki: Pki) -> None:
    key = await api_key(mtls.server)
    async with await RtcConsole.connect(
        mtls.server.target, api_key=key, root_certificates=pki.read("ca")
    ) as console:
        app = await console.apps.create_app(name="mtls")
    at = mtls.server.console.clock.now()
    async with await IngestClient.connect(
        mtls.data_plane,
        data_plane_token=DATA_PLANE_TOKEN,
        root_certificates=pki.read("ca"),
        certificate_chain=pki.read("client_cert"),
        private_key=pki.read("client_key"),
    ) as ingest:
        response = await ingest.report_events([room_event("e-1", app.sdk_app_id, at=at)])
    assert response.accepted == 1


async def test_mtls_data_plane_without_a_client_certificate_is_unauthenticated(
    mtls: Mutual, pki: Pki
) -> None:
    async with await IngestClient.connect(
        mtls.server.target, data_plane_token=DATA_PLANE_TOKEN, root_certificates=pki.read("ca")
    ) as ingest:
        with pytest.raises(Unauthenticated, match="a client certificate is required"):
            await ingest.report_events([])


async def test_mtls_a_client_certificate_is_not_asked_for_on_the_console_listener(
    mtls: Mutual, pki: Pki
) -> None:
    """A certificate the client offers where none is asked for is not sent: still refused."""
    async with await IngestClient.connect(
        mtls.server.target,
        data_plane_token=DATA_PLANE_TOKEN,
        root_certificates=pki.read("ca"),
        certificate_chain=pki.read("client_cert"),
        private_key=pki.read("client_key"),
    ) as ingest:
        with pytest.raises(Unauthenticated, match="a client certificate is required"):
            await ingest.report_events([])


async def test_mtls_console_calls_without_a_certificate_work(mtls: Mutual, pki: Pki) -> None:
    key = await api_key(mtls.server)
    async with await RtcConsole.connect(
        mtls.server.target, api_key=key, root_certificates=pki.read("ca")
    ) as console:
        assert (await console.apps.create_app(name="no_cert")).name == "no_cert"


@pytest.mark.parametrize("client", [None, "stranger"])
async def test_mtls_the_data_plane_listener_requires_a_certificate_from_the_ca(
    mtls: Mutual, pki: Pki, client: str | None
) -> None:
    async with await IngestClient.connect(
        mtls.data_plane,
        data_plane_token=DATA_PLANE_TOKEN,
        root_certificates=pki.read("ca"),
        certificate_chain=None if client is None else pki.read("stranger_cert"),
        private_key=None if client is None else pki.read("stranger_key"),
        timeout=10,
    ) as ingest:
        with pytest.raises(Unavailable):
            await ingest.report_events([])


async def test_mtls_the_data_plane_token_still_counts(mtls: Mutual, pki: Pki) -> None:
    credentials = grpc.ssl_channel_credentials(
        pki.read("ca"), private_key=pki.read("client_key"), certificate_chain=pki.read("client_cert")
    )
    async with grpc.aio.secure_channel(mtls.data_plane, credentials) as channel:
        async with IngestClient(channel, data_plane_token="not-the-token") as ingest:
            with pytest.raises(Unauthenticated, match="invalid data-plane token"):
                await ingest.report_events([])
        stub = app_grpc.AppServiceStub(channel)  # console services answer there too
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ListApps(app_pb.ListAppsRequest())
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def _broken(pki: Pki, tmp_path: Path) -> dict[str, tuple[dict[str, object], str]]:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    plain = tmp_path / "plain.txt"
    plain.write_text("a certificate, honest\n")
    return {
        "cert without key": ({"tls_cert": pki.cert}, "--tls-cert and --tls-key go together"),
        "key without cert": ({"tls_key": pki.key}, "--tls-cert and --tls-key go together"),
        "missing cert": (
            {"tls_cert": tmp_path / "nope.pem", "tls_key": pki.key},
            f"--tls-cert {tmp_path / 'nope.pem'}: cannot read it (No such file or directory)",
        ),
        "a directory": ({"tls_cert": tmp_path, "tls_key": pki.key}, f"--tls-cert {tmp_path}: cannot read it"),
        "not pem": ({"tls_cert": plain, "tls_key": pki.key}, f"--tls-cert {plain}: not a PEM file"),
        "garbage cert": ({"tls_cert": garbage, "tls_key": pki.key}, "not a PEM certificate chain"),
        "key of another cert": (
            {"tls_cert": pki.cert, "tls_key": pki.client_key},
            "not a PEM certificate chain and the private key of its first certificate",
        ),
        "client ca without tls": (
            {"tls_client_ca": pki.ca},
            "--tls-client-ca needs --tls-cert and --tls-key",
        ),
        "client ca without listener": (
            {"tls_cert": pki.cert, "tls_key": pki.key, "tls_client_ca": pki.ca},
            "--tls-client-ca needs --tls-data-plane-listen",
        ),
        "bad client ca": (
            {
                "tls_cert": pki.cert,
                "tls_key": pki.key,
                "tls_client_ca": garbage,
                "tls_data_plane_listen": "127.0.0.1:0",
            },
            f"--tls-client-ca {garbage}: not a PEM bundle of CA certificates",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "cert without key",
        "key without cert",
        "missing cert",
        "a directory",
        "not pem",
        "garbage cert",
        "key of another cert",
        "client ca without tls",
        "client ca without listener",
        "bad client ca",
    ],
)
async def test_a_tls_setting_that_does_not_do_is_one_clear_start_up_error(
    settings: Settings, clock: ManualClock, pki: Pki, tmp_path: Path, case: str
) -> None:
    changes, message = _broken(pki, tmp_path)[case]
    with pytest.raises(ListenError) as refused:
        await build_server(dataclasses.replace(settings, **changes), clock=clock)  # type: ignore[arg-type]
    assert message in str(refused.value)
    assert pki.read("key").decode().splitlines()[1] not in str(refused.value)  # never key material
