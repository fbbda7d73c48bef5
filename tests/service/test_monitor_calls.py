"""MonitorService.ListCalls (R17) over a real server on SQLite and PostgreSQL, with the typed
client and ``rtcctl monitor calls``.

Calls are derived from the stored room events by event time, so every case stores its events
in an order other than their times (exits before entries) and reads the calls back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from rtcconsole import RtcConsole
from rtcconsole.cli import amain
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole_server.clock import ManualClock
from tests.callback_support import report, room_event
from tests.support import Tenant, fails

CODE = grpc.StatusCode
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ENTER, EXIT = ingest_pb.EVENT_TYPE_USER_ENTERED, ingest_pb.EVENT_TYPE_USER_EXITED
CREATED, DISMISSED = ingest_pb.EVENT_TYPE_ROOM_CREATED, ingest_pb.EVENT_TYPE_ROOM_DISMISSED


def _stub(tenant: Tenant) -> pb_grpc.MonitorServiceAsyncStub:
    return pb_grpc.MonitorServiceStub(tenant.channel)


async def _list(tenant: Tenant, **fields: object) -> pb.ListCallsResponse:
    response: pb.ListCallsResponse = await _stub(tenant).ListCalls(
        pb.ListCallsRequest(**fields),  # type: ignore[arg-type]
        metadata=tenant.metadata,
    )
    return response


def _ev(
    app: int,
    n: int,
    minutes: float,
    type: ingest_pb.EventType.ValueType,
    user: str = "",
    room: int | str = 42,
) -> ingest_pb.RoomEvent:
    return room_event(f"e{n}", app, at=NOW + timedelta(minutes=minutes), room=room, user=user, type=type)


def _summary(response: pb.ListCallsResponse) -> list[tuple[str, str, str | None, int, int]]:
    return [
        (
            c.call_id,
            c.start_time.ToDatetime(tzinfo=UTC).strftime("%H:%M"),
            c.end_time.ToDatetime(tzinfo=UTC).strftime("%H:%M") if c.HasField("end_time") else None,
            int(c.duration.ToTimedelta().total_seconds()),
            c.user_count,
        )
        for c in response.calls
    ]


def _unix(minutes: float) -> int:
    return int((NOW + timedelta(minutes=minutes)).timestamp())


@pytest.fixture
def at_noon(clock: ManualClock) -> ManualClock:
    clock.set(NOW + timedelta(hours=2))  # 14:00 UTC
    return clock


async def test_calls_from_events_stored_out_of_order(tenant: Tenant, at_noon: ManualClock) -> None:
    app = (await tenant.create_app("calls")).sdk_app_id
    # room 42: alice 0-30, bob 10-40 (one call, 0-40); reused later: carol 60-, still inside
    # stored exits first, then entries: arrival order must not matter
    await report(
        tenant.channel,
        [
            _ev(app, 1, 40, EXIT, "bob"),
            _ev(app, 2, 30, EXIT, "alice"),
            _ev(app, 3, 10, ENTER, "bob"),
            _ev(app, 4, 0, ENTER, "alice"),
            _ev(app, 5, 60, ENTER, "carol"),
            _ev(app, 6, 65, EXIT, "carol"),
            _ev(app, 7, 64, ENTER, "carol"),  # a reconnect inside one call: counted once
            _ev(app, 8, 63, ENTER, "dave"),
        ],
    )
    response = await _list(tenant)
    assert response.sdk_app_id == app and response.as_of.ToDatetime(tzinfo=UTC) == at_noon.now()
    assert response.start_time.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 10, tzinfo=UTC)
    assert _summary(response) == [
        (f"{app}_42_{_unix(60)}", "13:00", None, 60 * 60, 2),  # ongoing: to the query's instant
        (f"{app}_42_{_unix(0)}", "12:00", "12:40", 40 * 60, 2),
    ]
    assert response.calls[0].room_id == 42
    at_noon.advance(timedelta(minutes=30))
    assert _summary(await _list(tenant))[0][3] == 90 * 60
    # dave leaves: the call ends at his exit
    await report(tenant.channel, [_ev(app, 9, 80, EXIT, "dave")])
    assert _summary(await _list(tenant))[0][2:] == ("13:20", 20 * 60, 2)


async def test_room_created_and_dismissed_open_and_close_a_call(tenant: Tenant, at_noon: ManualClock) -> None:
    app = (await tenant.create_app("dismiss")).sdk_app_id
    await report(
        tenant.channel,
        [
            _ev(app, 1, 50, DISMISSED, room="hall"),
            _ev(app, 2, 5, ENTER, "alice", room="hall"),
            _ev(app, 3, 0, CREATED, "alice", room="hall"),
            _ev(app, 4, 8, ENTER, "bob", room="hall"),
            _ev(app, 5, 55, EXIT, "bob", room="hall"),  # after the dismissal: closes nothing
            _ev(app, 6, 90, ENTER, "erin", room="hall"),
            _ev(app, 7, 95, EXIT, "erin", room="hall"),
        ],
    )
    response = await _list(tenant, sdk_app_id=app)
    assert _summary(response) == [
        (f"{app}_hall_{_unix(90)}", "13:30", "13:35", 5 * 60, 1),
        (f"{app}_hall_{_unix(0)}", "12:00", "12:50", 50 * 60, 2),
    ]
    assert response.calls[0].str_room_id == "hall"


async def test_presets_custom_ranges_and_the_look_back(tenant: Tenant, at_noon: ManualClock) -> None:
    app = (await tenant.create_app("ranges")).sdk_app_id
    day = timedelta(days=1).total_seconds() / 60
    await report(
        tenant.channel,
        [
            _ev(app, 1, 0, ENTER, "a", room=1),
            _ev(app, 2, 1, EXIT, "a", room=1),  # today 12:00
            _ev(app, 3, -day, ENTER, "a", room=2),
            _ev(app, 4, -day + 1, EXIT, "a", room=2),  # yesterday 12:00
            _ev(app, 5, -10 * day, ENTER, "a", room=3),
            _ev(app, 6, -10 * day + 1, EXIT, "a", room=3),  # 10 days ago
        ],
    )
    rooms = {
        preset: [c.room_id for c in (await _list(tenant, range=preset)).calls]
        for preset in (pb.CALL_RANGE_TODAY, pb.CALL_RANGE_YESTERDAY, pb.CALL_RANGE_LAST_6_HOURS)
    }
    assert rooms == {pb.CALL_RANGE_TODAY: [1], pb.CALL_RANGE_YESTERDAY: [2], pb.CALL_RANGE_LAST_6_HOURS: [1]}
    assert [c.room_id for c in (await _list(tenant, range=pb.CALL_RANGE_LAST_14_DAYS)).calls] == [1, 2, 3]
    request = pb.ListCallsRequest()
    request.start_time.FromDatetime(NOW - timedelta(days=11))
    request.end_time.FromDatetime(NOW - timedelta(days=9))
    assert [
        c.room_id
        for c in (await _list(tenant, start_time=request.start_time, end_time=request.end_time)).calls
    ] == [3]

    request.start_time.FromDatetime(at_noon.now() - timedelta(days=14, seconds=1))
    failure = await fails(_stub(tenant).ListCalls(request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT)
    assert "14 days" in failure.field_violations["start_time"]
    both = pb.ListCallsRequest(
        range=pb.CALL_RANGE_TODAY, start_time=request.end_time, end_time=request.end_time
    )
    failure = await fails(_stub(tenant).ListCalls(both, metadata=tenant.metadata), CODE.INVALID_ARGUMENT)
    assert "range" in failure.field_violations


async def test_filters_by_room_and_user_and_paging(tenant: Tenant, at_noon: ManualClock) -> None:
    app = (await tenant.create_app("pages")).sdk_app_id
    events = []
    for i in range(5):  # five calls in five rooms, alice in the even ones
        user = "alice" if i % 2 == 0 else "bob"
        events += [
            _ev(app, 2 * i, i * 10, ENTER, user, room=100 + i),
            _ev(app, 2 * i + 1, i * 10 + 5, EXIT, user, room=100 + i),
        ]
    events.append(_ev(app, 99, 1, ENTER, "alice", room="s-room"))
    await report(tenant.channel, events)
    assert [c.room_id for c in (await _list(tenant, user_id="alice")).calls] == [104, 102, 0, 100]
    assert [c.str_room_id for c in (await _list(tenant, str_room_id="s-room")).calls] == ["s-room"]
    assert [c.room_id for c in (await _list(tenant, room_id=103)).calls] == [103]
    assert (await _list(tenant, room_id=7)).calls == []

    seen: list[str] = []
    token = ""
    while True:
        page = await _list(tenant, page_size=2, page_token=token)
        seen += [c.call_id for c in page.calls]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == 6 and seen == [c.call_id for c in (await _list(tenant, page_size=100)).calls]
    first = await _list(tenant, page_size=2)
    failure = await fails(
        _stub(tenant).ListCalls(
            pb.ListCallsRequest(page_size=2, page_token=first.next_page_token, user_id="bob"),
            metadata=tenant.metadata,
        ),
        CODE.INVALID_ARGUMENT,
    )
    assert "page_token" in failure.field_violations
    async with await RtcConsole.connect(tenant.server.target, api_key=tenant.api_key) as console:
        ids = [c.call_id async for c in console.monitor.iter_calls(page_size=2)]
        assert ids == seen
        assert len((await console.monitor.list_calls(range="today", room=104)).calls) == 1


async def test_tenancy_and_the_default_app(
    tenant: Tenant, other_tenant: Tenant, at_noon: ManualClock
) -> None:
    await fails(
        _stub(tenant).ListCalls(pb.ListCallsRequest(), metadata=tenant.metadata), CODE.FAILED_PRECONDITION
    )
    older = (await tenant.create_app("older")).sdk_app_id
    at_noon.advance(timedelta(seconds=1))
    newer = (await tenant.create_app("newer")).sdk_app_id
    foreign = (await other_tenant.create_app("theirs")).sdk_app_id
    await report(
        tenant.channel,
        [
            _ev(older, 1, 0, ENTER, "a", room=1),
            _ev(newer, 2, 0, ENTER, "a", room=2),
            _ev(foreign, 3, 0, ENTER, "a", room=3),
        ],
    )
    default = await _list(tenant)
    assert default.sdk_app_id == newer and [c.room_id for c in default.calls] == [2]
    assert [c.room_id for c in (await _list(tenant, sdk_app_id=older)).calls] == [1]
    await fails(
        _stub(tenant).ListCalls(pb.ListCallsRequest(sdk_app_id=foreign), metadata=tenant.metadata),
        CODE.NOT_FOUND,
    )
    assert (await _list(other_tenant)).sdk_app_id == foreign


async def test_rtcctl_monitor_calls(
    tenant: Tenant, at_noon: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    app = (await tenant.create_app("cli")).sdk_app_id
    await report(
        tenant.channel,
        [_ev(app, 1, 30, EXIT, "alice"), _ev(app, 2, 0, ENTER, "alice"), _ev(app, 3, 10, ENTER, "bob")],
    )

    async def rtcctl(*argv: str) -> tuple[int, str, str]:
        status = await amain(["--target", tenant.server.target, "--api-key", tenant.api_key, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    status, out, err = await rtcctl("monitor", "calls")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"calls of app {app} starting 2026-03-10T00:00:00Z")
    assert lines[2].split() == [f"{app}_42_{_unix(0)}", "42", "2026-03-10T12:00:00Z", "-", "2:00:00", "2"]
    status, out, _ = await rtcctl(
        "monitor", "calls", "--sdk-app-id", str(app), "--range", "6h", "--user", "bob", "--json"
    )
    data = json.loads(out)
    assert status == 0 and data["calls"][0]["user_count"] == 2 and "end_time" not in data["calls"][0]
    status, out, _ = await rtcctl(
        "monitor",
        "calls",
        "--from",
        "2026-03-10T11:00Z",
        "--to",
        "2026-03-10T13:00Z",
        "--room",
        "42",
        "--csv",
    )
    assert status == 0
    assert out.splitlines() == [
        "call_id,room,start,end,duration,users",
        f"{app}_42_{_unix(0)},42,2026-03-10T12:00:00Z,,7200,2",
    ]
    status, _, err = await rtcctl("monitor", "calls", "--from", "2026-02-20", "--to", "2026-03-10")
    assert status == 1 and "14 days" in err
    status, _, err = await rtcctl("monitor", "calls", "--range", "6h", "--from=-1h", "--to", "now")
    assert status == 2
