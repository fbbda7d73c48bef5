"""MonitorService.GetCall and ListCallUsers (R18) over a real server on SQLite and PostgreSQL,
with the typed client and ``rtcctl monitor call``.

Users and their stays are derived from the stored room events by event time, so every case
stores its events in an order other than their times (exits before entries).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole import RtcConsole
from rtcconsole.cli import amain
from rtcconsole.v1 import call_details_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import ingest_service_pb2_grpc as ingest_grpc
from rtcconsole.v1 import monitor_service_pb2 as monitor_pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import quality_pb2
from rtcconsole_server.clock import ManualClock
from tests.callback_support import DATA_PLANE, report, room_event
from tests.support import Tenant, fails

CODE = grpc.StatusCode
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ENTER, EXIT = ingest_pb.EVENT_TYPE_USER_ENTERED, ingest_pb.EVENT_TYPE_USER_EXITED
SWITCH, VIDEO_ON, VIDEO_OFF = (
    ingest_pb.EVENT_TYPE_ROLE_SWITCHED,
    ingest_pb.EVENT_TYPE_VIDEO_STARTED,
    ingest_pb.EVENT_TYPE_VIDEO_STOPPED,
)
ANCHOR, AUDIENCE = ingest_pb.ROLE_ANCHOR, ingest_pb.ROLE_AUDIENCE


def _stub(tenant: Tenant) -> pb_grpc.MonitorServiceAsyncStub:
    return pb_grpc.MonitorServiceStub(tenant.channel)


def _at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def _ev(
    app: int,
    n: int,
    minutes: float,
    type: ingest_pb.EventType.ValueType,
    user: str,
    *,
    role: ingest_pb.Role.ValueType = ANCHOR,
    room: int | str = 42,
    session: ingest_pb.SessionAttributes | None = None,
) -> ingest_pb.RoomEvent:
    return room_event(
        f"e{n}", app, at=_at(minutes), room=room, user=user, type=type, role=role, session=session
    )


def _call_id(app: int, minutes: float = 0, room: int | str = 42) -> str:
    return f"{app}_{room}_{int(_at(minutes).timestamp())}"


async def _users(tenant: Tenant, **fields: object) -> pb.ListCallUsersResponse:
    response: pb.ListCallUsersResponse = await _stub(tenant).ListCallUsers(
        pb.ListCallUsersRequest(**fields),  # type: ignore[arg-type]
        metadata=tenant.metadata,
    )
    return response


def _hm(stamp: Timestamp) -> str | None:
    return stamp.ToDatetime(tzinfo=UTC).strftime("%H:%M") if stamp.ByteSize() else None


def _stays(user: pb.CallUser) -> list[tuple[str | None, str | None]]:
    return [(_hm(p.enter_time), _hm(p.exit_time) if p.HasField("exit_time") else None) for p in user.presence]


@pytest.fixture
def at_two(clock: ManualClock) -> ManualClock:
    clock.set(NOW + timedelta(hours=2))  # 14:00 UTC
    return clock


async def _story(tenant: Tenant) -> int:
    """alice 0-20 and 30-45 (sends video 1-19), bob 5-40 (audience, anchor from 15), carol 42- (in)."""
    app = (await tenant.create_app("details")).sdk_app_id
    web = ingest_pb.SessionAttributes(
        region="ap-tokyo", sdk_version="11.2", platform="web", device_model="Chrome", network_type="wifi"
    )
    ios = ingest_pb.SessionAttributes(
        region="ap-seoul", platform="ios", device_model="iPhone15", network_type="5g"
    )
    await report(
        tenant.channel,
        [  # exits and switches before their entries: arrival order must not matter
            _ev(app, 1, 45, EXIT, "alice"),
            _ev(app, 2, 40, EXIT, "bob"),
            _ev(app, 3, 15, SWITCH, "bob", role=ANCHOR),
            _ev(app, 4, 20, EXIT, "alice"),
            _ev(app, 5, 19, VIDEO_OFF, "alice"),
            _ev(app, 6, 30, ENTER, "alice", session=ios),
            _ev(app, 7, 42, ENTER, "carol", role=AUDIENCE),
            _ev(app, 8, 5, ENTER, "bob", role=AUDIENCE),
            _ev(app, 9, 1, VIDEO_ON, "alice"),
            _ev(app, 10, 0, ENTER, "alice", session=web),
        ],
    )
    return app


async def test_get_call_and_its_users_from_events_out_of_order(tenant: Tenant, at_two: ManualClock) -> None:
    app = await _story(tenant)
    call = await _stub(tenant).GetCall(pb.GetCallRequest(call_id=_call_id(app)), metadata=tenant.metadata)
    assert (call.call_id, call.sdk_app_id, call.app_name, call.room_id) == (_call_id(app), app, "details", 42)
    assert call.user_count == 3 and not call.HasField("end_time")  # carol is still in
    assert call.duration.ToTimedelta() == timedelta(hours=2)  # to the injected clock
    assert call.as_of.ToDatetime(tzinfo=UTC) == at_two.now()

    response = await _users(tenant, call_id=_call_id(app))
    # the whole call (2 h <= 5 h) to the query's instant; latest entry first
    assert (_hm(response.start_time), _hm(response.end_time)) == ("12:00", "14:00")
    assert [u.user_id for u in response.users] == ["carol", "alice", "bob"] and response.total_users == 3
    carol, alice, bob = response.users
    assert _stays(alice) == [("12:00", "12:20"), ("12:30", "12:45")]  # two stays
    assert _hm(alice.first_join_time) == "12:00" and _hm(alice.last_leave_time) == "12:45"
    assert alice.total_stay.ToTimedelta() == timedelta(minutes=35)
    assert (alice.region, alice.platform, alice.device_model, alice.network_type) == (
        "ap-seoul",
        "ios",
        "iPhone15",
        "5g",
    )  # the latest entry's session
    assert alice.upstream and not alice.downstream  # her video; nobody else sent
    assert [(_hm(r.time), r.role) for r in bob.roles] == [("12:05", AUDIENCE), ("12:15", ANCHOR)]
    assert bob.role == ANCHOR and not bob.upstream and bob.downstream  # he saw alice's video
    assert _stays(carol) == [("12:42", None)] and not carol.HasField("last_leave_time")
    assert carol.total_stay.ToTimedelta() == timedelta(minutes=78) and carol.role == AUDIENCE
    assert not carol.downstream  # alice's video had stopped before carol came

    at_two.advance(timedelta(minutes=30))
    call = await _stub(tenant).GetCall(pb.GetCallRequest(call_id=_call_id(app)), metadata=tenant.metadata)
    assert call.duration.ToTimedelta() == timedelta(hours=2, minutes=30)
    assert (await _users(tenant, call_id=_call_id(app))).users[0].total_stay.ToTimedelta() == timedelta(
        minutes=108
    )
    # carol leaves: the call ends at her exit, her stay closes
    await report(tenant.channel, [_ev(app, 11, 80, EXIT, "carol")])
    call = await _stub(tenant).GetCall(pb.GetCallRequest(call_id=_call_id(app)), metadata=tenant.metadata)
    assert _hm(call.end_time) == "13:20" and call.duration.ToTimedelta() == timedelta(minutes=80)
    assert _stays((await _users(tenant, call_id=_call_id(app), user_ids=["carol"])).users[0]) == [
        ("12:42", "13:20")
    ]


async def test_ranges_clip_stays_and_the_five_hour_limit(tenant: Tenant, at_two: ManualClock) -> None:
    app = await _story(tenant)
    request = pb.ListCallUsersRequest(call_id=_call_id(app))
    request.start_time.FromDatetime(_at(10))
    request.end_time.FromDatetime(_at(35))
    response = await _stub(tenant).ListCallUsers(request, metadata=tenant.metadata)
    assert [u.user_id for u in response.users] == ["alice", "bob"]  # carol came later
    alice, bob = response.users
    assert _stays(alice) == [("12:10", "12:20"), ("12:30", "12:35")]  # clipped to the range
    assert alice.total_stay.ToTimedelta() == timedelta(minutes=35)  # the whole call, whatever the range
    assert [(_hm(r.time), r.role) for r in bob.roles] == [("12:10", AUDIENCE), ("12:15", ANCHOR)]

    request.end_time.FromDatetime(_at(10 + 5 * 60 + 1))
    failure = await fails(
        _stub(tenant).ListCallUsers(request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT
    )
    assert "5 hours" in failure.field_violations["end_time"]
    info = failure.details["google.rpc.ErrorInfo"]
    assert info.reason == "DETAILS_RANGE_TOO_LONG" and info.domain == "rtcconsole.v1"
    assert dict(info.metadata) == {"max_seconds": "18000", "requested_seconds": str(5 * 3600 + 60)}
    request.end_time.FromDatetime(_at(10 + 5 * 60))  # exactly 5 hours is allowed
    await _stub(tenant).ListCallUsers(request, metadata=tenant.metadata)
    only_start = pb.ListCallUsersRequest(call_id=_call_id(app), start_time=request.start_time)
    failure = await fails(
        _stub(tenant).ListCallUsers(only_start, metadata=tenant.metadata), CODE.INVALID_ARGUMENT
    )
    assert "end_time" in failure.field_violations

    # a call longer than 5 hours: by default its last 5 hours
    at_two.advance(timedelta(hours=5))  # 19:00, carol still in
    response = await _users(tenant, call_id=_call_id(app))
    assert (_hm(response.start_time), _hm(response.end_time)) == ("14:00", "19:00")
    assert [u.user_id for u in response.users] == ["carol"] and _stays(response.users[0]) == [("14:00", None)]


async def test_six_by_default_twenty_at_most_and_paging(tenant: Tenant, at_two: ManualClock) -> None:
    app = (await tenant.create_app("crowd")).sdk_app_id
    events = [_ev(app, 100 + i, 60 + i, EXIT, f"u{i:02}") for i in range(25)]
    events += [_ev(app, i, i, ENTER, f"u{i:02}", role=AUDIENCE) for i in range(25)]
    await report(tenant.channel, events)
    call_id = _call_id(app)
    default = await _users(tenant, call_id=call_id)
    assert [u.user_id for u in default.users] == [f"u{i:02}" for i in range(24, 18, -1)]  # 6 most recent
    assert default.total_users == 25 and default.next_page_token

    seen: list[str] = []
    token = ""
    while True:
        page = await _users(tenant, call_id=call_id, page_size=7, page_token=token)
        assert len(page.users) <= 7 and page.total_users == 25
        seen += [u.user_id for u in page.users]
        if not (token := page.next_page_token):
            break
    assert seen == [f"u{i:02}" for i in range(24, -1, -1)]
    twenty = await _users(tenant, call_id=call_id, page_size=20)
    assert len(twenty.users) == 20
    failure = await fails(
        _stub(tenant).ListCallUsers(
            pb.ListCallUsersRequest(call_id=call_id, page_size=21), metadata=tenant.metadata
        ),
        CODE.INVALID_ARGUMENT,
    )
    info = failure.details["google.rpc.ErrorInfo"]
    assert info.reason == "DETAILS_TOO_MANY_USERS" and info.metadata["max_users"] == "20"
    assert "page_size" in failure.field_violations

    named = [f"u{i:02}" for i in range(20)]
    response = await _users(tenant, call_id=call_id, user_ids=[*named[:19], "u00", "nobody"])
    assert sorted(u.user_id for u in response.users) == sorted(named[:19])  # every named user, not 6
    failure = await fails(
        _stub(tenant).ListCallUsers(
            pb.ListCallUsersRequest(call_id=call_id, user_ids=[f"u{i:02}" for i in range(21)]),
            metadata=tenant.metadata,
        ),
        CODE.INVALID_ARGUMENT,
    )
    assert failure.details["google.rpc.ErrorInfo"].metadata["requested_users"] == "21"
    failure = await fails(
        _stub(tenant).ListCallUsers(
            pb.ListCallUsersRequest(call_id=call_id, page_token=default.next_page_token, user_ids=["u01"]),
            metadata=tenant.metadata,
        ),
        CODE.INVALID_ARGUMENT,
    )
    assert "page_token" in failure.field_violations


async def test_quality_samples_mark_upstream_and_downstream(tenant: Tenant, at_two: ManualClock) -> None:
    app = (await tenant.create_app("samples")).sdk_app_id
    await report(tenant.channel, [_ev(app, 1, 0, ENTER, "dan"), _ev(app, 2, 0, ENTER, "eve", role=AUDIENCE)])
    samples = [
        quality_pb2.QualitySample(
            sdk_app_id=app, room_id=42, user_id="dan", media=quality_pb2.MEDIA_KIND_AUDIO, bitrate_kbps=40
        ),
        quality_pb2.QualitySample(
            sdk_app_id=app, room_id=42, user_id="eve", peer_id="dan", media=quality_pb2.MEDIA_KIND_AUDIO
        ),
    ]
    for sample in samples:
        sample.sample_time.FromDatetime(_at(10))
    before = {
        u.user_id: (u.upstream, u.downstream) for u in (await _users(tenant, call_id=_call_id(app))).users
    }
    assert before == {"dan": (False, False), "eve": (False, False)}  # no media event, no sample
    await ingest_grpc.IngestServiceStub(tenant.channel).ReportQuality(
        ingest_pb.ReportQualityRequest(samples=samples), metadata=DATA_PLANE
    )
    after = {
        u.user_id: (u.upstream, u.downstream) for u in (await _users(tenant, call_id=_call_id(app))).users
    }
    assert after == {"dan": (True, False), "eve": (False, True)}


async def test_tenancy_and_malformed_call_ids(
    tenant: Tenant, other_tenant: Tenant, at_two: ManualClock
) -> None:
    foreign = (await other_tenant.create_app("theirs")).sdk_app_id
    await report(tenant.channel, [_ev(foreign, 1, 0, ENTER, "x")])
    assert (await _users(other_tenant, call_id=_call_id(foreign))).users[0].user_id == "x"
    for call_id in (_call_id(foreign), _call_id(foreign, minutes=1)):  # another account's; none
        failure = await fails(
            _stub(tenant).GetCall(pb.GetCallRequest(call_id=call_id), metadata=tenant.metadata),
            CODE.NOT_FOUND,
        )
        assert failure.details["google.rpc.ResourceInfo"].resource_type == "call"
        await fails(
            _stub(tenant).ListCallUsers(pb.ListCallUsersRequest(call_id=call_id), metadata=tenant.metadata),
            CODE.NOT_FOUND,
        )
    mine = (await tenant.create_app("mine")).sdk_app_id
    await fails(
        _stub(tenant).GetCall(pb.GetCallRequest(call_id=_call_id(mine, 1)), metadata=tenant.metadata),
        CODE.NOT_FOUND,
    )
    for bad in ("", "abc", f"{mine}_42", f"{mine}__1", "x_42_1"):
        failure = await fails(
            _stub(tenant).GetCall(pb.GetCallRequest(call_id=bad), metadata=tenant.metadata),
            CODE.INVALID_ARGUMENT,
        )
        assert "call_id" in failure.field_violations
        failure = await fails(
            _stub(tenant).ListCallUsers(pb.ListCallUsersRequest(call_id=bad), metadata=tenant.metadata),
            CODE.INVALID_ARGUMENT,
        )
        assert "call_id" in failure.field_violations


async def test_typed_client_and_rtcctl_monitor_call(
    tenant: Tenant, at_two: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await _story(tenant)
    call_id = _call_id(app)
    async with await RtcConsole.connect(tenant.server.target, api_key=tenant.api_key) as console:
        assert (await console.monitor.get_call(call_id)).user_count == 3
        page = await console.monitor.list_call_users(call_id, start=_at(0), end=_at(25), page_size=1)
        assert [u.user_id for u in page.users] == ["bob"] and page.total_users == 2 and page.next_page_token

    async def rtcctl(*argv: str) -> tuple[int, str, str]:
        status = await amain(["--target", tenant.server.target, "--api-key", tenant.api_key, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    status, out, err = await rtcctl("monitor", "call", call_id)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"call {call_id}: app {app} (details), room 42"
    assert lines[1].split()[:6] == ["start", "2026-03-10T12:00:00Z", "end", "-", "duration", "2:00:00"]
    rows = {line.split()[0]: line.split() for line in lines[5:8]}
    assert rows["bob"][1:4] == ["audience→anchor", "no", "yes"]
    assert rows["alice"][1:5] == ["anchor", "yes", "no", "ap-seoul"]
    assert rows["alice"][5:] == [
        "2026-03-10T12:00:00Z",
        "2026-03-10T12:45:00Z",
        "0:35:00",
        "-",
        "ios",
        "iPhone15",
        "5g",
    ]
    assert rows["carol"][6] == "-"  # still in
    assert "carol  2026-03-10T12:42:00Z  -" in out and "role changes" in out

    status, out, _ = await rtcctl("monitor", "call", call_id, "--users", "alice, carol", "--json")
    data = json.loads(out)
    assert status == 0 and data["call"]["user_count"] == 3 and "end_time" not in data["call"]
    assert [u["user_id"] for u in data["users"]["users"]] == ["carol", "alice"]
    assert data["users"]["users"][1]["presence"][1] == {
        "enter_time": "2026-03-10T12:30:00Z",
        "exit_time": "2026-03-10T12:45:00Z",
    }
    status, out, _ = await rtcctl("monitor", "call", call_id, "--page-size", "1", "--all", "--json")
    assert [u["user_id"] for u in json.loads(out)["users"]["users"]] == ["carol", "alice", "bob"]
    status, _, err = await rtcctl(
        "monitor", "call", call_id, "--from", "2026-03-10T12:00Z", "--to", "2026-03-10T18:00Z"
    )
    assert status == 1 and "5 hours" in err
    status, _, _ = await rtcctl("monitor", "call", call_id, "--from", "2026-03-10T12:00Z")
    assert status == 2
    status, _, err = await rtcctl("monitor", "call", "nope")
    assert status == 1 and "call_id" in err


async def test_the_fourteen_day_look_back_of_call_details(tenant: Tenant, at_two: ManualClock) -> None:
    """GetCall, ListCallUsers and GetUserView find a call that started 14 days before the query
    (on the injected clock) and answer NOT_FOUND once it started earlier, as ListCalls' look-back."""
    app = await _story(tenant)
    call_id, stub, metadata = _call_id(app), _stub(tenant), tenant.metadata

    def get_call() -> Awaitable[pb.GetCallResponse]:
        return stub.GetCall(pb.GetCallRequest(call_id=call_id), metadata=metadata)

    def list_users() -> Awaitable[pb.ListCallUsersResponse]:
        return stub.ListCallUsers(pb.ListCallUsersRequest(call_id=call_id), metadata=metadata)

    def user_view() -> Awaitable[monitor_pb.GetUserViewResponse]:
        request = monitor_pb.GetUserViewRequest(call_id=call_id, user_id="carol")
        return stub.GetUserView(request, metadata=metadata)

    at_two.set(NOW + timedelta(days=14))  # the call started exactly 14 days ago: still inside
    assert (await get_call()).user_count == 3
    assert [u.user_id for u in (await list_users()).users] == ["carol"]  # still in: the last 5 h
    assert (await user_view()).user_id == "carol"
    at_two.set(NOW + timedelta(days=14, seconds=2))  # now it started more than 14 days ago
    for call in (get_call(), list_users(), user_view()):
        failure = await fails(call, CODE.NOT_FOUND)
        assert failure.details["google.rpc.ResourceInfo"].resource_type == "call"
