"""A process's own metrics listener: ``GET /metrics`` and ``/healthz`` where there is no HTTP door.

``rtc-console dispatcher``, ``aggregator`` and ``retention`` serve no calls, so
they have no HTTP door; with ``--metrics-listen HOST:PORT`` they get this
listener instead. ``/metrics`` is :func:`~rtcconsole_server.observability.metrics_asgi_app`
(the door's own: text format 0.0.4, OpenMetrics on ``Accept``, rendered off the
event loop), ``/healthz`` answers 200 ``{"status": "ok"}`` while the process
serves, anything else 404. It runs on uvicorn in the process's event loop, without
its signal handlers (``run_until_signalled`` owns SIGTERM and SIGINT) and without
lifespan events; the socket is bound in the constructor, so a busy port fails
before anything starts, and port 0 works (:attr:`MetricsListener.port`).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket

from rtcconsole_server.observability._embedded import EmbeddedHttp
from rtcconsole_server.observability._metrics import Metrics
from rtcconsole_server.observability._scrape import Receive, Scope, Send, metrics_asgi_app

__all__ = ["METRICS_DRAIN", "MetricsListener"]

log = logging.getLogger("rtcconsole_server.metrics")

METRICS_DRAIN = 0.5
"""Seconds a scrape in flight gets to finish when the listener stops."""
_WHY_NOT = {
    errno.EADDRINUSE: "address in use (pick another --metrics-listen)",
    errno.EACCES: "permission denied (ports below 1024 need privileges; pick another --metrics-listen)",
    errno.EADDRNOTAVAIL: "no such address on this machine (pick one of its addresses, or 127.0.0.1)",
}


async def _json(send: Send, status: int, body: dict[str, str]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class MetricsListener:
    """``GET /metrics`` of ``metrics``'s registry and ``/healthz`` on ``host`` (an IPv6 one
    without brackets) and ``port`` (0 picks a free one; ``settings.split_listen`` of a
    ``HOST:PORT``); started and stopped explicitly.

    Raises ``OSError`` naming ``--metrics-listen`` when the address cannot be bound.
    """

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self.host = host
        self._metrics = metrics_asgi_app(metrics)
        try:
            self._http = EmbeddedHttp(self._route, host, port, backlog=64)
        except OSError as error:
            self.port = port
            code = error.errno or 0
            if isinstance(error, socket.gaierror):
                why = f"unknown host {host!r} ({error.strerror})"
            else:
                why = _WHY_NOT.get(code, os.strerror(code).lower() if code else str(error))
            raise OSError(f"cannot listen on {self.address} (--metrics-listen): {why}") from None
        self.port = self._http.port
        """The port bound: the one asked for, or the one the system picked for 0."""

    @property
    def address(self) -> str:
        """``HOST:PORT`` as bound (the real port when 0 was asked for)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no lifespan (off), no websockets
            return
        path = scope["path"]
        if path == "/metrics":
            await self._metrics(scope, receive, send)
        elif path == "/healthz":
            await _json(send, 200, {"status": "ok"})
        else:
            await _json(send, 404, {"code": "not_found", "message": f"no route {path}"})

    async def start(self, name: str) -> None:
        """Serve on the running event loop; logs ``<name>: metrics listening on HOST:PORT``."""
        await self._http.start("metrics-listener-ticks")
        log.info("%s: metrics listening on %s", name, self.address)

    async def stop(self) -> None:
        """Stop accepting; a scrape in flight gets :data:`METRICS_DRAIN` seconds, then is cancelled."""
        await self._http.stop(METRICS_DRAIN)
