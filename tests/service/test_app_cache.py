"""The app state cache of the gate and GetApp across replicas (decision 0035).

Two servers built in this process on the same store and (unless a test says otherwise) the same
Redis or Redis Cluster, under their own key prefix: a disable put into effect by replica A is
refused by replica B's gate as soon as A's message arrives, with B's clock standing still; a
replica that hears nothing (no Redis) refuses once the cache's TTL has passed on the injected
clock. Store backends: SQLite and PostgreSQL (``backend``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import grpc
import pytest

from rtcconsole.usersig import generate_usersig
from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import auth_service_pb2_grpc as auth_grpc
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.common import AppStateCache
from rtcconsole_server.server import Server
from rtcconsole_server.settings import Settings
from tests.support import Tenant, running_server

DATA_PLANE = (("authorization", "Bearer data-plane-test-token"),)
_PATIENCE_S = 5.0
"""Real seconds a test waits for a subscription or a message (they take milliseconds)."""


@pytest.fixture(params=["redis", "redis-cluster"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    if request.param == "redis":
        url, prefix = request.getfixturevalue("redis_server_url"), request.getfixturevalue("redis_key_prefix")
    else:
        url = request.getfixturevalue("redis_cluster_url")
        prefix = request.getfixturevalue("redis_cluster_key_prefix")
    return dataclasses.replace(settings, redis_url=url, redis_key_prefix=prefix)


async def _until(condition: object, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + _PATIENCE_S
    while not callable(condition) or not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not {what} within {_PATIENCE_S} s")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def _replica(settings: Settings, clock: ManualClock) -> AsyncIterator[Server]:
    async with running_server(settings, clock) as replica:
        cache = replica.console.app_cache
        cache.get("entry", 0)  # starts listening if it has not yet
        await _until(lambda: cache.serving, "subscribed")
        yield replica


async def _entry(server: Server, sdk_app_id: int, user_sig: str) -> auth_pb.AuthorizeRoomEntryResponse:
    async with grpc.aio.insecure_channel(server.target) as channel:
        request = auth_pb.AuthorizeRoomEntryRequest(
            sdk_app_id=sdk_app_id, room_id=7, user_id="bob", user_sig=user_sig
        )
        return await auth_grpc.AuthServiceStub(channel).AuthorizeRoomEntry(request, metadata=DATA_PLANE)


async def _enter_until_cached(server: Server, sdk_app_id: int, user_sig: str) -> None:
    """Enter (allowed) until ``server`` keeps the app's state: messages of earlier writes may still
    be on their way and clear it once more."""
    cache = server.console.app_cache
    deadline = asyncio.get_running_loop().time() + _PATIENCE_S
    while True:
        assert (await _entry(server, sdk_app_id, user_sig)).allowed
        if cache.get("entry", sdk_app_id) is not None:
            return
        assert asyncio.get_running_loop().time() < deadline, "never cached"
        await asyncio.sleep(0.01)


async def _disable_pending(tenant: Tenant, clock: ManualClock) -> tuple[int, str]:
    """An app whose disable is accepted and due now (not applied); a valid UserSig for it."""
    app = await tenant.create_app("cached")
    secret = await tenant.auth.GetAppSecretKey(
        auth_pb.GetAppSecretKeyRequest(sdk_app_id=app.sdk_app_id), metadata=tenant.metadata
    )
    token = await tenant.secondary_token(await tenant.enroll(), clock)
    await tenant.apps.DisableApp(
        pb.DisableAppRequest(sdk_app_id=app.sdk_app_id, secondary_auth_token=token), metadata=tenant.metadata
    )
    clock.advance(minutes=5)  # R7: due now; the worker has not run yet
    sig = generate_usersig(
        sdk_app_id=app.sdk_app_id,
        secret_key=secret.secret_key,
        user_id="bob",
        now=int(clock.now().timestamp()),
    )
    return app.sdk_app_id, sig


async def test_a_disable_on_replica_a_is_refused_by_replica_b_without_waiting_for_the_ttl(
    tenant: Tenant, settings: Settings, clock: ManualClock
) -> None:
    await _until(lambda: tenant.server.console.app_cache.serving, "replica A subscribed")
    async with _replica(settings, clock) as b:
        sdk_app_id, sig = await _disable_pending(tenant, clock)
        await _enter_until_cached(b, sdk_app_id, sig)  # B answers from its cache now
        cache = b.console.app_cache

        assert (await tenant.server.workers.run_once())["operations"] == 1  # applied by replica A
        await _until(lambda: cache.get("entry", sdk_app_id) is None, "cleared on replica B")
        refused = await _entry(b, sdk_app_id, sig)  # B's clock has not moved
        assert not refused.allowed
        assert refused.denial == auth_pb.ENTRY_DENIAL_APP_NOT_IN_SERVICE


async def test_get_app_on_replica_b_shows_a_change_made_on_replica_a(
    tenant: Tenant, settings: Settings, clock: ManualClock
) -> None:
    await _until(lambda: tenant.server.console.app_cache.serving, "replica A subscribed")
    async with _replica(settings, clock) as b, grpc.aio.insecure_channel(b.target) as channel:
        app = await tenant.create_app("before")
        on_b = Tenant(tenant.account_id, tenant.api_key, channel, b)
        deadline = asyncio.get_running_loop().time() + _PATIENCE_S
        while b.console.app_cache.get("view", app.sdk_app_id) is None:  # until B keeps it
            assert (await on_b.get_app(app.sdk_app_id)).name == "before"
            assert asyncio.get_running_loop().time() < deadline, "never cached"
        assert (await on_b.get_app(app.sdk_app_id)).name == "before"  # from B's cache
        await tenant.apps.UpdateApp(
            pb.UpdateAppRequest(app=pb.App(sdk_app_id=app.sdk_app_id, name="after")), metadata=tenant.metadata
        )
        await _until(lambda: b.console.app_cache.get("view", app.sdk_app_id) is None, "cleared on B")
        assert (await on_b.get_app(app.sdk_app_id)).name == "after"


async def test_a_replica_that_hears_nothing_refuses_within_the_ttl(
    tenant: Tenant, settings: Settings, clock: ManualClock
) -> None:
    deaf = dataclasses.replace(settings, redis_url=None)  # its own in-process live state
    async with _replica(deaf, clock) as b:
        sdk_app_id, sig = await _disable_pending(tenant, clock)
        await _enter_until_cached(b, sdk_app_id, sig)
        assert (await tenant.server.workers.run_once())["operations"] == 1
        assert (await _entry(b, sdk_app_id, sig)).allowed  # stale, inside the stated bound
        clock.advance(b.console.app_cache.ttl)
        refused = await _entry(b, sdk_app_id, sig)
        assert refused.denial == auth_pb.ENTRY_DENIAL_APP_NOT_IN_SERVICE


async def test_a_read_that_began_before_an_invalidation_is_not_kept(
    server: Server, clock: ManualClock
) -> None:
    cache = AppStateCache(server.console.store, clock, None, ttl=timedelta(seconds=5))
    generation = cache.generation()
    cache.invalidate()  # a write committed while the read was under way
    cache.put("entry", 1, "stale", generation)
    assert cache.get("entry", 1) is None
    cache.put("entry", 1, "fresh", cache.generation())
    assert cache.get("entry", 1) == "fresh"
    clock.advance(seconds=5)
    assert cache.get("entry", 1) is None  # the TTL on the injected clock


async def test_a_billing_stop_is_refused_at_once_by_the_replica_that_wrote_it(
    tenant: Tenant, clock: ManualClock
) -> None:
    await _until(lambda: tenant.server.console.app_cache.serving, "subscribed")
    app = await tenant.create_app("billed")
    secret = await tenant.auth.GetAppSecretKey(
        auth_pb.GetAppSecretKeyRequest(sdk_app_id=app.sdk_app_id), metadata=tenant.metadata
    )
    now = int(clock.now().timestamp())
    sig = generate_usersig(sdk_app_id=app.sdk_app_id, secret_key=secret.secret_key, user_id="bob", now=now)
    await _enter_until_cached(tenant.server, app.sdk_app_id, sig)
    await asyncio.to_thread(  # an admin use case in this process: no message needed
        tenant.server.console.accounts.set_billing, tenant.account_id, package_state="used_up"
    )
    assert tenant.server.console.app_cache.get("entry", app.sdk_app_id) is None
    refused = await _entry(tenant.server, app.sdk_app_id, sig)
    assert list(refused.stop_reasons) == [pb.STOP_REASON_PACKAGE_USED_UP]
