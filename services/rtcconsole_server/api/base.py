"""What every servicer shares: the domain, a thread pool for store work, the caller."""

from __future__ import annotations

import asyncio
import functools
import hmac
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

from grpc.aio import ServicerContext

from rtcconsole_server.domain.common import Caller
from rtcconsole_server.domain.console import Console
from rtcconsole_server.errors import FieldViolation, InvalidArgument, PermissionDenied, Unauthenticated
from rtcconsole_server.store import GroupCommit, InlineBudgetExceeded

__all__ = ["INLINE_BUDGET", "Context", "ServicerBase", "bearer_token", "require_id"]

Context = ServicerContext[Any, Any]
INLINE_BUDGET = timedelta(milliseconds=20)
"""Longest one statement of a read may run on the event loop before the read moves to the pool."""
P = ParamSpec("P")
T = TypeVar("T")


def bearer_token(context: Context) -> str | None:
    """The token of ``authorization: Bearer <token>`` metadata, if any."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def require_id(value: int, field: str = "sdk_app_id") -> int:
    """``value`` if it is set; an id of 0 is a missing field."""
    if value == 0:
        raise InvalidArgument(FieldViolation(field, "is required"))
    return value


class ServicerBase:
    """Holds the domain and runs its blocking calls off the event loop."""

    def __init__(self, console: Console, executor: Executor, *, writes: GroupCommit | None = None) -> None:
        self.console = console
        self._executor = executor
        self.writes = writes if writes is not None else GroupCommit(console.store, executor)
        """Write transactions committed in groups on SQLite (``store/group_commit.py``); the server
        gives every servicer the same one, so writes of different services group together."""

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking domain call in the store's thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read that is usually short: inline on SQLite (a local WAL read never waits for a
        writer and takes tens of microseconds, less than a thread hand-off), in the pool elsewhere.

        Inline, every statement gets :data:`INLINE_BUDGET`; one that needs longer is interrupted
        and the whole read runs again on a thread of the loop's default executor (not the SQLite
        store thread, which would make writes wait), so no read holds the event loop (and with it
        every other call and the health check) for longer than that.
        """
        store = self.console.store
        if store.dialect == "sqlite":
            try:
                with store.inline(INLINE_BUDGET):
                    return fn(*args, **kwargs)
            except InlineBudgetExceeded:  # a long read: off the loop, beside the writer thread
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))
        return await self.run(fn, *args, **kwargs)

    async def read_long(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read known to be long (thousands of rows, then as much Python work on them: the
        quality series) off the event loop at once: on SQLite on a thread of the loop's default
        executor (beside the writer thread, which it never makes wait), elsewhere in the pool.
        :meth:`read` would first spend :data:`INLINE_BUDGET` of the loop on a statement it then
        runs again, and its budget does not cover the Python work after the statements."""
        if self.console.store.dialect == "sqlite":
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))
        return await self.run(fn, *args, **kwargs)

    async def caller(self, context: Context) -> Caller:
        """The account behind the call's API key, or ``Unauthenticated``."""
        token = bearer_token(context)
        if token is None:
            raise Unauthenticated("missing `authorization: Bearer <api key>` metadata")
        accounts = self.console.accounts
        cached = accounts.authenticate_cached(token)
        return cached if cached is not None else await self.run(accounts.authenticate, token)

    def _require_client_certificate(self, context: Context) -> None:
        """With ``--tls-client-ca`` (mutual TLS on the data plane, decision 0031): ``Unauthenticated``
        unless the call came with a client certificate that the TLS handshake verified against it.

        gRPC puts a verified peer's certificate in the auth context (``x509_pem_cert``); a call
        on the console listener, which asks for none, or through the HTTP door, which has no
        TLS peer of its own (an empty auth context), has none.
        """
        if self.console.settings.tls_client_ca is None:
            return
        if not context.auth_context().get("x509_pem_cert"):
            raise Unauthenticated(
                "a client certificate is required for the data plane: connect to the mutual-TLS "
                "listener (--tls-data-plane-listen) with a certificate signed by --tls-client-ca"
            )

    async def data_plane(self, context: Context) -> None:
        """Admit only the data plane's bearer token (``--data-plane-token``) and, with
        ``--tls-client-ca``, only over a verified client certificate.

        An account API key is ``PERMISSION_DENIED`` here (a real credential, the
        wrong kind); anything else is ``UNAUTHENTICATED``.
        """
        self._require_client_certificate(context)
        token = bearer_token(context)
        expected = self.console.settings.data_plane_token
        if token is None:
            raise Unauthenticated("missing `authorization: Bearer <data-plane token>` metadata")
        if expected and hmac.compare_digest(token.encode(), expected.encode()):
            return
        try:
            await self.caller(context)
        except Unauthenticated:
            raise Unauthenticated("invalid data-plane token") from None
        raise PermissionDenied("an account API key cannot call the data plane; use the data-plane token")

    async def caller_or_data_plane(self, context: Context) -> Caller | None:
        """The account behind an API key, or None for the data-plane token (which, with
        ``--tls-client-ca``, also needs a verified client certificate)."""
        token = bearer_token(context)
        expected = self.console.settings.data_plane_token
        if token is not None and expected and hmac.compare_digest(token.encode(), expected.encode()):
            self._require_client_certificate(context)
            return None
        return await self.caller(context)
