"""The server interceptor: domain errors to status codes, bugs to INTERNAL, logs.

It wraps the behaviour of every method, whatever its kind, the same way, so the
servicers raise domain errors and never build a status themselves:

* unary → unary and client streaming (``stream → unary``): the error raised by
  the awaited handler;
* server streaming and bidi (``… → stream``): the error raised while the
  response generator is iterated (the frames yielded before it reach the
  client, then the status), or by a handler that writes with
  ``context.write()`` and returns None (as ``grpc.health.v1.Health/Watch``).

Before the handler sees a request of an ``rtcconsole.v1`` service, it is held to the
contract's limits (``api/limits.py``: the caps on every string, bytes and repeated
field, uint64, Timestamp, Duration and FieldMask ranges), each message of a request
stream too; and bytes that do not parse as the request message (corrupt wire data,
invalid UTF-8 in a string) are ``INVALID_ARGUMENT`` instead of grpc's own INTERNAL.
On a stream that reports rejections per record (the ingest streams), a limit broken
inside a record does not end the stream: the message goes on as
``api/stream_records.Screened`` and the servicer rejects those records alone.

Every error goes through ``api/errors.py``'s :func:`to_status` (a domain error
to its code and details; anything else to ``INTERNAL`` with a logged
correlation id). At DEBUG every request message is logged redacted
(``api/redact.py``): the request of a unary-request call, each message of a
request stream as it is read (``<- [i]``, counting from 0); then how long the
call took, in milliseconds (with ``method``, ``code`` and ``duration_ms`` as the
record's extra fields, for ``--log-format json``). Metadata is never logged.

Every call ends in the server's metrics (``observability``): its method's counter by
status code and its latency histogram, recorded here once for gRPC and the HTTP door.
The code is the status the call ends with: ``OK``, the table's code of a raised error,
the code a servicer aborted with (``context.code()``), ``CANCELLED`` when the call is
cancelled (``DEADLINE_EXCEEDED`` when its deadline has passed). A stream's duration
runs until its last message and status. A raised error is recorded before ``abort`` sends
its status (``abort`` sends it at once), so a caller that has seen the status also sees it
counted. A method's series are labelled once, on its
first call (:meth:`Metrics.rpc`), so a call costs two increments and a bucket search.

The wrapped handler of a method is built on its first call and kept (the servicers' handlers
live as long as the server), so a call costs one dict lookup here, not a handler and a closure.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc.aio import AbortError, ServicerContext

from rtcconsole_server.api.errors import to_status
from rtcconsole_server.api.limits import violations_of
from rtcconsole_server.api.redact import redacted_text
from rtcconsole_server.api.stream_records import record_field, screened
from rtcconsole_server.errors import FieldViolation, InvalidArgument
from rtcconsole_server.observability import Metrics, RpcSeries

__all__ = ["ErrorInterceptor"]

log = logging.getLogger("rtcconsole_server.rpc")

_Context = ServicerContext[Any, Any]


def _aborted(context: _Context) -> str:
    """The code a servicer aborted with (``context.code()``: public, and the HTTP door's too)."""
    code: object = context.code()
    return code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"


def _ended(context: _Context) -> str:
    """The code a handler that returned ends with: ``OK`` unless it called ``set_code``."""
    code: object = context.code()
    return code.name if isinstance(code, grpc.StatusCode) else "OK"


def _cancelled(context: _Context) -> str:
    """The code of a call cancelled under the handler: its deadline passed, or the caller left."""
    remaining = context.time_remaining()
    return "DEADLINE_EXCEEDED" if remaining is not None and remaining <= 0 else "CANCELLED"


_OURS = "/rtcconsole.v1."


class _Undecodable:
    """What the wrapped deserializer hands on for bytes that are not the request message."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as error:  # DecodeError, or a UnicodeDecodeError from a string field
            return _Undecodable(error)

    return deserialize


def _admit(request: Any, index: int | None, *, checked: bool, records: str | None = None) -> Any:
    """The request if it parsed and (for our services) keeps the contract's limits; a message of
    a request stream names its stream index in every violation. A message of a per-record
    stream (``records`` names its records' field) whose violations all lie in records is
    handed on as ``Screened``, to be rejected record by record."""
    where = "" if index is None else f" (the message at stream index {index})"
    if isinstance(request, _Undecodable):  # ends even a per-record stream: no record to name
        raise InvalidArgument(
            FieldViolation(
                "request", f"is not a valid message of this method (corrupt bytes or invalid UTF-8){where}"
            )
        )
    if checked and isinstance(request, Message):
        violations = violations_of(request)
        if violations:
            if records is not None:
                handed_on = screened(request, records, violations)
                if handed_on is not None:
                    return handed_on
            if index is not None:
                violations = [FieldViolation(v.field, v.description + where) for v in violations]
            raise InvalidArgument(violations)
    return request


def _log_request(method: str, request: object, index: int | None = None) -> None:
    if log.isEnabledFor(logging.DEBUG) and isinstance(request, Message):
        if index is None:
            log.debug("%s <- %s", method, redacted_text(request))
        else:
            log.debug("%s <- [%d] %s", method, index, redacted_text(request))


async def _admitted_stream(method: str, requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    checked = method.startswith(_OURS)
    records = record_field(method) if checked else None
    index = 0
    async for request in requests:
        admitted = _admit(request, index, checked=checked, records=records)
        _log_request(method, request, index)
        index += 1
        yield admitted


def _requests(method: str, request: Any, *, streaming: bool) -> Any:
    """The request (admitted and logged now), or the request stream (each message admitted, and
    logged at DEBUG, as the handler reads it)."""
    if not streaming:
        _admit(request, None, checked=method.startswith(_OURS))
        _log_request(method, request)
        return request
    return _admitted_stream(method, request)


def _took(series: RpcSeries, method: str, code: str, started: float) -> None:
    """Record the call's end in the metrics; log how long it took at DEBUG."""
    seconds = time.perf_counter() - started
    series.record(code, seconds)
    if log.isEnabledFor(logging.DEBUG):
        ms = seconds * 1e3
        fields = {"method": method, "code": code, "duration_ms": round(ms, 3)}
        log.debug("%s took %.1f ms", method, ms, extra=fields)


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Maps exceptions of every handler (unary, client, server and bidi streaming) through the
    error table (api/errors.py), logs requests redacted at DEBUG and records every call in
    ``metrics`` (default: a registry of its own that nothing scrapes)."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics if metrics is not None else Metrics()
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler[Any, Any], grpc.RpcMethodHandler[Any, Any]]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:  # the services' handlers live as long as the server
            return known[1]
        wrapped = self._wrap(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
        """``handler`` with its behaviour wrapped, built once per method (and again only if the
        server's handler for the method is another object)."""
        series = self._metrics.rpc(method)
        codec: dict[str, Any] = {
            "request_deserializer": _tolerant(handler.request_deserializer),
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, series, handler.unary_unary, streaming=False), **codec
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._unary(method, series, handler.stream_unary, streaming=True), **codec
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(method, series, handler.unary_stream, streaming=False), **codec
            )
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(
                self._streaming(method, series, handler.stream_stream, streaming=True), **codec
            )
        return handler

    @staticmethod
    def _unary(
        method: str, series: RpcSeries, behaviour: Any, *, streaming: bool
    ) -> Callable[[Any, _Context], Awaitable[Any]]:
        """A unary response: ``streaming`` says whether the request is a stream."""

        async def wrapper(request: Any, context: _Context) -> Any:
            started = time.perf_counter()
            code: str | None = "UNKNOWN"
            try:
                response = await behaviour(_requests(method, request, streaming=streaming), context)
                code = _ended(context)
                return response
            except AbortError:
                code = _aborted(context)
                raise
            except asyncio.CancelledError:
                code = _cancelled(context)
                raise
            except Exception as error:  # every failure goes through the table
                status = to_status(error, method)
                _took(series, method, status.code.name, started)  # before abort sends the status
                code = None
                await context.abort(status.code, status.details, status.trailing_metadata)
            finally:
                if code is not None:
                    _took(series, method, code, started)

        return wrapper

    @staticmethod
    def _streaming(
        method: str, series: RpcSeries, behaviour: Any, *, streaming: bool
    ) -> Callable[[Any, _Context], AsyncIterator[Any]]:
        """A response stream: ``streaming`` says whether the request is a stream too."""

        async def wrapper(request: Any, context: _Context) -> AsyncIterator[Any]:
            started = time.perf_counter()
            code: str | None = "UNKNOWN"
            try:
                result = behaviour(_requests(method, request, streaming=streaming), context)
                if inspect.isawaitable(result):  # a handler that writes with context.write()
                    await result
                elif inspect.isasyncgen(result):
                    async with aclosing(result):  # closed at once when the call ends early
                        async for response in result:
                            yield response
                else:
                    async for response in result:
                        yield response
                code = _ended(context)
            except AbortError:
                code = _aborted(context)
                raise
            except (asyncio.CancelledError, GeneratorExit):  # the call ended early: cancelled
                code = _cancelled(context)
                raise
            except Exception as error:  # raised before, between or after the frames alike
                status = to_status(error, method)
                _took(series, method, status.code.name, started)  # before abort sends the status
                code = None
                await context.abort(status.code, status.details, status.trailing_metadata)
            finally:
                if code is not None:
                    _took(series, method, code, started)

        return wrapper
