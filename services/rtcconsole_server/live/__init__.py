"""Live state: counters and sets per 10-second slot with retention, and publish/subscribe.

Real-time monitoring (R17–R21) is its first user. ``open_live_state(None, clock=…)``
keeps it in process (one embedded server); ``open_live_state("redis://…", clock=…)``
shares it between replicas through Redis. See ``docs/live-state.md``.

::

    live = open_live_state(settings.redis_url, clock=clock)
    slot = live.current_slot()
    await live.add_to_set(f"online_users:{sdk_app_id}", slot, f"{room}/{user}")
    sizes = await live.set_sizes(f"online_users:{sdk_app_id}", live.recent_slots(360))
    async with live.subscribe(f"realtime:{sdk_app_id}", max_queued=1) as sub:
        async for snapshot in sub:
            ...
    await live.close()
"""

from __future__ import annotations

from rtcconsole_server.live.base import (
    DEFAULT_MAX_QUEUED,
    DEFAULT_PREFIX,
    DEFAULT_RETENTION,
    SLOT,
    LiveBatch,
    LiveState,
    LiveStateClosed,
    slot_of,
    slot_start,
)
from rtcconsole_server.live.factory import open_live_state
from rtcconsole_server.live.fanout import Subscription
from rtcconsole_server.live.memory import MemoryLiveState
from rtcconsole_server.live.redis import RedisLiveState
from rtcconsole_server.live.redis_cluster import RedisClusterLiveState

__all__ = [
    "DEFAULT_MAX_QUEUED",
    "DEFAULT_PREFIX",
    "DEFAULT_RETENTION",
    "SLOT",
    "LiveBatch",
    "LiveState",
    "LiveStateClosed",
    "MemoryLiveState",
    "RedisClusterLiveState",
    "RedisLiveState",
    "Subscription",
    "open_live_state",
    "slot_of",
    "slot_start",
]
