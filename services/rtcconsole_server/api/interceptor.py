"""The server interceptor: domain errors to status codes, bugs to INTERNAL, logs.

It wraps the behaviour of every method (unary and streaming alike), so the
servicers raise domain errors and never build a status themselves.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc.aio import AbortError, ServicerContext

from rtcconsole_server.api.errors import internal_status, to_status
from rtcconsole_server.api.redact import redacted_text
from rtcconsole_server.errors import RtcError

__all__ = ["ErrorInterceptor"]

log = logging.getLogger("rtcconsole_server.rpc")

_Context = ServicerContext[Any, Any]


async def _fail(context: _Context, method: str, error: BaseException) -> None:
    if isinstance(error, RtcError):
        status = to_status(error)
        log.debug("%s -> %s: %s", method, status.code.name, error.message)
    else:
        correlation_id = uuid.uuid4().hex
        log.error("%s failed; correlation id %s", method, correlation_id, exc_info=error)
        status = internal_status(correlation_id)
    await context.abort(status.code, status.details, status.trailing_metadata)


def _log_request(method: str, request: object) -> None:
    if log.isEnabledFor(logging.DEBUG) and isinstance(request, Message):
        log.debug("%s <- %s", method, redacted_text(request))


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Maps exceptions of every handler through the error table (api/errors.py)."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        codec: dict[str, Any] = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(self._unary(method, handler.unary_unary), **codec)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(self._unary(method, handler.stream_unary), **codec)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(method, handler.unary_stream), **codec
            )
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(
                self._streaming(method, handler.stream_stream), **codec
            )
        return handler

    @staticmethod
    def _unary(method: str, behaviour: Any) -> Callable[[Any, _Context], Awaitable[Any]]:
        async def wrapper(request: Any, context: _Context) -> Any:
            _log_request(method, request)
            started = time.perf_counter()
            try:
                return await behaviour(request, context)
            except AbortError:
                raise
            except Exception as error:  # every failure goes through the table
                await _fail(context, method, error)
            finally:
                log.debug("%s took %.1f ms", method, (time.perf_counter() - started) * 1e3)

        return wrapper

    @staticmethod
    def _streaming(method: str, behaviour: Any) -> Callable[[Any, _Context], AsyncIterator[Any]]:
        async def wrapper(request: Any, context: _Context) -> AsyncIterator[Any]:
            _log_request(method, request)
            try:
                async for response in behaviour(request, context):
                    yield response
            except AbortError:
                raise
            except Exception as error:
                await _fail(context, method, error)

        return wrapper
