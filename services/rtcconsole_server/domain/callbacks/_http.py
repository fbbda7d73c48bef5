"""One callback POST, async (the dispatcher) or blocking (a test callback), judged the same way.

Success is HTTP 200 with the whole answer received within the timeout (R15: 5 s);
a slower 200 is a failure. Failures are described for people: ``HTTP 500``,
``timeout after 5s``, ``connection refused: …``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

__all__ = ["PostResult", "describe", "post", "post_blocking"]

RESPONSE_HEAD_BYTES = 4096
"""How much of the receiver's answer a test callback shows."""


@dataclass(frozen=True)
class PostResult:
    status_code: int
    """HTTP status; 0 when no response arrived."""
    duration_ms: int
    error: str
    """Empty exactly when the receiver answered 200 in time."""
    response_head: bytes = b""


def _refused(error: BaseException) -> bool:
    seen: BaseException | None = error
    for _ in range(10):  # httpx wraps the OSError a few levels down
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def describe(error: BaseException, timeout_s: float) -> str:
    """A short reason for a failed POST."""
    if isinstance(error, TimeoutError | httpx.TimeoutException):
        return f"timeout after {timeout_s:g}s"
    if isinstance(error, httpx.ConnectError):
        return "connection refused" if _refused(error) else f"cannot connect: {error}"
    if isinstance(error, httpx.HTTPError):
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return f"{type(error).__name__}: {error}"


def _judge(status: int, elapsed_s: float, timeout_s: float) -> str:
    if elapsed_s > timeout_s:
        return f"timeout after {timeout_s:g}s (HTTP {status} came after {elapsed_s:.1f}s)"
    return "" if status == 200 else f"HTTP {status}"


async def post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], *, timeout_s: float
) -> PostResult:
    """POST with a total deadline of ``timeout_s`` seconds (connect, send, answer)."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            response = await client.post(url, content=body, headers=headers)
    except (TimeoutError, httpx.HTTPError, OSError) as error:
        return PostResult(0, int((time.perf_counter() - started) * 1000), describe(error, timeout_s))
    elapsed = time.perf_counter() - started
    return PostResult(
        response.status_code, int(elapsed * 1000), _judge(response.status_code, elapsed, timeout_s)
    )


def post_blocking(url: str, body: bytes, headers: dict[str, str], *, timeout_s: float) -> PostResult:
    """The same POST from a worker thread, keeping the first 4 KiB of the answer."""
    started = time.perf_counter()
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(timeout_s)) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            head = b""
            for chunk in response.iter_bytes():
                head += chunk
                if len(head) >= RESPONSE_HEAD_BYTES or time.perf_counter() - started > timeout_s:
                    break
            status = response.status_code
    except (httpx.HTTPError, OSError) as error:
        return PostResult(0, int((time.perf_counter() - started) * 1000), describe(error, timeout_s))
    elapsed = time.perf_counter() - started
    error_text = _judge(status, elapsed, timeout_s)
    return PostResult(status, int(elapsed * 1000), error_text, head[:RESPONSE_HEAD_BYTES])
