"""The HTTP door (decision 0030) over a real server on SQLite and PostgreSQL: Connect JSON and
binary, gRPC-Web, client and server streaming, with the same authentication, tenancy, limits,
error details and redaction as gRPC; ``/healthz``, ``/readyz``; the guard of unexpected errors.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from google.protobuf import json_format
from google.rpc import error_details_pb2

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import room_event_stream_pb2 as events_pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.monitor import room_events_channel
from rtcconsole_server.gateway.routes import Routes
from rtcconsole_server.server import ListenError, Server, build_server
from rtcconsole_server.settings import Settings
from tests.callback_support import DATA_PLANE, report, room_event
from tests.http_door_support import (
    APPS,
    bearer,
    connect_details,
    envelope,
    envelopes,
    frames,
    grpc_web_details,
    json_call,
    messages,
    trailer,
)
from tests.realtime_support import paid
from tests.support import Tenant, new_tenant, running_server

TIMEOUT = 10.0


pytestmark = pytest.mark.http_door


async def test_connect_json_and_binary_round_trip_with_tenancy(
    http: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    created = await json_call(http, f"{APPS}/CreateApp", {"name": "door_demo"}, bearer(tenant))
    assert created.status_code == 200, created.text
    app = created.json()["app"]
    assert app["name"] == "door_demo" and int(app["sdkAppId"]) > 0
    assert "secretKey" not in json.dumps(app)  # R4: the key is never in an app view

    listed = await json_call(http, f"{APPS}/ListApps", {}, bearer(tenant))
    assert [a["name"] for a in listed.json()["apps"]] == ["door_demo"]
    same_over_grpc = await tenant.get_app(int(app["sdkAppId"]))
    assert same_over_grpc.name == "door_demo"

    binary = await http.post(
        f"{APPS}/GetApp",
        content=app_pb.GetAppRequest(sdk_app_id=int(app["sdkAppId"])).SerializeToString(),
        headers={**bearer(tenant), "content-type": "application/proto"},
    )
    assert binary.status_code == 200 and binary.headers["content-type"] == "application/proto"
    assert app_pb.GetAppResponse.FromString(binary.content).app.name == "door_demo"

    other = await json_call(http, f"{APPS}/GetApp", {"sdkAppId": app["sdkAppId"]}, bearer(other_tenant))
    assert other.status_code == 404 and other.json()["code"] == "not_found"  # walled off


async def test_errors_carry_the_same_code_message_and_details_as_grpc(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    bad = await json_call(http, f"{APPS}/CreateApp", {"name": "x" * 300}, bearer(tenant))
    assert bad.status_code == 400
    error = bad.json()
    assert error["code"] == "invalid_argument"
    violations = connect_details(error)["google.rpc.BadRequest"]
    assert isinstance(violations, error_details_pb2.BadRequest)
    assert [v.field for v in violations.field_violations] == ["name"]

    unauthenticated = await json_call(http, f"{APPS}/ListApps", {}, {})
    assert unauthenticated.status_code == 401 and unauthenticated.json()["code"] == "unauthenticated"
    wrong_key = await json_call(http, f"{APPS}/ListApps", {}, {"authorization": "Bearer nope"})
    assert wrong_key.json()["code"] == "unauthenticated"

    too_many_tags = [{"key": f"k{i}", "value": "v"} for i in range(51)]  # the contract's cap (50)
    capped = await json_call(http, f"{APPS}/ListApps", {"tags": too_many_tags}, bearer(tenant))
    assert capped.status_code == 400
    capped_violations = connect_details(capped.json())["google.rpc.BadRequest"]
    assert isinstance(capped_violations, error_details_pb2.BadRequest)
    assert [v.field for v in capped_violations.field_violations] == ["tags"]

    not_json = await http.post(
        f"{APPS}/ListApps", content=b"{", headers={**bearer(tenant), "content-type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["code"] == "invalid_argument"
    unknown = await json_call(http, f"{APPS}/NoSuchMethod", {}, bearer(tenant))
    assert unknown.status_code == 404


async def test_grpc_web_unary_with_status_and_details_in_the_trailer_frame(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**bearer(tenant), "content-type": "application/grpc-web+proto", "x-grpc-web": "1"}
    ok = await http.post(
        f"{APPS}/CreateApp",
        content=envelope(app_pb.CreateAppRequest(name="web").SerializeToString()),
        headers=headers,
    )
    frames = envelopes(ok.content)
    assert [flags for flags, _ in frames] == [0, 0x80]
    assert app_pb.CreateAppResponse.FromString(frames[0][1]).app.name == "web"
    assert b"grpc-status: 0" in frames[1][1].lower() or b"grpc-status:0" in frames[1][1].lower()

    bad = await http.post(
        f"{APPS}/CreateApp",
        content=envelope(app_pb.CreateAppRequest(name="").SerializeToString()),
        headers=headers,
    )
    status = bad.headers.get("grpc-status") or trailer(bad.content, "grpc-status")
    assert status == "3"  # INVALID_ARGUMENT
    assert list(grpc_web_details(bad)) == ["google.rpc.BadRequest"]


async def test_client_streaming_ingest_and_server_streaming_subscription_over_connect(
    http: httpx.AsyncClient, tenant: Tenant, clock: ManualClock
) -> None:
    await paid(tenant.server, tenant)
    app = (await tenant.create_app("streams")).sdk_app_id
    at = clock.now()
    batches = [
        ingest_pb.StreamEventsRequest(events=[room_event("h1", app, at=at, room=7)]),
        ingest_pb.StreamEventsRequest(events=[room_event("h2", app, at=at, room=7, user="bob")]),
    ]
    body = b"".join(envelope(json_format.MessageToJson(b).encode()) for b in batches) + b""
    streamed = await http.post(
        "/rtcconsole.v1.IngestService/StreamEvents",
        content=body,
        headers={**dict(DATA_PLANE), "content-type": "application/connect+json"},
    )
    assert streamed.status_code == 200, streamed.text
    frames = envelopes(streamed.content)
    response = json.loads(frames[0][1])
    assert response["accepted"] == 2, response
    assert frames[-1][0] & 0x02 and json.loads(frames[-1][1]) == {}  # end of stream, no error

    request = events_pb.SubscribeRoomEventsRequest(sdk_app_id=app, after_sequence=0)
    async with http.stream(
        "POST",
        "/rtcconsole.v1.MonitorService/SubscribeRoomEvents",
        content=envelope(json_format.MessageToJson(request).encode()),
        headers={**bearer(tenant), "content-type": "application/connect+json"},
    ) as subscription:
        assert subscription.status_code == 200
        received = messages(subscription.aiter_bytes())
        seen: list[str] = []
        while len(seen) < 2:
            seen.extend(
                e["event"]["eventId"] for e in (await asyncio.wait_for(anext(received), TIMEOUT))["events"]
            )
        assert seen == ["h1", "h2"]  # the stored events, in their sequence
        await report(tenant.channel, [room_event("h3", app, at=at, room=7, user="carol")])
        live = await asyncio.wait_for(anext(received), TIMEOUT)  # and the live one, ingested over gRPC
        assert [e["eventId"] for e in (x["event"] for x in live["events"])] == ["h3"]
        assert int(live["resumeAfter"]) == int(live["events"][-1]["sequence"])


async def test_server_streaming_subscription_over_grpc_web(
    http: httpx.AsyncClient, tenant: Tenant, clock: ManualClock
) -> None:
    await paid(tenant.server, tenant)
    app = (await tenant.create_app("web_stream")).sdk_app_id
    at = clock.now()
    await report(tenant.channel, [room_event("w1", app, at=at, room=9)])
    request = events_pb.SubscribeRoomEventsRequest(sdk_app_id=app, after_sequence=0)
    async with http.stream(
        "POST",
        "/rtcconsole.v1.MonitorService/SubscribeRoomEvents",
        content=envelope(request.SerializeToString()),
        headers={**bearer(tenant), "content-type": "application/grpc-web+proto", "x-grpc-web": "1"},
    ) as subscription:
        assert subscription.status_code == 200
        assert subscription.headers["content-type"] == "application/grpc-web+proto"
        received = frames(subscription.aiter_bytes())
        flags, stored = await asyncio.wait_for(anext(received), TIMEOUT)
        assert flags == 0  # a message frame, not the trailer: the stream stays open
        first = events_pb.SubscribeRoomEventsResponse.FromString(stored)
        assert [e.event.event_id for e in first.events] == ["w1"]
        await report(tenant.channel, [room_event("w2", app, at=at, room=9, user="bob")])
        flags, live = await asyncio.wait_for(anext(received), TIMEOUT)
        assert flags == 0
        second = events_pb.SubscribeRoomEventsResponse.FromString(live)
        assert [e.event.event_id for e in second.events] == ["w2"]
        assert second.resume_after == second.events[-1].sequence > first.resume_after


async def test_health_and_readiness(http: httpx.AsyncClient, server: Server) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    assert (await http.get("/readyz")).status_code == 200
    server.ready = False  # what stop() does first: load balancers take the replica out
    draining = await http.get("/readyz")
    assert draining.status_code == 503 and draining.json()["reason"] == "starting or draining"
    server.ready = True
    assert (await http.post("/nowhere")).status_code == 404


async def test_an_unexpected_error_is_internal_with_only_a_correlation_id() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("secret detail from deep inside")

    def store_ok() -> None:
        return None

    routes = Routes(broken, ready=lambda: True, store_ok=store_ok)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=routes), base_url="http://door") as client:
        answer = await client.post(f"{APPS}/ListApps", json={})
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal" and "correlation id" in answer.json()["message"]
    assert "secret" not in answer.text


async def _curl(*argv: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        "curl", "-sS", "--max-time", "10", *argv, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out
    return out


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary")
async def test_curl_speaks_connect_json_and_grpc_web(server: Server, tenant: Tenant, tmp_path: Path) -> None:
    assert server.http is not None
    base, auth = server.http.url, f"authorization: Bearer {tenant.api_key}"
    json_headers = ("-H", auth, "-H", "content-type: application/json")
    created = json.loads(await _curl(*json_headers, "-d", '{"name": "by_curl"}', f"{base}{APPS}/CreateApp"))
    frame = tmp_path / "request.bin"
    frame.write_bytes(
        envelope(app_pb.GetAppRequest(sdk_app_id=int(created["app"]["sdkAppId"])).SerializeToString())
    )
    web_headers = ("-H", auth, "-H", "content-type: application/grpc-web+proto", "-H", "x-grpc-web: 1")
    answer = await _curl(*web_headers, "--data-binary", f"@{frame}", f"{base}{APPS}/GetApp")
    frames = envelopes(answer)
    assert app_pb.GetAppResponse.FromString(frames[0][1]).app.name == "by_curl"
    assert trailer(answer, "grpc-status") == "0"


async def test_a_subscription_over_connect_ends_unavailable_when_the_server_stops(
    settings: Settings, clock: ManualClock
) -> None:
    server = await build_server(settings, clock=clock)
    await server.start()
    assert server.http is not None and server.console.live is not None
    async with new_tenant(server, "stopping") as tenant, httpx.AsyncClient(timeout=TIMEOUT) as http:
        await paid(server, tenant)
        app = (await tenant.create_app("stopping")).sdk_app_id
        request = events_pb.SubscribeRoomEventsRequest(sdk_app_id=app)
        answer = asyncio.create_task(
            http.post(  # an idle app: the response (headers too) comes with the end of the stream
                f"{server.http.url}/rtcconsole.v1.MonitorService/SubscribeRoomEvents",
                content=envelope(json_format.MessageToJson(request).encode()),
                headers={**bearer(tenant), "content-type": "application/connect+json"},
            )
        )
        await _until(lambda: server.console.live.subscriber_count(room_events_channel(app)) == 1)  # type: ignore[union-attr]
        await server.stop(5)
        response = await asyncio.wait_for(answer, TIMEOUT)
    assert response.status_code == 200
    flags, end = envelopes(response.content)[-1]
    assert flags & 0x02 and json.loads(end)["error"]["code"] == "unavailable"  # retry on another replica


async def _until(condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(0.01)


async def test_with_a_certificate_the_door_is_https_with_the_same_one(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    issued.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    (tmp_path / "server.pem").write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    tls = dataclasses.replace(settings, tls_cert=tmp_path / "server.pem", tls_key=tmp_path / "server.key")
    async with running_server(tls, clock) as server:
        assert server.http is not None and server.http.url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cadata=ca.cert_pem.bytes().decode())
        async with httpx.AsyncClient(verify=trusted, timeout=TIMEOUT) as https:
            assert (await https.get(f"{server.http.url}/readyz")).json() == {"status": "ready"}
        async with httpx.AsyncClient(timeout=TIMEOUT) as untrusting:
            with pytest.raises(httpx.ConnectError):  # the system roots do not know this CA
                await untrusting.get(f"{server.http.url}/readyz")


async def test_a_busy_http_port_is_one_clear_start_up_error(settings: Settings, clock: ManualClock) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(ListenError) as refused:
            await build_server(dataclasses.replace(settings, http_listen=address), clock=clock)
    assert str(refused.value) == (
        f"cannot listen on {address}: address in use (is another rtc-console serve running? "
        "pick another --http-listen)"
    )
