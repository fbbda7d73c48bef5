"""The Connect application: one endpoint per method of our services, over the gRPC handlers.

Each endpoint calls the method's handler as the gRPC server runs it (behind its
interceptors) with an :class:`~.context.HttpServicerContext`, and answers the
status the handler ends with as the Connect error of the same code, message and
``google.rpc`` details (``BadRequest``, ``ErrorInfo``, ``RetryInfo``…), which
Connect carries in its JSON error body and gRPC-Web in ``grpc-status-details-bin``.
connectrpc speaks the three protocols (Connect, gRPC-Web, and gRPC where the ASGI
server has trailers) and enforces the caller's timeout.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
from connectrpc.code import Code
from connectrpc.errors import ConnectError, ErrorDetail
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.request import RequestContext
from connectrpc.server import ConnectASGIApplication, Endpoint
from google.protobuf import descriptor_pool, message_factory
from google.rpc import status_pb2
from grpc.aio import AbortError
from protobuf.wkt import Any as WireAny

from rtcconsole_server.api.errors import to_status
from rtcconsole_server.gateway.codecs import door_codecs
from rtcconsole_server.gateway.context import Aborted, HttpServicerContext, Metadata

if TYPE_CHECKING:
    from rtcconsole_server.gateway.methods import Handler

__all__ = ["ConsoleConnectApp", "connect_error"]

T = TypeVar("T")
_DETAILS_KEY = "grpc-status-details-bin"
_CODES = {
    status: Code(status.name.lower()) for status in grpc.StatusCode if status.name not in ("OK", "CANCELLED")
}
_CODES[grpc.StatusCode.CANCELLED] = Code.CANCELED  # Connect spells it with one "l"


class _RequestStreamBroken(AbortError):
    """The request stream failed in connectrpc (bad envelope, message too big, deadline): its
    error passes through our interceptor untouched and is answered as it is."""

    def __init__(self, error: ConnectError) -> None:
        super().__init__(error.message)
        self.error = error


def connect_error(code: grpc.StatusCode, message: str, trailing_metadata: Metadata) -> ConnectError:
    """The Connect error of a gRPC status: same code and message, the ``google.rpc.Status``
    details of ``grpc-status-details-bin`` as its details."""
    details: list[ErrorDetail] = []
    for key, value in trailing_metadata:
        if key == _DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            details = [ErrorDetail(WireAny(type_url=d.type_url, value=d.value)) for d in status.details]
    return ConnectError(_CODES.get(code, Code.UNKNOWN), message, details)


def _failure(error: BaseException, method: str) -> ConnectError:
    """What a call that raised ``error`` answers; a bug becomes ``internal`` with a correlation id."""
    if isinstance(error, ConnectError):
        return error
    if isinstance(error, _RequestStreamBroken):
        return error.error
    if isinstance(error, Aborted):
        return connect_error(error.code, error.details, error.trailing_metadata)
    status = to_status(error, method)  # not one of ours: logged with a correlation id
    return connect_error(status.code, status.details, status.trailing_metadata)


async def _requests(stream: AsyncIterator[T]) -> AsyncIterator[T]:
    try:
        async for message in stream:
            yield message
    except ConnectError as error:
        raise _RequestStreamBroken(error) from error


def _unary(method: str, behaviour: Callable[..., Awaitable[Any]], *, streaming: bool) -> Callable[..., Any]:
    async def call(request: Any, ctx: RequestContext[Any, Any]) -> Any:
        try:
            return await behaviour(_requests(request) if streaming else request, HttpServicerContext(ctx))
        except Exception as error:
            raise _failure(error, method) from None

    return call


def _streaming(method: str, behaviour: Callable[..., Any], *, streaming: bool) -> Callable[..., Any]:
    async def call(request: Any, ctx: RequestContext[Any, Any]) -> AsyncIterator[Any]:
        try:
            responses: AsyncGenerator[Any] = behaviour(
                _requests(request) if streaming else request, HttpServicerContext(ctx)
            )
            async with aclosing(responses):
                async for response in responses:
                    yield response
        except Exception as error:
            raise _failure(error, method) from None

    return call


def _endpoint(method: str, handler: Handler) -> Endpoint[Any, Any]:
    service_name, _, name = method[1:].partition("/")
    descriptor = descriptor_pool.Default().FindMethodByName(f"{service_name}.{name}")
    info: dict[str, Any] = {
        "name": name,
        "service_name": service_name,
        "input": message_factory.GetMessageClass(descriptor.input_type),
        "output": message_factory.GetMessageClass(descriptor.output_type),
        "idempotency_level": IdempotencyLevel.UNKNOWN,  # every call is a POST
    }
    if handler.unary_unary:
        unary = MethodInfo(stream_type=StreamType.UNARY, **info)
        return Endpoint.unary(unary, _unary(method, handler.unary_unary, streaming=False))
    if handler.stream_unary:
        client = MethodInfo(stream_type=StreamType.CLIENT_STREAM, **info)
        return Endpoint.client_stream(client, _unary(method, handler.stream_unary, streaming=True))
    if handler.unary_stream:
        server = MethodInfo(stream_type=StreamType.SERVER_STREAM, **info)
        return Endpoint.server_stream(server, _streaming(method, handler.unary_stream, streaming=False))
    assert handler.stream_stream is not None  # one of the four is set
    bidi = MethodInfo(stream_type=StreamType.BIDI_STREAM, **info)
    return Endpoint.bidi_stream(bidi, _streaming(method, handler.stream_stream, streaming=True))


class ConsoleConnectApp(ConnectASGIApplication[Mapping[str, Any]]):
    """Connect, gRPC-Web (and gRPC) for every method of ``handlers`` (path → intercepted handler)."""

    def __init__(self, handlers: Mapping[str, Handler], *, read_max_bytes: int) -> None:
        endpoints: Mapping[str, Any] = {
            method: _endpoint(method, handler) for method, handler in handlers.items()
        }
        super().__init__(
            service=endpoints,
            endpoints=lambda table: table,
            read_max_bytes=read_max_bytes,
            codecs=door_codecs(),
        )

    @property
    def path(self) -> str:
        return "/"
