"""A gRPC servicer context over an HTTP request of the Connect or gRPC-Web protocol.

The servicers and the interceptor use a small part of ``grpc.aio.ServicerContext``:
the call's metadata (here: the request headers, names in lower case, so
``authorization: Bearer …`` works unchanged), ``abort`` (here: raises
:class:`Aborted`, which the door turns into the Connect error of that status),
and the deadline. Streaming writes and reads through the context are not used
by our services and are refused.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, NoReturn

import grpc
from connectrpc.request import RequestContext
from grpc.aio import AbortError

__all__ = ["Aborted", "HttpServicerContext"]

Metadata = grpc.aio.Metadata | Sequence[tuple[str, str | bytes]]


class Aborted(AbortError):
    """A call ended by ``context.abort``: its status, as grpc would send it."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: Metadata) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.trailing_metadata = tuple(trailing_metadata)


class HttpServicerContext(grpc.aio.ServicerContext[Any, Any]):
    """The servicer context of one HTTP call (``request`` is connectrpc's request context)."""

    def __init__(self, request: RequestContext[Any, Any]) -> None:
        self._request = request
        self._started = time.monotonic()
        self._code: grpc.StatusCode | None = None
        self._details: str | None = None
        self._trailing: tuple[tuple[str, str | bytes], ...] = ()

    def invocation_metadata(self) -> grpc.aio.Metadata:
        """The request headers as metadata: ``(name in lower case, value)``."""
        headers = self._request.request_headers
        return grpc.aio.Metadata(*((name.lower(), value) for name, value in headers.allitems()))

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Metadata = ()
    ) -> NoReturn:
        self._code, self._details = code, details
        raise Aborted(code, details, trailing_metadata)

    async def abort_with_status(self, status: grpc.Status) -> NoReturn:
        await self.abort(status.code, status.details, status.trailing_metadata)

    def code(self) -> grpc.StatusCode | None:  # type: ignore[override]  # grpc's stub says int
        return self._code

    def details(self) -> str | None:  # type: ignore[override]
        return self._details

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def set_details(self, details: str) -> None:
        self._details = details

    def set_trailing_metadata(self, trailing_metadata: Metadata) -> None:
        self._trailing = tuple(trailing_metadata)

    def trailing_metadata(self) -> tuple[tuple[str, str | bytes], ...]:  # type: ignore[override]
        return self._trailing

    def time_remaining(self) -> float | None:  # type: ignore[override]  # None: no deadline, as grpc
        """Seconds left of the caller's timeout (``connect-timeout-ms`` / ``grpc-timeout``), or None."""
        timeout_ms = self._request.timeout_ms
        if timeout_ms is None:
            return None
        return max(0.0, timeout_ms / 1000 - (time.monotonic() - self._started))

    def peer(self) -> str:
        address = self._request.client_address
        return f"http:{address}" if address else "http:unknown"

    def peer_identities(self) -> None:
        return None

    def peer_identity_key(self) -> None:
        return None

    def auth_context(self) -> dict[str, Any]:
        """No TLS peer identity over the HTTP door (a data plane behind mutual TLS is refused here)."""
        return {}

    def cancelled(self) -> bool:
        return False

    def done(self) -> bool:
        return False

    async def send_initial_metadata(self, initial_metadata: Metadata) -> None:
        for name, value in initial_metadata:
            if isinstance(value, str):
                self._request.response_headers[name] = value

    def set_compression(self, compression: grpc.Compression) -> None:
        """Ignored: the door negotiates compression with the caller itself."""

    def disable_next_message_compression(self) -> None:
        """Ignored, as :meth:`set_compression`."""

    async def read(self) -> NoReturn:
        raise NotImplementedError("requests are read by the door, not through the context")

    async def write(self, message: Any) -> NoReturn:
        raise NotImplementedError("responses are written by the door, not through the context")
