"""MonitorService.GetUserView (R19) and ListClientEvents (R20) over a real server on SQLite and
PostgreSQL, with ``rtcctl monitor view`` and ``rtcctl monitor events``.
"""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from typing import Any

import grpc
import pytest

from rtcconsole import RtcConsole
from rtcconsole.cli import amain
from rtcconsole.errors import InvalidArgument
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import ingest_service_pb2_grpc as ingest_grpc
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import quality_pb2 as quality
from rtcconsole.v1 import quality_series_pb2 as series_pb
from rtcconsole_server.clock import ManualClock
from tests.callback_support import DATA_PLANE
from tests.service.test_monitor_series import AUDIO, NOW, SCREEN, VIDEO, ingest, open_call, sample
from tests.support import Tenant, fails

CODE = grpc.StatusCode
RECEIVER, SENDER = series_pb.VIEW_SIDE_RECEIVER, series_pb.VIEW_SIDE_SENDER
LOSS, BITRATE = series_pb.SERIES_METRIC_PACKET_LOSS, series_pb.SERIES_METRIC_BITRATE


@pytest.fixture
def later(clock: ManualClock) -> ManualClock:
    clock.set(NOW + timedelta(hours=1))
    return clock


async def view(tenant: Tenant, **fields: Any) -> pb.GetUserViewResponse:
    response: pb.GetUserViewResponse = await pb_grpc.MonitorServiceStub(tenant.channel).GetUserView(
        pb.GetUserViewRequest(**fields), metadata=tenant.metadata
    )
    return response


def shape(user_view: pb.UserView) -> list[tuple[str, list[str]]]:
    return [
        (pb.SubViewKind.Name(s.kind).removeprefix("SUB_VIEW_KIND_"), list(s.peer_ids))
        for s in user_view.sub_views
    ]


async def test_sub_views_exist_only_where_data_exists(tenant: Tenant, later: ManualClock) -> None:
    app, call = await open_call(tenant, "views", users=("alice", "bob", "carol"))
    samples = []
    for t in range(0, 60, 2):
        samples += [
            sample(app, t, media=VIDEO, bitrate_kbps=900),
            sample(app, t, media=AUDIO, bitrate_kbps=40),
        ]
        samples += [
            sample(app, t, user="bob", peer="alice", media=m, packet_loss_percent=0.5, stall_ms=10)
            for m in (VIDEO, AUDIO)
        ]
        samples.append(sample(app, t, user="carol", peer="alice", media=AUDIO, packet_loss_percent=0.0))
    await ingest(tenant, samples)

    bob = await view(tenant, call_id=call, user_id="bob")
    assert [v.side for v in bob.views] == [RECEIVER, SENDER]
    assert shape(bob.views[0]) == [
        ("ALL", ["alice"]),
        ("VIDEO", ["alice"]),
        ("AUDIO", ["alice"]),
    ]  # no screen share
    assert shape(bob.views[1]) == [] and not bob.views[1].streams  # bob sent nothing
    streams = [(s.peer_id, s.media, [x.metric for x in s.series]) for s in bob.views[0].streams]
    stall = series_pb.SERIES_METRIC_STALL_TIME
    assert streams == [("alice", VIDEO, [LOSS, BITRATE, stall]), ("alice", AUDIO, [LOSS, BITRATE, stall])]
    assert sum(p.value for p in bob.views[0].streams[0].series[2].points) == 300  # Σ stall kept

    alice = await view(tenant, call_id=call, user_id="alice", side=SENDER)
    assert [v.side for v in alice.views] == [SENDER]
    assert shape(alice.views[0]) == [
        ("ALL", ["", "bob", "carol"]),
        ("VIDEO", ["", "bob"]),
        ("AUDIO", ["", "bob", "carol"]),
    ]
    assert [(s.peer_id, s.media) for s in alice.views[0].streams] == [
        ("", VIDEO),
        ("bob", VIDEO),
        ("", AUDIO),
        ("bob", AUDIO),
        ("carol", AUDIO),
    ]
    upstream = alice.views[0].streams[0]
    assert [s.metric for s in upstream.series] == [LOSS, BITRATE]  # no stall time on the upstream
    assert (await view(tenant, call_id=call, user_id="alice", side=RECEIVER)).views[0].sub_views == []

    # a screen share appears as its own sub-view once it has data
    await ingest(tenant, [sample(app, 30, user="bob", peer="alice", media=SCREEN, packet_loss_percent=0.0)])
    bob = await view(tenant, call_id=call, user_id="bob", side=RECEIVER)
    assert [k for k, _ in shape(bob.views[0])] == ["ALL", "VIDEO", "AUDIO", "SCREEN_SHARE"]
    assert bob.step.ToTimedelta() == timedelta(seconds=21)  # 41 min ÷ 120 points, rounded up


async def test_jitter_moments(tenant: Tenant, later: ManualClock) -> None:
    app, call = await open_call(tenant, "jitter")
    loss = [1.0] * 20 + [6.0, 1.0, 1.0, 1.0, 12.0, 1.0] + [1.0] * 4
    rates = [1000] * 10 + [600] + [1000] * 19  # a 40 % drop at 20 s
    await ingest(
        tenant,
        [
            sample(app, 2 * i, user="bob", peer="alice", packet_loss_percent=loss[i], bitrate_kbps=rates[i])
            for i in range(30)
        ],
    )
    request = pb.GetUserViewRequest(call_id=call, user_id="bob", side=RECEIVER, max_points=100)
    request.start_time.FromDatetime(NOW)
    request.end_time.FromDatetime(NOW + timedelta(seconds=200))
    response = await pb_grpc.MonitorServiceStub(tenant.channel).GetUserView(request, metadata=tenant.metadata)
    assert response.step.ToTimedelta() == timedelta(seconds=2)
    stream = response.views[0].streams[0]
    moments = [
        (int((m.time.ToDatetime(tzinfo=UTC) - NOW).total_seconds()), m.metric, m.level)
        for m in stream.jitter_moments
    ]
    # the drop and the recovery both deviate > 30 % from the recent mean; loss jumps into poor and severe
    assert (20, BITRATE, pb.QUALITY_LEVEL_POOR) in moments
    assert (40, LOSS, pb.QUALITY_LEVEL_POOR) in moments and (48, LOSS, pb.QUALITY_LEVEL_SEVERE) in moments
    assert all(metric != LOSS or t in (40, 48) for t, metric, _ in moments)  # staying poor is not a new jump
    assert response.views[0].sub_views[0].jitter_moment_count == len(moments)


async def test_view_errors_and_tenancy(tenant: Tenant, other_tenant: Tenant, clock: ManualClock) -> None:
    clock.set(NOW + timedelta(hours=7))
    _, call = await open_call(tenant, "view_errors", minutes=6 * 60)
    stub = pb_grpc.MonitorServiceStub(tenant.channel)
    request = pb.GetUserViewRequest(call_id=call, user_id="bob")
    request.start_time.FromDatetime(NOW)
    request.end_time.FromDatetime(NOW + timedelta(hours=5, seconds=1))
    failure = await fails(stub.GetUserView(request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT)
    assert failure.details["google.rpc.ErrorInfo"].reason == "DETAILS_RANGE_TOO_LONG"
    default = await view(tenant, call_id=call, user_id="bob")
    assert default.end_time.ToDatetime(tzinfo=UTC) - default.start_time.ToDatetime(tzinfo=UTC) == timedelta(
        hours=5
    )
    for bad in ({"side": 7}, {"max_points": 1001}, {"user_id": ""}):
        fields = {"call_id": call, "user_id": "bob"} | bad
        await fails(
            stub.GetUserView(pb.GetUserViewRequest(**fields), metadata=tenant.metadata), CODE.INVALID_ARGUMENT
        )
    await fails(
        pb_grpc.MonitorServiceStub(other_tenant.channel).GetUserView(
            pb.GetUserViewRequest(call_id=call, user_id="bob"), metadata=other_tenant.metadata
        ),
        CODE.NOT_FOUND,
    )
    await fails(
        pb_grpc.MonitorServiceStub(other_tenant.channel).ListClientEvents(
            series_pb.ListClientEventsRequest(call_id=call, user_id="bob"), metadata=other_tenant.metadata
        ),
        CODE.NOT_FOUND,
    )


def client_event(
    app: int,
    n: int,
    seconds: float,
    type: quality.ClientEventType.ValueType,
    user: str = "bob",
    peer: str = "",
    **fields: Any,
) -> quality.ClientEvent:
    base: dict[str, Any] = {
        "event_id": f"ce{n}",
        "sdk_app_id": app,
        "room_id": 42,
        "user_id": user,
        "peer_id": peer,
    }
    event = quality.ClientEvent(**base, type=type, **fields)
    event.event_time.FromDatetime(NOW + timedelta(seconds=seconds))
    return event


async def test_client_events_in_time_order_filtered_and_paged(
    tenant: Tenant, later: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    app, call = await open_call(tenant, "events")
    events = [
        client_event(app, 1, 30, quality.CLIENT_EVENT_TYPE_PLAY_START, peer="alice", media=VIDEO),
        client_event(app, 2, 5, quality.CLIENT_EVENT_TYPE_ENTER_ROOM),
        client_event(
            app, 3, 60, quality.CLIENT_EVENT_TYPE_NETWORK_SWITCH, parameters={"from": "wifi", "to": "4g"}
        ),
        client_event(app, 4, 90, quality.CLIENT_EVENT_TYPE_RECEIVER_RENDER_FPS_ABNORMAL, peer="alice"),
        client_event(app, 5, 30, quality.CLIENT_EVENT_TYPE_CAMERA_ON),
        client_event(app, 6, 10, quality.CLIENT_EVENT_TYPE_ENTER_ROOM, user="alice"),
        client_event(
            app, 7, 3 * 3600, quality.CLIENT_EVENT_TYPE_EXIT_ROOM
        ),  # after the call: not in its range
    ]
    later.set(NOW + timedelta(hours=3, minutes=1))
    response = await ingest_grpc.IngestServiceStub(tenant.channel).ReportClientEvents(
        ingest_pb.ReportClientEventsRequest(events=events), metadata=DATA_PLANE
    )
    assert response.accepted == 7
    async with await RtcConsole.connect(tenant.server.target, api_key=tenant.api_key) as console:
        listed = await console.monitor.list_client_events(call, "bob")
        assert [e.event_id for e in listed.events] == ["ce2", "ce1", "ce5", "ce3", "ce4"]  # time, then id
        assert listed.events[2].room_id == 42 and dict(listed.events[3].parameters) == {
            "from": "wifi",
            "to": "4g",
        }
        assert [
            e.event_id
            for e in (await console.monitor.list_client_events(call, "bob", peer_id="alice")).events
        ] == ["ce1", "ce4"]
        assert [
            e.event_id
            for e in (await console.monitor.list_client_events(call, "bob", abnormal_only=True)).events
        ] == ["ce4"]
        first = await console.monitor.list_client_events(call, "bob", page_size=2)
        second = await console.monitor.list_client_events(
            call, "bob", page_size=2, page_token=first.next_page_token
        )
        assert [e.event_id for e in [*first.events, *second.events]] == ["ce2", "ce1", "ce5", "ce3"]
        with pytest.raises(InvalidArgument, match="page_token"):  # issued for another user
            await console.monitor.list_client_events(call, "alice", page_token=first.next_page_token)
        with pytest.raises(InvalidArgument, match="page_size"):
            await console.monitor.list_client_events(call, "bob", page_size=-1)

    async def rtcctl(*argv: str) -> tuple[int, str, str]:
        status = await amain(["--target", tenant.server.target, "--api-key", tenant.api_key, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    status, out, err = await rtcctl("monitor", "events", call, "--user", "bob", "--page-size", "2", "--all")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["TIME", "TYPE", "PEER", "MEDIA", "PARAMETERS"] and len(lines) == 6
    assert lines[2].split() == ["2026-03-10T12:00:30Z", "play_start", "alice", "video", "-"]
    assert lines[4].split() == ["2026-03-10T12:01:00Z", "network_switch", "-", "-", "from=wifi", "to=4g"]
    status, out, _ = await rtcctl("monitor", "events", call, "--user", "bob", "--abnormal", "--json")
    assert status == 0 and [e["event_id"] for e in json.loads(out)["events"]] == ["ce4"]


async def test_rtcctl_monitor_view(
    tenant: Tenant, later: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    app, call = await open_call(tenant, "cli_view")
    await ingest(
        tenant,
        [
            sample(
                app, 2 * i, user="bob", peer="alice", packet_loss_percent=6.0 if i == 5 else 0.5, stall_ms=100
            )
            for i in range(10)
        ],
    )

    async def rtcctl(*argv: str) -> tuple[int, str, str]:
        status = await amain(["--target", tenant.server.target, "--api-key", tenant.api_key, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    status, out, err = await rtcctl("monitor", "view", call, "--user", "bob", "--points", "1000")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"user bob in call {call}")
    assert lines[2] == "receiver view"
    assert [line.split() for line in lines[3:5]] == [["SUB_VIEW", "PEERS", "JITTER"], ["all", "alice", "1"]]
    assert lines[7].split()[0] == "PEER" and lines[8].split() == ["alice", "video", "poor", "-", "1000", "1"]
    assert "jitter moments" in lines and "sender view: no data" in lines
    status, out, _ = await rtcctl("monitor", "view", call, "--user", "bob", "--side", "sender", "--json")
    data = json.loads(out)
    assert status == 0 and data["views"] == [
        {"side": "VIEW_SIDE_SENDER", "sub_views": [], "streams": [], "peers_truncated": False}
    ]
    status, _, err = await rtcctl("monitor", "view", "nonsense", "--user", "bob")
    assert status == 1 and "call_id" in err
