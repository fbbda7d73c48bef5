"""``rtc-console simulate`` end to end: the real binary against a real server, on both backends.

Every record a backfill sends is accepted (the simulator keeps the data plane's rules: which
metric on which side and media kind, which event needs a peer); the calls it writes are the
calls ``ListCalls`` derives; the same seed and ``--now`` send the same records again (all
duplicates); ``--live`` reports at real time until SIGINT, then prints its summary and exits 0,
and as the media server of its rooms carries out DismissRoom and RemoveUsers (acknowledged).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from rtcconsole.client import RtcConsole
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import quality_pb2
from rtcconsole.v1 import room_control_pb2 as control
from rtcconsole_server.simulate._host import RoomHost
from rtcconsole_server.simulate.model import (
    CLIENT_EVENT,
    EVENT,
    SAMPLE,
    Scenario,
    Shape,
    backfill,
    calls,
    people,
    rooms,
)
from tests.e2e.processes import BIN, create_account, run_cli, serving

TOKEN = "simulate-test-token"
_ENTERED = ingest_pb.EVENT_TYPE_USER_ENTERED


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    """A server on ``database_url`` with a data-plane token; its target, an API key, an app."""
    _, api_key = create_account(database_url, "simulated")
    with serving(database_url, "--no-workers", "--data-plane-token", TOKEN, log=tmp_path / "serve.log") as (
        _,
        target,
    ):

        async def create() -> int:
            async with await RtcConsole.connect(target, api_key=api_key) as console:
                return int((await console.apps.create_app(name="sim_app")).sdk_app_id)

        yield target, api_key, asyncio.run(create())


def _simulate(target: str, *args: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [str(BIN / "rtc-console"), "simulate", "--target", target, "--token", TOKEN, "--json", *args],
        capture_output=True,
        text=True,
        timeout=90,
    )
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


async def _calls(target: str, api_key: str, sdk_app_id: int) -> list[Any]:
    async with await RtcConsole.connect(target, api_key=api_key) as console:
        page = await console.monitor.list_calls(sdk_app_id=sdk_app_id, range="6h", page_size=100)
        return list(page.calls)


def test_a_backfill_is_accepted_whole_and_its_calls_are_listed(served: tuple[str, str, int]) -> None:
    target, api_key, sdk_app_id = served
    status, summary, err = _simulate(
        target, "--sdk-app-id", str(sdk_app_id), "--rooms", "3", "--backfill", "30m", "--seed", "11"
    )
    assert status == 0, err
    assert summary["rejected"] == 0 and summary["rejections"] == []
    assert summary["accepted"] == summary["sent"] > 1000
    assert all(
        summary["kinds"][kind]["accepted"] > 0 for kind in ("event", "sample", "client_event", "usage")
    )
    calls = asyncio.run(_calls(target, api_key, sdk_app_id))
    assert len(calls) == summary["calls"] > 0  # every call begun in the 30 minutes, once
    assert all(call.user_count >= 2 for call in calls)  # a simulated call has 2-6 users
    ended = [call for call in calls if call.HasField("end_time")]
    assert all(call.end_time.ToDatetime() > call.start_time.ToDatetime() for call in ended)


def test_the_same_seed_and_now_send_the_same_records(served: tuple[str, str, int]) -> None:
    target, api_key, _ = served
    now = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    args = ("--rooms", "2", "--backfill", "15m", "--seed", "5", "--now", now, "--api-key", api_key)
    first_status, first, _ = _simulate(target, *args)  # the newest app, found with the API key
    again_status, again, err = _simulate(target, *args)
    assert first_status == again_status == 0, err
    assert first["seed"] == again["seed"] == 5 and first["now"] == again["now"]
    assert first["sent"] == again["sent"] == first["accepted"] > 0
    assert again["duplicates"] == again["sent"] and again["accepted"] == 0  # identical payloads


def test_live_reports_until_sigint_then_prints_the_summary(
    served: tuple[str, str, int], tmp_path: Path
) -> None:
    target, _, sdk_app_id = served
    log = tmp_path / "simulate.err"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [
                str(BIN / "rtc-console"),
                "simulate",
                "--target",
                target,
                "--token",
                TOKEN,
                "--json",
                "--sdk-app-id",
                str(sdk_app_id),
                "--rooms",
                "3",
                "--live",
                "--seed",
                "3",
            ],
            stdout=subprocess.PIPE,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while not re.search(r"accepted [1-9]", log.read_text()):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, log.read_text()
    summary = json.loads(out)
    assert summary["accepted"] > 0 and summary["rejected"] == 0 and summary["now"] is None


def _live_simulate(target: str, sdk_app_id: int, err: Path, *args: str) -> subprocess.Popen[bytes]:
    argv = [str(BIN / "rtc-console"), "simulate", "--target", target, "--token", TOKEN, "--json"]
    with err.open("wb") as stderr:
        return subprocess.Popen(
            [*argv, "--sdk-app-id", str(sdk_app_id), "--live", *args], stdout=subprocess.PIPE, stderr=stderr
        )


async def _inside(console: RtcConsole, sdk_app_id: int) -> dict[int | str, list[str]]:
    """The users inside each room's ongoing call (a presence without an exit)."""
    page = await console.monitor.list_calls(sdk_app_id=sdk_app_id, range="6h", page_size=100)
    found: dict[int | str, list[str]] = {}
    for call in page.calls:
        if call.HasField("end_time"):
            continue
        room = call.str_room_id if call.WhichOneof("room") == "str_room_id" else call.room_id
        users = (await console.monitor.list_call_users(call.call_id, page_size=20)).users
        found[room] = [u.user_id for u in users if u.presence and not u.presence[-1].HasField("exit_time")]
    return found


async def _states(console: RtcConsole, sdk_app_id: int, ids: list[str]) -> list[int]:
    listed = await console.monitor.list_room_commands(sdk_app_id, page_size=100)
    by_id = {c.command_id: c.state for c in listed.commands}
    return [by_id[i] for i in ids]


def test_live_carries_out_room_commands_against_its_rooms(
    served: tuple[str, str, int], tmp_path: Path
) -> None:
    target, api_key, sdk_app_id = served
    log = tmp_path / "simulate.err"
    process = _live_simulate(target, sdk_app_id, log, "--rooms", "2", "--users", "6", "--seed", "9")

    async def command_both_rooms() -> tuple[list[int], bool]:
        async with await RtcConsole.connect(target, api_key=api_key) as console:
            deadline = time.monotonic() + 60  # every room's first call begins within 10 s
            while len(inside := await _inside(console, sdk_app_id)) < 2 or not all(inside.values()):
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.5)
            dismissed, removed = sorted(inside, key=str)
            commands = [
                (await console.monitor.dismiss_room(sdk_app_id, dismissed)).command,
                (await console.monitor.remove_users(sdk_app_id, removed, inside[removed][:1])).command,
                (await console.monitor.dismiss_room(sdk_app_id, 999_999)).command,  # not simulated
            ]
            ids = [command.command_id for command in commands]
            # the two carried out and acknowledged by their events; the third taken (delivered),
            # but no room of the simulator's: it stays delivered, never acknowledged
            expected = [control.ROOM_COMMAND_STATE_ACKNOWLEDGED] * 2 + [control.ROOM_COMMAND_STATE_DELIVERED]
            deadline = time.monotonic() + 30
            while (states := await _states(console, sdk_app_id, ids)) != expected:
                assert time.monotonic() < deadline, (states, log.read_text())
                await asyncio.sleep(0.2)
            left = await _inside(console, sdk_app_id)
            return states, dismissed not in left and inside[removed][0] not in left.get(removed, [])

    try:
        states, left = asyncio.run(command_both_rooms())
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert states[2] == control.ROOM_COMMAND_STATE_DELIVERED  # taken, but not one of its rooms
    assert left  # the dismissed call ended, the removed user is out
    summary = json.loads(out)
    assert process.returncode == 0 and summary["commands"] == 2 and summary["rejected"] == 0, log.read_text()


def test_live_makes_real_time_figures_for_an_advanced_account(
    served: tuple[str, str, int], database_url: str, tmp_path: Path
) -> None:
    """``simulate --live`` beside ``serve``: an advanced account's overview counts online users
    (R21) once the first slot with simulated calls has closed (every first call begins within 10 s;
    a slot closes every 10 s of the wall clock, which an end-to-end run cannot inject)."""
    target, api_key, sdk_app_id = served
    run_cli("admin", "account", "edition", "simulated", "advanced", "--database-url", database_url)
    log = tmp_path / "simulate.err"
    process = _live_simulate(target, sdk_app_id, log, "--rooms", "3", "--users", "10", "--seed", "21")

    async def overview() -> tuple[int, int]:
        async with await RtcConsole.connect(target, api_key=api_key) as console:
            deadline = time.monotonic() + 60
            while True:
                figures = (await console.monitor.get_realtime_overview(sdk_app_id=sdk_app_id)).figures
                if figures.online_users:
                    return figures.online_users, figures.online_rooms
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.5)

    try:
        users, rooms_online = asyncio.run(overview())
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert users > 0 and 0 < rooms_online <= 3
    assert process.returncode == 0 and json.loads(out)["rejected"] == 0, log.read_text()


def test_the_room_host_drops_what_a_command_ended() -> None:
    scenario = Scenario(sdk_app_id=1400000001, rooms=2, users=6, seed=4)
    app, dismiss, remove = (
        scenario.sdk_app_id,
        control.ROOM_COMMAND_KIND_DISMISS_ROOM,
        control.ROOM_COMMAND_KIND_REMOVE_USERS,
    )
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    host = RoomHost(scenario.sdk_app_id, rooms(scenario), seed=scenario.seed)
    items = iter(backfill(scenario, start, start + timedelta(minutes=90)))
    first, other = rooms(scenario)
    while not (host.inside(first) and host.inside(other)):
        host.keep(next(items))
    inside, removed = sorted(host.inside(first)), sorted(host.inside(other))[0]
    dismissal = control.RoomCommand(command_id="rc_1", sdk_app_id=app, kind=dismiss)
    _set_room(dismissal, first)
    answered = [(e.type, e.user_id, e.command_id, e.reason) for e in host.answer(dismissal, start)]
    assert answered == [*((104, user, "", 1) for user in inside), (102, "", "rc_1", 0)]
    assert host.answer(dismissal, start) == []  # once per command_id
    removal = control.RoomCommand(command_id="rc_2", sdk_app_id=app, kind=remove, user_ids=[removed])
    _set_room(removal, other)
    answered = [(e.type, e.user_id, e.command_id, e.reason) for e in host.answer(removal, start)]
    assert answered == [(104, removed, "rc_2", 0)]
    elsewhere = control.RoomCommand(command_id="rc_3", sdk_app_id=app, kind=dismiss, room_id=999_999)
    assert host.answer(elsewhere, start) == [] and host.carried_out == 2  # not one of its rooms
    after = [item for item in items if host.keep(item)]
    of_first = [item for item in after if _room(item.message) == first]
    assert of_first and getattr(of_first[0].message, "type", 0) == 101  # nothing until its next call
    about = [i for i in after if _room(i.message) == other and removed in _people(i.message)]
    assert not about or (about[0].kind, getattr(about[0].message, "type", 0)) == (EVENT, 103)  # back in


def _people(message: Any) -> tuple[str, str]:
    return str(getattr(message, "user_id", "")), str(getattr(message, "peer_id", ""))


def _set_room(message: Any, room: int | str) -> None:
    if isinstance(room, int):
        message.room_id = room
    else:
        message.str_room_id = room


def _room(message: Any) -> int | str:
    which = message.WhichOneof("room")
    return getattr(message, which)  # type: ignore[no-any-return]


def test_usage_mistakes_exit_2_in_one_line() -> None:
    for args, message in (
        (["--backfill", "90d", "--sdk-app-id", "1"], "at most 34d"),
        (["--backfill", "two hours", "--sdk-app-id", "1"], "such as 30m"),
        (["--live", "--now", "now-1h", "--sdk-app-id", "1"], "--now is for a backfill"),
        (["--sdk-app-id", "1", "--token", ""], "no data-plane token"),
        (["--sdk-app-id", "1", "--max-users", "21"], "--max-users"),
    ):
        done = subprocess.run(
            [str(BIN / "rtc-console"), "simulate", "--token", TOKEN, *args],
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": ""},
        )
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)


def test_max_users_sizes_the_calls() -> None:
    """``--max-users`` (Shape.max_users): calls of up to that many distinct users, never more."""
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for most in (2, 6, 14):
        scenario = Scenario(sdk_app_id=1400000001, rooms=3, users=30, seed=5, shape=Shape(max_users=most))
        sizes = [
            len({stay.person for stay in plan.stays}) for plan in itertools.islice(calls(scenario, start), 60)
        ]
        assert max(sizes) == most and min(sizes) >= 2, (most, sizes)


def test_the_model_is_a_pure_function_of_the_seed() -> None:
    end = datetime(2026, 3, 1, 12, tzinfo=UTC)
    start = end - timedelta(hours=1)
    scenario = Scenario(sdk_app_id=1400000001, rooms=3, users=8, seed=42)
    first = [
        (item.due, item.kind, item.message.SerializeToString()) for item in backfill(scenario, start, end)
    ]
    again = [
        (item.due, item.kind, item.message.SerializeToString()) for item in backfill(scenario, start, end)
    ]
    other = Scenario(sdk_app_id=1400000001, rooms=3, users=8, seed=43)
    assert first == again and len(first) > 1000
    assert [item.due for item in backfill(other, start, end)] != [due for due, _, _ in first]
    assert [due for due, _, _ in first] == sorted(due for due, _, _ in first)  # in the order due


def test_the_model_injects_congestion_abnormal_events_and_a_mix_of_users() -> None:
    """The simulated data carries what the dashboard is there to show: loss bursts over 5 %, video
    stalls of at least 600 ms, system CPU over 85 %, the abnormal events 101-103, and users of
    several platforms entering as anchors and as audience."""
    end = datetime(2026, 3, 1, 12, tzinfo=UTC)
    scenario = Scenario(sdk_app_id=1400000001, rooms=4, users=30, seed=42)
    items = list(backfill(scenario, end - timedelta(hours=2), end))
    samples = [cast(quality_pb2.QualitySample, i.message) for i in items if i.kind == SAMPLE]
    video_down = [s for s in samples if s.peer_id and s.media == quality_pb2.MEDIA_KIND_VIDEO]
    assert any(s.packet_loss_percent > 5 for s in samples if s.peer_id)  # a downstream loss burst
    assert any(s.packet_loss_percent > 5 for s in samples if not s.peer_id)  # and an upstream one
    assert any(s.stall_ms >= 600 for s in video_down)  # R21: a stall counts from 600 ms (video)
    assert any(s.system_cpu_percent > 85 for s in samples)
    healthy = sum(s.packet_loss_percent <= 5 for s in samples) / len(samples)
    assert healthy > 0.8  # congestion is injected in episodes, not everywhere
    client = [cast(quality_pb2.ClientEvent, i.message) for i in items if i.kind == CLIENT_EVENT]
    assert {101, 102, 103} <= {e.type for e in client}  # R21's abnormal events
    platforms = {p.platform for p in people(scenario)}
    assert len(platforms) >= 3 and platforms <= {"android", "ios", "web", "windows", "mac"}
    events = [cast(ingest_pb.RoomEvent, i.message) for i in items if i.kind == EVENT]
    entered = [e for e in events if e.type == _ENTERED]
    assert {e.role for e in entered} == {ingest_pb.ROLE_ANCHOR, ingest_pb.ROLE_AUDIENCE}
    assert len({e.session.platform for e in entered}) >= 3  # the mix reaches the entry events
