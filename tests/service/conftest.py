"""Fixtures of the live-state contract tests: each runs in process, on one Redis and on a Redis Cluster."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from rtcconsole_server.clock import ManualClock
from rtcconsole_server.live import DEFAULT_MAX_QUEUED, DEFAULT_RETENTION, LiveState, open_live_state
from tests.live_support import MakeLive


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client_name() -> str:
    """``CLIENT SETNAME`` of this test's Redis connections, to count them."""
    return f"rtc-live-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def make_live(
    backend_name: str, request: pytest.FixtureRequest, clock: ManualClock, client_name: str
) -> AsyncIterator[MakeLive]:
    """Factory of live states on this backend; Redis ones share the test's key prefix (replicas)."""
    url: str | None = None
    prefix = "rtc:"
    if backend_name == "redis":
        url = request.getfixturevalue("redis_server_url")
        prefix = request.getfixturevalue("redis_key_prefix")
    elif backend_name == "redis-cluster":
        url = request.getfixturevalue("redis_cluster_url")
        prefix = request.getfixturevalue("redis_cluster_key_prefix")
    created: list[LiveState] = []

    def make(*, retention: timedelta = DEFAULT_RETENTION, max_queued: int = DEFAULT_MAX_QUEUED) -> LiveState:
        live = open_live_state(
            url,
            clock=clock,
            prefix=prefix,
            retention=retention,
            max_queued=max_queued,
            client_name=client_name,
        )
        created.append(live)
        return live

    yield make
    for live in created:
        await live.close()


@pytest.fixture
def live(make_live: MakeLive) -> LiveState:
    return make_live()
