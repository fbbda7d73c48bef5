"""Sending fuzzed calls over real gRPC and judging the answers (issue 10 §2).

A call is judged by what a client sees: the status is never ``UNKNOWN`` or ``INTERNAL``
(nor a client-side deadline: the server must answer; nor trailers the client refuses),
every ``INVALID_ARGUMENT`` carries a ``google.rpc.BadRequest`` with field violations, the
status message stays within :data:`MAX_MESSAGE_WIRE_BYTES` and the error trailers within
:data:`MAX_TRAILER_BYTES`, and the server answers a health check afterwards. The wire length
is computed here on its own, not with the server's helper, so a bug there shows.

Hypothesis drives the examples from a worker thread (:func:`run_property`) while the
test's event loop, free because the test awaits that thread, runs the calls; so one
event loop serves the server, its channel and every call.
"""

from __future__ import annotations

import asyncio
import math
import os
import zlib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from tests.fuzz.schema import (
    Call,
    Schema,
    field_count,
    message_class,
    method_path,
    set_fields,
    trimmed,
    variants,
)

__all__ = [
    "CALL_TIMEOUT",
    "CLIENT_WRITE_RACE",
    "EXAMPLES",
    "MAX_MESSAGE_WIRE_BYTES",
    "MAX_TRAILER_BYTES",
    "MIN_EXAMPLES",
    "SEED",
    "Judge",
    "examples_for",
    "exercise",
    "fuzz_method",
    "wire_length",
]

EXAMPLES = int(os.environ.get("RTC_FUZZ_EXAMPLES", "10"))
"""Examples per field of a request (``RTC_FUZZ_EXAMPLES``; CI runs the default): an RPC gets this
many times the fields its request reaches (:func:`~tests.fuzz.schema.field_count`), at least
:data:`MIN_EXAMPLES`, on each backend: ~2,000 examples per backend by default, then the
variants of accepted requests."""
MIN_EXAMPLES = 25
"""Examples of an RPC whose request has few fields (or none), per backend."""
SEED = int(os.environ.get("RTC_FUZZ_SEED", "0"))
"""Mixed with each method's name into its hypothesis seed: the same examples every run unless
``RTC_FUZZ_SEED`` changes."""
CALL_TIMEOUT = 20.0
"""Seconds a call may take before the client gives up (a server that never answers fails)."""
HELD_STREAM = 0.3
"""Seconds a server-streaming call is read; one still open then, without an error, answered well
(WatchRoomCommands stays open until the server stops) and is cancelled."""
MAX_MESSAGE_WIRE_BYTES = 2048
"""The status message as sent in ``grpc-message`` (percent-encoded UTF-8) stays within this."""
MAX_TRAILER_BYTES = 7 * 1024
"""``grpc-message`` and ``grpc-status-details-bin`` (base64 on the wire) together stay within this,
under the 8 KiB of metadata a gRPC client accepts by default."""

BAD_CODES = frozenset({grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL})


def wire_length(text: str) -> int:
    """Bytes of ``text`` in ``grpc-message``: UTF-8, every byte outside 0x20-0x7E and ``%`` as %XX."""
    return sum(1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in text.encode("utf-8"))


def _metadata(credential: str | None) -> tuple[tuple[str, str], ...]:
    return () if credential is None else (("authorization", credential),)


async def _stream(items: Sequence[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


async def exercise(channel: grpc.aio.Channel, call: Call) -> grpc.aio.AioRpcError | None:
    """Send ``call``; the error it ended with, or None when it succeeded."""
    method = call.method
    path = method_path(method)
    deserialize = message_class(method.output_type).FromString
    serialize: Callable[[Any], bytes] | None = None if call.raw is not None else _serialize
    payload: Sequence[Any] = call.raw if call.raw is not None else call.requests
    metadata = _metadata(call.credential)
    try:
        codec: dict[str, Any] = {"request_serializer": serialize, "response_deserializer": deserialize}
        options: dict[str, Any] = {"metadata": metadata, "timeout": CALL_TIMEOUT}
        if method.client_streaming and method.server_streaming:
            async for _ in channel.stream_stream(path, **codec)(_stream(payload), **options):
                pass
        elif method.client_streaming:
            await channel.stream_unary(path, **codec)(_stream(payload), **options)
        elif method.server_streaming:
            stream = channel.unary_stream(path, **codec)(payload[0], **options)
            try:
                async with asyncio.timeout(HELD_STREAM):
                    async for _ in stream:
                        pass
            except TimeoutError:  # a watch or subscription held open without an error: accepted
                stream.cancel()
        else:
            await channel.unary_unary(path, **codec)(payload[0], **options)
    except grpc.aio.AioRpcError as error:
        return error
    return None


def _details_bin(error: grpc.aio.AioRpcError) -> bytes:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            return value
    return b""


CLIENT_WRITE_RACE = "Internal error from Core"
"""What a grpc.aio client reports, instead of the server's status, when the server ended a
client-streaming call early (e.g. UNAUTHENTICATED before reading the stream) and a write of the
client then failed: grpc/grpc#36066 (fix proposed in grpc/grpc#43486). The server's own INTERNAL
always says "internal error; correlation id …", so this one is the client's, not an answer."""


def judge(call: Call, error: grpc.aio.AioRpcError | None) -> None:
    """Assert what issue 10 §2 requires of the answer to ``call``."""
    if error is None:
        return
    code, message = error.code(), error.details() or ""
    if call.method.client_streaming and code == grpc.StatusCode.INTERNAL and message == CLIENT_WRITE_RACE:
        return  # the client library lost the server's status (see CLIENT_WRITE_RACE)
    assert code not in BAD_CODES, f"{call!r}\n  answered {code.name}: {message[:500]}"
    assert not (code == grpc.StatusCode.DEADLINE_EXCEEDED and message == "Deadline Exceeded"), (
        f"{call!r}\n  got no answer within {CALL_TIMEOUT} s"
    )
    assert wire_length(message) <= MAX_MESSAGE_WIRE_BYTES, (
        f"{call!r}\n  {code.name} with a status message of {wire_length(message)} bytes on the wire"
    )
    assert "metadata size exceeds" not in message, f"{call!r}\n  the client refused the trailers: {message}"
    trailer = wire_length(message) + math.ceil(len(_details_bin(error)) * 4 / 3)
    assert trailer <= MAX_TRAILER_BYTES, f"{call!r}\n  {code.name} with {trailer} bytes of trailers"
    if code != grpc.StatusCode.INVALID_ARGUMENT:
        return
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, f"{call!r}\n  INVALID_ARGUMENT without details: {message[:500]}"
    violations: list[error_details_pb2.BadRequest.FieldViolation] = []
    for packed in status.details:
        if packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            packed.Unpack(bad)
            violations.extend(bad.field_violations)
    assert violations, f"{call!r}\n  INVALID_ARGUMENT without field violations: {message[:500]}"
    for violation in violations:
        assert violation.field and violation.description, f"{call!r}\n  empty field violation {violation}"


async def healthy(channel: grpc.aio.Channel) -> None:
    health: Any = health_pb2_grpc.HealthStub(channel)  # untyped stub
    answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


ACCEPTED_KEPT = 2
"""Accepted requests of each method kept as the bases of :meth:`Judge.vary_accepted`."""


class Judge:
    """Sends a call, judges its answer, and checks the server is still healthy; counts the codes
    per method and keeps a few accepted requests of each."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self.calls = 0
        self.codes: Counter[tuple[str, str]] = Counter()
        self.accepted: dict[str, list[Call]] = defaultdict(list)
        """Requests known to be accepted, by method path (the test's bases)."""
        self._found: dict[str, list[Call]] = defaultdict(list)

    async def __call__(self, call: Call) -> None:
        error = await exercise(self.channel, call)
        self.calls += 1
        path = method_path(call.method)
        self.codes[(path, "OK" if error is None else error.code().name)] += 1
        if error is None and call.raw is None:
            self._keep(path, call)
        judge(call, error)
        await healthy(self.channel)

    def _keep(self, path: str, call: Call) -> None:
        """Keep the accepted requests that set the most fields (up to ACCEPTED_KEPT besides the
        bases the test put in ``accepted`` first)."""
        call = Call(call.method, call.credential, tuple(trimmed(r) for r in call.requests))
        found = self._found[path]
        if call in found:
            return
        found.append(call)
        found.sort(
            key=lambda c: (-sum(set_fields(r) for r in c.requests), sum(r.ByteSize() for r in c.requests))
        )
        del found[ACCEPTED_KEPT:]

    async def vary_accepted(self, method: MethodDescriptor) -> int:
        """Send every one-field variant (:func:`~tests.fuzz.schema.variants`) of the accepted
        requests of ``method``: the code behind validation, one bad value at a time. Returns how
        many calls that made."""
        sent = 0
        path = method_path(method)
        for call in [*self.accepted[path], *self._found[path]]:
            for index, request in enumerate(call.requests):
                for _path, variant in variants(request):
                    requests = (*call.requests[:index], variant, *call.requests[index + 1 :])
                    await self(Call(call.method, call.credential, requests))
                    sent += 1
        return sent

    def summary(self) -> str:
        """Codes per method, for ``RTC_FUZZ_REPORT=1`` (what the fuzzer reached)."""
        methods = sorted({path for path, _ in self.codes})
        lines = []
        for path in methods:
            codes = sorted((code, n) for (p, code), n in self.codes.items() if p == path)
            lines.append(f"{path}: " + ", ".join(f"{code} {n}" for code, n in codes))
        return "\n".join(lines)


def examples_for(method: MethodDescriptor) -> int:
    """How many examples ``method`` gets: :data:`EXAMPLES` per field of its request."""
    return max(MIN_EXAMPLES, EXAMPLES * field_count(method.input_type))


def run_property(
    loop: asyncio.AbstractEventLoop,
    schema: Schema,
    method: MethodDescriptor,
    credentials: Sequence[str | None],
    check: Callable[[Call], Coroutine[Any, Any, None]],
    examples: int,
) -> None:
    """Hypothesis over calls of ``method``, each run on ``loop`` (call this from another thread)."""

    @hypothesis_seed(zlib.crc32(method_path(method).encode()) ^ SEED)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        print_blob=False,
    )
    @given(schema.call(method, credentials))
    def property_(call: Call) -> None:
        asyncio.run_coroutine_threadsafe(check(call), loop).result(timeout=CALL_TIMEOUT * 3)

    property_()


async def fuzz_method(
    schema: Schema,
    method: MethodDescriptor,
    credentials: Sequence[str | None],
    check: Callable[[Call], Coroutine[Any, Any, None]],
    examples: int | None = None,
) -> None:
    """Run :func:`run_property` for ``method`` off the loop, the calls on it; ``examples`` defaults
    to :func:`examples_for` the method."""
    examples = examples_for(method) if examples is None else examples
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(run_property, loop, schema, method, credentials, check, examples)
