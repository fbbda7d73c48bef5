"""The ceiling of a real servicer: an echo shaped like ``AuthorizeRoomEntry``, as its own process.

The bare echo (``bench/echo.py``) passes bytes through: no protobuf, no metadata, no
interceptor. Every real servicer on grpc.aio pays for three things the bare echo does not:
parsing its request message, reading ``invocation_metadata()`` for its credentials, and (here)
one server interceptor, the way ours maps errors, logs and counts calls. This server does
exactly those three and nothing else: ``/rtcconsole.v1.AuthService/AuthorizeRoomEntry``
parses an ``AuthorizeRoomEntryRequest``, finds the ``authorization`` header, and answers a
prebuilt ``AuthorizeRoomEntryResponse`` through a pass-through interceptor that, like ours,
looks the handler up on each call and returns the one wrapper it keeps for it.

``python -m bench.shaped_echo --port 0`` prints ``PORT <n>`` once it listens and stops on
SIGTERM. ``shaped_echo vs echo`` is then how much of a unary call's ceiling the stack itself
takes from any servicer, and ``AuthorizeRoomEntry vs shaped_echo`` what our own code costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeAlias

import grpc

from bench.echo import serve_until_signalled
from bench.procs import ServerProcess, subprocess_server
from rtcconsole.v1 import auth_service_pb2 as auth_pb

__all__ = ["METHOD", "shaped_call", "shaped_echo_process"]

SERVICE = "rtcconsole.v1.AuthService"
METHOD = f"/{SERVICE}/AuthorizeRoomEntry"
"""The method it serves: the same name (and so the same HTTP/2 path length) as the real one."""
PORT_LINE = r"^PORT (?P<port>\d+)$"
_REPO_ROOT = Path(__file__).resolve().parent.parent
_ANSWER = auth_pb.AuthorizeRoomEntryResponse(allowed=True)

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


class _PassThrough(grpc.aio.ServerInterceptor):
    """Looks the handler up and returns the one wrapper kept for it (as ``api/interceptor.py`` does)."""

    def __init__(self) -> None:
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        known = self._wrapped.get(handler_call_details.method)
        if known is not None and known[0] is handler:
            return known[1]
        behaviour = handler.unary_unary

        async def guarded(request: Any, context: Any) -> Any:
            try:
                return await behaviour(request, context)
            except Exception:  # pragma: no cover - the ceiling never fails
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")

        wrapped = grpc.unary_unary_rpc_method_handler(
            guarded, handler.request_deserializer, handler.response_serializer
        )
        self._wrapped[handler_call_details.method] = (handler, wrapped)
        return wrapped


async def _authorize(
    request: auth_pb.AuthorizeRoomEntryRequest,
    context: grpc.aio.ServicerContext[auth_pb.AuthorizeRoomEntryRequest, auth_pb.AuthorizeRoomEntryResponse],
) -> auth_pb.AuthorizeRoomEntryResponse:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            break
    return _ANSWER


async def serve(*, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve the shaped method on ``host:port`` (0: any free port) until SIGTERM/SIGINT."""
    handlers = {
        "AuthorizeRoomEntry": grpc.unary_unary_rpc_method_handler(
            _authorize,
            request_deserializer=auth_pb.AuthorizeRoomEntryRequest.FromString,
            response_serializer=auth_pb.AuthorizeRoomEntryResponse.SerializeToString,
        )
    }
    server = grpc.aio.server(interceptors=[_PassThrough()])
    await serve_until_signalled(server, SERVICE, handlers, host=host, port=port)


@contextlib.asynccontextmanager
async def shaped_echo_process(*, host: str = "127.0.0.1") -> AsyncIterator[ServerProcess]:
    """Run ``python -m bench.shaped_echo`` in a subprocess; yield it (target and pid)."""
    argv = [sys.executable, "-m", "bench.shaped_echo", "--host", host, "--port", "0"]
    async with subprocess_server(argv, ready_port_from=PORT_LINE, host=host, cwd=_REPO_ROOT) as proc:
        yield proc


def shaped_call(
    channel: grpc.aio.Channel,
    request: auth_pb.AuthorizeRoomEntryRequest,
    metadata: tuple[tuple[str, str], ...],
    *,
    timeout_s: float = 10.0,
) -> Callable[[], Awaitable[auth_pb.AuthorizeRoomEntryResponse]]:
    """A call factory sending ``request`` with ``metadata``, as the generated stub would."""
    stub = channel.unary_unary(  # type: ignore[call-arg]
        METHOD,
        request_serializer=auth_pb.AuthorizeRoomEntryRequest.SerializeToString,
        response_deserializer=auth_pb.AuthorizeRoomEntryResponse.FromString,
        _registered_method=True,  # as generated stubs do; missing from types-grpcio
    )

    def call() -> Awaitable[auth_pb.AuthorizeRoomEntryResponse]:
        return stub(request, metadata=metadata, timeout=timeout_s)

    return call


def main(argv: list[str] | None = None) -> int:
    """Command line of the shaped echo server process; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.shaped_echo", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to bind, 0 for any (default %(default)s)")
    args = parser.parse_args(argv)
    asyncio.run(serve(host=args.host, port=args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
