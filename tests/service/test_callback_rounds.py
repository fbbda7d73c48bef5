"""The dispatcher's rounds (R15): outcomes recorded and heads claimed in one transaction.

A round may be written once more after a commit whose answer was lost; an
attempt is then never logged twice. A round whose transaction fails records its
outcomes one by one, so a bad one costs only its own delivery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.callbacks._outbox import Claim, Outbox, Outcome
from rtcconsole_server.server import Server
from rtcconsole_server.store.models import CallbackAttempt, CallbackDelivery
from tests.callback_support import Receiver, report, room_event, set_callback
from tests.support import Tenant


def _outbox(server: Server) -> Outbox:
    assert server.dispatcher is not None
    return server.dispatcher.outbox


def _logged(server: Server) -> list[tuple[int, int]]:
    with server.console.store.read() as session:
        rows = session.execute(
            select(CallbackAttempt.delivery_id, CallbackAttempt.attempt).order_by(CallbackAttempt.id)
        )
        return [(d, a) for d, a in rows]


def _states(server: Server) -> dict[str, str]:
    with server.console.store.read() as session:
        return {d.event_id: d.state for d in session.scalars(select(CallbackDelivery))}


async def _queue(
    server: Server, tenant: Tenant, clock: ManualClock, events: Sequence[tuple[str, int]]
) -> int:
    """Queue ``(event id, room)`` events of a new app whose URL nobody answers; the app."""
    app = await tenant.create_app()
    await set_callback(
        server.console.store, app.sdk_app_id, now=clock.now(), room_event_url="http://127.0.0.1:9/x"
    )
    await report(
        tenant.channel,
        [room_event(e, app.sdk_app_id, at=clock.now(), room=room, user=e) for e, room in events],
    )
    return app.sdk_app_id


async def test_recording_a_head_claims_its_rooms_next_in_the_same_round(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    await _queue(server, tenant, clock, [("first", 1), ("second", 1)])
    outbox = _outbox(server)
    [head] = await asyncio.to_thread(outbox.claim, 10)  # one head per room
    ok = Outcome(clock.now(), 3, 200, "")
    states, claims = await asyncio.to_thread(outbox.exchange, [(head, ok)], 10)
    assert states == ["delivered"]
    assert [c.event_id for c in claims] == ["second"] and claims[0].room_sequence == 2


async def test_a_round_written_twice_logs_each_attempt_once(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    await _queue(server, tenant, clock, [("ok", 1), ("fails", 2), ("late", 3)])
    outbox = _outbox(server)
    claims = {c.event_id: c for c in await asyncio.to_thread(outbox.claim, 10)}
    batch = [
        (claims["ok"], Outcome(clock.now(), 3, 200, "")),
        (claims["fails"], Outcome(clock.now(), 3, 503, "HTTP 503")),
    ]
    assert await asyncio.to_thread(outbox.exchange, batch, 0) == (["delivered", "pending"], [])
    # the same round again (a commit whose answer was lost), with one new outcome in it
    again = [*batch, (claims["late"], Outcome(clock.now(), 3, 200, ""))]
    states, _ = await asyncio.to_thread(outbox.exchange, again, 0)
    assert states == ["already recorded", "already recorded", "delivered"]
    logged = _logged(server)
    assert len(logged) == len(set(logged)) == 3
    assert _states(server) == {"ok": "delivered", "fails": "pending", "late": "delivered"}


async def test_outcomes_of_a_round_move_each_delivery_its_own_way(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    await _queue(server, tenant, clock, [("taken", 4), ("ok", 1), ("retried", 2), ("old", 3)])
    outbox = _outbox(server)
    [lost] = await asyncio.to_thread(outbox.claim, 1)  # the oldest: "taken"
    clock.advance(server.settings.callback_lease)  # its lease is over: it is claimed again, with the rest
    claims = {c.event_id: c for c in await asyncio.to_thread(outbox.claim, 10)}
    assert lost.event_id == "taken" and claims["taken"].attempt == 2
    failed = Outcome(clock.now(), 3, 0, "connection refused")
    window = server.settings.callback_retry_window
    batch = [
        (claims["ok"], Outcome(clock.now(), 3, 200, "")),
        (claims["retried"], failed),
        (replace(claims["old"], queued_at=clock.now() - window), failed),
        (lost, Outcome(clock.now(), 3, 200, "")),  # its lease was lost
    ]
    states, _ = await asyncio.to_thread(outbox.exchange, batch, 0)
    assert states == ["delivered", "pending", "expired", "lost"]
    assert _states(server) == {"ok": "delivered", "retried": "pending", "old": "expired", "taken": "pending"}
    assert len(_logged(server)) == 4  # the lost lease's outcome is in the log all the same


async def test_a_round_that_fails_records_its_outcomes_one_by_one(
    server: Server, tenant: Tenant, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await tenant.create_app()
    failures: list[int] = []
    exchange = Outbox.exchange

    def failing_once(self: Outbox, outcomes: Sequence[tuple[Claim, Outcome]], limit: int, **kw: Any) -> Any:
        if outcomes and not failures:  # a round with outcomes, once
            failures.append(len(outcomes))
            raise RuntimeError("the store said no")
        return exchange(self, outcomes, limit, **kw)

    monkeypatch.setattr(Outbox, "exchange", failing_once)
    with Receiver() as receiver:
        await set_callback(
            server.console.store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url()
        )
        await report(
            tenant.channel,
            [room_event(f"e{room}", app.sdk_app_id, at=clock.now(), room=room) for room in range(1, 5)],
        )
        assert server.dispatcher is not None
        assert await server.dispatcher.run_once() == 4
    assert failures  # a round of several outcomes did fail
    assert set(_states(server).values()) == {"delivered"}
    with server.console.store.read() as session:
        assert session.scalar(select(func.count()).select_from(CallbackAttempt)) == 4
    assert len(receiver.events()) == 4
