"""Running the HTTP door: uvicorn in the server's own event loop, on a socket bound by us.

The door shares the gRPC server's loop, domain and thread pool, so a call costs
no hop; uvicorn runs without its signal handlers (``serve`` owns SIGTERM and
SIGINT) and without lifespan events. The socket is bound before uvicorn starts,
so port 0 works and the port is known (:attr:`HttpDoor.port`): the way
``observability.EmbeddedHttp`` runs every HTTP listener of a process.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rtcconsole_server.gateway.asgi import ASGIApp
from rtcconsole_server.observability import EmbeddedHttp
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
        self._http = EmbeddedHttp(
            app, host, port, tls=(str(tls[0]), str(tls[1])) if tls else None, proxy_headers=True
        )
        self.host = host
        self.port: int = self._http.port
        self.scheme = "https" if tls else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self._http.address}"

    async def start(self) -> None:
        await self._http.start("http-door-ticks")
        log.info("http door on %s", self.url)

    async def stop(self, grace: float | None) -> None:
        """Stop accepting, let calls in flight finish for ``grace`` seconds (at least :data:`MIN_DRAIN`),
        then cancel them."""
        # uvicorn closes idle keep-alive connections, then waits for the busy ones; with no time at
        # all it would cancel even a response being written, so it gets at least MIN_DRAIN.
        await self._http.stop(max(grace or 0.0, MIN_DRAIN))
