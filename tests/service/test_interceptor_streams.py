"""The interceptor on streaming calls: the same error table, INTERNAL for bugs and redacted logs as unary.

Server streaming has no RPC in the protos yet, so a bare ``grpc.aio`` server with
the real interceptor serves small handlers of every kind (bytes in, bytes out,
or ``DisableAppRequest`` in, for the redaction); client streaming also runs
through the real ``IngestService`` of the real server.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole_server.api.interceptor import ErrorInterceptor
from rtcconsole_server.api.redact import REDACTED
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.common import BatchOutcome
from rtcconsole_server.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PreconditionViolation,
)
from rtcconsole_server.server import Server
from tests.callback_support import DATA_PLANE, ingest_stub, room_event, stream
from tests.support import Failure, Tenant, fails

CODE = grpc.StatusCode
RPC_LOG = "rtcconsole_server.rpc"
_Ctx = grpc.aio.ServicerContext[Any, Any]


async def _missing(request: bytes, context: _Ctx) -> AsyncIterator[bytes]:
    yield b"one"
    yield b"two"
    raise NotFound("thing", "things/7")


async def _bug(request: bytes, context: _Ctx) -> AsyncIterator[bytes]:
    yield b"one"
    raise RuntimeError("secret internals")


async def _refused_at_once(request: bytes, context: _Ctx) -> AsyncIterator[bytes]:
    raise InvalidArgument(FieldViolation("thing", "is wrong"))
    yield b"never"  # an async generator that fails before its first frame


async def _written(request: bytes, context: _Ctx) -> None:
    """The ``context.write()`` style of server streaming (as grpc.health's Watch)."""
    await context.write(b"one")
    raise NotFound("thing", "things/8")


async def _echo_twice(requests: AsyncIterator[bytes], context: _Ctx) -> AsyncIterator[bytes]:
    count = 0
    async for request in requests:
        yield request
        count += 1
        if count == 2:
            raise FailedPrecondition(PreconditionViolation("ECHO_LIMIT", "echo/1", "two echoes at most"))


async def _echo_bug(requests: AsyncIterator[bytes], context: _Ctx) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request
        raise KeyError("secret internals")


async def _count_then_refuse(requests: AsyncIterator[app_pb.DisableAppRequest], context: _Ctx) -> bytes:
    async for _request in requests:
        pass
    raise PermissionDenied("no secondary authentication")


async def _watch_token(request: app_pb.DisableAppRequest, context: _Ctx) -> AsyncIterator[bytes]:
    yield b"ok"


def _disable_in(
    kind: Callable[..., grpc.RpcMethodHandler[Any, Any]], handler: Any
) -> grpc.RpcMethodHandler[Any, Any]:
    return kind(handler, request_deserializer=app_pb.DisableAppRequest.FromString)


@pytest.fixture
async def streams() -> AsyncIterator[grpc.aio.Channel]:
    """A channel to a bare server with only the interceptor and streaming handlers of each kind."""
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "Missing": grpc.unary_stream_rpc_method_handler(_missing),
        "Bug": grpc.unary_stream_rpc_method_handler(_bug),
        "RefusedAtOnce": grpc.unary_stream_rpc_method_handler(_refused_at_once),
        "Written": grpc.unary_stream_rpc_method_handler(_written),
        "EchoTwice": grpc.stream_stream_rpc_method_handler(_echo_twice),
        "EchoBug": grpc.stream_stream_rpc_method_handler(_echo_bug),
        "CountThenRefuse": _disable_in(grpc.stream_unary_rpc_method_handler, _count_then_refuse),
        "WatchToken": _disable_in(grpc.unary_stream_rpc_method_handler, _watch_token),
    }
    server = grpc.aio.server(interceptors=[ErrorInterceptor()])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.Streams", handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        await server.stop(0)


def _server_stream(channel: grpc.aio.Channel, name: str) -> Any:
    return channel.unary_stream(f"/test.Streams/{name}")


def _bidi(channel: grpc.aio.Channel, name: str) -> Any:
    return channel.stream_stream(f"/test.Streams/{name}")


async def _frames_then(call: Any, code: grpc.StatusCode) -> tuple[list[Any], Failure]:
    """Read a response stream to its end; the frames it carried and how it failed."""
    frames: list[Any] = []

    async def drain() -> None:
        async for frame in call:
            frames.append(frame)

    return frames, await fails(drain(), code)


def _correlated(failure: Failure, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The log records naming the failure's correlation id (checked to be in its message too)."""
    correlation_id = failure.details["google.rpc.RequestInfo"].request_id
    assert correlation_id and correlation_id in failure.message
    assert "secret internals" not in failure.message and "Traceback" not in failure.message
    return [r for r in caplog.records if correlation_id in r.getMessage()]


# -- server streaming ---------------------------------------------------------------------------


async def test_a_domain_error_while_streaming_maps_after_the_frames_before_it(
    streams: grpc.aio.Channel,
) -> None:
    frames, failure = await _frames_then(_server_stream(streams, "Missing")(b""), CODE.NOT_FOUND)
    assert frames == [b"one", b"two"]
    info = failure.details["google.rpc.ResourceInfo"]
    assert (info.resource_type, info.resource_name) == ("thing", "things/7")
    assert failure.message == "thing things/7 not found"


async def test_a_bug_while_streaming_is_internal_with_a_logged_correlation_id(
    streams: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    frames, failure = await _frames_then(_server_stream(streams, "Bug")(b""), CODE.INTERNAL)
    assert frames == [b"one"]
    logged = _correlated(failure, caplog)
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None and isinstance(logged[0].exc_info[1], RuntimeError)
    assert "/test.Streams/Bug" in logged[0].getMessage()


async def test_a_stream_refused_before_its_first_frame_maps_too(streams: grpc.aio.Channel) -> None:
    call = _server_stream(streams, "RefusedAtOnce")(b"")
    frames, failure = await _frames_then(call, CODE.INVALID_ARGUMENT)
    assert frames == []
    assert failure.field_violations == {"thing": "is wrong"}


async def test_a_handler_writing_with_context_write_maps_too(streams: grpc.aio.Channel) -> None:
    frames, failure = await _frames_then(_server_stream(streams, "Written")(b""), CODE.NOT_FOUND)
    assert frames == [b"one"]
    assert failure.details["google.rpc.ResourceInfo"].resource_name == "things/8"


async def test_health_watch_streams_through_the_interceptor(server: Server) -> None:
    """grpc.health's Watch writes with ``context.write()``: the interceptor lets it through."""
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        call = stub.Watch(health_pb2.HealthCheckRequest(service=""))
        first = await call.read()
        call.cancel()
    assert first.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_server_streaming_request_is_logged_redacted(
    streams: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=RPC_LOG)
    call: Any = streams.unary_stream(
        "/test.Streams/WatchToken", request_serializer=app_pb.DisableAppRequest.SerializeToString
    )
    frames = [f async for f in call(app_pb.DisableAppRequest(sdk_app_id=7, secondary_auth_token="tok-123"))]
    assert frames == [b"ok"]
    logs = [r.getMessage() for r in caplog.records if r.name == RPC_LOG]
    requests = [m for m in logs if m.startswith("/test.Streams/WatchToken <- ")]
    assert len(requests) == 1 and REDACTED in requests[0] and "sdk_app_id: 7" in requests[0]
    assert not any("tok-123" in m for m in logs)
    assert any(m.startswith("/test.Streams/WatchToken took ") for m in logs)


# -- bidi streaming -----------------------------------------------------------------------------


async def _byte_requests(*items: bytes) -> AsyncIterator[bytes]:
    for item in items:
        yield item


async def test_a_domain_error_in_a_bidi_stream_maps_after_the_echoes(streams: grpc.aio.Channel) -> None:
    call = _bidi(streams, "EchoTwice")(_byte_requests(b"a", b"b", b"c"))
    frames, failure = await _frames_then(call, CODE.FAILED_PRECONDITION)
    assert frames == [b"a", b"b"]
    violation = failure.details["google.rpc.PreconditionFailure"].violations[0]
    assert (violation.type, violation.subject) == ("ECHO_LIMIT", "echo/1")


async def test_a_bug_in_a_bidi_stream_is_internal_with_a_logged_correlation_id(
    streams: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    call = _bidi(streams, "EchoBug")(_byte_requests(b"a", b"b"))
    frames, failure = await _frames_then(call, CODE.INTERNAL)
    assert frames == [b"a"]
    logged = _correlated(failure, caplog)
    assert logged and logged[0].exc_info is not None and isinstance(logged[0].exc_info[1], KeyError)


# -- client streaming ---------------------------------------------------------------------------


async def test_each_message_of_a_request_stream_is_logged_redacted(
    streams: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=RPC_LOG)

    async def requests() -> AsyncIterator[app_pb.DisableAppRequest]:
        for i in (1, 2):
            yield app_pb.DisableAppRequest(sdk_app_id=i, secondary_auth_token=f"tok-{i}")

    call: Any = streams.stream_unary(
        "/test.Streams/CountThenRefuse", request_serializer=app_pb.DisableAppRequest.SerializeToString
    )
    await fails(call(requests()), CODE.PERMISSION_DENIED)
    logs = [r.getMessage() for r in caplog.records if r.name == RPC_LOG]
    requests_logged = [m for m in logs if m.startswith("/test.Streams/CountThenRefuse <- ")]
    assert [m.split(" ")[2] for m in requests_logged] == ["[0]", "[1]"]
    assert all(REDACTED in m for m in requests_logged)
    assert not any("tok-1" in m or "tok-2" in m for m in logs)
    assert "/test.Streams/CountThenRefuse -> PERMISSION_DENIED: no secondary authentication" in logs


async def test_stream_events_maps_domain_errors_of_a_client_stream(tenant: Tenant) -> None:
    async def nothing() -> AsyncIterator[pb.StreamEventsRequest]:
        yield pb.StreamEventsRequest()

    await fails(ingest_stub(tenant.channel).StreamEvents(nothing()), CODE.UNAUTHENTICATED)
    await fails(
        ingest_stub(tenant.channel).StreamEvents(nothing(), metadata=tenant.metadata), CODE.PERMISSION_DENIED
    )


async def test_stream_usage_maps_domain_errors_of_a_client_stream(tenant: Tenant) -> None:
    async def nothing() -> AsyncIterator[pb.StreamUsageRequest]:
        yield pb.StreamUsageRequest()

    await fails(ingest_stub(tenant.channel).StreamUsage(nothing()), CODE.UNAUTHENTICATED)
    failure = await fails(
        ingest_stub(tenant.channel).StreamUsage(nothing(), metadata=tenant.metadata), CODE.PERMISSION_DENIED
    )
    assert "data-plane token" in failure.message


async def test_a_bug_in_stream_events_is_internal_with_a_logged_correlation_id(
    server: Server,
    tenant: Tenant,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = await tenant.create_app()
    real: Callable[..., BatchOutcome] = server.console.events.ingest
    calls: list[int] = []

    def second_batch_breaks(events: Any, *, offset: int = 0) -> BatchOutcome:
        calls.append(offset)
        if len(calls) == 2:
            raise RuntimeError("secret internals")
        return real(events, offset=offset)

    monkeypatch.setattr(server.console.events, "ingest", second_batch_breaks)
    now = clock.now()
    failure = await fails(
        stream(
            tenant.channel,
            [[room_event("a", app.sdk_app_id, at=now)], [room_event("b", app.sdk_app_id, at=now)]],
        ),
        CODE.INTERNAL,
    )
    assert calls == [0, 1]
    logged = _correlated(failure, caplog)
    assert logged and logged[0].exc_info is not None
    assert "/rtcconsole.v1.IngestService/StreamEvents" in logged[0].getMessage()


async def test_stream_events_logs_each_batch_and_never_the_token(
    tenant: Tenant, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=RPC_LOG)
    app = await tenant.create_app()
    now = clock.now()
    response = await stream(
        tenant.channel, [[room_event("a", app.sdk_app_id, at=now)], [room_event("b", app.sdk_app_id, at=now)]]
    )
    assert response.accepted == 2
    logs = [r.getMessage() for r in caplog.records if r.name == RPC_LOG]
    batches = [m for m in logs if m.startswith("/rtcconsole.v1.IngestService/StreamEvents <- ")]
    assert len(batches) == 2 and 'event_id: "a"' in batches[0] and 'event_id: "b"' in batches[1]
    token = DATA_PLANE[0][1].partition(" ")[2]
    assert not any(token in m for m in logs)
