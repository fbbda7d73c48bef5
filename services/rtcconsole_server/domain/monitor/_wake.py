"""How a held server stream waits for news: a live-state wake-up or, failing that, a poll.

The store is the truth for every held stream (``WatchRoomCommands``, ``SubscribeRoomEvents``):
a message on the live state only says "look again", and a look every ``interval`` of the
injected clock covers a live state without pub/sub across replicas and a dropped message.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from rtcconsole_server.clock import Clock
from rtcconsole_server.live import Subscription

__all__ = ["wake_or_poll"]


async def wake_or_poll(subscription: Subscription | None, clock: Clock, interval: timedelta) -> bool:
    """Wait for a wake-up on ``subscription`` or for ``interval`` on ``clock``, whichever comes
    first; False once the subscription has ended (the server is stopping). Wake-ups that came
    together are taken at once: they call for one look, not one each."""
    if subscription is None:
        await clock.sleep(interval)
        return True
    nap = asyncio.ensure_future(clock.sleep(interval))
    wake = asyncio.ensure_future(subscription.get())
    try:
        await asyncio.wait({nap, wake}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (nap, wake):
            task.cancel()
        await asyncio.gather(nap, wake, return_exceptions=True)
    while subscription.get_nowait() is not None:
        pass
    return not subscription.closed
