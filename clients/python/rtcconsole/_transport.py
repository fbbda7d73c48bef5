"""What every service client shares: the channel, the bearer metadata, the deadline, errors, pages.

One :class:`Transport` per service client makes every kind of call the same way: the
``authorization: Bearer <token>`` metadata, the client's default deadline (or the call's
``rpc_timeout``), and a failure raised as :func:`~rtcconsole.errors.from_grpc_error`:

- :meth:`Transport.unary`: one request, one response;
- :meth:`Transport.stream_unary` (client streaming): an iterable or async iterable of
  requests, one response;
- :meth:`Transport.unary_stream` (server streaming): one request, a
  :class:`ResponseStream` of responses (an async iterator that also closes the call).

:func:`connect` opens the channel that :meth:`RtcConsole.connect <rtcconsole.client.RtcConsole.connect>`
and :meth:`IngestClient.connect <rtcconsole.client.IngestClient.connect>` own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar, cast

import grpc

from rtcconsole.errors import Unavailable, from_grpc_error
from rtcconsole.v1 import app_service_pb2 as app_pb

__all__ = [
    "DEFAULT_TIMEOUT",
    "ResponseStream",
    "TagLike",
    "Transport",
    "connect",
    "paginate",
    "to_tags",
]

DEFAULT_TIMEOUT = 30.0
"""Default deadline of each call, in seconds."""

TagLike = app_pb.Tag | tuple[str, str]
"""A tag as a ``Tag`` message or a ``(key, value)`` pair."""

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")
_T = TypeVar("_T")


def _bearer(token: str, name: str, *, spaces: bool) -> tuple[tuple[str, str], ...]:
    value = token.strip()
    if not value or (not spaces and any(c.isspace() for c in value)):
        rule = "a non-empty token" if spaces else "a non-empty token without spaces"
        raise ValueError(f"{name} must be {rule}")  # never repeats the token
    return (("authorization", f"Bearer {value}"),)


class Transport:
    """A channel plus ``authorization: Bearer <token>`` metadata and a default deadline.

    The token is an account's API key (``api_key``: no spaces) or the server's
    data-plane token (``data_plane_token``: chosen by the operator, any non-empty
    text); pass exactly one. It is sent as per-call metadata, so it works on
    plaintext channels too (call credentials would need TLS). It never appears
    in ``repr``.
    """

    __slots__ = ("_metadata", "channel", "timeout")

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        api_key: str | None = None,
        data_plane_token: str | None = None,
        timeout: float | None,
    ) -> None:
        if api_key is not None and data_plane_token is None:
            self._metadata = _bearer(api_key, "api_key", spaces=False)
        elif data_plane_token is not None and api_key is None:
            self._metadata = _bearer(data_plane_token, "data_plane_token", spaces=True)
        else:
            raise TypeError("pass exactly one of api_key and data_plane_token")
        self.channel = channel
        """The ``grpc.aio`` channel; its owner closes it."""
        self.timeout = timeout
        """Default deadline of each call in seconds; ``None`` means no deadline."""

    def __repr__(self) -> str:
        return f"Transport(timeout={self.timeout!r})"

    def _deadline(self, rpc_timeout: float | None) -> float | None:
        return self.timeout if rpc_timeout is None else rpc_timeout

    async def unary(
        self,
        method: grpc.aio.UnaryUnaryMultiCallable[_Req, _Resp],
        request: _Req,
        rpc_timeout: float | None = None,
    ) -> _Resp:
        """Call ``method``; a failure is raised as :func:`~rtcconsole.errors.from_grpc_error`."""
        try:
            return await method(request, metadata=self._metadata, timeout=self._deadline(rpc_timeout))
        except grpc.RpcError as error:
            raise from_grpc_error(error) from error

    async def stream_unary(
        self,
        method: grpc.aio.StreamUnaryMultiCallable[_Req, _Resp],
        requests: Iterable[_Req] | AsyncIterable[_Req],
        rpc_timeout: float | None = None,
    ) -> _Resp:
        """Send every request of ``requests`` on one client-streaming call; the one response.

        The deadline covers the whole call, sending included. A failure is raised as
        :func:`~rtcconsole.errors.from_grpc_error`. An exception raised by ``requests``
        itself cancels the call and is raised here (gRPC alone would only log it and
        raise ``CancelledError``).
        """
        failed: list[Exception] = []

        async def feed() -> AsyncIterator[_Req]:
            try:
                if isinstance(requests, AsyncIterable):
                    async for request in requests:
                        yield request
                else:
                    for request in requests:
                        yield request
            except Exception as error:
                failed.append(error)
                raise

        try:
            return await method(feed(), metadata=self._metadata, timeout=self._deadline(rpc_timeout))
        except grpc.RpcError as error:
            raise from_grpc_error(error) from error
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if failed and (task is None or not task.cancelling()):
                raise failed[0] from None
            raise

    def unary_stream(
        self,
        method: grpc.aio.UnaryStreamMultiCallable[_Req, _Resp],
        request: _Req,
        rpc_timeout: float | None = None,
    ) -> ResponseStream[_Resp]:
        """Start a server-streaming call; iterate the :class:`ResponseStream` for the responses.

        The deadline covers the whole stream (pass a long ``rpc_timeout`` for a
        subscription). Use it as ``async with transport.unary_stream(…) as stream:
        async for response in stream: …`` so that leaving the block cancels the call.
        """
        call = method(request, metadata=self._metadata, timeout=self._deadline(rpc_timeout))
        return ResponseStream(call)


class ResponseStream(Generic[_Resp]):
    """The responses of one server-streaming call: an async iterator and an async context manager.

    ``__anext__`` raises :func:`~rtcconsole.errors.from_grpc_error` when the call fails,
    also after some responses arrived (an error mid-stream), and ``StopAsyncIteration``
    when the server ends the stream with OK or after :meth:`aclose`. Leaving
    ``async with`` (or :meth:`aclose`) cancels the call if it is still running.
    """

    __slots__ = ("_call", "_closed")

    def __init__(self, call: grpc.aio.UnaryStreamCall[Any, _Resp]) -> None:
        self._call = call
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "done" if self._call.done() else "open"
        return f"ResponseStream({state})"

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> _Resp:
        if self._closed:
            raise StopAsyncIteration
        try:
            response = await self._call.read()
        except grpc.RpcError as error:
            self._closed = True
            raise from_grpc_error(error) from error
        if response is grpc.aio.EOF:
            self._closed = True
            raise StopAsyncIteration
        return cast(_Resp, response)

    def cancel(self) -> bool:
        """Cancel the call; True if it was still running. Iteration then stops."""
        self._closed = True
        return self._call.cancel()

    async def aclose(self) -> None:
        """Cancel the call if it is still running; iterating afterwards yields nothing."""
        self.cancel()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class _Closable(Protocol):
    async def close(self) -> None: ...


_C = TypeVar("_C", bound=_Closable)


async def connect(
    target: str,
    build: Callable[[grpc.aio.Channel], _C],
    *,
    secure: bool,
    root_certificates: bytes | None,
    timeout: float | None,  # noqa: ASYNC109  (the clients' deadline; also bounds wait_ready)
    wait_ready: bool,
    options: Sequence[tuple[str, Any]],
    certificate_chain: bytes | None = None,
    private_key: bytes | None = None,
) -> _C:
    """Open a channel to ``target`` and ``build`` the client that owns it (and closes it).

    TLS when ``secure``, ``root_certificates`` or ``certificate_chain`` is given: the server's
    certificate is checked against ``root_certificates`` (PEM CA bundle; default the system
    roots); ``certificate_chain`` and ``private_key`` (PEM, both or neither) are the client's
    certificate for mutual TLS (the data plane of a server with ``--tls-client-ca``). If
    ``build`` raises, the channel is closed. With ``wait_ready`` this waits for the connection
    (at most ``timeout`` seconds) and raises :class:`~rtcconsole.errors.Unavailable`.
    """
    if (certificate_chain is None) != (private_key is None):
        raise ValueError("certificate_chain and private_key go together: pass both or neither")
    if secure or root_certificates is not None or certificate_chain is not None:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=root_certificates, private_key=private_key, certificate_chain=certificate_chain
        )
        channel = grpc.aio.secure_channel(target, credentials, options=list(options))
    else:
        channel = grpc.aio.insecure_channel(target, options=list(options))
    try:
        client = build(channel)
    except BaseException:
        await channel.close()
        raise
    if wait_ready:
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout)
        except TimeoutError:
            await client.close()
            raise Unavailable(f"cannot reach {target} within {timeout} s") from None
    return client


async def paginate(
    fetch: Callable[[str], Awaitable[tuple[Sequence[_T], str]]], page_token: str = ""
) -> AsyncIterator[_T]:
    """Every item of every page: ``fetch(token)`` returns ``(items, next_page_token)``."""
    token = page_token
    while True:
        items, token = await fetch(token)
        for item in items:
            yield item
        if not token:
            return


def to_tags(tags: Iterable[TagLike]) -> list[app_pb.Tag]:
    """``Tag`` messages from messages or ``(key, value)`` pairs."""
    return [t if isinstance(t, app_pb.Tag) else app_pb.Tag(key=t[0], value=t[1]) for t in tags]
