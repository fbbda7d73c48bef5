"""The transport's streaming calls against a real ``grpc.aio`` server on port 0.

No service of the protos streams responses yet (MonitorService will), so a small generic
service registered here stands in: numbers go over the wire as ASCII bytes. Both kinds of
streaming call must carry the bearer metadata and the deadline and raise the typed errors
of :mod:`rtcconsole.errors`, also for a failure after some responses arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2

from rtcconsole._transport import Transport
from rtcconsole.errors import (
    DeadlineExceeded,
    InvalidArgument,
    PermissionDenied,
    RtcConsoleError,
)
from tests.client.fake import failure

SERVICE = "rtcconsole.test.Numbers"
KEY = "rtc_stream_key_1"
Context = grpc.aio.ServicerContext[Any, Any]
SLACK = 0.1
"""Seconds the server's ``time_remaining()`` may exceed the client's timeout (the wire rounds it up)."""


def _encode(number: int) -> bytes:
    return str(number).encode("ascii")


def _decode(data: bytes) -> int:
    return int(data.decode("ascii"))


@dataclass
class Numbers:
    """The stand-in service; it records what each call carried."""

    metadata: list[dict[str, str]] = field(default_factory=list)
    remaining: list[float | None] = field(default_factory=list)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    def _seen(self, context: Context) -> None:
        self.metadata.append({key: str(value) for key, value in context.invocation_metadata() or ()})
        self.remaining.append(context.time_remaining())

    async def count(self, request: int, context: Context) -> AsyncIterator[int]:
        """0, 1, …, request - 1."""
        self._seen(context)
        for number in range(request):
            yield number

    async def fail_after(self, request: int, context: Context) -> AsyncIterator[int]:
        """``request`` numbers, then INVALID_ARGUMENT with a field violation in the details."""
        self._seen(context)
        for number in range(request):
            yield number
        violation = error_details_pb2.BadRequest.FieldViolation(field="n", description="too many")
        status = failure(
            grpc.StatusCode.INVALID_ARGUMENT,
            "stopped mid-stream",
            error_details_pb2.BadRequest(field_violations=[violation]),
        )
        await context.abort_with_status(status)

    async def hang(self, request: int, context: Context) -> AsyncIterator[int]:
        """``request`` numbers, then nothing until the call ends (cancelled or past its deadline)."""
        self._seen(context)
        try:  # a cancel may land while a number is being sent, not only while it waits
            for number in range(request):
                yield number
            await asyncio.Event().wait()
        finally:  # it waits forever: only the end of the call (cancelled, deadline) gets here
            self.cancelled.set()
        yield -1  # pragma: no cover - never reached

    async def total(self, requests: AsyncIterator[int], context: Context) -> int:
        """The sum of every request; a negative one is PERMISSION_DENIED."""
        self._seen(context)
        total = 0
        async for number in requests:
            if number < 0:
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, "no negative numbers")
            total += number
        return total

    def handler(self) -> grpc.GenericRpcHandler:
        streams = {"Count": self.count, "FailAfter": self.fail_after, "Hang": self.hang}
        handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
            name: grpc.unary_stream_rpc_method_handler(
                behaviour, request_deserializer=_decode, response_serializer=_encode
            )
            for name, behaviour in streams.items()
        }
        handlers["Total"] = grpc.stream_unary_rpc_method_handler(
            self.total, request_deserializer=_decode, response_serializer=_encode
        )
        return grpc.method_handlers_generic_handler(SERVICE, handlers)


@dataclass
class Rig:
    numbers: Numbers
    channel: grpc.aio.Channel
    transport: Transport

    def server_stream(self, name: str) -> grpc.aio.UnaryStreamMultiCallable[int, int]:
        return self.channel.unary_stream(
            f"/{SERVICE}/{name}", request_serializer=_encode, response_deserializer=_decode
        )

    def client_stream(self, name: str) -> grpc.aio.StreamUnaryMultiCallable[int, int]:
        return self.channel.stream_unary(
            f"/{SERVICE}/{name}", request_serializer=_encode, response_deserializer=_decode
        )


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    numbers = Numbers()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([numbers.handler()])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Rig(numbers, channel, Transport(channel, api_key=KEY, timeout=5))
    finally:
        await server.stop(None)


# server streaming (unary → stream)


async def test_server_stream_yields_every_response_with_the_metadata_and_deadline(rig: Rig) -> None:
    async with rig.transport.unary_stream(rig.server_stream("Count"), 4) as stream:
        received = [number async for number in stream]
    assert received == [0, 1, 2, 3]
    assert rig.numbers.metadata[0]["authorization"] == f"Bearer {KEY}"
    [remaining] = rig.numbers.remaining
    assert remaining is not None and 0 < remaining <= 5 + SLACK
    assert [n async for n in stream] == []  # an ended stream stays ended


async def test_an_error_mid_stream_arrives_as_the_typed_error_with_its_details(rig: Rig) -> None:
    received: list[int] = []
    with pytest.raises(InvalidArgument) as raised:
        async for number in rig.transport.unary_stream(rig.server_stream("FailAfter"), 2):
            received.append(number)
    assert received == [0, 1]
    assert raised.value.message == "stopped mid-stream"
    assert [(v.field, v.description) for v in raised.value.field_violations] == [("n", "too many")]
    assert isinstance(raised.value.__cause__, grpc.aio.AioRpcError)


async def test_an_error_before_the_first_response_is_typed_too(rig: Rig) -> None:
    missing = rig.channel.unary_stream(
        f"/{SERVICE}/NoSuchMethod", request_serializer=_encode, response_deserializer=_decode
    )
    with pytest.raises(RtcConsoleError) as raised:
        await anext(rig.transport.unary_stream(missing, 1))
    assert raised.value.code == grpc.StatusCode.UNIMPLEMENTED


async def test_the_deadline_covers_the_whole_stream(rig: Rig) -> None:
    stream = rig.transport.unary_stream(rig.server_stream("Hang"), 1, rpc_timeout=0.3)
    assert await anext(stream) == 0
    with pytest.raises(DeadlineExceeded):
        await anext(stream)
    [remaining] = rig.numbers.remaining
    assert remaining is not None and remaining <= 0.3 + SLACK


async def test_leaving_the_block_cancels_the_call_on_the_server(rig: Rig) -> None:
    async with rig.transport.unary_stream(rig.server_stream("Hang"), 3) as stream:
        async for number in stream:
            if number == 1:
                break
    await asyncio.wait_for(rig.numbers.cancelled.wait(), 5)
    assert [n async for n in stream] == []  # closed: nothing more, no CancelledError
    assert "closed" in repr(stream)


async def test_cancel_reports_whether_the_call_was_running(rig: Rig) -> None:
    stream = rig.transport.unary_stream(rig.server_stream("Hang"), 1)
    assert await anext(stream) == 0
    assert stream.cancel() is True
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    await asyncio.wait_for(rig.numbers.cancelled.wait(), 5)


# client streaming (stream → unary)


async def test_client_stream_takes_an_iterable_or_an_async_iterable(rig: Rig) -> None:
    async def numbers() -> AsyncIterator[int]:
        for number in (1, 2, 3):
            await asyncio.sleep(0)
            yield number

    assert await rig.transport.stream_unary(rig.client_stream("Total"), [4, 5]) == 9
    assert await rig.transport.stream_unary(rig.client_stream("Total"), numbers()) == 6
    assert await rig.transport.stream_unary(rig.client_stream("Total"), iter(())) == 0
    assert [m["authorization"] for m in rig.numbers.metadata] == [f"Bearer {KEY}"] * 3
    assert all(r is not None and 0 < r <= 5 + SLACK for r in rig.numbers.remaining), rig.numbers.remaining


async def test_client_stream_errors_are_typed(rig: Rig) -> None:
    with pytest.raises(PermissionDenied, match="no negative numbers") as raised:
        await rig.transport.stream_unary(rig.client_stream("Total"), [1, -1, 2])
    assert isinstance(raised.value.__cause__, grpc.aio.AioRpcError)


async def test_an_exception_of_the_request_iterator_is_raised_not_swallowed(rig: Rig) -> None:
    """gRPC cancels the call and only logs the iterator's error; the transport raises it."""

    def broken() -> Iterator[int]:
        yield 1
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    with pytest.raises(UnicodeDecodeError):
        await rig.transport.stream_unary(rig.client_stream("Total"), broken())


async def test_a_cancelled_caller_stays_cancelled(rig: Rig) -> None:
    async def slow() -> AsyncIterator[int]:
        yield 1
        await asyncio.Event().wait()
        yield 2  # pragma: no cover - never reached

    task = asyncio.create_task(rig.transport.stream_unary(rig.client_stream("Total"), slow()))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# the bearer token


def test_exactly_one_token_and_never_a_blank_one() -> None:
    channel: Any = object()  # never used: construction fails first, or only reads it
    with pytest.raises(TypeError, match="exactly one"):
        Transport(channel, timeout=1)
    with pytest.raises(TypeError, match="exactly one"):
        Transport(channel, api_key="k", data_plane_token="t", timeout=1)
    with pytest.raises(ValueError, match="api_key must be a non-empty token without spaces"):
        Transport(channel, api_key="two words", timeout=1)
    with pytest.raises(ValueError, match=r"data_plane_token must be a non-empty token$"):
        Transport(channel, data_plane_token="  ", timeout=1)
    chosen = Transport(channel, data_plane_token=" an operator's phrase ", timeout=1)
    assert "phrase" not in repr(chosen)
