"""Reading real time (R21) over a real server on SQLite and PostgreSQL: editions and their
look-backs, the series, the room list (sorting, paging), breakdowns (top N and the rest), and
``rtcctl monitor realtime`` and ``rtc-console admin account edition``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from rtcconsole.cli import amain
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import auth_service_pb2_grpc as auth_grpc
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import realtime_pb2 as rt
from rtcconsole_server import cli as server_cli
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.server import Server
from tests.callback_support import room_event
from tests.realtime_support import (
    AUDIO,
    NOW,
    SLOT,
    client_event,
    entered,
    monitor,
    paid,
    report_client_events,
    report_events,
    report_samples,
    sample,
)
from tests.support import Tenant, fails

CODE = grpc.StatusCode
PREV = NOW - SLOT


@pytest.fixture
def now(clock: ManualClock) -> ManualClock:
    clock.set(NOW)
    return clock


async def test_a_free_account_is_refused_with_edition_required(
    server: Server, tenant: Tenant, other_tenant: Tenant, now: ManualClock
) -> None:
    app = (await tenant.create_app("free")).sdk_app_id
    stub, md = monitor(tenant), tenant.metadata
    breakdown = rt.GetRealtimeBreakdownRequest(sdk_app_id=app, dimension=rt.REALTIME_DIMENSION_COUNTRY)
    calls: list[Awaitable[Any]] = [
        stub.GetRealtimeOverview(rt.GetRealtimeOverviewRequest(sdk_app_id=app), metadata=md),
        stub.GetRealtimeSeries(rt.GetRealtimeSeriesRequest(sdk_app_id=app), metadata=md),
        stub.ListRealtimeRooms(rt.ListRealtimeRoomsRequest(sdk_app_id=app), metadata=md),
        stub.GetRealtimeBreakdown(breakdown, metadata=md),
    ]
    for call in calls:
        failure = await fails(call, CODE.FAILED_PRECONDITION)
        info = failure.details["google.rpc.ErrorInfo"]
        assert (info.reason, info.metadata["edition"]) == ("EDITION_REQUIRED", "free")
        assert failure.details["google.rpc.PreconditionFailure"].violations[0].type == "EDITION"
    await paid(server, other_tenant, "advanced")  # another account's app is not found, paid or not
    request = rt.GetRealtimeOverviewRequest(sdk_app_id=app)
    await fails(
        monitor(other_tenant).GetRealtimeOverview(request, metadata=other_tenant.metadata), CODE.NOT_FOUND
    )


async def test_the_caller_identity_names_the_edition(server: Server, tenant: Tenant) -> None:
    auth = auth_grpc.AuthServiceStub(tenant.channel)
    identity = await auth.GetCallerIdentity(auth_pb.GetCallerIdentityRequest(), metadata=tenant.metadata)
    assert identity.edition == "free"  # the default, before the operator sets one
    await paid(server, tenant, "advanced")
    identity = await auth.GetCallerIdentity(auth_pb.GetCallerIdentityRequest(), metadata=tenant.metadata)
    assert identity.edition == "advanced"


@pytest.mark.parametrize(("edition", "hours"), [("basic", 3), ("advanced", 12)])
async def test_series_look_back_follows_the_edition(
    server: Server, tenant: Tenant, now: ManualClock, edition: str, hours: int
) -> None:
    app = (await tenant.create_app("live")).sdk_app_id
    await paid(server, tenant, edition)
    await report_samples(
        tenant, [sample(app, NOW - timedelta(hours=hours) + SLOT, "old"), sample(app, PREV, "new")]
    )
    stub, md = monitor(tenant), tenant.metadata
    default = await stub.GetRealtimeSeries(rt.GetRealtimeSeriesRequest(sdk_app_id=app), metadata=md)
    assert len(default.points) == 360 and default.look_back.ToTimedelta() == timedelta(hours=hours)
    assert default.points[-1].figures.online_users == 1
    assert default.end_time.ToDatetime().replace(tzinfo=NOW.tzinfo) == NOW - timedelta(seconds=5)
    request = rt.GetRealtimeSeriesRequest(sdk_app_id=app)
    request.start_time.FromDatetime(NOW - timedelta(hours=hours) + SLOT)
    request.end_time.FromDatetime(NOW)
    whole = await stub.GetRealtimeSeries(request, metadata=md)
    oldest = whole.points[0].figures  # the oldest slot still retained: the late record's time is
    # in it, but a record more than 10 minutes late no longer joins its slot's sets (decision 0036)
    assert (oldest.online_users, oldest.video_stall_rate.total_ms) == (0, 2000)
    assert len(whole.points) == hours * 360  # rounded out: 09:00:10 to 12:00:10 for basic
    request.start_time.FromDatetime(NOW - timedelta(hours=hours) - SLOT)
    failure = await fails(stub.GetRealtimeSeries(request, metadata=md), CODE.INVALID_ARGUMENT)
    assert "start_time" in failure.field_violations
    assert failure.details["google.rpc.ErrorInfo"].reason == "REALTIME_LOOK_BACK_EXCEEDED"
    bad = rt.GetRealtimeSeriesRequest(sdk_app_id=app)
    bad.start_time.FromDatetime(NOW)
    failure = await fails(stub.GetRealtimeSeries(bad, metadata=md), CODE.INVALID_ARGUMENT)
    assert "end_time" in failure.field_violations


async def _three_rooms(server: Server, tenant: Tenant) -> int:
    app = (await tenant.create_app("rooms")).sdk_app_id
    await paid(server, tenant)
    await report_samples(
        tenant,
        [
            sample(app, PREV, "1", room=1, user="a", stall=0),
            sample(app, PREV, "2", room=1, user="b", stall=0),
            sample(app, PREV, "3", room=1, user="c", stall=0),
            sample(app, PREV, "4", room=2, user="a", stall=1000),
            sample(app, PREV, "5", room="lobby", user="a", media=AUDIO, stall=300),
            sample(app, PREV, "6", room="lobby", user="b", media=AUDIO, stall=0),
            sample(app, PREV, "7", room=3, user="x"),  # dismissed in the slot
        ],
    )
    await report_client_events(tenant, [client_event(app, PREV, "e1", room=2, user="a")])
    await report_events(
        tenant, [room_event("d3", app, at=PREV, room=3, user="", type=ingest_pb.EVENT_TYPE_ROOM_DISMISSED)]
    )
    return app


async def test_rooms_are_sorted_and_paged(server: Server, tenant: Tenant, now: ManualClock) -> None:
    app = await _three_rooms(server, tenant)
    stub, md = monitor(tenant), tenant.metadata

    async def rooms(**fields: object) -> rt.ListRealtimeRoomsResponse:
        request = rt.ListRealtimeRoomsRequest(sdk_app_id=app, **fields)  # type: ignore[arg-type]
        response: rt.ListRealtimeRoomsResponse = await stub.ListRealtimeRooms(request, metadata=md)
        return response

    def names(response: rt.ListRealtimeRoomsResponse) -> list[str]:
        return [
            str(r.room_id) if r.WhichOneof("room") == "room_id" else r.str_room_id for r in response.rooms
        ]

    first = await rooms()
    assert names(first) == ["1", "lobby", "2"] and first.total_size == 3  # room 3 was dismissed
    assert names(await rooms(order_by=rt.REALTIME_ROOM_ORDER_ABNORMAL_USERS)) == ["2", "1", "lobby"]
    assert names(await rooms(order_by=rt.REALTIME_ROOM_ORDER_VIDEO_STALL_RATE)) == ["2", "1", "lobby"]
    assert names(await rooms(order_by=rt.REALTIME_ROOM_ORDER_AUDIO_STALL_RATE)) == ["lobby", "1", "2"]
    assert names(await rooms(order_by=rt.REALTIME_ROOM_ORDER_ROOM, ascending=True)) == ["1", "2", "lobby"]
    page = await rooms(page_size=2)
    assert names(page) == ["1", "lobby"] and page.next_page_token
    now.advance(SLOT)  # the next page still describes the first page's slot
    rest = await rooms(page_size=2, page_token=page.next_page_token)
    assert names(rest) == ["2"] and not rest.next_page_token and rest.slot_start == page.slot_start
    failure = await fails(
        rooms(page_size=2, page_token=page.next_page_token, ascending=True), CODE.INVALID_ARGUMENT
    )
    assert "page_token" in failure.field_violations
    await fails(rooms(page_size=-1), CODE.INVALID_ARGUMENT)


async def test_breakdown_lists_the_top_values_and_sums_the_rest(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = (await tenant.create_app("countries")).sdk_app_id
    await paid(server, tenant, "advanced")
    people = [("u1", "JP"), ("u2", "JP"), ("u3", "JP"), ("u4", "CN"), ("u5", "CN"), ("u6", "US"), ("u7", "")]
    await report_events(
        tenant,
        [entered(app, PREV - SLOT, f"in-{u}", user=u, country=c) for u, c in people],
    )
    await report_samples(
        tenant, [sample(app, PREV, u, user=u, stall=700 if u == "u6" else 0) for u, _ in people]
    )
    request = rt.GetRealtimeBreakdownRequest(sdk_app_id=app, dimension=rt.REALTIME_DIMENSION_COUNTRY, top=2)
    response = await monitor(tenant).GetRealtimeBreakdown(request, metadata=tenant.metadata)
    assert [(v.value, v.figures.online_users) for v in response.values] == [("JP", 3), ("CN", 2)]
    assert response.value_count == 4 and response.rest.figures.online_users == 2  # US and ""
    assert response.rest.figures.video_stall_rate.stall_ms == 700
    failure = await fails(
        monitor(tenant).GetRealtimeBreakdown(
            rt.GetRealtimeBreakdownRequest(sdk_app_id=app), metadata=tenant.metadata
        ),
        CODE.INVALID_ARGUMENT,
    )
    assert "dimension" in failure.field_violations


async def test_rtcctl_monitor_realtime(
    server: Server, tenant: Tenant, now: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await _three_rooms(server, tenant)
    base = ["--target", server.target, "--api-key", tenant.api_key, "monitor", "realtime"]
    assert await amain([*base, "overview", "--sdk-app-id", str(app)]) == 0
    text = capsys.readouterr().out
    assert "ONLINE USERS" in text and "very high" in text
    assert await amain([*base, "overview", "--sdk-app-id", str(app), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["figures"]["online_rooms"] == 4 and "as_of" in shown  # room 3 was online, then dismissed
    assert (
        await amain([*base, "rooms", "--sdk-app-id", str(app), "--csv", "--order-by", "room", "--ascending"])
        == 0
    )
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert [r[0] for r in rows] == ["room", "1", "2", "lobby"]
    assert await amain([*base, "breakdown", "country", "--sdk-app-id", str(app), "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][0] == "value" and rows[1][:2] == [
        "",
        "7",
    ]  # seven (room, user) pairs, none with attributes
    for spelled in (["--dimension", "country"], []):  # the same as an option, and by default
        assert await amain([*base, "breakdown", *spelled, "--sdk-app-id", str(app), "--csv"]) == 0
        assert list(csv.reader(io.StringIO(capsys.readouterr().out))) == rows
    assert (
        await amain([*base, "breakdown", "network", "--dimension", "country", "--sdk-app-id", str(app)]) == 2
    )
    capsys.readouterr()
    assert await amain([*base, "series", "--sdk-app-id", str(app), "--csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 361


def test_admin_account_edition(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    assert server_cli.main(["admin", "account", "create", "acme", "--database-url", url, "-q"]) == 0
    capsys.readouterr()
    assert (
        server_cli.main(["admin", "account", "edition", "acme", "advanced", "--database-url", url, "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["edition"] == "advanced"
    with pytest.raises(SystemExit):
        server_cli.main(["admin", "account", "edition", "acme", "gold", "--database-url", url])
