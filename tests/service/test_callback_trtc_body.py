"""Existing TRTC receivers work unchanged (issue 11): ``EventInfo`` field by field against TRTC's example.

A real server ingests events over IngestService, its dispatcher POSTs them to a real
HTTP receiver on 127.0.0.1; the session fields (``UniqueId``, ``TerminalType``,
``UserType``, decision 0018) are checked on what arrives, and on the outbox rows
where a test needs hundreds of events.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from rtcconsole.callbacks import CallbackEvent
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole_server.clock import EPOCH, ManualClock
from rtcconsole_server.server import Server
from rtcconsole_server.store.models import CallbackDelivery
from tests.callback_support import Receiver, report, room_event, set_callback
from tests.support import Tenant

TRTC_103 = json.loads(
    '{"EventGroupId":1,"EventType":103,"CallbackTs":1615554923704,"EventInfo":{"RoomId":12345,'
    '"EventTs":1615554922,"UserId":"test","UniqueId":1615554922656,"Role":20,"TerminalType":3,'
    '"UserType":3,"Reason":1}}'
)
"""TRTC's published example of a user-entered callback body ("Event Callbacks", packet body
sample), verbatim without its comments: an anchor on iOS (TerminalType 3) with a native SDK
(UserType 3) entering on its own (Reason 1)."""
TRTC_ALSO = ["EventMsTs"]
"""In TRTC's field table ("EventMsTs: the Unix timestamp (ms) of event occurrence") but not in
its older example; we send it after ``EventTs``, where the table lists it."""
OURS = {"EventId", "RoomSeq", "EventTime", "SendTime"}
"""The four fields our body adds to TRTC's."""
EVENT_MS = 1615554922656
"""The event time of the example, in ms: within its ``EventTs`` second."""
EVENT_AT = EPOCH + timedelta(milliseconds=EVENT_MS)
SENT_AT = EPOCH + timedelta(milliseconds=TRTC_103["CallbackTs"])
IOS = pb.SessionAttributes(platform="ios", region="ap-tokyo", sdk_version="11.4")


@pytest.fixture
def clock() -> ManualClock:
    """The server's clock starts just before TRTC's example, so its times can be reproduced exactly."""
    return ManualClock(EVENT_AT - timedelta(minutes=1))


async def _deliver_all(server: Server) -> None:
    assert server.dispatcher is not None
    while await server.dispatcher.run_once():
        pass


def _by_id(receiver: Receiver) -> dict[str, CallbackEvent]:
    return {e.event_id: e for e in receiver.events()}


async def test_a_user_entered_body_matches_trtcs_example_field_by_field(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    with Receiver() as receiver:
        await set_callback(
            server.console.store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url()
        )
        clock.set(SENT_AT)
        entered = room_event(
            "enter-test",
            app.sdk_app_id,
            at=EVENT_AT,
            room=12345,
            user="test",
            role=pb.ROLE_ANCHOR,
            reason=1,
            session=IOS,
        )
        await report(tenant.channel, [entered])
        await _deliver_all(server)
    [got] = receiver.received
    body = json.loads(got.body)
    assert set(body) == set(TRTC_103) | OURS
    for name in ("EventGroupId", "EventType", "CallbackTs"):
        assert type(body[name]) is type(TRTC_103[name]) and body[name] == TRTC_103[name], name
    info, reference = body["EventInfo"], TRTC_103["EventInfo"]
    order = list(reference)
    order[order.index("EventTs") + 1 : order.index("EventTs") + 1] = TRTC_ALSO
    assert list(info) == order  # TRTC's keys, in TRTC's order
    for name, expected in reference.items():
        assert type(info[name]) is type(expected), f"EventInfo.{name}: {info[name]!r}"
    assert info["EventMsTs"] == EVENT_MS and info["EventTs"] == EVENT_MS // 1000
    inputs = {name: info[name] for name in reference if name != "UniqueId"}
    assert inputs == {
        "RoomId": 12345,
        "EventTs": 1615554922,  # EventMsTs // 1000
        "UserId": "test",
        "Role": 20,  # ROLE_ANCHOR
        "TerminalType": 3,  # platform "ios"
        "UserType": 3,  # a native SDK
        "Reason": 1,
    }
    assert inputs == {name: value for name, value in reference.items() if name != "UniqueId"}
    assert 0 < info["UniqueId"] < 2**53  # exact in a JavaScript number, as TRTC's is
    assert body["EventId"] == "enter-test" and body["RoomSeq"] == 1
    assert body["EventTime"] == "2021-03-12T13:15:22.656Z" and body["SendTime"] == "2021-03-12T13:15:23.704Z"
    event = got.event  # and the client package reads them
    assert (event.unique_id, event.terminal_type, event.user_type) == (info["UniqueId"], 3, 3)


async def test_an_exit_carries_the_unique_id_of_its_entry_and_a_reconnect_gets_a_new_one(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    t0 = clock.now() - timedelta(seconds=50)
    first_tries: set[str] = set()

    def respond(_path: str, event: CallbackEvent) -> tuple[int, float]:
        if event.event_id == "s1-out" and event.event_id not in first_tries:
            first_tries.add(event.event_id)
            return 503, 0.0  # redelivered: EventInfo must not change
        return 200, 0.0

    def at(seconds: int) -> Any:
        return t0 + timedelta(seconds=seconds)

    android, web = pb.SessionAttributes(platform="android"), pb.SessionAttributes(platform="web")
    exited = pb.EVENT_TYPE_USER_EXITED
    with Receiver(respond=respond) as receiver:
        await set_callback(
            server.console.store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url()
        )
        await report(  # entry and exit in one batch: the exit sees the entry stored with it
            tenant.channel,
            [
                room_event("s1-in", app.sdk_app_id, at=at(0), user="u", session=android),
                room_event("other-in", app.sdk_app_id, at=at(1), user="v", session=web),
                room_event("s1-out", app.sdk_app_id, at=at(10), user="u", type=exited, reason=0),
            ],
        )
        await report(  # a reconnect: a new session, then its exit in a later batch
            tenant.channel, [room_event("s2-in", app.sdk_app_id, at=at(20), user="u", session=web)]
        )
        await report(
            tenant.channel,
            [
                room_event("s2-out", app.sdk_app_id, at=at(30), user="u", type=exited),
                room_event("ghost-out", app.sdk_app_id, at=at(30), user="nobody", type=exited),
                room_event("elsewhere-out", app.sdk_app_id, at=at(30), room=777, user="u", type=exited),
                room_event("late-out", app.sdk_app_id, at=at(45), user="late", type=exited),
            ],
        )
        await report(  # reported after its exit: that exit was queued without it
            tenant.channel, [room_event("late-in", app.sdk_app_id, at=at(40), user="late", session=android)]
        )
        await _deliver_all(server)
        clock.advance(seconds=5)  # past the first backoff
        await _deliver_all(server)
    by = _by_id(receiver)
    s1, s2 = by["s1-in"].unique_id, by["s2-in"].unique_id
    assert s1 is not None and s2 is not None and len({s1, s2, by["other-in"].unique_id}) == 3
    assert (by["s1-out"].unique_id, by["s1-out"].terminal_type, by["s1-out"].user_type) == (s1, 2, 3)
    assert (by["s2-out"].unique_id, by["s2-out"].terminal_type, by["s2-out"].user_type) == (s2, 100, 1)
    assert list(by["s1-out"].raw["EventInfo"]) == [  # no Role on 104, as in TRTC
        "RoomId",
        "EventTs",
        "EventMsTs",
        "UserId",
        "UniqueId",
        "TerminalType",
        "UserType",
        "Reason",
    ]
    for unknown in ("ghost-out", "elsewhere-out", "late-out"):  # no entry known: none of the three
        info = by[unknown].raw["EventInfo"]
        assert not {"UniqueId", "TerminalType", "UserType"} & set(info), unknown
        assert by[unknown].unique_id is None
    assert by["late-in"].unique_id is not None
    attempts = [r for r in receiver.received if r.event.event_id == "s1-out"]
    assert [r.status for r in attempts] == [503, 200]
    assert attempts[0].event.raw["EventInfo"] == attempts[1].event.raw["EventInfo"]


async def test_a_string_room_arrives_as_a_json_string_and_pairs_only_in_itself(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    exited = pb.EVENT_TYPE_USER_EXITED
    with Receiver() as receiver:
        await set_callback(server.console.store, app.sdk_app_id, now=now, room_event_url=receiver.url())
        await report(
            tenant.channel,
            [
                room_event("num-in", app.sdk_app_id, at=now, room=12345, user="u", session=IOS),
                room_event("str-out", app.sdk_app_id, at=now, room="12345", user="u", type=exited),
                room_event("str-in", app.sdk_app_id, at=now, room="会议室", user="u", session=IOS),
                room_event("str-out-2", app.sdk_app_id, at=now, room="会议室", user="u", type=exited),
            ],
        )
        await _deliver_all(server)
    raw = {r.event.event_id: r.body for r in receiver.received}
    assert b'"RoomId":"12345"' in raw["str-out"] and b'"RoomId":12345,' in raw["num-in"]
    by = _by_id(receiver)
    assert by["str-out"].room_id == "12345" and by["num-in"].room_id == 12345
    assert by["str-out"].unique_id is None  # room "12345" is not room 12345
    assert '"RoomId":"会议室"' in raw["str-in"].decode("utf-8")
    assert by["str-out-2"].unique_id == by["str-in"].unique_id is not None


@contextmanager
def _statements(engine: Engine, marker: str) -> Iterator[list[tuple[str, Any]]]:
    """The (statement, parameters) run on ``engine`` whose text contains ``marker``."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        if marker in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _queued_infos(server: Server, sdk_app_id: int) -> dict[str, dict[str, Any]]:
    with server.console.store.read() as session:
        rows = session.execute(
            select(CallbackDelivery.event_id, CallbackDelivery.event_info).where(
                CallbackDelivery.sdk_app_id == sdk_app_id
            )
        )
        return {event_id: json.loads(info) for event_id, info in rows}


def _plan(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        else:  # the tables are tiny: make the planner show whether it can use the index at all
            connection.exec_driver_sql("ANALYZE room_events")
            connection.exec_driver_sql("SET enable_seqscan = off")
            rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(str(tuple(row)) for row in rows)


async def test_a_batch_of_exits_finds_its_entries_in_a_few_statements_through_the_index(
    server: Server, tenant: Tenant, clock: ManualClock, backend: str
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    users = 250  # more than one SQLite chunk (190 exits)
    await set_callback(server.console.store, app.sdk_app_id, now=now, room_event_url="http://127.0.0.1:9/x")
    entries = [
        room_event(f"in-{i}", app.sdk_app_id, at=now - timedelta(seconds=60), room=i % 7 + 1, user=f"u{i}")
        for i in range(users)
    ]
    exits = [
        room_event(
            f"out-{i}", app.sdk_app_id, at=now, room=i % 7 + 1, user=f"u{i}", type=pb.EVENT_TYPE_USER_EXITED
        )
        for i in range(users)
    ]
    await report(tenant.channel, entries)
    engine = server.console.store.engine
    with _statements(engine, "WITH exits") as lookups:
        response = await report(tenant.channel, exits)
    assert response.accepted == users
    assert len(lookups) == (math.ceil(users / 190) if backend == "sqlite" else 1)  # not one per exit
    infos = await asyncio.to_thread(_queued_infos, server, app.sdk_app_id)
    for i in range(users):
        assert infos[f"out-{i}"]["UniqueId"] == infos[f"in-{i}"]["UniqueId"]
    assert len({infos[f"in-{i}"]["UniqueId"] for i in range(users)}) == users
    statement, parameters = lookups[0]
    assert "ix_room_events_entries" in await asyncio.to_thread(_plan, engine, statement, parameters)
