"""Memory of the real-time live state per retained slot (issue 13, R21; docs/live-state.md).

``python -m bench.realtime_memory [--slots N] [--redis URL]``: one advanced-edition app with
100 rooms × 10 users (1,000 concurrent users), each user two downstream streams (video, audio)
and six session attributes, counted by the real ``RealtimeCounter`` slot after slot on a
manual clock (10 s per slot; a fresh SQLite store holds the account and the app). Defaults:
``--slots 180`` (30 minutes).

In process (``MemoryLiveState``, ``tracemalloc``): the live state's size after ``N/2`` and
after ``N`` slots; the difference over ``N/2`` slots is what one more retained slot of the
app's totals costs (both points are past the 10-minute detail retention and the compaction
age, so rooms and breakdowns are at their steady size). Extrapolated to 3 h (1,080 slots) and
12 h (4,320 slots). With ``--redis``: the same on a ``RedisLiveState`` under a private prefix,
``MEMORY USAGE`` of every key of a live slot, split into the app's totals of slots older than
11 minutes (per slot), of newer slots, and the 10-minute figures; the keys deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import redis.asyncio as aioredis

from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.events import EventInput
from rtcconsole_server.domain.monitor import RealtimeCounter, SampleInput
from rtcconsole_server.live import SLOT, LiveState, MemoryLiveState, RedisLiveState
from rtcconsole_server.store import Store, open_store
from rtcconsole_server.store.migrate import upgrade
from rtcconsole_server.store.models import Account, App

ROOMS, USERS = 100, 10
"""100 rooms × 10 users: 1,000 concurrent users."""
START = datetime(2026, 3, 10, 12, 0, 5, tzinfo=UTC)
ATTRIBUTES = {
    "country": "JP",
    "province": "Tokyo",
    "network_type": "wifi",
    "device_model": "Pixel 8",
    "sdk_version": "11.4.0",
    "carrier": "docomo",
}
T = TypeVar("T")


def _store(directory: Path) -> tuple[Store, int]:
    """A fresh SQLite store with one advanced-edition account and its app; the app's id."""
    store = open_store(f"sqlite:///{directory / 'memory.db'}")
    upgrade(store)
    with store.write() as session:
        account = Account(name="memory", created_at=START, edition="advanced")
        session.add(account)
        session.flush()
        app = App(account_id=account.id, name="memory", secret_key="x", created_at=START, updated_at=START)
        session.add(app)
        session.flush()
        return store, app.sdk_app_id


def _records(app: int, at: datetime, slot: int) -> list[SampleInput | EventInput]:
    """One slot of the 1,000 users: an entry (the attributes) and two downstream samples each."""
    found: list[SampleInput | EventInput] = []
    for room in range(ROOMS):
        for user in range(USERS):
            uid = f"user-{room}-{user}"
            found.append(EventInput(f"e{slot}{uid}", app, room, None, uid, 103, at, session=ATTRIBUTES))
            for media in (1, 2):
                found.append(SampleInput(f"{slot}{uid}{media}", app, f"n:{room}", uid, "p", media, at))
    return found


async def _offload(call: Callable[[], T]) -> T:
    return call()


async def _count_slots(counter: RealtimeCounter, clock: ManualClock, app: int, first: int, end: int) -> None:
    for slot in range(first, end):
        clock.set(START + slot * SLOT)
        await counter.count(_offload, _records(app, clock.now() - SLOT, slot))


def _report(label: str, total: int, per_slot: float, slots: int) -> None:
    for name, kept in (("basic (3 h)", 1_080), ("advanced (12 h)", 4_320)):
        estimate = total + (kept - slots) * per_slot
        print(f"{label}: {name}: ≈ {estimate / 1e6:,.1f} MB per 1,000 users")


async def in_process(store: Store, app: int, slots: int) -> None:
    clock = ManualClock(START)
    live = MemoryLiveState(clock=clock)
    counter = RealtimeCounter(store, clock, live)
    half = slots // 2
    tracemalloc.start()
    await _count_slots(counter, clock, app, 0, half)
    at_half = tracemalloc.get_traced_memory()[0]
    await _count_slots(counter, clock, app, half, slots)
    at_end = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_slot = (at_end - at_half) / (slots - half)
    print(
        f"in process: {at_end / 1e6:,.1f} MB traced after {slots} slots; {per_slot:,.0f} B per retained slot"
    )
    _report("in process", at_end, per_slot, slots)
    await live.close()


async def in_redis(store: Store, app: int, slots: int, url: str) -> None:
    clock = ManualClock(START)
    prefix = f"rtc-memory:{secrets.token_hex(4)}:"
    live: LiveState = RedisLiveState.from_url(url, clock=clock, prefix=prefix)
    counter = RealtimeCounter(store, clock, live)
    client = aioredis.from_url(url)
    try:
        await _count_slots(counter, clock, app, 0, slots)
        current = live.current_slot()
        old = recent = detail = 0
        async for name in client.scan_iter(match=f"{prefix}*", count=1000):
            key = name.decode()
            slot = int(key.rsplit(":", 1)[1])
            totals = any(
                f"}}:{part}:" in key for part in ("users", "abnormal", "rooms", "vs", "vt", "as", "at")
            )
            if not totals and slot <= current - 60:
                continue  # a 10-minute figure no longer live (its TTL has not passed in real time)
            size = int(await client.memory_usage(name) or 0)
            if not totals:
                detail += size
            elif slot <= current - 66:
                old += size
            else:
                recent += size
        old_slots = max(1, slots - 66)
        per_slot = old / old_slots
        total = old + recent + detail
        print(
            f"Redis: {total / 1e6:,.1f} MB of keys after {slots} slots: 10-minute figures "
            f"{detail / 1e6:,.1f} MB, app totals of the last 11 min {recent / 1e6:,.1f} MB, "
            f"older app totals {per_slot:,.0f} B per slot"
        )
        _report("Redis", total, per_slot, slots)
    finally:
        async for name in client.scan_iter(match=f"{prefix}*", count=1000):
            await client.delete(name)
        await client.aclose()
        await live.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=180, help="slots counted (default 180: 30 min)")
    parser.add_argument("--redis", default="", help="also measure a RedisLiveState on this URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        store, app = await asyncio.to_thread(_store, Path(directory))
        try:
            await in_process(store, app, args.slots)
            if args.redis:
                await in_redis(store, app, args.slots, args.redis)
        finally:
            store.dispose()


if __name__ == "__main__":
    asyncio.run(main())
