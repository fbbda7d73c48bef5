"""The HTTP door's routes: the services, ``/healthz``, ``/readyz`` and ``/metrics``.

* ``/rtcconsole.v1.<Service>/<Method>``: the Connect application (Connect, gRPC-Web).
* ``/healthz``: 200 while the process serves HTTP at all (liveness).
* ``/readyz``: 200 when the server takes calls (started, not draining) and the
  store answers a trivial query within :data:`READY_BUDGET`; else 503 with the reason.
* ``/metrics``: the Prometheus text exposition, when a metrics app is given.
* any other ``GET``/``HEAD``: the web console's files (:mod:`.static`).

Anything else is 404. An exception that escapes a route is logged with a
correlation id and answered 500 naming only that id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

from rtcconsole_server.gateway.asgi import ASGIApp, Receive, Scope, Send
from rtcconsole_server.gateway.static import StaticFiles

__all__ = ["READY_BUDGET", "Routes"]

log = logging.getLogger("rtcconsole_server.http")


READY_BUDGET = 2.0
"""Seconds the store gets to answer the readiness query before ``/readyz`` says 503."""
_SERVICES = "/rtcconsole.v1."


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class Routes:
    """The ASGI application of the door.

    ``ready`` says whether the server takes calls; ``store_ok`` runs the store's
    readiness query (blocking: it runs on a thread).
    """

    def __init__(
        self,
        services: ASGIApp,
        *,
        ready: Callable[[], bool],
        store_ok: Callable[[], object],
        metrics: ASGIApp | None = None,
    ) -> None:
        self._services = services
        self._ready = ready
        self._store_ok = store_ok
        self._metrics = metrics
        self._static = StaticFiles()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no lifespan (uvicorn runs with it off), no websockets
            return
        path: str = scope["path"]
        started = False

        async def tracked(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            if path.startswith(_SERVICES):
                await self._services(scope, receive, tracked)
            elif path == "/healthz":
                await _answer(tracked, 200, {"status": "ok"})
            elif path == "/readyz":
                await self._readiness(tracked)
            elif path == "/metrics" and self._metrics is not None:
                await self._metrics(scope, receive, tracked)
            elif scope.get("method") in ("GET", "HEAD"):
                await self._static(scope, receive, tracked)
            else:
                await _answer(tracked, 404, {"code": "not_found", "message": f"no route {path}"})
        except Exception:
            correlation_id = uuid.uuid4().hex
            log.exception("HTTP %s failed; correlation id %s", path, correlation_id)
            if not started:
                message = f"internal error; correlation id {correlation_id}"
                await _answer(send, 500, {"code": "internal", "message": message})

    async def _readiness(self, send: Send) -> None:
        if not self._ready():
            await _answer(send, 503, {"status": "not ready", "reason": "starting or draining"})
            return
        try:
            await asyncio.wait_for(asyncio.to_thread(self._store_ok), READY_BUDGET)
        except TimeoutError:
            await _answer(
                send, 503, {"status": "not ready", "reason": f"store slower than {READY_BUDGET:g} s"}
            )
            return
        except Exception as error:  # an unreachable store: say so, without its URL
            await _answer(send, 503, {"status": "not ready", "reason": f"store: {type(error).__name__}"})
            return
        await _answer(send, 200, {"status": "ready"})
