"""Room control (R7): DismissRoom, RemoveUsers, ListRoomCommands and the media servers'
WatchRoomCommands, over a real server on SQLite and PostgreSQL, with the typed clients and
``rtcctl rooms``.

A command is acknowledged by the events it causes, reported through the ordinary
IngestService with ``command_id`` set; a watcher on another replica finds a command in the
store (its poll on the injected clock, or Redis pub/sub when the replicas share one).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import grpc
import pytest

from rtcconsole import IngestClient, RtcConsole
from rtcconsole.cli import amain
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import ingest_service_pb2_grpc as ingest_grpc
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import room_control_pb2 as pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.monitor import COMMAND_TTL, POLL_INTERVAL
from rtcconsole_server.server import build_server
from rtcconsole_server.settings import Settings
from tests.callback_support import DATA_PLANE, DATA_PLANE_TOKEN, report, room_event
from tests.support import Tenant, fails, running_server

CODE = grpc.StatusCode
DISMISSED, EXITED = ingest_pb.EVENT_TYPE_ROOM_DISMISSED, ingest_pb.EVENT_TYPE_USER_EXITED
PENDING, DELIVERED = pb.ROOM_COMMAND_STATE_PENDING, pb.ROOM_COMMAND_STATE_DELIVERED
ACKNOWLEDGED, EXPIRED = pb.ROOM_COMMAND_STATE_ACKNOWLEDGED, pb.ROOM_COMMAND_STATE_EXPIRED
READ_TIMEOUT = 10.0
"""Real seconds a test waits for a message that must come (it comes in milliseconds)."""

Watch = grpc.aio.UnaryStreamCall[pb.WatchRoomCommandsRequest, pb.WatchRoomCommandsResponse]


def _monitor(tenant: Tenant) -> pb_grpc.MonitorServiceAsyncStub:
    return pb_grpc.MonitorServiceStub(tenant.channel)


async def _dismiss(
    tenant: Tenant, app: int, room: int | str = 42, request_id: str = ""
) -> pb.DismissRoomResponse:
    request = pb.DismissRoomRequest(sdk_app_id=app, request_id=request_id)
    if isinstance(room, int):
        request.room_id = room
    else:
        request.str_room_id = room
    response: pb.DismissRoomResponse = await _monitor(tenant).DismissRoom(request, metadata=tenant.metadata)
    return response


async def _remove(tenant: Tenant, app: int, users: list[str], room: int = 42) -> pb.RemoveUsersResponse:
    request = pb.RemoveUsersRequest(sdk_app_id=app, room_id=room, user_ids=users)
    response: pb.RemoveUsersResponse = await _monitor(tenant).RemoveUsers(request, metadata=tenant.metadata)
    return response


async def _listed(tenant: Tenant, app: int, **fields: object) -> dict[str, pb.RoomCommand]:
    request = pb.ListRoomCommandsRequest(sdk_app_id=app, **fields)  # type: ignore[arg-type]
    response = await _monitor(tenant).ListRoomCommands(request, metadata=tenant.metadata)
    return {c.command_id: c for c in response.commands}


async def _eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Until ``check`` holds (a delivery is recorded just after the message is written)."""
    deadline = time.monotonic() + READ_TIMEOUT
    while not await check():
        assert time.monotonic() < deadline, "the state never came"
        await asyncio.sleep(0.02)


async def _state_is(tenant: Tenant, app: int, command_id: str, state: int) -> None:
    async def check() -> bool:
        return (await _listed(tenant, app))[command_id].state == state

    await _eventually(check)


@asynccontextmanager
async def _watching(channel: grpc.aio.Channel, **fields: object) -> AsyncIterator[Watch]:
    stub = ingest_grpc.IngestServiceStub(channel)
    call = stub.WatchRoomCommands(
        pb.WatchRoomCommandsRequest(**fields),  # type: ignore[arg-type]
        metadata=DATA_PLANE,
    )
    try:
        yield call
    finally:
        call.cancel()


async def _next(call: Watch) -> pb.RoomCommand:
    response = await asyncio.wait_for(call.read(), READ_TIMEOUT)
    assert isinstance(response, pb.WatchRoomCommandsResponse), response
    return response.command


def _done(app: int, n: int, clock: ManualClock, command_id: str, **kw: object) -> ingest_pb.RoomEvent:
    event = room_event(f"ack{n}", app, at=clock.now(), room=42, **kw)  # type: ignore[arg-type]
    event.command_id = command_id
    return event


async def test_a_dismissal_reaches_a_watcher_and_its_event_acknowledges_it(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = (await tenant.create_app("dismiss")).sdk_app_id
    async with _watching(tenant.channel, server_name="edge-1") as watch:
        issued = await _dismiss(tenant, app)
        command = issued.command
        assert issued.created and command.state == PENDING and command.command_id.startswith("rc_")
        assert command.kind == pb.ROOM_COMMAND_KIND_DISMISS_ROOM and command.room_id == 42
        assert command.expire_time.ToDatetime(tzinfo=clock.now().tzinfo) == clock.now() + COMMAND_TTL
        got = await _next(watch)
        assert (got.command_id, got.state, got.delivered_to) == (command.command_id, DELIVERED, "edge-1")
        await _state_is(tenant, app, command.command_id, DELIVERED)
        # events that do not carry it out change nothing: no command id, another room, wrong type
        wrong_room = _done(app, 1, clock, command.command_id, type=DISMISSED, user="")
        wrong_room.room_id = 43
        await report(
            tenant.channel,
            [
                room_event("plain", app, at=clock.now(), room=42, user="", type=DISMISSED),
                wrong_room,
                _done(app, 2, clock, command.command_id, type=EXITED, user="alice"),
            ],
        )
        assert (await _listed(tenant, app))[command.command_id].state == DELIVERED
        clock.advance(seconds=3)
        await report(tenant.channel, [_done(app, 3, clock, command.command_id, type=DISMISSED, user="")])
        done = (await _listed(tenant, app))[command.command_id]
        assert done.state == ACKNOWLEDGED and done.acknowledge_time.ToDatetime(tzinfo=clock.now().tzinfo) == (
            clock.now()
        )
        assert done.requested_by_key_id and done.delivered_to == "edge-1"


async def test_removal_progress_per_user_and_the_limit_of_ten(tenant: Tenant, clock: ManualClock) -> None:
    app = (await tenant.create_app("remove")).sdk_app_id
    failure = await fails(_remove(tenant, app, [f"u{i}" for i in range(11)]), CODE.INVALID_ARGUMENT)
    assert "user_ids" in failure.field_violations
    failure = await fails(_remove(tenant, app, []), CODE.INVALID_ARGUMENT)
    assert "user_ids" in failure.field_violations
    failure = await fails(_remove(tenant, app, ["a", "a"]), CODE.INVALID_ARGUMENT)
    assert "user_ids[1]" in failure.field_violations
    assert await _listed(tenant, app) == {}
    command = (await _remove(tenant, app, [f"u{i}" for i in range(10)])).command  # ten is allowed
    assert list(command.user_ids) == [f"u{i}" for i in range(10)] and not command.exited_user_ids
    ids = command.command_id
    await report(
        tenant.channel,
        [
            _done(app, 1, clock, ids, type=EXITED, user="u3"),
            _done(app, 2, clock, ids, type=EXITED, user="stranger"),  # not listed: ignored
        ],
    )
    partial = (await _listed(tenant, app))[ids]
    assert partial.state == PENDING and list(partial.exited_user_ids) == ["u3"]
    await report(
        tenant.channel,
        [_done(app, 10 + i, clock, ids, type=EXITED, user=f"u{i}") for i in range(10) if i != 3],
    )
    done = (await _listed(tenant, app))[ids]
    assert done.state == ACKNOWLEDGED and len(done.exited_user_ids) == 10
    assert set(await _listed(tenant, app, state=ACKNOWLEDGED)) == {ids}


async def test_pending_until_a_watcher_connects_then_expired_after_ten_minutes(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = (await tenant.create_app("pending")).sdk_app_id
    first = (await _dismiss(tenant, app, "hall")).command
    clock.advance(seconds=1)
    second = (await _remove(tenant, app, ["bob"])).command
    clock.advance(minutes=1)
    assert set(await _listed(tenant, app, state=PENDING)) == {first.command_id, second.command_id}
    target = tenant.server.target
    async with (
        await IngestClient.connect(target, data_plane_token=DATA_PLANE_TOKEN) as ingest,
        ingest.watch_room_commands(sdk_app_ids=[app], server_name="edge-2") as stream,
    ):
        got = [(await asyncio.wait_for(anext(stream), READ_TIMEOUT)).command for _ in range(2)]
    assert [c.command_id for c in got] == [first.command_id, second.command_id]  # oldest first
    assert got[0].str_room_id == "hall" and list(got[1].user_ids) == ["bob"]
    await _state_is(tenant, app, second.command_id, DELIVERED)
    # a watcher of other apps only gets nothing of this one
    other = (await tenant.create_app("other")).sdk_app_id
    async with _watching(tenant.channel, sdk_app_ids=[other]) as watch:
        theirs = (await _dismiss(tenant, other, 7)).command
        assert (await _next(watch)).command_id == theirs.command_id
    clock.advance(COMMAND_TTL)
    listed = await _listed(tenant, app)
    assert {c.state for c in listed.values()} == {EXPIRED}
    assert set(await _listed(tenant, app, state=EXPIRED)) == set(listed)
    # an expired command is no longer sent, and late events leave it expired
    await report(tenant.channel, [_done(app, 1, clock, second.command_id, type=EXITED, user="bob")])
    assert (await _listed(tenant, app))[second.command_id].state == EXPIRED
    async with _watching(tenant.channel, sdk_app_ids=[app]) as watch:
        fresh = (await _dismiss(tenant, app, 9)).command
        assert (await _next(watch)).command_id == fresh.command_id


async def test_a_watcher_on_another_replica_finds_the_command_in_the_store(
    tenant: Tenant, clock: ManualClock, settings: Settings
) -> None:
    app = (await tenant.create_app("replicas")).sdk_app_id
    async with (
        running_server(settings, clock) as replica,
        grpc.aio.insecure_channel(replica.target) as channel,
        _watching(channel, server_name="edge-b") as watch,
    ):
        await asyncio.wait_for(clock.wait_for_sleepers(1), READ_TIMEOUT)  # the watcher waits
        command = (await _dismiss(tenant, app)).command  # accepted by the first server
        clock.advance(POLL_INTERVAL)  # in-process live states do not cross: the poll finds it
        got = await _next(watch)
        assert (got.command_id, got.delivered_to) == (command.command_id, "edge-b")
    # the first server's watcher sees what is still open after the replica went away
    async with _watching(tenant.channel) as watch:
        assert (await _next(watch)).command_id == command.command_id


async def test_replicas_sharing_redis_wake_each_other(
    tenant: Tenant, clock: ManualClock, settings: Settings, redis_server_url: str
) -> None:
    shared = dataclasses.replace(settings, redis_url=redis_server_url)
    app = (await tenant.create_app("redis")).sdk_app_id
    async with (
        running_server(shared, clock) as accepting,
        running_server(shared, clock) as watching,
        grpc.aio.insecure_channel(watching.target) as channel,
        _watching(channel) as watch,
    ):
        await asyncio.wait_for(clock.wait_for_sleepers(1), READ_TIMEOUT)
        async with await RtcConsole.connect(accepting.target, api_key=tenant.api_key) as console:
            command = (await console.monitor.dismiss_room(app, 42)).command
        got = await _next(watch)  # no clock advance: the wake-up came through Redis
        assert got.command_id == command.command_id


async def test_tenancy_idempotency_and_a_disabled_app(
    tenant: Tenant, other_tenant: Tenant, clock: ManualClock
) -> None:
    app = (await tenant.create_app("mine")).sdk_app_id
    theirs = (await other_tenant.create_app("theirs")).sdk_app_id
    await fails(_dismiss(tenant, theirs), CODE.NOT_FOUND)
    await fails(_remove(tenant, theirs, ["a"]), CODE.NOT_FOUND)
    await fails(_listed(tenant, theirs), CODE.NOT_FOUND)
    await fails(_dismiss(tenant, 0), CODE.INVALID_ARGUMENT)
    failure = await fails(
        _monitor(tenant).DismissRoom(pb.DismissRoomRequest(sdk_app_id=app), metadata=tenant.metadata),
        CODE.INVALID_ARGUMENT,
    )
    assert "room" in failure.field_violations
    first = await _dismiss(tenant, app, request_id="retry-1")
    again = await _dismiss(tenant, app, request_id="retry-1")
    assert first.created and not again.created and again.command.command_id == first.command.command_id
    await fails(_dismiss(tenant, app, 43, request_id="retry-1"), CODE.ALREADY_EXISTS)
    assert len(await _listed(tenant, app)) == 1
    # R7: a disabled app's rooms can still be dismissed
    token = await tenant.secondary_token(await tenant.enroll(), clock)
    await tenant.apps.DisableApp(
        app_pb.DisableAppRequest(sdk_app_id=app, secondary_auth_token=token), metadata=tenant.metadata
    )
    clock.advance(minutes=4)
    await tenant.server.workers.run_once()
    assert (await tenant.get_app(app)).status == app_pb.APP_STATUS_STOPPED
    assert (await _dismiss(tenant, app, 44)).command.state == PENDING


async def test_watching_needs_the_data_plane_token(tenant: Tenant) -> None:
    stub = ingest_grpc.IngestServiceStub(tenant.channel)
    call = stub.WatchRoomCommands(pb.WatchRoomCommandsRequest(), metadata=tenant.metadata)
    await fails(call.read(), CODE.PERMISSION_DENIED)
    call = stub.WatchRoomCommands(pb.WatchRoomCommandsRequest())
    await fails(call.read(), CODE.UNAUTHENTICATED)
    too_many = pb.WatchRoomCommandsRequest(sdk_app_ids=range(1, 1002))
    await fails(stub.WatchRoomCommands(too_many, metadata=DATA_PLANE).read(), CODE.INVALID_ARGUMENT)


async def test_a_graceful_stop_is_not_held_up_by_a_watcher(settings: Settings, clock: ManualClock) -> None:
    server = await build_server(settings, clock=clock)
    await server.start()
    async with grpc.aio.insecure_channel(server.target) as channel, _watching(channel) as watch:
        await asyncio.wait_for(clock.wait_for_sleepers(1), READ_TIMEOUT)
        started = time.monotonic()
        await server.stop(30)  # a 30-second grace that the open watcher must not use up
        assert time.monotonic() - started < 5
        assert await asyncio.wait_for(watch.read(), READ_TIMEOUT) is grpc.aio.EOF
        assert await watch.code() == CODE.OK


async def test_rtcctl_rooms(tenant: Tenant, clock: ManualClock, capsys: pytest.CaptureFixture[str]) -> None:
    app = (await tenant.create_app("cli")).sdk_app_id

    async def rtcctl(*argv: str) -> tuple[int, str, str]:
        status = await amain(["--target", tenant.server.target, "--api-key", tenant.api_key, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    status, out, err = await rtcctl("rooms", "dismiss", str(app), "42")
    assert (status, err) == (0, "")
    fields = dict(line.split(":", 1) for line in out.splitlines())
    dismissed = fields["command"].strip()
    assert dismissed.startswith("rc_") and fields["state"].strip() == "PENDING"
    clock.advance(seconds=1)  # newest first: the removal is listed before the dismissal
    status, out, _ = await rtcctl("rooms", "remove-users", str(app), "hall", "alice,bob", "--json")
    removed = json.loads(out)["command"]
    assert (
        status == 0
        and removed["user_ids"] == ["alice", "bob"]
        and removed["state"] == "ROOM_COMMAND_STATE_PENDING"
    )
    assert removed["str_room_id"] == "hall"
    status, out, _ = await rtcctl("rooms", "commands", str(app))
    lines = out.splitlines()
    assert status == 0 and lines[0].split() == [
        "COMMAND",
        "KIND",
        "ROOM",
        "STATE",
        "EXITED",
        "CREATED",
        "ACKNOWLEDGED",
    ]
    assert [line.split()[:5] for line in lines[1:]] == [
        [removed["command_id"], "REMOVE_USERS", "hall", "PENDING", "0/2"],
        [dismissed, "DISMISS_ROOM", "42", "PENDING", "-"],
    ]
    status, out, _ = await rtcctl("rooms", "commands", str(app), "--room", "42", "--json")
    assert [c["command_id"] for c in json.loads(out)["commands"]] == [dismissed]
    status, out, _ = await rtcctl("rooms", "commands", str(app), "--state", "acknowledged")
    assert (status, out.strip()) == (0, "no room commands")
    users = ",".join(f"u{i}" for i in range(11))
    status, _, err = await rtcctl("rooms", "remove-users", str(app), "42", users)
    assert status == 1 and "INVALID_ARGUMENT" in err and "user_ids" in err
    status, _, err = await rtcctl("rooms", "remove-users", str(app), "42", ",")
    assert status == 2
