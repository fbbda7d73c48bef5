"""``/metrics``: an ASGI application rendering one server's registry.

prometheus_client's own ``make_asgi_app`` renders on the event loop; ours renders
in a thread (``asyncio.to_thread``), because the backlog gauges query the store
while rendering and no store round trip may hold the loop (and every call on it).
The format follows the ``Accept`` header as Prometheus negotiates it: the text
format 0.0.4 by default, OpenMetrics when asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client.exposition import choose_encoder

from rtcconsole_server.observability._metrics import Metrics

__all__ = ["ASGIApp", "metrics_asgi_app"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> str:
    values = (value for key, value in scope.get("headers", ()) if key.lower() == name)
    return ",".join(value.decode("latin-1") for value in values)


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def metrics_asgi_app(metrics: Metrics) -> ASGIApp:
    """The ASGI application of ``GET /metrics`` for ``metrics``'s registry (any other method: 405)."""
    registry = metrics.registry

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope.get("method", "GET") not in ("GET", "HEAD"):
            await _respond(send, 405, [(b"allow", b"GET, HEAD")], b"")
            return
        encoder, content_type = choose_encoder(_header(scope, b"accept"))
        body = await asyncio.to_thread(encoder, registry)
        await _respond(send, 200, [(b"content-type", content_type.encode())], body)

    return app
