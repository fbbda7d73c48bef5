"""One worker group for every background worker, sleeping on the injected clock.

With a ManualClock the workers run by themselves as the test moves time: nothing
calls ``run_once`` and nothing sleeps for real. ``clock.wait_for_sleepers(n)``
tells the test that the ``n`` workers it woke have finished their step.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from sqlalchemy import func, select

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole_aggregator import run_aggregator
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.apps import Apps
from rtcconsole_server.domain.auth import Accounts
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.domain.usage import UsageIngest
from rtcconsole_server.server import Server, build_server
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import open_store
from rtcconsole_server.store.models_usage import UsageLine
from rtcconsole_server.workers import Worker, WorkerGroup, run_until_signalled
from rtcconsole_server.workers.dispatcher import run_dispatcher
from tests.support import Tenant, new_tenant
from tests.usage_support import get_usage, record

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)  # the ManualClock's start
EVERY = timedelta(seconds=15)


async def _asleep(clock: ManualClock, count: int) -> None:
    """Wait (in real time, bounded) until ``count`` workers sleep on ``clock``."""
    async with asyncio.timeout(30):
        await clock.wait_for_sleepers(count)


@pytest.fixture
async def executor() -> AsyncIterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=2)
    yield pool
    pool.shutdown(wait=True)


# ------------------------------------------------------------ the group alone


async def test_steps_run_at_start_then_every_interval_of_the_clock(executor: ThreadPoolExecutor) -> None:
    clock = ManualClock(DAY0)
    calls: dict[str, list[datetime]] = {"blocking": [], "async": []}

    def blocking() -> int:
        calls["blocking"].append(clock.now())
        return 1

    async def on_loop() -> int:
        calls["async"].append(clock.now())
        return 0

    group = WorkerGroup(
        executor,
        [Worker("blocking", blocking, EVERY), Worker("async", on_loop, timedelta(minutes=5))],
        clock=clock,
    )
    await group.start()
    try:
        await _asleep(clock, 2)
        assert calls == {"blocking": [DAY0], "async": [DAY0]}
        clock.advance(seconds=14)
        await asyncio.sleep(0)
        await _asleep(clock, 2)
        assert len(calls["blocking"]) == 1  # not due yet
        clock.advance(seconds=1)
        await _asleep(clock, 2)
        assert calls["blocking"] == [DAY0, DAY0 + EVERY]
        for _ in range(4 * 60 - 1):  # the rest of an hour in 15-second moves
            clock.advance(EVERY)
            await _asleep(clock, 2)
        assert len(calls["blocking"]) == 1 + 240 and len(calls["async"]) == 1 + 12
        assert calls["async"][-1] == DAY0 + timedelta(hours=1)
    finally:
        await group.stop()
    assert not group.running


async def test_stop_ends_sleeping_workers_at_once_whatever_the_grace(executor: ThreadPoolExecutor) -> None:
    clock = ManualClock(DAY0)
    stopped: list[str] = []
    group = WorkerGroup(
        executor, [Worker("idle", lambda: 0, timedelta(hours=1), on_stop=lambda: stopped.append("idle"))]
    )
    group.clock = clock
    await group.start()
    await _asleep(clock, 1)
    async with asyncio.timeout(10):  # not the hour of grace
        await group.stop(timedelta(hours=1))
    assert stopped == ["idle"] and clock.sleepers == 0


async def test_a_step_in_flight_finishes_within_the_grace(executor: ThreadPoolExecutor) -> None:
    release, started, finished = asyncio.Event(), asyncio.Event(), []

    async def step() -> int:
        started.set()
        await release.wait()
        finished.append("done")
        return 1

    group = WorkerGroup(executor, [Worker("held", step, EVERY, on_stop=release.set)], clock=ManualClock(DAY0))
    await group.start()
    await started.wait()
    async with asyncio.timeout(10):
        await group.stop(30.0)  # on_stop (stop claiming) lets it finish; then the loop ends
    assert finished == ["done"]


async def test_a_step_that_outlives_the_grace_is_cancelled(executor: ThreadPoolExecutor) -> None:
    started, outcome = asyncio.Event(), []

    async def step() -> int:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        return 0

    group = WorkerGroup(executor, [Worker("stuck", step, EVERY)], clock=ManualClock(DAY0))
    await group.start()
    await started.wait()
    async with asyncio.timeout(10):
        await group.stop(0.01)
    assert outcome == ["cancelled"]


async def test_a_failed_step_is_logged_and_retried_after_the_interval(
    executor: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(DAY0)
    attempts: list[datetime] = []

    def flaky() -> int:
        attempts.append(clock.now())
        if len(attempts) == 1:
            raise RuntimeError("store down")
        return 2

    group = WorkerGroup(executor, [Worker("flaky", flaky, EVERY, report="did {n} thing(s)")], clock=clock)
    caplog.set_level(logging.INFO, logger="rtcconsole_server.workers")
    await group.start()
    try:
        await _asleep(clock, 1)
        clock.advance(EVERY)
        await _asleep(clock, 1)
    finally:
        await group.stop()
    assert attempts == [DAY0, DAY0 + EVERY]
    assert "worker flaky step failed; retrying in 0:00:15" in caplog.text
    assert "worker flaky did 2 thing(s)" in caplog.text


async def test_a_group_starts_once(executor: ThreadPoolExecutor) -> None:
    group = WorkerGroup(executor, [Worker("idle", lambda: 0, EVERY)], clock=ManualClock(DAY0))
    await group.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            await group.start()
    finally:
        await group.stop()


# ------------------------------------------------------------ SIGTERM, the same everywhere


async def test_sigterm_stops_a_running_group_and_restores_the_default_handler(
    executor: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rtcconsole_server.workers")
    clock = ManualClock(DAY0)
    stopped: list[str] = []
    group = WorkerGroup(
        executor, [Worker("w", lambda: 0, EVERY, on_stop=lambda: stopped.append("w"))], clock=clock
    )
    running = asyncio.create_task(run_until_signalled(group, grace=timedelta(seconds=5), name="test"))
    await _asleep(clock, 1)
    os.kill(os.getpid(), signal.SIGTERM)
    async with asyncio.timeout(10):
        await running
    assert stopped == ["w"] and not group.running
    assert "test: SIGTERM; stopping" in caplog.text and "test: stopped" in caplog.text
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


async def test_standalone_aggregator_ticks_on_the_clock_until_stopped(database_url: str) -> None:
    store = open_store(database_url)
    clock = ManualClock(DAY0 + timedelta(hours=1))
    try:
        account = Accounts(store, clock).create("standalone")
        app = Apps(store, clock).create(Caller(account.account_id, "test"), name="standalone", description="")
        outcome = UsageIngest(store, clock).record(
            [record(app.sdk_app_id, DAY0 + timedelta(minutes=m), 30) for m in (1, 7)]
        )
        assert not outcome.rejections
        settings = Settings(database_url=database_url, migrate=False)
        stop = asyncio.Event()
        running = asyncio.create_task(run_aggregator(settings, clock=clock, stop=stop))
        await _asleep(clock, 1)  # the first tick is done
        with store.read() as session:
            assert session.scalar(select(func.count()).select_from(UsageLine)) == 2
        clock.advance(minutes=5)  # the next tick, with nothing new
        await _asleep(clock, 1)
        stop.set()
        async with asyncio.timeout(10):
            assert await running == 0
    finally:
        store.dispose()


async def test_standalone_dispatcher_runs_until_stopped(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = ManualClock(DAY0)
    stop = asyncio.Event()
    running = asyncio.create_task(run_dispatcher(Settings(database_url=database_url), clock=clock, stop=stop))
    await _asleep(clock, 1)
    stop.set()
    async with asyncio.timeout(10):
        await running
    assert (
        "rtc-console dispatcher running" in caplog.text and "rtc-console dispatcher: stopped" in caplog.text
    )


# ------------------------------------------------------------ a real server's own workers


@pytest.fixture
async def working_server(settings: Settings, clock: ManualClock) -> AsyncIterator[Server]:
    """A started server whose workers run by themselves, on the test's ManualClock."""
    built = await build_server(replace(settings, run_workers=True), clock=clock)
    await built.start()
    try:
        await _asleep(clock, len(built.workers.workers))  # every first step done
        yield built
    finally:
        await built.stop(0)


async def _operation_done(tenant: Tenant, name: str) -> bool:
    response = await tenant.apps.GetOperation(pb.GetOperationRequest(name=name), metadata=tenant.metadata)
    return response.operation.done


async def test_r7_the_servers_applier_disables_3_minutes_later_as_the_clock_moves(
    working_server: Server, clock: ManualClock
) -> None:
    workers = len(working_server.workers.workers)
    assert workers == 5  # operations, config, aggregator, retention, dispatcher
    async with new_tenant(working_server, "clocked") as tenant:
        app = await tenant.create_app("clocked")
        token = await tenant.secondary_token(await tenant.enroll(), clock)
        accepted = await tenant.apps.DisableApp(
            pb.DisableAppRequest(sdk_app_id=app.sdk_app_id, secondary_auth_token=token),
            metadata=tenant.metadata,
        )
        name = accepted.operation.name
        assert accepted.operation.effective_time.ToDatetime(tzinfo=UTC) == DAY0 + timedelta(minutes=3)
        clock.advance(minutes=2, seconds=45)  # the applier's step at 2:45: not due
        await _asleep(clock, workers)
        assert not await _operation_done(tenant, name)
        clock.advance(seconds=15)  # its next step, at 3:00: due
        await _asleep(clock, workers)
        assert await _operation_done(tenant, name)
        assert (await tenant.get_app(app.sdk_app_id)).status == pb.APP_STATUS_STOPPED


async def test_an_hour_of_the_servers_workers_runs_in_milliseconds(
    working_server: Server, clock: ManualClock
) -> None:
    """R16 on the server's own aggregator: a window shows 5-20 minutes after it ends."""
    workers = len(working_server.workers.workers)
    async with new_tenant(working_server, "hourly") as tenant:
        app = await tenant.create_app("hourly")
        await asyncio.to_thread(
            UsageIngest(working_server.console.store, clock).record,
            [record(app.sdk_app_id, DAY0 + timedelta(minutes=1), 90)],
        )
        shown_at = None
        for _ in range(4 * 60):
            clock.advance(EVERY)
            await _asleep(clock, workers)
            if shown_at is None and (await get_usage(tenant, DAY0, DAY0 + timedelta(hours=1))).lines:
                shown_at = clock.now()
        window_end = DAY0 + timedelta(minutes=5)
        assert shown_at is not None and window_end + timedelta(minutes=5) <= shown_at
        assert shown_at <= window_end + timedelta(minutes=20)
        assert clock.now() == DAY0 + timedelta(hours=1)


# ------------------------------------------------------------ shutdown order


async def test_stop_ends_a_held_stream_before_draining_calls(settings: Settings, clock: ManualClock) -> None:
    """Live subscriptions end first, so a held server stream does not keep SIGTERM waiting for the grace."""
    built = await build_server(settings, clock=clock)
    assert built.live is not None and built.console.live is built.live  # built first, handed to the domain
    live = built.live

    async def watch(request: bytes, context: Any) -> AsyncIterator[bytes]:
        async with live.subscribe("held") as subscription:
            yield b"subscribed"
            async for payload in subscription:
                yield payload

    handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_stream_rpc_method_handler(watch)
    built.grpc_server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("test.Hold", {"Watch": handler})]
    )
    await built.start()
    async with grpc.aio.insecure_channel(built.target) as channel:
        watching: Any = channel.unary_stream("/test.Hold/Watch")
        call = watching(b"")
        received = [await call.read()]
        await live.publish("held", b"one")
        received.append(await call.read())
        async with asyncio.timeout(20):  # far less than the minute of grace
            await built.stop(60.0)
            assert await call.read() is grpc.aio.EOF
        assert await call.code() == grpc.StatusCode.OK
    assert received == [b"subscribed", b"one"]
