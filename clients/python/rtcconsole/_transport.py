"""What every service client shares: the channel, the bearer metadata, the deadline, errors, pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from rtcconsole.errors import from_grpc_error
from rtcconsole.v1 import app_service_pb2 as app_pb

__all__ = ["DEFAULT_TIMEOUT", "TagLike", "Transport", "paginate", "to_tags"]

DEFAULT_TIMEOUT = 30.0
"""Default deadline of each call, in seconds."""

TagLike = app_pb.Tag | tuple[str, str]
"""A tag as a ``Tag`` message or a ``(key, value)`` pair."""

_Req = TypeVar("_Req", bound=Message)
_Resp = TypeVar("_Resp", bound=Message)
_T = TypeVar("_T")


class Transport:
    """A channel plus ``authorization: Bearer <api key>`` metadata and a default deadline.

    The key is sent as per-call metadata, so it works on plaintext channels too
    (call credentials would need TLS). It never appears in ``repr``.
    """

    __slots__ = ("_metadata", "channel", "timeout")

    def __init__(self, channel: grpc.aio.Channel, *, api_key: str, timeout: float | None) -> None:
        token = api_key.strip()
        if not token or any(c.isspace() for c in token):
            raise ValueError("api_key must be a non-empty token without spaces")
        self.channel = channel
        """The ``grpc.aio`` channel; its owner closes it."""
        self.timeout = timeout
        """Default deadline of each call in seconds; ``None`` means no deadline."""
        self._metadata = (("authorization", f"Bearer {token}"),)

    def __repr__(self) -> str:
        return f"Transport(timeout={self.timeout!r})"

    async def unary(
        self,
        method: grpc.aio.UnaryUnaryMultiCallable[_Req, _Resp],
        request: _Req,
        rpc_timeout: float | None = None,
    ) -> _Resp:
        """Call ``method``; a failure is raised as :func:`~rtcconsole.errors.from_grpc_error`."""
        deadline = self.timeout if rpc_timeout is None else rpc_timeout
        try:
            return await method(request, metadata=self._metadata, timeout=deadline)
        except grpc.RpcError as error:
            raise from_grpc_error(error) from error


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
