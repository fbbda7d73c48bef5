"""uvicorn in the process's own event loop, on a socket bound by us: the HTTP door and the metrics listener.

Both HTTP listeners of a process (``gateway/door.py``'s door of ``serve``, this package's
:class:`~rtcconsole_server.observability.MetricsListener` of a worker run alone) run the same
way: the socket is bound in the constructor, so a busy port fails before anything starts and
port 0 works (:attr:`EmbeddedHttp.port`); uvicorn runs on the running loop without its signal
handlers (the process owns SIGTERM and SIGINT) and without lifespan events; a stop lets the
responses in flight finish for a drain, then cancels them.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import suppress
from typing import Any

import uvicorn

__all__ = ["EmbeddedHttp"]


class EmbeddedHttp:
    """``app`` (ASGI 3) served by uvicorn on ``host`` (an IPv6 one without brackets) and ``port``.

    ``backlog`` is the listen queue (connections); ``tls`` the PEM certificate chain and key
    files for HTTPS; ``proxy_headers`` whether uvicorn takes the client's address from
    ``X-Forwarded-For`` of a proxy on loopback (its default, kept by the door). The constructor
    raises ``OSError`` as ``bind`` does when the address cannot be bound (the caller says which
    flag it came from).
    """

    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        *,
        backlog: int = 1024,
        tls: tuple[str, str] | None = None,
        proxy_headers: bool = False,
    ) -> None:
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
        self._socket.listen(backlog)
        self._socket.setblocking(False)
        self.host = host
        self.port: int = int(self._socket.getsockname()[1])
        """The port bound: the one asked for, or the one the system picked for 0."""
        cert, key = tls if tls else (None, None)
        config = uvicorn.Config(
            app, interface="asgi3", lifespan="off", log_config=None, access_log=False,
            server_header=False, proxy_headers=proxy_headers, loop="none", ssl_certfile=cert, ssl_keyfile=key,
        )  # fmt: skip
        config.load()
        self._server = uvicorn.Server(config)
        self._server.lifespan = config.lifespan_class(config)
        self._ticks: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        """``HOST:PORT`` as bound (the real port when 0 was asked for)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def start(self, task_name: str) -> None:
        """Serve on the running event loop (uvicorn's ticks in a task named ``task_name``)."""
        await self._server.startup(sockets=[self._socket])
        self._ticks = asyncio.create_task(self._server.main_loop(), name=task_name)

    async def stop(self, drain: float) -> None:
        """Stop accepting, let responses in flight finish for ``drain`` seconds (> 0: uvicorn
        would cancel even a response being written with none), then cancel them."""
        self._server.config.timeout_graceful_shutdown = drain  # type: ignore[assignment]  # a float works
        self._server.should_exit = True
        if self._ticks is None:
            self._socket.close()
            return
        with suppress(asyncio.CancelledError):
            await self._ticks
        await self._server.shutdown(sockets=[self._socket])
