"""Where a callback may go (R15, SSRF): connections made only to addresses the policy allows.

Connections are made by :class:`GuardedBackend`, an ``httpcore`` network backend
that resolves the host itself, asks the
:class:`~rtcconsole_server.domain.common.DestinationPolicy` about every address
the name resolved to, and connects to an allowed *address* (never the name
again), so what is checked is what is connected to, at connection time: a name
that resolves elsewhere later is caught, and DNS rebinding cannot slip between
check and connect. TLS still verifies the certificate for, and sends SNI of,
the URL's host (httpcore takes both from the URL's origin, not from the
connected address). Unix sockets are refused.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import select
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Executor
from typing import Any

import httpcore

from rtcconsole_server.domain.common import DestinationPolicy, IPAddress

__all__ = ["DestinationNotAllowed", "GuardedBackend", "HostNotFound", "Resolver", "SystemResolver"]

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""``(host, port)`` → the addresses the host name resolves to (an address literal: itself);
raises :class:`HostNotFound`."""


class DestinationNotAllowed(Exception):
    """Every address the host resolved to is refused by the destination policy."""

    def __init__(self, host: str, address: IPAddress, reason: str) -> None:
        super().__init__(f"{host} resolves to {address} ({reason}): not an allowed callback destination")
        self.host = host
        self.address = address
        self.reason = reason


class HostNotFound(Exception):
    """The host name does not resolve."""


class SystemResolver:
    """``getaddrinfo`` in a thread of ``executor`` (None: the loop's default one).

    The dispatcher gives it an executor of its own, so that a slow DNS server of one
    tenant holds one of those threads and not the store's or the loop's."""

    def __init__(self, executor: Executor | None = None) -> None:
        self._executor = executor

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        lookup = functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = await asyncio.get_running_loop().run_in_executor(self._executor, lookup)
        except (OSError, UnicodeError) as error:  # socket.gaierror is an OSError
            raise HostNotFound(host) from error
        addresses: list[IPAddress] = []
        for family, _type, _proto, _name, sockaddr in infos:
            if family in (socket.AF_INET, socket.AF_INET6):
                address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
                if address not in addresses:
                    addresses.append(address)
        if not addresses:
            raise HostNotFound(host)
        return addresses


class _KeptSocketStream(httpcore.AsyncNetworkStream):
    """A connected stream whose socket is looked up once, not at every keep-alive check.

    The pool asks each idle connection whether its socket is readable (the server
    closed it) every time a request starts or ends; anyio rebuilds a dict of socket
    attributes for each such question. The answer is the same (``select`` on the raw
    socket), only cheaper; everything else goes to the wrapped stream."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        return _KeptSocketStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return _socket_readable(self._socket)
        return self._inner.get_extra_info(info)


def _socket_readable(sock: socket.socket) -> bool:
    """Whether ``sock`` has data or EOF waiting, without blocking (httpcore's own check: a
    socket without a descriptor counts as readable, i.e. closed)."""
    fd = sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses ``policy`` allows, checked on the resolved address at connect time."""

    def __init__(
        self,
        policy: DestinationPolicy,
        resolver: Resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolve = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port)
        if not addresses:
            raise HostNotFound(host)
        allowed = [a for a in addresses if self._policy.allows(a)]
        if not allowed:
            first = addresses[0]
            raise DestinationNotAllowed(host, first, self._policy.refusal(first) or "refused")
        error: Exception | None = None
        for address in allowed:  # the checked address itself: no second resolution
            try:
                stream = await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed
            else:
                return _KeptSocketStream(stream)
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationNotAllowed(path, ipaddress.IPv4Address(0), "a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
