"""The server-streaming baseline: a bare grpc.aio server pushing the same bytes to every stream.

``python -m bench.stream_echo --port 0`` serves, with identity serializers (no protobuf):

- ``/bench.StreamEcho/Subscribe`` (server streaming): each stream waits, then receives every
  payload pushed after it opened, as is;
- ``/bench.StreamEcho/Push`` (unary): hands the request bytes to every open stream at once
  (one ``bytes`` object for all, like the console's live fan-out) and answers ``b""``;
- ``/bench.StreamEcho/Count`` (unary): the number of open streams, as ASCII digits.

It prints ``PORT <n>`` once it listens and stops on SIGTERM or SIGINT. ``bench_realtime_fanout``
compares SubscribeRealtime's fan-out of one frame with one ``Push`` of the same bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

from bench.echo import serve_until_signalled
from bench.procs import subprocess_server

__all__ = ["COUNT", "PORT_LINE", "PUSH", "SUBSCRIBE", "main", "serve", "stream_echo_server"]

SERVICE = "bench.StreamEcho"
SUBSCRIBE, PUSH, COUNT = (f"/{SERVICE}/{name}" for name in ("Subscribe", "Push", "Count"))
"""Full method names."""
PORT_LINE = r"^PORT (?P<port>\d+)$"
_REPO_ROOT = Path(__file__).resolve().parent.parent
_Context = grpc.aio.ServicerContext[bytes, bytes]


class _Hub:
    """Open streams and the payloads pushed to them (one queue per stream, never shared state)."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[bytes]] = set()

    async def subscribe(self, request: bytes, context: _Context) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)
        self.queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self.queues.discard(queue)

    async def push(self, request: bytes, context: _Context) -> bytes:
        for queue in self.queues:
            if queue.full():  # coalesce to the latest, as the console does
                queue.get_nowait()
            queue.put_nowait(request)
        return b""

    async def count(self, request: bytes, context: _Context) -> bytes:
        return str(len(self.queues)).encode()


async def serve(*, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve the three methods on ``host:port`` (0: any free port) until SIGTERM/SIGINT."""
    hub = _Hub()
    handlers: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {
        "Subscribe": grpc.unary_stream_rpc_method_handler(hub.subscribe),
        "Push": grpc.unary_unary_rpc_method_handler(hub.push),
        "Count": grpc.unary_unary_rpc_method_handler(hub.count),
    }
    await serve_until_signalled(grpc.aio.server(), SERVICE, handlers, host=host, port=port, grace_s=0)


@contextlib.asynccontextmanager
async def stream_echo_server() -> AsyncIterator[tuple[str, int]]:
    """Run ``python -m bench.stream_echo`` in its own process; yields (target, pid)."""
    argv = [sys.executable, "-m", "bench.stream_echo", "--port", "0"]
    async with subprocess_server(argv, ready_port_from=PORT_LINE, cwd=str(_REPO_ROOT)) as server:
        yield server.target, server.pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(host=args.host, port=args.port))


if __name__ == "__main__":
    main()
