"""IngestService.ReportClientEvents / StreamClientEvents and ``rtcctl ingest client-events``, both backends.

R20's client events and R21's abnormal events, once per (sdk_app_id, event_id), with their
peer where one applies and capped parameters.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import select

from rtcconsole.cli import amain
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import quality_pb2 as quality
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.server import Server
from rtcconsole_server.store.models_monitor import ClientEvent
from tests.callback_support import DATA_PLANE
from tests.support import Tenant, fails

CODE = grpc.StatusCode


def client_event(event_id: str, sdk_app_id: int, at: datetime, **fields: Any) -> quality.ClientEvent:
    """alice turns her camera on in room 42 at ``at``; ``fields`` override (None: unset)."""
    values: dict[str, Any] = {
        "event_id": event_id,
        "sdk_app_id": sdk_app_id,
        "room_id": 42,
        "user_id": "alice",
        "type": quality.CLIENT_EVENT_TYPE_CAMERA_ON,
        "media": quality.MEDIA_KIND_VIDEO,
    } | fields
    message = quality.ClientEvent(**{name: value for name, value in values.items() if value is not None})
    message.event_time.FromDatetime(at)
    return message


def _stub(tenant: Tenant) -> pb_grpc.IngestServiceAsyncStub:
    return pb_grpc.IngestServiceStub(tenant.channel)


async def report(tenant: Tenant, events: list[quality.ClientEvent]) -> pb.ReportClientEventsResponse:
    request = pb.ReportClientEventsRequest(events=events)
    return await _stub(tenant).ReportClientEvents(request, metadata=DATA_PLANE)


async def stored(server: Server) -> list[ClientEvent]:
    def read() -> list[ClientEvent]:
        with server.console.store.read() as session:
            return list(session.scalars(select(ClientEvent).order_by(ClientEvent.event_id)))

    return await asyncio.to_thread(read)


async def test_r20_a_retry_is_counted_once_and_a_conflict_stores_nothing(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    events = [
        client_event("c1", app.sdk_app_id, now),
        client_event("c2", app.sdk_app_id, now, type=quality.CLIENT_EVENT_TYPE_NETWORK_SWITCH, media=None),
    ]
    first = await report(tenant, events)
    assert (first.accepted, first.duplicates) == (2, 0)
    again = await report(tenant, [*events, client_event("c3", app.sdk_app_id, now)])
    assert (again.accepted, again.duplicates) == (1, 2)
    twice = await report(tenant, [client_event("c4", app.sdk_app_id, now)] * 2)
    assert (twice.accepted, twice.duplicates) == (1, 1)

    batch = [
        client_event("fresh", app.sdk_app_id, now),
        client_event("c1", app.sdk_app_id, now, parameters={"device": "back camera"}),
        client_event(
            "c2", app.sdk_app_id, now - timedelta(seconds=1), type=quality.CLIENT_EVENT_TYPE_NETWORK_SWITCH
        ),
    ]
    failure = await fails(report(tenant, batch), CODE.ALREADY_EXISTS)
    assert "events[1]" in failure.message and "parameters" in failure.message
    assert "events[2]" in failure.message and "media, event_time" in failure.message
    assert failure.details["google.rpc.ResourceInfo"].resource_name == f"{app.sdk_app_id}/c2"
    assert [row.event_id for row in await stored(server)] == ["c1", "c2", "c3", "c4"]  # not "fresh"


async def test_r20_r21_an_invalid_batch_names_every_field_and_stores_nothing(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    no_room = client_event("r", app.sdk_app_id, now)
    no_room.ClearField("room_id")
    batch = [
        client_event("ok", app.sdk_app_id, now),
        no_room,
        client_event("", app.sdk_app_id, now, type=quality.CLIENT_EVENT_TYPE_UNSPECIFIED, user_id=""),
        client_event("p1", app.sdk_app_id, now, type=quality.CLIENT_EVENT_TYPE_PLAY_START),  # whose stream?
        client_event(
            "p2", app.sdk_app_id, now, type=quality.CLIENT_EVENT_TYPE_RECEIVER_SUBSTREAM_RENDER_FPS_ABNORMAL
        ),
        client_event("p3", app.sdk_app_id, now, peer_id="bob"),  # a camera concerns no peer
        client_event("p4", app.sdk_app_id, now, type=quality.CLIENT_EVENT_TYPE_MUTE, peer_id="alice"),
        client_event("m", app.sdk_app_id, now, media=7),
        client_event("k", app.sdk_app_id, now, parameters={"": "x"}),
        client_event("nobody", 999, now),
    ]
    failure = await fails(report(tenant, batch), CODE.INVALID_ARGUMENT)
    assert failure.field_violations == {
        "events[1].room": "set room_id or str_room_id",
        "events[2].event_id": "must be 1-128 characters",
        "events[2].user_id": "must be 1-128 characters",
        "events[2].type": failure.field_violations["events[2].type"],
        "events[3].peer_id": "is required with PLAY_START (whose stream)",
        "events[4].peer_id": "is required with RECEIVER_SUBSTREAM_RENDER_FPS_ABNORMAL (whose stream)",
        "events[5].peer_id": "must be empty with CAMERA_ON (it concerns no peer)",
        "events[6].peer_id": "must not be user_id (a user does not receive itself)",
        "events[7].media": "must be a MediaKind (VIDEO, AUDIO, SCREEN_SHARE) or unset",
        "events[8].parameters": "keys must be 1-64 characters",
        "events[9].sdk_app_id": "no app has this sdk_app_id",
    }
    assert "ENTER_ROOM" in failure.field_violations["events[2].type"]
    assert "SENDER_CPU_TOO_HIGH" in failure.field_violations["events[2].type"]
    assert await stored(server) == []


async def test_r20_r21_every_type_with_its_peer_round_trips(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    needs_peer = {
        "PLAY_START",
        "PLAY_STOP",
        "RECEIVER_RENDER_FPS_ABNORMAL",
        "RECEIVER_SUBSTREAM_RENDER_FPS_ABNORMAL",
    }
    events = []
    for value in quality.ClientEventType.DESCRIPTOR.values:
        if value.number == 0:
            continue
        short = value.name.removeprefix("CLIENT_EVENT_TYPE_")
        peer = "bob" if short in needs_peer or short == "MUTE" else ""
        events.append(
            client_event(
                short,
                app.sdk_app_id,
                now,
                type=value.number,
                peer_id=peer,
                media=None,
                parameters={"why": short},
            )
        )
    events.append(
        client_event(
            "own-mute",
            app.sdk_app_id,
            now,
            type=quality.CLIENT_EVENT_TYPE_MUTE,
            media=quality.MEDIA_KIND_AUDIO,
        )
    )
    assert (await report(tenant, events)).accepted == 20  # R20's 14 client events, R21's 5, an own mute
    rows = {row.event_id: row for row in await stored(server)}
    assert rows["PLAY_START"].peer_id == "bob" and rows["own-mute"].peer_id == ""
    assert (rows["own-mute"].media, rows["ENTER_ROOM"].media) == (quality.MEDIA_KIND_AUDIO, 0)
    assert json.loads(rows["NETWORK_SWITCH"].parameters) == {"why": "NETWORK_SWITCH"}
    assert rows["SENDER_CPU_TOO_HIGH"].event_type == 101
    assert (rows["EXIT_ROOM"].room_key, rows["EXIT_ROOM"].event_time) == ("n:42", now)


async def test_r20_event_time_is_bounded_by_the_injected_clock(tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app()
    now = clock.now()
    edges = [now - timedelta(days=35), now + timedelta(minutes=5)]
    assert (
        await report(tenant, [client_event(f"e{i}", app.sdk_app_id, t) for i, t in enumerate(edges)])
    ).accepted == 2
    outside = [now - timedelta(days=35, seconds=1), now + timedelta(minutes=5, seconds=1)]
    failure = await fails(
        report(tenant, [client_event(f"o{i}", app.sdk_app_id, t) for i, t in enumerate(outside)]),
        CODE.INVALID_ARGUMENT,
    )
    assert failure.field_violations == {
        "events[0].event_time": "is more than 35 days before the server's clock",
        "events[1].event_time": "is more than 5 minutes after the server's clock",
    }
    clock.advance(seconds=1)
    assert (await report(tenant, [client_event("later", app.sdk_app_id, outside[1])])).accepted == 1


async def test_r20_parameters_are_capped_at_16_entries_64_and_256_characters(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    edge = {f"k{i:02d}" + "x" * 61: "v" * 256 for i in range(16)}
    assert all(len(key) == 64 for key in edge)
    assert (await report(tenant, [client_event("edge", app.sdk_app_id, now, parameters=edge)])).accepted == 1
    too_many = client_event("many", app.sdk_app_id, now, parameters={f"k{i}": "v" for i in range(17)})
    long_key = client_event("key", app.sdk_app_id, now, parameters={"k" * 65: "v"})
    long_value = client_event("value", app.sdk_app_id, now, parameters={"device": "v" * 257})
    failure = await fails(report(tenant, [too_many, long_key, long_value]), CODE.INVALID_ARGUMENT)
    assert failure.field_violations == {  # the request's caps (api/limits.py), before any other work
        "events[0].parameters": "must hold at most 16 items (got 17)",
        "events[1].parameters": "keys must be at most 64 characters (got 65)",
        'events[2].parameters["device"]': "must be at most 256 characters (got 257)",
    }


async def test_r20_a_stream_reports_each_rejected_event_and_goes_on(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    now = clock.now()
    batches = [
        [client_event("s0", app.sdk_app_id, now), client_event("s1", app.sdk_app_id, now)],
        [
            client_event("s0", app.sdk_app_id, now),  # index 2: a retry
            client_event("s1", app.sdk_app_id, now, user_id="bob"),  # 3: conflict
            client_event("s4", app.sdk_app_id, now, type=quality.CLIENT_EVENT_TYPE_PLAY_STOP),  # 4: no peer
            client_event("s5", 999, now),  # 5: unknown app
            client_event("s6", app.sdk_app_id, now),
        ],
    ]

    async def requests() -> AsyncIterator[pb.StreamClientEventsRequest]:
        for batch in batches:
            yield pb.StreamClientEventsRequest(events=batch)

    response = await _stub(tenant).StreamClientEvents(requests(), metadata=DATA_PLANE)
    assert (response.accepted, response.duplicates, response.rejected) == (3, 1, 3)
    got = [(r.index, r.id, r.code, list(r.fields)) for r in response.rejections]
    assert got == [
        (3, "s1", "ALREADY_EXISTS", ["user_id"]),
        (4, "s4", "INVALID_ARGUMENT", ["peer_id"]),
        (5, "s5", "INVALID_ARGUMENT", ["sdk_app_id"]),
    ]
    assert [row.event_id for row in await stored(server)] == ["s0", "s1", "s6"]


async def test_r20_only_the_data_plane_token_may_report_client_events(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    request = pb.ReportClientEventsRequest(events=[client_event("e", app.sdk_app_id, clock.now())])
    stub = _stub(tenant)
    await fails(stub.ReportClientEvents(request, metadata=tenant.metadata), CODE.PERMISSION_DENIED)
    await fails(stub.ReportClientEvents(request), CODE.UNAUTHENTICATED)

    async def one() -> AsyncIterator[pb.StreamClientEventsRequest]:
        yield pb.StreamClientEventsRequest(events=request.events)

    await fails(stub.StreamClientEvents(one(), metadata=tenant.metadata), CODE.PERMISSION_DENIED)
    assert (await stub.ReportClientEvents(request, metadata=DATA_PLANE)).accepted == 1


async def test_rtcctl_ingest_client_events(
    tenant: Tenant, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await tenant.create_app("cli")
    base = {"sdk_app_id": app.sdk_app_id, "room_id": 42, "user_id": "alice"}
    lines = [
        {**base, "event_id": "l1", "type": "enter_room", "event_time": "now-2m"},
        {**base, "event_id": "l2", "type": "Microphone-On", "media": "audio", "event_time": "now-1m"},
        {
            **base,
            "event_id": "l3",
            "type": "sender_cpu_too_high",
            "event_time": "now",
            "parameters": {"cpu": "93"},
        },
        {**base, "event_id": "l4", "type": "PLAY_START", "event_time": "now"},  # no peer: the server refuses
        {**base, "event_id": "l5", "type": "WAVE", "event_time": "now"},  # not a type: refused here
    ]
    path = tmp_path / "client-events.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    argv = [
        "--target",
        tenant.server.target,
        "ingest",
        "client-events",
        str(path),
        "--token",
        "data-plane-test-token",
    ]
    capsys.readouterr()
    assert await amain([*argv, "--now", "2026-01-01T00:00:00Z", "--json"]) == 3
    result = json.loads(capsys.readouterr().out)
    assert (result["accepted"], result["rejected"]) == (3, 2)
    assert [(int(r["index"]), r["code"]) for r in result["rejections"]] == [
        (3, "INVALID_ARGUMENT"),
        (4, "INVALID_ARGUMENT"),
    ]
    assert "client event type" in result["rejections"][1]["reason"]
    assert await amain([*argv, "--now", "2026-01-01T00:00:00Z"]) == 3
    assert "accepted 0, duplicates 3, rejected 2" in capsys.readouterr().out
