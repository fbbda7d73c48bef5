"""The HTTP door keeps gRPC's guards on the real call path (decision 0030), on SQLite and PostgreSQL:
a bug in a servicer's domain call is ``internal`` with only a correlation id (unary over Connect
JSON, and mid-way through a server stream over Connect); the message-size cap; a quota error with
its ``QuotaFailure``; and the DEBUG request log of a door call redacted.

The bug is injected by replacing one domain method on the running server's ``Console`` for the
test (``monkeypatch``): the servicer, the interceptor and the door run unchanged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from google.rpc import error_details_pb2

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import room_event_stream_pb2 as events_pb
from rtcconsole_server.api.redact import REDACTED
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.auth import API_KEY_QUOTA
from rtcconsole_server.gateway.codecs import NOT_AN_OBJECT
from rtcconsole_server.server import Server
from tests.callback_support import report, room_event
from tests.http_door_support import (
    APPS,
    END_STREAM,
    bearer,
    connect_details,
    envelope,
    envelopes,
    grpc_web_details,
    json_call,
    trailer,
)
from tests.realtime_support import paid
from tests.support import Tenant

pytestmark = pytest.mark.http_door

AUTH = "/rtcconsole.v1.AuthService"
SECRET = "secret detail from deep inside the store"
_CORRELATION = re.compile(r"^internal error; correlation id ([0-9a-f]{32})$")
READ_MAX_BYTES = 4 * 1024 * 1024
"""The door's cap on one request message (``server._MAX_MESSAGE_BYTES``, as gRPC's receive cap)."""


def _bug(*args: object, **kwargs: object) -> Any:
    raise RuntimeError(SECRET)


def _assert_internal(error: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    """``error`` is ``internal`` naming only a correlation id, the one logged with the traceback."""
    assert error["code"] == "internal", error
    found = _CORRELATION.match(error["message"])
    assert found, error["message"]
    [detail] = connect_details(error).values()
    assert isinstance(detail, error_details_pb2.RequestInfo)
    assert detail.request_id == found[1]
    assert SECRET not in json.dumps(error) and "RuntimeError" not in json.dumps(error)
    [logged] = [r for r in caplog.records if found[1] in r.getMessage()]
    assert logged.levelno == logging.ERROR and logged.exc_info is not None  # the traceback is ours only
    assert SECRET in str(logged.exc_info[1])


async def test_a_bug_in_a_unary_call_is_internal_with_only_a_correlation_id(
    http: httpx.AsyncClient,
    server: Server,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(server.console.apps, "list", _bug)  # AppServicer.ListApps runs it on a thread
    answer = await json_call(http, f"{APPS}/ListApps", {}, bearer(tenant))
    assert answer.status_code == 500
    assert SECRET not in answer.text and "Traceback" not in answer.text
    _assert_internal(answer.json(), caplog)
    monkeypatch.undo()
    assert (await json_call(http, f"{APPS}/ListApps", {}, bearer(tenant))).status_code == 200


async def test_a_bug_in_the_middle_of_a_server_stream_ends_it_internal(
    http: httpx.AsyncClient,
    server: Server,
    tenant: Tenant,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await paid(server, tenant)
    app = (await tenant.create_app("door_bug")).sdk_app_id
    await report(tenant.channel, [room_event("b1", app, at=clock.now(), room=5)])
    follow = server.console.room_event_stream.follow

    async def first_page_then_bug(*args: Any, **kwargs: Any) -> AsyncGenerator[Any]:
        async with aclosing(follow(*args, **kwargs)) as pages:
            yield await anext(pages)
        raise RuntimeError(SECRET)

    monkeypatch.setattr(server.console.room_event_stream, "follow", first_page_then_bug)
    request = events_pb.SubscribeRoomEventsRequest(sdk_app_id=app, after_sequence=0)
    answer = await http.post(  # the stream ends with the bug, so the whole body comes
        "/rtcconsole.v1.MonitorService/SubscribeRoomEvents",
        content=envelope(json_format.MessageToJson(request).encode()),
        headers={**bearer(tenant), "content-type": "application/connect+json"},
    )
    assert answer.status_code == 200  # Connect streams carry their error in the last envelope
    (first_flags, first), (end_flags, end) = envelopes(answer.content)
    assert first_flags == 0 and [e["event"]["eventId"] for e in json.loads(first)["events"]] == ["b1"]
    assert end_flags & END_STREAM
    assert SECRET not in answer.text and "Traceback" not in answer.text
    _assert_internal(json.loads(end)["error"], caplog)


async def test_a_message_over_the_size_cap_is_refused_before_the_servicer(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    oversized = {"name": "big", "description": "x" * READ_MAX_BYTES}
    refused = await json_call(http, f"{APPS}/CreateApp", oversized, bearer(tenant))
    assert refused.status_code == 429 and refused.json()["code"] == "resource_exhausted", refused.text
    assert str(READ_MAX_BYTES) in refused.json()["message"]
    assert len(refused.content) < 1024  # the request is not echoed back
    listed = await tenant.apps.ListApps(app_pb.ListAppsRequest(), metadata=tenant.metadata)
    assert list(listed.apps) == []  # nothing was created

    framed = envelope(json.dumps(oversized).encode())
    streamed = await http.post(
        f"{APPS}/CreateApp",
        content=framed,
        headers={**bearer(tenant), "content-type": "application/grpc-web+json", "x-grpc-web": "1"},
    )
    status = streamed.headers.get("grpc-status") or trailer(streamed.content, "grpc-status")
    assert status == "8"  # RESOURCE_EXHAUSTED over gRPC-Web too

    under = await json_call(http, f"{APPS}/CreateApp", {"name": "small"}, bearer(tenant))
    assert under.status_code == 200  # the connection and the door are fine afterwards


NOT_OBJECTS = [b"", b"[]", b'"name"', b"null", b"5", b"true", b'[{"name": "listed"}]', b' \n ["x"]']
"""JSON bodies whose top-level value is not (or no) object: protobuf's Python parser read ``[]``,
the string and ``["x"]`` as an empty message, failed ``null``, ``5`` and ``true`` with a Python
``TypeError`` text, and the empty body and the array of an object with other parser texts."""


@pytest.mark.parametrize("body", NOT_OBJECTS, ids=repr)
async def test_a_json_body_that_is_not_an_object_is_invalid_argument_saying_so(
    http: httpx.AsyncClient, tenant: Tenant, body: bytes
) -> None:
    headers = {**bearer(tenant), "content-type": "application/json"}
    refused = await http.post(f"{APPS}/CreateApp", content=body, headers=headers)
    assert refused.status_code == 400, refused.text
    assert refused.json() == {"code": "invalid_argument", "message": f"unmarshal message: {NOT_AN_OBJECT}"}

    web = {**bearer(tenant), "content-type": "application/grpc-web+json", "x-grpc-web": "1"}
    framed = await http.post(f"{APPS}/CreateApp", content=envelope(body), headers=web)
    assert (framed.headers.get("grpc-status") or trailer(framed.content, "grpc-status")) == "3"

    listed = await tenant.apps.ListApps(app_pb.ListAppsRequest(), metadata=tenant.metadata)
    assert list(listed.apps) == []  # no servicer ran


async def test_an_object_with_whitespace_around_it_is_read_as_before(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**bearer(tenant), "content-type": "application/json"}
    created = await http.post(f"{APPS}/CreateApp", content=b' \r\n\t{"name": "spaced"} \n', headers=headers)
    assert created.status_code == 200, created.text
    assert created.json()["app"]["name"] == "spaced"
    empty = await http.post(f"{APPS}/CreateApp", content=b"{}", headers=headers)
    assert empty.json()["code"] == "invalid_argument" and empty.json()["message"].startswith("name:")


async def test_a_quota_error_carries_its_quota_failure_over_connect_and_grpc_web(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    for i in range(API_KEY_QUOTA - 1):  # the account's initial key is the first
        await tenant.auth.CreateApiKey(
            auth_pb.CreateApiKeyRequest(display_name=f"k{i}"), metadata=tenant.metadata
        )
    subject = f"accounts/{tenant.account_id}"
    over = await json_call(http, f"{AUTH}/CreateApiKey", {"displayName": "one too many"}, bearer(tenant))
    assert over.status_code == 429 and over.json()["code"] == "resource_exhausted"
    for details in (
        connect_details(over.json()),
        grpc_web_details(
            await http.post(
                f"{AUTH}/CreateApiKey",
                content=envelope(auth_pb.CreateApiKeyRequest(display_name="again").SerializeToString()),
                headers={**bearer(tenant), "content-type": "application/grpc-web+proto", "x-grpc-web": "1"},
            )
        ),
    ):
        quota, info = details["google.rpc.QuotaFailure"], details["google.rpc.ErrorInfo"]
        assert isinstance(quota, error_details_pb2.QuotaFailure)
        assert isinstance(info, error_details_pb2.ErrorInfo)
        [violation] = quota.violations
        assert violation.subject == subject
        assert violation.description == f"{API_KEY_QUOTA} api_keys of {API_KEY_QUOTA} allowed"
        assert info.reason == "API_KEYS_QUOTA_EXCEEDED" and info.metadata["limit"] == str(API_KEY_QUOTA)


async def test_the_debug_request_log_of_a_door_call_is_redacted(
    http: httpx.AsyncClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await tenant.create_app("door_logs")
    code = "271828"  # a TOTP code (a sensitive field of the request): logged as <redacted>
    await json_call(http, f"{AUTH}/CreateSecondaryAuth", {"totpCode": code}, bearer(tenant))
    key = await json_call(http, f"{AUTH}/GetAppSecretKey", {"sdkAppId": str(app.sdk_app_id)}, bearer(tenant))
    secret_key = key.json()["secretKey"]
    created = await json_call(http, f"{AUTH}/CreateApiKey", {"displayName": "logged"}, bearer(tenant))
    api_key = created.json()["apiKey"]

    logs = "\n".join(r.getMessage() for r in caplog.records)
    [line] = [m for r in caplog.records if "CreateSecondaryAuth <- " in (m := r.getMessage())]
    assert REDACTED in line and code not in line
    assert f"GetAppSecretKey <- sdk_app_id: {app.sdk_app_id}" in logs  # requests are logged…
    for secret in (code, secret_key, api_key, tenant.api_key):  # …but no secret, nor the bearer key
        assert secret not in logs
