"""The gRPC baseline: a bare grpc.aio echo server, run as its own process.

``python -m bench.echo --port 0`` serves ``/bench.Echo/Echo`` (bytes in, the
same bytes out, identity serializers, no protobuf) on the default asyncio loop,
prints ``PORT <n>`` once it listens, and stops gracefully on SIGTERM or SIGINT.

It is registered the way grpcio-tools' generated code registers a service
(generic handler + registered method handlers), and ``echo_call`` dials it the
way a generated stub does (``_registered_method=True``), so that the only
difference between a subject RPC and the baseline is the work the subject does.

Benchmarks use::

    async with echo_server() as target, grpc.aio.insecure_channel(target) as channel:
        result = await run_load(echo_call(channel), concurrency=64, duration_s=5.0)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from bench.procs import ServerProcess, subprocess_server

__all__ = [
    "DEFAULT_PAYLOAD_BYTES",
    "METHOD",
    "PORT_LINE",
    "echo_call",
    "echo_server",
    "main",
    "serve",
    "serve_until_signalled",
]

SERVICE = "bench.Echo"
METHOD = f"/{SERVICE}/Echo"
"""Full method name of the echo RPC."""
DEFAULT_PAYLOAD_BYTES = 100
"""Default request (and so response) size (bytes), about one GetApp response."""
PORT_LINE = r"^PORT (?P<port>\d+)$"
"""Regex matching the line the server prints once it listens."""
STOP_GRACE_S = 1.0
"""Seconds in-flight calls get to finish after SIGTERM."""

_REPO_ROOT = Path(__file__).resolve().parent.parent


async def _echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return request


def _method_handlers() -> dict[str, grpc.RpcMethodHandler[bytes, bytes]]:
    # No (de)serializers: grpc passes the raw message bytes through.
    return {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}


async def serve_until_signalled(
    server: grpc.aio.Server,
    service: str,
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    grace_s: float = STOP_GRACE_S,
) -> None:
    """Register ``handlers`` under ``service`` as generated code does (generic handler +
    registered method handlers), listen on ``host:port`` (0: any free port), print ``PORT <n>``
    and serve until SIGTERM/SIGINT, then stop with ``grace_s`` seconds for calls in flight.
    The baseline servers of the benches (this one, ``shaped_echo``, ``stream_echo``) share it."""
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(service, handlers)])
    server.add_registered_method_handlers(service, handlers)
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"PORT {bound}", flush=True)
    await stop.wait()
    await server.stop(grace_s)


async def serve(*, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve the echo method on ``host:port`` (0: any free port) until SIGTERM/SIGINT."""
    await serve_until_signalled(grpc.aio.server(), SERVICE, _method_handlers(), host=host, port=port)


def main(argv: list[str] | None = None) -> int:
    """Command line of the echo server process; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.echo", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to bind, 0 for any (default %(default)s)")
    args = parser.parse_args(argv)
    asyncio.run(serve(host=args.host, port=args.port))
    return 0


@contextlib.asynccontextmanager
async def echo_process(
    *, host: str = "127.0.0.1", ready_timeout_s: float = 30.0
) -> AsyncIterator[ServerProcess]:
    """Run ``python -m bench.echo`` in a subprocess; yield it (target and pid)."""
    argv = [sys.executable, "-m", "bench.echo", "--host", host, "--port", "0"]
    async with subprocess_server(
        argv,
        ready_port_from=PORT_LINE,
        host=host,
        cwd=_REPO_ROOT,
        ready_timeout_s=ready_timeout_s,
    ) as proc:
        yield proc


@contextlib.asynccontextmanager
async def echo_server(*, host: str = "127.0.0.1", ready_timeout_s: float = 30.0) -> AsyncIterator[str]:
    """Run ``python -m bench.echo`` in a subprocess; yield its target ``"HOST:PORT"``."""
    async with echo_process(host=host, ready_timeout_s=ready_timeout_s) as proc:
        yield proc.target


def echo_call(
    channel: grpc.aio.Channel,
    *,
    payload_bytes: int = DEFAULT_PAYLOAD_BYTES,
    timeout_s: float = 10.0,
) -> Callable[[], Awaitable[bytes]]:
    """Return a call factory sending ``payload_bytes`` bytes to the echo method.

    Each call has a deadline of ``timeout_s`` seconds. The factory returns the
    grpc call object itself (no wrapping coroutine), as a generated stub does.
    """
    stub: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(  # type: ignore[call-arg]
        METHOD,
        _registered_method=True,  # as generated stubs do; missing from types-grpcio
    )
    payload = bytes(i % 251 for i in range(payload_bytes))

    def call() -> Awaitable[bytes]:
        return stub(payload, timeout=timeout_s)

    return call


if __name__ == "__main__":
    raise SystemExit(main())
