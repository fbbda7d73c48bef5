"""Local fan-out of pub/sub messages to bounded per-subscriber queues.

Both implementations deliver through a :class:`Fanout`: the in-process one
straight from ``publish``, the Redis one from the single reader task of its
shared pub/sub connection. A message is one ``bytes`` object handed to every
queue as is (one prebuilt message per broadcast, never a copy per subscriber).

Queue policy: **drop-oldest**. A queue holds at most ``max_queued`` messages;
delivering to a full queue discards its oldest message and counts it in
:attr:`Subscription.dropped`. Delivery never waits, so one slow subscriber
cannot hold up a publisher or the other subscribers. ``max_queued=1`` is
coalesce-to-latest.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["Fanout", "Subscription"]


class Subscription:
    """One subscriber's bounded queue; an async iterator of payloads.

    Iteration ends (``StopAsyncIteration``) once the subscription is closed and
    its queue is drained, i.e. after leaving ``subscribe(...)`` or closing the
    live state.
    """

    def __init__(self, channel: str, max_queued: int) -> None:
        if max_queued < 1:
            raise ValueError(f"max_queued must be at least 1, got {max_queued}")
        self.channel = channel
        """The channel name as given to ``subscribe`` (without the prefix)."""
        self.max_queued = max_queued
        """Bound of the queue, in messages."""
        self.received = 0
        """Messages delivered to this subscriber so far, including those later dropped."""
        self.dropped = 0
        """Messages discarded because the queue was full (oldest first)."""
        self._queue: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self._closed = False

    @property
    def queued(self) -> int:
        """Messages waiting to be read."""
        return len(self._queue)

    @property
    def closed(self) -> bool:
        """True once no more messages will arrive."""
        return self._closed

    def deliver(self, payload: bytes) -> None:
        """Queue ``payload``, dropping the oldest queued message when full; never blocks."""
        if self._closed:
            return
        if len(self._queue) >= self.max_queued:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(payload)
        self.received += 1
        self._ready.set()

    def close(self) -> None:
        """Stop accepting messages; readers drain what is queued, then stop."""
        self._closed = True
        self._ready.set()

    def get_nowait(self) -> bytes | None:
        """The next queued payload, or None if the queue is empty."""
        return self._queue.popleft() if self._queue else None

    async def get(self) -> bytes:
        """Wait for the next payload; ``StopAsyncIteration`` once closed and drained."""
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> bytes:
        return await self.get()


class Fanout:
    """Subscriptions by channel; delivers each message to every subscriber of its channel."""

    def __init__(self) -> None:
        self._by_channel: dict[str, set[Subscription]] = {}

    def add(self, subscription: Subscription) -> bool:
        """Register ``subscription``; True if it is the first one of its channel."""
        subscribers = self._by_channel.setdefault(subscription.channel, set())
        subscribers.add(subscription)
        return len(subscribers) == 1

    def remove(self, subscription: Subscription) -> bool:
        """Close and unregister ``subscription``; True if its channel has no subscriber left."""
        subscription.close()
        subscribers = self._by_channel.get(subscription.channel)
        if subscribers is None:
            return False
        subscribers.discard(subscription)
        if subscribers:
            return False
        del self._by_channel[subscription.channel]
        return True

    def deliver(self, channel: str, payload: bytes) -> int:
        """Hand ``payload`` to every subscriber of ``channel``; return how many."""
        subscribers = self._by_channel.get(channel, ())
        for subscription in subscribers:
            subscription.deliver(payload)
        return len(subscribers)

    def channels(self) -> list[str]:
        """Channels with at least one subscriber."""
        return list(self._by_channel)

    def subscriber_count(self, channel: str | None = None) -> int:
        """Subscribers of ``channel``, or of all channels when None."""
        if channel is not None:
            return len(self._by_channel.get(channel, ()))
        return sum(len(subscribers) for subscribers in self._by_channel.values())

    def close_all(self) -> None:
        """Close every subscription and forget them."""
        for subscribers in self._by_channel.values():
            for subscription in subscribers:
                subscription.close()
        self._by_channel.clear()
