"""Choosing the live-state implementation from the configuration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from rtcconsole_server.clock import Clock
from rtcconsole_server.live.base import DEFAULT_MAX_QUEUED, DEFAULT_PREFIX, DEFAULT_RETENTION, LiveState
from rtcconsole_server.live.memory import MemoryLiveState
from rtcconsole_server.live.redis import DEFAULT_CLIENT_NAME, RedisLiveState
from rtcconsole_server.live.redis_cluster import RedisClusterLiveState, is_cluster_url

__all__ = ["open_live_state"]


def open_live_state(
    redis_url: str | None,
    *,
    clock: Clock,
    prefix: str = DEFAULT_PREFIX,
    retention: timedelta = DEFAULT_RETENTION,
    max_queued: int = DEFAULT_MAX_QUEUED,
    client_name: str = DEFAULT_CLIENT_NAME,
    on_error: Callable[[str], None] | None = None,
) -> LiveState:
    """Redis live state for ``redis_url``, or in-process when it is None or empty.

    ``redis://host:port/db`` (``rediss://`` with TLS) is one Redis;
    ``redis+cluster://host:port`` (``rediss+cluster://``) a Redis Cluster, any one node
    named (decision 0029). ``prefix`` (default ``rtc:``) namespaces every key and channel
    and must not contain braces.

    Nothing connects yet: Redis connects on first use. ``retention`` defaults to
    60 minutes, ``max_queued`` (per-subscriber queue bound, messages) to 64;
    ``client_name`` names the Redis connections (``CLIENT LIST``); ``on_error`` becomes
    :attr:`LiveState.on_error` (the server's metrics count Redis failures through it).
    """
    state = _open(redis_url, clock, prefix, retention, max_queued, client_name)
    if on_error is not None:
        state.on_error = on_error
    return state


def _open(
    redis_url: str | None,
    clock: Clock,
    prefix: str,
    retention: timedelta,
    max_queued: int,
    client_name: str,
) -> LiveState:
    if redis_url and is_cluster_url(redis_url):
        return RedisClusterLiveState.from_url(
            redis_url,
            clock=clock,
            prefix=prefix,
            retention=retention,
            max_queued=max_queued,
            client_name=client_name,
        )
    if redis_url:
        return RedisLiveState.from_url(
            redis_url,
            clock=clock,
            prefix=prefix,
            retention=retention,
            max_queued=max_queued,
            client_name=client_name,
        )
    return MemoryLiveState(clock=clock, prefix=prefix, retention=retention, max_queued=max_queued)
