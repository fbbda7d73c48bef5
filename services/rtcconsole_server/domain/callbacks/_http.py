"""One callback POST, for the dispatcher (async) and a test callback (blocking), judged the same way.

**Where it may go.** Every connection is made by
:class:`~rtcconsole_server.domain.callbacks._connect.GuardedBackend`, which
connects only to addresses the destination policy allows, checked on the
resolved address at connect time (``_connect.py``). No proxy from the
environment is used and redirects are not followed (httpcore has none).

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
import logging
import ssl
import time
from dataclasses import dataclass

import httpcore
import httpx

from rtcconsole_server.domain.callbacks._connect import (
    DestinationNotAllowed,
    GuardedBackend,
    HostNotFound,
    Resolver,
    SystemResolver,
)
from rtcconsole_server.domain.common import DestinationPolicy

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


_POSTS_PER_POOL = 8
"""In-flight POSTs one connection pool is sized for. httpcore's pool looks at every one of
its connections each time a request starts or ends, so 32 POSTs cost less in 4 pools
than in one."""


class CallbackClient:
    """Connections for callbacks, all through :class:`GuardedBackend`.

    The dispatcher keeps one (keep-alive connections are reused, each was checked
    when it was opened); every test callback makes its own, so the two never share
    a connection or wait for each other's. The connections are split over
    ``max_connections / 16`` pools (at least one), each of ``max_connections`` and
    ``keepalive`` shared out evenly; a POST goes to the pool with the fewest POSTs
    running, and reuses a kept connection of that pool."""

    def __init__(
        self,
        policy: DestinationPolicy,
        *,
        resolver: Resolver | None = None,
        max_connections: int = 64,
        keepalive: int = 32,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``max_connections`` (default 64) and ``keepalive`` (default 32, kept 5 s) in all;
        ``ssl_context`` None: certificates checked as httpx does (tests pass their own CA)."""
        backend = GuardedBackend(policy, resolver or SystemResolver())
        count = max(1, max_connections // (2 * _POSTS_PER_POOL))
        self._pools = [
            httpcore.AsyncConnectionPool(
                ssl_context=ssl_context or _tls_context(),
                max_connections=-(-max_connections // count),
                max_keepalive_connections=-(-keepalive // count),
                keepalive_expiry=5.0,
                http1=True,
                http2=False,
                retries=0,
                network_backend=backend,
            )
            for _ in range(count)
        ]
        self._running = [0] * count

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()

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
        shard = min(range(len(self._pools)), key=self._running.__getitem__)  # the least busy
        pool = self._pools[shard]
        self._running[shard] += 1
        try:
            async with (
                asyncio.timeout(timeout_s),
                pool.stream("POST", target, headers=request.headers.raw, content=body) as response,
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
        finally:
            self._running[shard] -= 1
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
