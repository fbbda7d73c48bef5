"""Running the HTTP door: uvicorn in the server's own event loop, on a socket bound by us.

The door shares the gRPC server's loop, domain and thread pool, so a call costs
no hop; uvicorn runs without its signal handlers (``serve`` owns SIGTERM and
SIGINT) and without lifespan events. The socket is bound before uvicorn starts,
so port 0 works and the port is known (:attr:`HttpDoor.port`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from contextlib import suppress
from pathlib import Path

import uvicorn

from rtcconsole_server.gateway.asgi import ASGIApp
from rtcconsole_server.settings import split_listen

__all__ = ["HttpDoor"]

log = logging.getLogger("rtcconsole_server")

MIN_DRAIN = 0.5
"""Seconds the door's connections get to finish at a stop, however small the grace."""


class HttpDoor:
    """The HTTP listener of ``app`` at ``address`` (``HOST:PORT``), started and stopped explicitly;
    HTTPS with ``tls`` (the PEM certificate chain and key files of the gRPC listener)."""

    def __init__(self, app: ASGIApp, address: str, *, tls: tuple[Path, Path] | None = None) -> None:
        self.address = address
        host, port = split_listen(address)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets that name it, and without
        # it a response written in two parts waits for the peer's delayed ACK (40 ms) on keep-alive.
        self._socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError:
            self._socket.close()
            raise
        self._socket.listen(1024)
        self._socket.setblocking(False)
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        cert, key = (str(tls[0]), str(tls[1])) if tls else (None, None)
        config = uvicorn.Config(
            app, lifespan="off", log_config=None, access_log=False, server_header=False, loop="none",
            ssl_certfile=cert, ssl_keyfile=key,
        )  # fmt: skip
        self.scheme = "https" if tls else "http"
        config.load()
        self._server = uvicorn.Server(config)
        self._server.lifespan = config.lifespan_class(config)
        self._ticks: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    async def start(self) -> None:
        await self._server.startup(sockets=[self._socket])
        self._ticks = asyncio.create_task(self._server.main_loop(), name="http-door-ticks")
        log.info("http door on %s", self.url)

    async def stop(self, grace: float | None) -> None:
        """Stop accepting, let calls in flight finish for ``grace`` seconds (at least :data:`MIN_DRAIN`),
        then cancel them."""
        # uvicorn closes idle keep-alive connections, then waits for the busy ones; with no time at
        # all it would cancel even a response being written, so it gets at least MIN_DRAIN.
        drain = max(grace or 0.0, MIN_DRAIN)
        self._server.config.timeout_graceful_shutdown = drain  # type: ignore[assignment]  # a float works
        self._server.should_exit = True
        if self._ticks is not None:
            with suppress(asyncio.CancelledError):
                await self._ticks
            await self._server.shutdown(sockets=[self._socket])
        else:
            self._socket.close()
