"""The callback dispatcher as real processes: kill -9 and restart, two replicas on one PostgreSQL,
and the dispatcher that ``serve`` runs by default.

The receiver runs in this process (threads); events are put in the store with
the domain's own ingest (the gRPC path is covered by the service tests), except
in the ``serve`` test, which goes through IngestService.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import grpc
import psycopg

from rtcconsole.callbacks import CallbackEvent
from rtcconsole_server.clock import SystemClock
from rtcconsole_server.domain.apps import Apps
from rtcconsole_server.domain.auth import Accounts
from rtcconsole_server.domain.callbacks import queue_callbacks
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.domain.events import EventIngest, EventInput
from rtcconsole_server.store import open_store
from tests.callback_support import Receiver, report, room_event, set_callback_in_store
from tests.e2e.processes import create_account, run_cli, running, serving
from tests.infra import PostgresDatabases, admin_url_of, waiting_for

KEY = "e2eKey9"
FAST = ("--callback-timeout-seconds", "1", "--callback-lease-seconds", "2", "--callback-poll-seconds", "0.05")
LOOPBACK = ("--callback-allow-loopback",)  # the receiver listens on 127.0.0.1


def _prepare(url: str, receiver: Receiver, *, rooms: int, per_room: int) -> int:
    """Migrate, create an account and an app with a room-event URL, queue rooms × per_room events."""
    run_cli("migrate", "--database-url", url)
    store = open_store(url)
    try:
        clock = SystemClock()
        issued = Accounts(store, clock).create("ops")
        app = Apps(store, clock).create(Caller(issued.account_id, "e2e"), name="callbacks", description="")
        set_callback_in_store(store, app.sdk_app_id, key=KEY, room_event_url=receiver.url(), now=clock.now())
        now = datetime.now(UTC)
        events = [
            EventInput(f"r{room}-e{n}", app.sdk_app_id, room, None, f"u{n}", 103, now, role=1)
            for n in range(1, per_room + 1)
            for room in range(1, rooms + 1)
        ]
        EventIngest(store, clock, on_stored=queue_callbacks).report(events)
        return app.sdk_app_id
    finally:
        store.dispose()


@contextmanager
def _dispatcher(url: str, log: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """``rtc-console dispatcher``, started and ready; SIGTERMed at exit if still running."""
    argv = ["dispatcher", "--database-url", url, *LOOPBACK, *extra]
    with running(argv, log=log, ready=re.compile("dispatcher running")) as (process, _):
        yield process


async def _until(condition: Callable[[], bool], limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def _by_room(events: list[CallbackEvent]) -> dict[int | str, list[int]]:
    rooms: dict[int | str, list[int]] = defaultdict(list)
    for event in events:
        rooms[event.room_id].append(event.room_seq)
    return rooms


async def test_kill_9_mid_batch_then_restart_delivers_everything_in_order(
    tmp_path: Path, postgres_database: PostgresDatabases
) -> None:
    url = postgres_database()
    victim = "r1-e10"
    held: list[str] = []

    def respond(_path: str, event: CallbackEvent) -> tuple[int, float]:
        if event.event_id == victim and not held:  # hold its first delivery until the kill
            held.append(victim)
            return 200, 3.0
        return 200, 0.01

    with Receiver(key=KEY, respond=respond) as receiver:
        _prepare(url, receiver, rooms=4, per_room=25)
        expected = {f"r{room}-e{n}" for room in range(1, 5) for n in range(1, 26)}
        with _dispatcher(url, tmp_path / "a.log", *FAST) as first:
            await _until(lambda: victim in {e.event_id for e in receiver.events()})
            first.send_signal(signal.SIGKILL)  # while it waits for the victim's answer
            assert first.wait(timeout=10) == -signal.SIGKILL
        with _dispatcher(url, tmp_path / "b.log", *FAST) as second:
            await _until(lambda: expected <= {e.event_id for e in receiver.events()})
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0
        assert "stopped" in (tmp_path / "b.log").read_text()
    events = receiver.events()
    assert {e.event_id for e in events} == expected
    assert all(r.signature_ok for r in receiver.received)
    first_body: dict[str, dict[str, object]] = {}
    for r in receiver.received:  # a duplicate is the same event: same EventId, RoomSeq and EventInfo
        same = {k: v for k, v in r.event.raw.items() if k not in ("SendTime", "CallbackTs")}
        assert first_body.setdefault(r.event.event_id, same) == same
    assert [e.event_id for e in events].count(victim) == 2  # it was in flight at the kill
    for room, seqs in _by_room(events).items():
        assert seqs[0] == 1 and seqs[-1] == 25, room
        assert all(b - a in (0, 1) for a, b in itertools.pairwise(seqs)), (room, seqs)


async def test_two_dispatchers_on_one_postgresql_never_deliver_an_event_twice(
    tmp_path: Path, postgres_database: PostgresDatabases
) -> None:
    url = postgres_database()
    admin_url = admin_url_of(url)
    # 50 ms an answer: the first dispatcher alone needs ~2.5 s (4 in flight)
    with (
        Receiver(key=KEY, respond=lambda _p, _e: (200, 0.05)) as receiver,
        psycopg.connect(admin_url) as gate,
    ):
        _prepare(url, receiver, rooms=10, per_room=20)
        shared = (*FAST[:2], "--callback-lease-seconds", "30", *FAST[4:], "--callback-concurrency", "4")
        # Both start claiming at once, whatever their start-up times: the deliveries are held
        # until both wait for them (else the first could deliver all 200 before the second is up).
        gate.execute("LOCK TABLE callback_deliveries IN ACCESS EXCLUSIVE MODE")
        with _dispatcher(url, tmp_path / "a.log", *shared), _dispatcher(url, tmp_path / "b.log", *shared):
            await _until(lambda: waiting_for(gate, "callback_deliveries") >= 2, limit_s=30)
            gate.commit()
            await _until(lambda: len(receiver.events()) >= 200)
            await asyncio.sleep(0.3)  # anything extra would show up now
    events = receiver.events()
    assert receiver.overlaps == []
    assert len(events) == len({e.event_id for e in events}) == 200
    for room, seqs in _by_room(events).items():
        assert seqs == list(range(1, 21)), room
    for log in ("a.log", "b.log"):  # both took part
        assert "worker dispatcher applied" in (tmp_path / log).read_text(), log


async def test_serve_runs_the_dispatcher_by_default(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    run_cli("migrate", "--database-url", url)
    account_id, _ = create_account(url, "ops")
    with Receiver(key=KEY) as receiver:
        store = open_store(url)
        try:
            app = Apps(store, SystemClock()).create(Caller(account_id, "e2e"), name="served", description="")
            set_callback_in_store(
                store, app.sdk_app_id, key=KEY, room_event_url=receiver.url(), now=SystemClock().now()
            )
        finally:
            store.dispose()
        token = ("--data-plane-token", "data-plane-test-token", *LOOPBACK)
        with serving(url, *token, "--callback-poll-seconds", "0.05", log=tmp_path / "serve.log") as (
            _,
            target,
        ):
            async with grpc.aio.insecure_channel(target) as channel:
                now = datetime.now(UTC)
                response = await report(
                    channel, [room_event(f"s{i}", app.sdk_app_id, at=now) for i in range(3)]
                )
                assert response.accepted == 3
            await _until(lambda: len(receiver.events()) == 3, limit_s=30)
    assert [e.room_seq for e in receiver.events()] == [1, 2, 3]
