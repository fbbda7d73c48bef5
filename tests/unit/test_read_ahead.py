"""``api/read_ahead.py``: an ingest stream's next message received while the current one is stored."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest

from rtcconsole_server.api.read_ahead import read_ahead


async def _numbers(count: int, asked: list[int], *, fail_at: int | None = None) -> AsyncIterator[int]:
    for n in range(count):
        asked.append(n)
        await asyncio.sleep(0)
        if n == fail_at:
            raise ValueError(f"message {n} does not parse")
        yield n


async def test_messages_come_out_in_order_and_all_of_them() -> None:
    asked: list[int] = []
    async with aclosing(read_ahead(_numbers(5, asked))) as messages:
        assert [n async for n in messages] == [0, 1, 2, 3, 4]


async def test_one_message_is_received_ahead_and_no_more() -> None:
    asked: list[int] = []
    async with aclosing(read_ahead(_numbers(5, asked))) as messages:
        assert await anext(messages) == 0
        for _ in range(10):  # the caller "stores" message 0 for a while
            await asyncio.sleep(0)
        assert asked == [0, 1]
        assert await anext(messages) == 1
        for _ in range(10):
            await asyncio.sleep(0)
        assert asked == [0, 1, 2]


async def test_a_bad_message_fails_only_when_the_caller_asks_for_it() -> None:
    asked: list[int] = []
    async with aclosing(read_ahead(_numbers(5, asked, fail_at=1))) as messages:
        assert await anext(messages) == 0
        await asyncio.sleep(0.01)  # message 1 has failed by now; message 0 is still the caller's
        with pytest.raises(ValueError, match="message 1"):
            await anext(messages)


async def test_stopping_early_cancels_the_pending_receive() -> None:
    cancelled = asyncio.Event()

    async def stalled() -> AsyncIterator[int]:
        yield 0
        try:
            await asyncio.Event().wait()  # the client sends nothing more
        except asyncio.CancelledError:
            cancelled.set()
            raise
        yield 1  # pragma: no cover

    async with aclosing(read_ahead(stalled())) as messages:
        assert await anext(messages) == 0
        await asyncio.sleep(0)
    await asyncio.wait_for(cancelled.wait(), timeout=5)


async def test_a_failure_after_the_caller_stopped_is_not_reported_as_lost() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        asked: list[int] = []
        async with aclosing(read_ahead(_numbers(5, asked, fail_at=1))) as messages:
            assert await anext(messages) == 0
            await asyncio.sleep(0.01)  # message 1 failed while the caller held message 0
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert reported == []
