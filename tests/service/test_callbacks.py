"""R15 callbacks end to end in one process: ingest → outbox → dispatcher → a real HTTP receiver.

Every retry rule runs on the injected clock: the tests advance it past backoffs
and the 24-hour window instead of sleeping.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rtcconsole.callbacks import CallbackEvent, sign
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.callbacks import DeliveryView, Dispatcher, generic_failure
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.errors import FailedPrecondition, NotFound
from rtcconsole_server.server import Server
from tests.callback_support import Receiver, report, room_event, set_callback
from tests.support import Tenant

KEY = "Secret42"


def _caller(tenant: Tenant) -> Caller:
    return Caller(tenant.account_id, "test")


async def _deliveries(
    server: Server, tenant: Tenant, sdk_app_id: int, **filters: object
) -> list[DeliveryView]:
    options: dict[str, object] = {"room": "", "state": None, "page_size_requested": 100, "page_token": ""}
    options.update(filters)
    page = await asyncio.to_thread(server.console.deliveries.list, _caller(tenant), sdk_app_id, **options)  # type: ignore[arg-type]
    return page.items


async def _dispatch(server: Server) -> int:
    assert server.dispatcher is not None
    return await server.dispatcher.run_once()


def _seqs(events: list[CallbackEvent]) -> list[int]:
    return [e.room_seq for e in events]


async def test_deliveries_are_signed_and_in_the_trtc_shape(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    clock.set(datetime(2026, 3, 1, 8, 0, 0, 250_000, tzinfo=UTC))
    now = clock.now()
    with Receiver(key=KEY) as receiver:
        await set_callback(
            server.console.store,
            app.sdk_app_id,
            now=now,
            key=KEY,
            room_event_url=receiver.url("/room"),
            media_event_url=receiver.url("/media"),
        )
        await report(
            tenant.channel,
            [
                room_event(
                    "enter-1", app.sdk_app_id, at=now - timedelta(seconds=2), room=8888, role=pb.ROLE_AUDIENCE
                ),
                room_event(
                    "video-1", app.sdk_app_id, at=now, room="会议室", type=pb.EVENT_TYPE_VIDEO_STARTED
                ),
            ],
        )
        assert (await server.workers.run_once())["dispatcher"] == 2  # the server's workers run it too
    by_path = {r.path: r for r in receiver.received}
    room, media = by_path["/room"], by_path["/media"]
    assert room.signature_ok and media.signature_ok
    assert room.headers["Sign"] == sign(KEY, room.body)
    assert room.headers["SdkAppId"] == str(app.sdk_app_id)
    assert room.event.event_group == 1 and room.event.event_type == 103
    assert room.event.room_id == 8888 and room.event.user_id == "alice" and room.event.role == 21
    assert room.event.event_id == "enter-1" and room.event.room_seq == 1
    assert room.event.raw["EventTime"] == "2026-03-01T07:59:58.250Z"
    assert room.event.raw["SendTime"] == "2026-03-01T08:00:00.250Z"
    assert room.event.raw["CallbackTs"] == 1772352000250
    assert isinstance(room.event.unique_id, int)  # TRTC's session fields: test_callback_trtc_body.py
    assert room.event.raw["EventInfo"] == {
        "RoomId": 8888,
        "EventTs": 1772351998,
        "EventMsTs": 1772351998250,
        "UserId": "alice",
        "UniqueId": room.event.unique_id,
        "Role": 21,
        "TerminalType": 100,  # no platform reported: TRTC's "other"
        "UserType": 0,
        "Reason": 0,
    }
    assert media.event.event_group == 2 and media.event.event_type == 201
    assert media.event.room_id == "会议室" and media.event.role is None
    assert media.event.unique_id is None and "TerminalType" not in media.event.raw["EventInfo"]
    views = await _deliveries(server, tenant, app.sdk_app_id)
    assert [(v.event_id, v.state, v.next_attempt_at, len(v.attempts)) for v in views] == [
        ("video-1", "delivered", None, 1),
        ("enter-1", "delivered", None, 1),
    ]
    assert views[0].attempts[0].status_code == 200 and views[0].attempts[0].error == ""


async def test_without_a_key_requests_are_unsigned(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    with Receiver() as receiver:
        await set_callback(
            server.console.store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url()
        )
        await report(tenant.channel, [room_event("e", app.sdk_app_id, at=clock.now())])
        await _dispatch(server)
    assert len(receiver.received) == 1 and "Sign" not in receiver.received[0].headers


async def test_a_receiver_down_then_up_loses_nothing_and_gets_the_room_in_order(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    receiver = Receiver(key=KEY)
    receiver.start()
    url = receiver.url()
    receiver.stop()  # down: connection refused
    await set_callback(server.console.store, app.sdk_app_id, now=clock.now(), key=KEY, room_event_url=url)
    await report(
        tenant.channel, [room_event(f"e{i}", app.sdk_app_id, at=clock.now(), user=f"u{i}") for i in range(5)]
    )
    for _ in range(3):  # an hour of failures: only the room's head is tried
        assert await _dispatch(server) == 1
        clock.advance(minutes=20)
    head = (await _deliveries(server, tenant, app.sdk_app_id))[-1]
    assert head.event_id == "e0" and head.state == "pending" and len(head.attempts) == 3
    assert all(a.status_code == 0 and a.error.startswith("connection refused") for a in head.attempts)
    clock.advance(minutes=10)  # the third failure waits up to 30 min (decision 0015)
    try:
        receiver.start()  # same port
        await _dispatch(server)
    finally:
        receiver.stop()
    assert _seqs(receiver.events()) == [1, 2, 3, 4, 5]
    assert [e.event_id for e in receiver.events()] == [f"e{i}" for i in range(5)]
    assert all(r.signature_ok for r in receiver.received)


async def test_a_slow_200_is_a_failure_and_is_retried(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    slow = {"e0"}

    def respond(_path: str, event: CallbackEvent) -> tuple[int, float]:
        return 200, (0.5 if event.event_id in slow else 0.0)

    settings = replace(server.settings, callback_timeout=timedelta(seconds=0.2))
    with ThreadPoolExecutor(2) as executor, Receiver(respond=respond) as receiver:
        dispatcher = Dispatcher.build(server.console.store, clock, settings, executor)
        try:
            await set_callback(
                server.console.store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url()
            )
            await report(
                tenant.channel, [room_event(f"e{i}", app.sdk_app_id, at=clock.now()) for i in range(2)]
            )
            assert await dispatcher.run_once() == 1
            [_, head] = await _deliveries(server, tenant, app.sdk_app_id)
            assert head.state == "pending"
            assert head.attempts[0].status_code == 0 and head.attempts[0].error == "timeout after 0.2s"
            slow.clear()
            clock.advance(seconds=5)  # past the first backoff (at most 5 s, decision 0015)
            assert await dispatcher.run_once() == 2
        finally:
            await dispatcher.aclose()
    assert [e.event_id for e in receiver.events()] == ["e0", "e0", "e1"]  # the slow 200 counted as a failure


async def test_a_room_stays_in_order_under_retries(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    failures = {"e1": 2, "e3": 1}

    def respond(_path: str, event: CallbackEvent) -> tuple[int, float]:
        if failures.get(event.event_id, 0) > 0:
            failures[event.event_id] -= 1
            return 503, 0.0
        return 200, 0.0

    with Receiver(respond=respond) as receiver:
        await set_callback(
            server.console.store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url()
        )
        await report(
            tenant.channel,
            [room_event(f"e{i}", app.sdk_app_id, at=clock.now(), user=f"u{i}") for i in range(5)],
        )
        for _ in range(4):
            await _dispatch(server)
            clock.advance(minutes=11)
    attempted = [(r.event.room_seq, r.status) for r in receiver.received]
    assert attempted == [(1, 200), (2, 503), (2, 503), (2, 200), (3, 200), (4, 503), (4, 200), (5, 200)]
    views = {v.event_id: v for v in await _deliveries(server, tenant, app.sdk_app_id)}
    assert [a.error for a in views["e1"].attempts] == ["HTTP 503", "HTTP 503", ""]


async def test_a_failing_room_or_app_holds_back_only_itself(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    other = await tenant.create_app("other")

    def respond(path: str, event: CallbackEvent) -> tuple[int, float]:
        return (500, 0.0) if path == "/broken" or event.room_id == 1 else (200, 0.0)

    now = clock.now()
    with Receiver(respond=respond) as receiver:
        await set_callback(server.console.store, app.sdk_app_id, now=now, room_event_url=receiver.url("/a"))
        await set_callback(
            server.console.store, other.sdk_app_id, now=now, room_event_url=receiver.url("/broken")
        )
        events = [
            room_event(f"{prefix}{i}", app_id, at=now, room=room, user=f"u{i}")
            for i in range(3)
            for prefix, app_id, room in (
                ("bad", app.sdk_app_id, 1),
                ("good", app.sdk_app_id, 2),
                ("x", other.sdk_app_id, 2),
            )
        ]
        await report(tenant.channel, events)
        assert await _dispatch(server) == 5  # room 2 of the app: 3; the failing heads: 1 each
    assert [e.event_id for e in receiver.events()] == ["good0", "good1", "good2"]
    pending = await _deliveries(server, tenant, app.sdk_app_id, state="pending")
    assert {v.event_id for v in pending} == {"bad0", "bad1", "bad2"}
    assert [v.event_id for v in await _deliveries(server, tenant, app.sdk_app_id, room="2")] == [
        "good2",
        "good1",
        "good0",
    ]


async def test_after_the_retry_window_a_delivery_expires_and_the_room_moves_on(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()

    def respond(_path: str, event: CallbackEvent) -> tuple[int, float]:
        return (500, 0.0) if event.event_id == "doomed" else (200, 0.0)

    with Receiver(respond=respond) as receiver:
        await set_callback(
            server.console.store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url()
        )
        await report(
            tenant.channel,
            [
                room_event("doomed", app.sdk_app_id, at=clock.now()),
                room_event("next", app.sdk_app_id, at=clock.now(), user="b"),
            ],
        )
        await _dispatch(server)
        clock.advance(hours=23, minutes=59)
        await _dispatch(server)
        views = {v.event_id: v for v in await _deliveries(server, tenant, app.sdk_app_id)}
        assert views["doomed"].state == "pending" and views["next"].state == "pending"
        clock.advance(minutes=6)  # 24 h 5 min after it was queued, past the second backoff (5 min)
        await _dispatch(server)
    views = {v.event_id: v for v in await _deliveries(server, tenant, app.sdk_app_id)}
    assert views["doomed"].state == "expired" and len(views["doomed"].attempts) == 3
    assert views["doomed"].next_attempt_at is None
    assert views["next"].state == "delivered"
    assert [v.event_id for v in await _deliveries(server, tenant, app.sdk_app_id, state="expired")] == [
        "doomed"
    ]


async def test_a_crashed_attempt_is_retried_after_its_lease_with_the_same_event_id(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    with Receiver() as receiver:
        await set_callback(
            server.console.store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url()
        )
        await report(tenant.channel, [room_event("e", app.sdk_app_id, at=clock.now())])
        assert server.dispatcher is not None
        outbox = server.dispatcher.outbox
        [claim] = await asyncio.to_thread(outbox.claim, 10)  # claimed, then the dispatcher "dies"
        assert await _dispatch(server) == 0  # leased: nobody else may send it
        clock.advance(server.settings.callback_lease)
        assert await _dispatch(server) == 1
    [view] = await _deliveries(server, tenant, app.sdk_app_id)
    assert view.state == "delivered" and [a.attempt for a in view.attempts] == [2]
    assert receiver.events()[0].event_id == "e" and claim.attempt == 1


async def test_a_changed_url_is_used_for_pending_deliveries_and_a_removed_one_expires_them(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    store = server.console.store
    with Receiver() as receiver:
        await set_callback(store, app.sdk_app_id, now=clock.now(), room_event_url="http://127.0.0.1:9/wrong")
        await report(tenant.channel, [room_event("a", app.sdk_app_id, at=clock.now())])
        await _dispatch(server)  # fails: nothing listens on port 9
        await set_callback(store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url("/fixed"))
        clock.advance(minutes=11)
        await _dispatch(server)
        assert [r.path for r in receiver.received] == ["/fixed"]
        await report(tenant.channel, [room_event("b", app.sdk_app_id, at=clock.now(), user="b")])
        await set_callback(store, app.sdk_app_id, now=clock.now())  # callbacks turned off
        assert await _dispatch(server) == 0
    views = {v.event_id: v for v in await _deliveries(server, tenant, app.sdk_app_id)}
    assert views["a"].state == "delivered" and views["a"].url == receiver.url("/fixed")
    assert views["b"].state == "expired" and views["b"].attempts == ()


async def test_deliveries_are_listed_newest_first_in_pages_and_only_to_their_owner(
    server: Server, tenant: Tenant, other_tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    await set_callback(
        server.console.store, app.sdk_app_id, now=clock.now(), room_event_url="http://127.0.0.1:9/x"
    )
    await report(
        tenant.channel, [room_event(f"e{i}", app.sdk_app_id, at=clock.now(), user=f"u{i}") for i in range(5)]
    )
    deliveries = server.console.deliveries
    first = await asyncio.to_thread(
        deliveries.list,
        _caller(tenant),
        app.sdk_app_id,
        room="1234",
        state="pending",
        page_size_requested=2,
        page_token="",
    )
    second = await asyncio.to_thread(
        deliveries.list,
        _caller(tenant),
        app.sdk_app_id,
        room="1234",
        state="pending",
        page_size_requested=2,
        page_token=first.next_page_token,
    )
    assert [v.event_id for v in first.items + second.items] == ["e4", "e3", "e2", "e1"]
    assert first.items[0].room == "1234" and first.items[0].room_sequence == 5
    assert await _deliveries(server, tenant, app.sdk_app_id, room="999") == []
    try:
        await asyncio.to_thread(
            deliveries.list,
            _caller(other_tenant),
            app.sdk_app_id,
            room="",
            state=None,
            page_size_requested=0,
            page_token="",
        )
        raise AssertionError("another account's app must be NotFound")
    except NotFound:
        pass


async def test_a_test_callback_is_sent_now_and_signed(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    deliveries = server.console.deliveries
    try:
        await asyncio.to_thread(deliveries.send_test, _caller(tenant), app.sdk_app_id, event_group=1)
        raise AssertionError("no URL: FailedPrecondition")
    except FailedPrecondition as error:
        assert error.violations[0].type == "CALLBACK_URL_UNSET"
    with Receiver(key=KEY) as receiver:
        await set_callback(
            server.console.store, app.sdk_app_id, now=clock.now(), key=KEY, media_event_url=receiver.url("/m")
        )
        result = await asyncio.to_thread(deliveries.send_test, _caller(tenant), app.sdk_app_id, event_group=2)
        receiver.stop()
        down = await asyncio.to_thread(deliveries.send_test, _caller(tenant), app.sdk_app_id, event_group=2)
    assert (result.status_code, result.error, result.response_body) == (200, "", "ok")
    [got] = receiver.received
    assert got.signature_ok and got.body.decode() == result.body
    assert got.event.test and got.event.room_seq == 0 and got.event.event_type == 201
    assert down.status_code == 0 and down.error == generic_failure(5)  # as for any failure to connect
