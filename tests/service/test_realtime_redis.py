"""Real-time counting through a real server whose live state is Redis or a Redis Cluster.

Each test's server gets its own ``--redis-key-prefix`` (``redis_key_prefix`` /
``redis_cluster_key_prefix``), so tests sharing one Redis never see each other's apps even when
their SDKAppIDs repeat. Store backends: SQLite and PostgreSQL (``backend``); the in-process live
state is covered by tests/service/test_realtime_counting.py.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from rtcconsole_server import cli
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.monitor._realtime_keys import DETAIL_RETENTION, LOOK_BACK, Edition, app_keys
from rtcconsole_server.live import DEFAULT_PREFIX, open_live_state, slot_of
from rtcconsole_server.live.redis import BaseRedisLiveState
from rtcconsole_server.server import Server
from rtcconsole_server.settings import Settings
from tests.realtime_support import (
    AUDIO,
    NOW,
    SLOT,
    client_event,
    overview,
    paid,
    report_client_events,
    report_samples,
    sample,
)
from tests.support import Tenant

PREV = NOW - SLOT
BASIC = LOOK_BACK[Edition.BASIC]


@pytest.fixture(params=["redis", "redis-cluster"])
def live_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def redis_target(live_backend: str, request: pytest.FixtureRequest) -> tuple[str, str]:
    """(URL, key prefix private to the test) of the live state under test."""
    if live_backend == "redis":
        return request.getfixturevalue("redis_server_url"), request.getfixturevalue("redis_key_prefix")
    return request.getfixturevalue("redis_cluster_url"), request.getfixturevalue("redis_cluster_key_prefix")


@pytest.fixture
def settings(settings: Settings, redis_target: tuple[str, str]) -> Settings:
    url, prefix = redis_target
    return dataclasses.replace(settings, redis_url=url, redis_key_prefix=prefix)


@pytest.fixture
def now(clock: ManualClock) -> ManualClock:
    clock.set(NOW)
    return clock


async def _counted_app(server: Server, tenant: Tenant) -> int:
    app = (await tenant.create_app("live")).sdk_app_id
    await paid(server, tenant, "basic")
    await report_samples(
        tenant,
        [
            sample(app, PREV, "1"),  # alice, room 42, video: 2,000 ms, no stall
            sample(app, PREV, "2", media=AUDIO, stall=200),  # audio stall at the 200 ms boundary
            sample(app, PREV, "3", room=43),  # alice in room 43 too: a second online user
            sample(app, PREV, "4", user="bob", stall=600),  # video stall at the 600 ms boundary
        ],
    )
    await report_client_events(tenant, [client_event(app, PREV, "e1", user="bob")])
    return app


async def test_the_server_counts_into_redis_under_its_prefix(
    server: Server, tenant: Tenant, now: ManualClock, redis_target: tuple[str, str]
) -> None:
    app = await _counted_app(server, tenant)
    figures = await overview(tenant, app)
    assert (figures.online_users, figures.online_rooms, figures.abnormal_users) == (3, 2, 1)
    assert (figures.video_stall_rate.stall_ms, figures.video_stall_rate.total_ms) == (600, 6000)
    assert (figures.audio_stall_rate.stall_ms, figures.audio_stall_rate.total_ms) == (200, 2000)

    url, prefix = redis_target
    live = server.live
    assert isinstance(live, BaseRedisLiveState) and live.prefix == prefix
    keys = app_keys(app)
    name = live.set_key(keys.users, slot_of(PREV))
    assert name.startswith(f"{prefix}s:rt:{{{app}}}:")  # the app's hash tag, after the prefix
    reader = open_live_state(url, clock=now, prefix=prefix)
    stranger = open_live_state(url, clock=now, prefix=f"{prefix}other:")
    try:
        assert await reader.set_sizes(keys.users, [slot_of(PREV)], retention=BASIC) == [3]
        assert await stranger.set_sizes(keys.users, [slot_of(PREV)], retention=BASIC) == [0]
    finally:
        await reader.close()
        await stranger.close()


async def test_one_apps_keys_share_one_cluster_slot(
    server: Server, tenant: Tenant, now: ManualClock, redis_target: tuple[str, str], live_backend: str
) -> None:
    app = await _counted_app(server, tenant)
    url, prefix = redis_target
    escaped = "".join("\\" + ch if ch in "*?[]\\" else ch for ch in prefix)
    if live_backend == "redis":
        admin: Redis | RedisCluster = Redis.from_url(url)
        names = [key async for key in admin.scan_iter(match=f"{escaped}*")]
    else:
        admin = RedisCluster.from_url(url.replace("redis+cluster", "redis", 1))
        names = [key async for key in admin.scan_iter(match=f"{escaped}*")]  # every primary
    try:
        assert len(names) > 20  # the app's totals, its two rooms and six breakdowns
        assert all(f"rt:{{{app}}}:".encode() in name for name in names)
        if isinstance(admin, RedisCluster):
            assert {admin.keyslot(name) for name in names} == {admin.keyslot(str(app))}
        ttls = [await admin.ttl(name) for name in names]
        assert min(ttls) > 0 and max(ttls) <= (BASIC + timedelta(seconds=60)).total_seconds()
        assert min(ttls) >= (DETAIL_RETENTION - SLOT).total_seconds()
    finally:
        await admin.aclose()


def test_the_key_prefix_flag_defaults_to_rtc_and_refuses_braces() -> None:
    assert Settings().redis_key_prefix == DEFAULT_PREFIX == "rtc:"
    _, settings = cli.parse(["serve", "--redis-key-prefix", "blue:"], {})
    assert settings.redis_key_prefix == "blue:"
    _, settings = cli.parse(["serve"], {"RTC_REDIS_KEY_PREFIX": "green:"})
    assert settings.redis_key_prefix == "green:"
    for bad in ("{blue}:", ""):
        with pytest.raises(SystemExit):
            cli.parse(["serve", "--redis-key-prefix", bad], {})
