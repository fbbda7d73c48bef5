"""One callback POST, for the dispatcher (async) and a test callback (blocking), judged the same way.

**Where it may go.** Connections are made by :class:`GuardedBackend`, an
``httpcore`` network backend that resolves the host itself, asks the
:class:`~rtcconsole_server.domain.common.DestinationPolicy` about every address
the name resolved to, and connects to an allowed *address* (never the name
again), so what is checked is what is connected to, at connection time: a name
that resolves elsewhere later is caught, and DNS rebinding cannot slip between
check and connect. TLS still verifies the certificate for, and sends SNI of,
the URL's host (httpcore takes both from the URL's origin, not from the
connected address). No proxy from the environment is used, redirects are not
followed (httpcore has none), and Unix sockets are refused.

**How long.** ``timeout_s`` (R15: 5 s) bounds the whole exchange with one
deadline (``asyncio.timeout``): DNS, connect, TLS, sending, the status line,
the headers and the body. Per-operation timeouts would let a receiver that
drips one byte every 2 s hold a connection for ever.

**What is said.** Success is HTTP 200 with the whole answer received before the
deadline. Failures are short texts for people (:data:`FAILURE_TEXTS`); a test
callback replaces every "no HTTP answer" failure with one generic text
(:func:`generic_failure`), so it cannot tell closed ports from filtered,
non-HTTP, TLS or forbidden ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import httpcore
import httpx

from rtcconsole_server.domain.common import DestinationPolicy, IPAddress

__all__ = [
    "FAILURE_TEXTS",
    "RESPONSE_HEAD_BYTES",
    "CallbackClient",
    "DestinationNotAllowed",
    "GuardedBackend",
    "HostNotFound",
    "PostResult",
    "Resolver",
    "SystemResolver",
    "generic_failure",
    "post_blocking",
]

log = logging.getLogger("rtcconsole_server.callbacks")

RESPONSE_HEAD_BYTES = 512
"""How much of the receiver's answer a test callback shows."""

FAILURE_TEXTS = {
    "forbidden": "destination not allowed",
    "unresolved": "cannot resolve the host",
    "refused": "connection refused",
    "connect": "cannot connect (network or TLS)",
    "network": "connection failed before a complete HTTP answer",
    "url": "invalid URL",
    "internal": "internal error",
}
"""``PostResult.error`` of each failure kind without an HTTP status (and besides ``HTTP 503``
and ``timeout after 5s``)."""

_UNANSWERED = frozenset({"forbidden", "unresolved", "refused", "connect", "network", "timeout"})

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


def generic_failure(timeout_s: float) -> str:
    """What a test callback says for every failure without an HTTP answer."""
    return (
        f"no HTTP answer within {timeout_s:g}s (the connection was refused, reset or timed out, "
        "TLS failed, or the destination is not allowed)"
    )


@dataclass(frozen=True)
class PostResult:
    status_code: int
    """HTTP status; 0 when no status line and headers arrived."""
    duration_ms: int
    error: str
    """Empty exactly when the receiver answered 200, body included, before the deadline."""
    response_head: bytes = b""
    """The first bytes of the answer's body (as many as asked for)."""
    failure: str = ""
    """"" (success), "http" (another status), "timeout", or a key of :data:`FAILURE_TEXTS`."""

    @property
    def answered(self) -> bool:
        """Whether an HTTP status came back (the receiver spoke HTTP)."""
        return self.status_code != 0

    def public_error(self, timeout_s: float) -> str:
        """``error`` as a test callback shows it: one text for every failure without an answer."""
        if not self.answered and self.failure in _UNANSWERED:
            return generic_failure(timeout_s)
        return self.error


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
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed
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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Certificate checks as httpx does them (certifi, SSL_CERT_FILE / SSL_CERT_DIR)."""
    return httpx.create_ssl_context()


def _refused(error: BaseException) -> bool:
    seen: BaseException | None = error
    for _ in range(10):  # httpcore wraps the OSError a level or two down
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _failure_of(error: Exception) -> str:
    if isinstance(error, DestinationNotAllowed):
        return "forbidden"
    if isinstance(error, HostNotFound):
        return "unresolved"
    if isinstance(error, httpcore.ConnectError | httpcore.ConnectTimeout):
        return "refused" if _refused(error) else "connect"
    if isinstance(error, httpcore.UnsupportedProtocol | httpx.InvalidURL):
        return "url"
    if isinstance(error, httpcore.NetworkError | httpcore.ProtocolError | httpcore.TimeoutException):
        return "network"
    if isinstance(error, OSError):
        return "network"
    return "internal"


class CallbackClient:
    """Connections for callbacks, all through :class:`GuardedBackend`.

    The dispatcher keeps one (keep-alive connections are reused, each was checked
    when it was opened); every test callback makes its own, so the two never share
    a connection or wait for each other's."""

    def __init__(
        self,
        policy: DestinationPolicy,
        *,
        resolver: Resolver | None = None,
        max_connections: int = 64,
        keepalive: int = 32,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``ssl_context`` None: certificates checked as httpx does (tests pass their own CA)."""
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or _tls_context(),
            max_connections=max_connections,
            max_keepalive_connections=keepalive,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=GuardedBackend(policy, resolver or SystemResolver()),
        )

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], *, timeout_s: float, keep: int = 0
    ) -> PostResult:
        """POST ``body`` with one deadline of ``timeout_s`` over the whole exchange; keeps the
        first ``keep`` bytes of the answer. Never raises but for cancellation."""
        started = time.perf_counter()

        def result(status: int, failure: str, error: str, head: bytes = b"") -> PostResult:
            return PostResult(status, int((time.perf_counter() - started) * 1000), error, head, failure)

        try:
            request = httpx.Request("POST", url, headers=headers, content=body)  # Host, Content-Length
            target = httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            )
        except (httpx.InvalidURL, ValueError, TypeError):
            return result(0, "url", FAILURE_TEXTS["url"])
        status = 0
        head = bytearray()
        try:
            async with (
                asyncio.timeout(timeout_s),
                self._pool.stream("POST", target, headers=request.headers.raw, content=body) as response,
            ):
                status = response.status
                async for chunk in response.aiter_stream():  # the whole answer, within the deadline
                    if len(head) < keep:
                        head += chunk[: keep - len(head)]
        except TimeoutError:
            text = f"timeout after {timeout_s:g}s"
            if status:
                text += f" (HTTP {status} came, the rest of the answer did not)"
            return result(status, "timeout", text, bytes(head))
        except Exception as error:
            failure = _failure_of(error)
            if failure == "internal":
                log.exception("callback POST to %s: unexpected error", request.url.host)
            return result(status, failure, FAILURE_TEXTS[failure], bytes(head))
        if status != 200:
            return result(status, "http", f"HTTP {status}", bytes(head))
        return result(status, "", "", bytes(head))


async def _post_once(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout_s: float,
    policy: DestinationPolicy,
    resolver: Resolver | None,
    keep: int,
) -> PostResult:
    client = CallbackClient(policy, resolver=resolver, max_connections=1, keepalive=0)
    try:
        return await client.post(url, body, headers, timeout_s=timeout_s, keep=keep)
    finally:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await client.aclose()


def post_blocking(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout_s: float,
    policy: DestinationPolicy,
    resolver: Resolver | None = None,
    keep: int = RESPONSE_HEAD_BYTES,
) -> PostResult:
    """The same POST from a worker thread: a private event loop and a private connection,
    under the same single deadline; keeps the first 512 bytes of the answer.

    The loop is closed without waiting for a DNS lookup still running in its threads (a
    lookup past the deadline cannot hold the caller)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(
            _post_once(url, body, headers, timeout_s=timeout_s, policy=policy, resolver=resolver, keep=keep)
        )
    finally:
        loop.close()
