"""Receive the next message of a request stream while the current one is being stored.

An ingest stream stores its messages one at a time, in order. Without reading ahead the
two halves of the work take turns: the event loop receives, parses and screens a message
(``api/interceptor.py``) while the store is idle, then the store works on it while the loop
has nothing to read. :func:`read_ahead` starts receiving message *k + 1* as soon as message
*k* is handed out, so that the loop's share overlaps the store thread's waits on the
database (and the client's sending). Nothing else changes: messages come out in order, at
most one is held ahead of the caller (so memory stays bounded by the message size limit),
a failure to receive or screen a message surfaces only when the caller asks for that
message (after every message before it was stored), and a receive still pending when the
caller stops is cancelled. A client-streaming RPC acknowledges nothing before its response,
so a message read ahead and never stored (the stream failed first) was never acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

__all__ = ["read_ahead"]

T = TypeVar("T")


async def read_ahead(messages: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """``messages`` in order, the next one already being received while the caller holds one.

    Use it inside ``contextlib.aclosing`` so that a caller that stops early (an error) cancels
    the pending receive at once rather than when the generator is collected.
    """
    pending: asyncio.Future[T] = asyncio.ensure_future(anext(messages))
    try:
        while True:
            try:
                message = await pending
            except StopAsyncIteration:
                return
            pending = asyncio.ensure_future(anext(messages))
            yield message
    finally:
        if pending.done():
            if not pending.cancelled():
                pending.exception()  # retrieved: a failure after the caller stopped is not news
        else:
            pending.cancel()
