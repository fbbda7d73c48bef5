"""Helpers of the live-state contract tests (fixtures are in tests/service/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rtcconsole_server.live import LiveState, Subscription

__all__ = ["WAIT_SECONDS", "MakeLive", "eventually", "next_payload"]

MakeLive = Callable[..., LiveState]
WAIT_SECONDS = 2.0


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait (polling the event loop, at most 2 s of real time) until ``condition()`` holds."""
    async with asyncio.timeout(WAIT_SECONDS):
        while not condition():  # noqa: ASYNC110 - delivery happens in a Redis reader task, no event to await
            await asyncio.sleep(0.002)
    assert condition(), what


async def next_payload(subscription: Subscription) -> bytes:
    return await asyncio.wait_for(subscription.get(), WAIT_SECONDS)
