"""``rtcctl ingest``'s JSON-lines readers against a real server: exit status, short enum names,
relative times, and messages that name what the user may type (issue 11)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from rtcconsole.cli import amain, main
from rtcconsole.cli._jsonlines import LineError, LineReader, timestamp_text
from rtcconsole.times import INSTANT_FORMS
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.server import Server
from tests.support import Tenant

TOKEN = "data-plane-test-token"
"""The server's data-plane token (``settings`` in tests/conftest.py)."""
_ANCHOR = re.compile(
    r"^relative times counted from now = (\S+); to send the same records again, add --now (\S+)$"
)

_SpelledEvent = tuple[dict[str, Any], pb.EventType.ValueType, pb.Role.ValueType]
_SpelledUsage = tuple[Any, str, usage_pb.UsageKind.ValueType, usage_pb.UsageCategory.ValueType]


@pytest.fixture
def backend() -> str:
    """What is tested here is the command line's reading; one store backend serves."""
    return "sqlite"


@pytest.fixture
def clock() -> ManualClock:
    """The server's clock at the real time, since ``rtcctl``'s default ``now`` is the real time."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


async def ingest(
    server: Server, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, list[str], str]:
    """``rtcctl ingest ARGV --token …``: the exit status, stdout's lines and stderr."""
    capsys.readouterr()
    status = await amain(["--target", server.target, "ingest", *argv, "--token", TOKEN])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return status, out.splitlines(), err


def write(path: Path, *lines: dict[str, Any] | str) -> str:
    """A JSON-lines file: dicts as JSON, strings as they are."""
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return str(path)


def event(event_id: str, sdk_app_id: int, at: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "sdk_app_id": sdk_app_id, "room_id": 42, "event_time": at, **fields}


def usage(record_id: str, sdk_app_id: int, at: str, **fields: Any) -> dict[str, Any]:
    record = {"kind": "INTERACTIVE_AV", "category": "HD", "user_id": "alice", "seconds": 60, **fields}
    return {
        "record_id": record_id,
        "sdk_app_id": sdk_app_id,
        "str_room_id": "lobby",
        "start_time": at,
        **record,
    }


def full_json(message: Any) -> str:
    """What proto-JSON itself writes: full enum names, RFC 3339 times."""
    return json_format.MessageToJson(message, indent=None)


# R15, R16: the exit status says whether every line was stored


async def test_exit_0_when_every_line_is_accepted_or_a_duplicate(
    server: Server, tenant: Tenant, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = (await tenant.create_app("exit_ok")).sdk_app_id
    at = timestamp_text(clock.now())
    path = write(
        tmp_path / "events.jsonl",
        event("e1", app, at, type="ROOM_CREATED"),
        "",
        event("e2", app, at, type="USER_ENTERED", user_id="alice", role="ANCHOR"),
    )
    assert await ingest(server, capsys, "events", path) == (0, ["accepted 2, duplicates 0, rejected 0"], "")
    assert await ingest(server, capsys, "events", path) == (0, ["accepted 0, duplicates 2, rejected 0"], "")


async def test_exit_3_when_the_server_rejects_a_line(
    server: Server, tenant: Tenant, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = (await tenant.create_app("exit_server")).sdk_app_id
    now = clock.now()
    path = write(
        tmp_path / "events.jsonl",
        event("e1", app, timestamp_text(now), type="ROOM_CREATED"),
        event("e2", app, timestamp_text(now + timedelta(hours=1)), type="ROOM_DISMISSED"),
    )
    status, out, err = await ingest(server, capsys, "events", path)
    assert (status, err) == (3, "")
    assert out == [
        "accepted 1, duplicates 0, rejected 1",
        "line 2: INVALID_ARGUMENT: event_time: is more than 5 minutes after the server's clock (event_time)",
    ]

    records = write(tmp_path / "usage.jsonl", usage("u1", app, timestamp_text(now), seconds=0))
    status, out, _ = await ingest(server, capsys, "usage", records)
    assert status == 3 and out[0] == "accepted 0, duplicates 0, rejected 1"


async def test_exit_3_when_a_line_does_not_parse_here(
    server: Server, tenant: Tenant, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = (await tenant.create_app("exit_local")).sdk_app_id
    only_bad = write(tmp_path / "bad.jsonl", '{"event_id": ')
    status, out, err = await ingest(server, capsys, "events", only_bad)
    assert (status, err) == (3, "")
    assert out == [
        "accepted 0, duplicates 0, rejected 1",
        "line 1: INVALID_ARGUMENT: cannot parse: invalid JSON at column 14: Expecting value",
    ]
    status, out, err = await ingest(server, capsys, "events", only_bad, "--json")
    assert (status, err) == (3, "")
    assert json.loads("\n".join(out))["rejected"] == 1

    mixed = write(
        tmp_path / "mixed.jsonl",
        usage("u1", app, timestamp_text(clock.now())),
        '["not", "an", "object"]',
    )
    status, out, _ = await ingest(server, capsys, "usage", mixed)
    assert status == 3
    assert out == [
        "accepted 1, duplicates 0, rejected 1",
        "line 2: INVALID_ARGUMENT: cannot parse: a line holds one JSON object, not list",
    ]


# Short enum names: what the proto names a value, without the prefix, in any case


async def test_short_enum_names_in_any_case_mean_the_full_names(
    server: Server, tenant: Tenant, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = (await tenant.create_app("short_names")).sdk_app_id
    now = clock.now()
    at = timestamp_text(now)
    events: list[_SpelledEvent] = [  # (type and role as written, what they mean)
        ({"type": "ROOM_CREATED"}, pb.EVENT_TYPE_ROOM_CREATED, pb.ROLE_UNSPECIFIED),
        ({"type": "user_entered", "role": "ANCHOR"}, pb.EVENT_TYPE_USER_ENTERED, pb.ROLE_ANCHOR),
        ({"type": "Role_Switched", "role": "audience"}, pb.EVENT_TYPE_ROLE_SWITCHED, pb.ROLE_AUDIENCE),
        ({"type": "EVENT_TYPE_AUDIO_STARTED"}, pb.EVENT_TYPE_AUDIO_STARTED, pb.ROLE_UNSPECIFIED),
        ({"type": "event_type_audio_stopped"}, pb.EVENT_TYPE_AUDIO_STOPPED, pb.ROLE_UNSPECIFIED),
        ({"type": 201}, pb.EVENT_TYPE_VIDEO_STARTED, pb.ROLE_UNSPECIFIED),
        ({"type": "202"}, pb.EVENT_TYPE_VIDEO_STOPPED, pb.ROLE_UNSPECIFIED),
        ({"type": "user-exited", "role": "ROLE_ANCHOR"}, pb.EVENT_TYPE_USER_EXITED, pb.ROLE_ANCHOR),
    ]
    typed = [event(f"e{i}", app, at, user_id="alice", **spelled) for i, (spelled, _, _) in enumerate(events)]
    path = write(tmp_path / "short.jsonl", *typed)
    assert await ingest(server, capsys, "events", path) == (0, ["accepted 8, duplicates 0, rejected 0"], "")
    full = []
    for i, (_, kind, role) in enumerate(events):
        message = pb.RoomEvent(
            event_id=f"e{i}", sdk_app_id=app, room_id=42, user_id="alice", type=kind, role=role
        )
        message.event_time.FromDatetime(now)
        full.append(full_json(message))
    same = write(tmp_path / "full.jsonl", *full)  # the same payloads: every line a duplicate
    assert await ingest(server, capsys, "events", same) == (0, ["accepted 0, duplicates 8, rejected 0"], "")

    records: list[_SpelledUsage] = [  # (kind, category as written, what they mean)
        ("INTERACTIVE_AV", "HD", usage_pb.USAGE_KIND_INTERACTIVE_AV, usage_pb.USAGE_CATEGORY_HD),
        ("interactive_av", "sd", usage_pb.USAGE_KIND_INTERACTIVE_AV, usage_pb.USAGE_CATEGORY_SD),
        ("cloud_recording", "FullHD", usage_pb.USAGE_KIND_CLOUD_RECORDING, usage_pb.USAGE_CATEGORY_FULL_HD),
        ("Cloud_Recording", "full_hd", usage_pb.USAGE_KIND_CLOUD_RECORDING, usage_pb.USAGE_CATEGORY_FULL_HD),
        (
            "USAGE_KIND_INTERACTIVE_AV",
            "audio",
            usage_pb.USAGE_KIND_INTERACTIVE_AV,
            usage_pb.USAGE_CATEGORY_AUDIO,
        ),
        (1, "2k", usage_pb.USAGE_KIND_INTERACTIVE_AV, usage_pb.USAGE_CATEGORY_2K),
        ("2", "USAGE_CATEGORY_4K", usage_pb.USAGE_KIND_CLOUD_RECORDING, usage_pb.USAGE_CATEGORY_4K),
    ]
    typed = [usage(f"u{i}", app, at, kind=k, category=c) for i, (k, c, _, _) in enumerate(records)]
    path = write(tmp_path / "short-usage.jsonl", *typed)
    assert await ingest(server, capsys, "usage", path) == (0, ["accepted 7, duplicates 0, rejected 0"], "")
    full = []
    for i, (_, _, usage_kind, category) in enumerate(records):
        record = pb.UsageRecord(
            record_id=f"u{i}",
            sdk_app_id=app,
            str_room_id="lobby",
            user_id="alice",
            kind=usage_kind,
            category=category,
            seconds=60,
        )
        record.start_time.FromDatetime(now)
        full.append(full_json(record))
    same = write(tmp_path / "full-usage.jsonl", *full)
    assert await ingest(server, capsys, "usage", same) == (0, ["accepted 0, duplicates 7, rejected 0"], "")


async def test_a_wrong_enum_value_names_what_may_be_typed(
    server: Server, tenant: Tenant, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = (await tenant.create_app("wrong_enum")).sdk_app_id
    at = timestamp_text(clock.now())
    path = write(
        tmp_path / "events.jsonl",
        event("e1", app, at, type="ROOM_CREATED"),
        "",
        event("e2", app, at, type="ROOM_CREATE"),
        event("e3", app, at, type="USER_ENTERED", user_id="alice", role="host"),
    )
    status, out, _ = await ingest(server, capsys, "events", path)
    assert status == 3
    assert out == [
        "accepted 1, duplicates 0, rejected 2",
        'line 3: INVALID_ARGUMENT: type: "ROOM_CREATE" is not an event type; one of ROOM_CREATED, '
        "ROOM_DISMISSED, USER_ENTERED, USER_EXITED, ROLE_SWITCHED, VIDEO_STARTED, VIDEO_STOPPED, "
        "AUDIO_STARTED, AUDIO_STOPPED, SUBSTREAM_STARTED, SUBSTREAM_STOPPED "
        "(any case; or the full names EVENT_TYPE_…, or the numbers) (type)",
        'line 4: INVALID_ARGUMENT: role: "host" is not a role; one of ANCHOR, AUDIENCE '
        "(any case; or the full names ROLE_…, or the numbers) (role)",
    ]

    records = write(
        tmp_path / "usage.jsonl",
        usage("u1", app, at, category="UHD"),
        usage("u2", app, at, kind="LIVE"),
    )
    status, out, _ = await ingest(server, capsys, "usage", records)
    assert status == 3
    assert out[1:] == [
        'line 1: INVALID_ARGUMENT: category: "UHD" is not a usage category; one of AUDIO, SD, HD, FULL_HD, '
        "2K, 4K (any case; or the full names USAGE_CATEGORY_…, or the numbers) (category)",
        'line 2: INVALID_ARGUMENT: kind: "LIVE" is not a usage kind; one of INTERACTIVE_AV, CLOUD_RECORDING '
        "(any case; or the full names USAGE_KIND_…, or the numbers) (kind)",
    ]


def test_enum_and_time_fields_are_found_in_nested_and_repeated_fields_too() -> None:
    """The reader works from the descriptors: a record inside a request is read like one alone."""
    now = datetime(2026, 12, 1, 13, 5, 30, tzinfo=UTC)
    reader = LineReader(pb.StreamUsageRequest, now)
    line = json.dumps(
        {
            "records": [
                {
                    "record_id": "a",
                    "kind": "cloud_recording",
                    "category": "full-hd",
                    "startTime": "now-1h30m",
                },
                {"record_id": "b", "category": "USAGE_CATEGORY_SD", "start_time": "2026-11-30"},
            ]
        }
    )
    first, second = reader.parse(line).records
    assert (first.kind, first.category) == (
        usage_pb.USAGE_KIND_CLOUD_RECORDING,
        usage_pb.USAGE_CATEGORY_FULL_HD,
    )
    assert first.start_time.ToDatetime(tzinfo=UTC) == now - timedelta(hours=1, minutes=30)
    assert second.start_time.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 30, tzinfo=UTC)
    assert reader.relative

    with pytest.raises(LineError) as raised:
        reader.parse('{"records": [{}, {"category": "hd2"}]}')
    assert raised.value.fields == ("records[1].category",)
    assert raised.value.reason.startswith('records[1].category: "hd2" is not a usage category; one of AUDIO,')

    events = LineReader(pb.StreamEventsRequest, now)
    parsed = events.parse('{"events": [{"type": "room_created", "session": {"platform": "ios"}}]}')
    assert (parsed.events[0].type, parsed.events[0].session.platform) == (pb.EVENT_TYPE_ROOM_CREATED, "ios")
    assert not events.relative  # no relative time read


# Relative times: one now per run


async def test_relative_times_count_from_one_now(
    server: Server, tenant: Tenant, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = (await tenant.create_app("relative")).sdk_app_id
    now = clock.now()
    relative = write(
        tmp_path / "relative.jsonl",
        event("e1", app, "now-10m", type="ROOM_CREATED"),
        event("e2", app, "NOW - 5m", type="USER_ENTERED", user_id="alice", role="anchor"),
        event("e3", app, "now", type="USER_EXITED", user_id="alice"),
        event("e4", app, "today", type="ROOM_DISMISSED"),
    )
    anchor = timestamp_text(now)
    status, out, err = await ingest(server, capsys, "events", relative, "--now", anchor)
    assert (status, err) == (0, "")
    assert out == [
        "accepted 4, duplicates 0, rejected 0",
        f"relative times counted from now = {anchor}; to send the same records again, add --now {anchor}",
    ]
    midnight = now.replace(hour=0, minute=0, second=0)
    iso = write(  # the same instants in ISO 8601: the same payloads
        tmp_path / "iso.jsonl",
        event("e1", app, timestamp_text(now - timedelta(minutes=10)), type="ROOM_CREATED"),
        event(
            "e2", app, (now - timedelta(minutes=5)).isoformat(), type="USER_ENTERED", user_id="alice", role=1
        ),
        event(
            "e3", app, now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), type="USER_EXITED", user_id="alice"
        ),
        event("e4", app, midnight.date().isoformat(), type="ROOM_DISMISSED"),
    )
    assert await ingest(server, capsys, "events", iso) == (0, ["accepted 0, duplicates 4, rejected 0"], "")


async def test_the_default_now_is_printed_and_sends_the_same_records_again(
    server: Server, tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = (await tenant.create_app("default_now")).sdk_app_id
    path = write(
        tmp_path / "usage.jsonl",
        *(usage(f"u{i}", app, at) for i, at in enumerate(["now", "now-1m", "now-1h", "today"])),
    )
    before = datetime.now(UTC).replace(microsecond=0)
    status, out, _ = await ingest(server, capsys, "usage", path)
    assert status == 0 and out[0] == "accepted 4, duplicates 0, rejected 0"
    found = _ANCHOR.match(out[1])
    assert found is not None and found.group(1) == found.group(2), out
    used = datetime.fromisoformat(found.group(1).replace("Z", "+00:00"))
    assert before <= used <= datetime.now(UTC) and used.microsecond == 0
    status, out, _ = await ingest(server, capsys, "usage", path, "--now", found.group(1))
    assert (status, out) == (0, ["accepted 0, duplicates 4, rejected 0", found.group(0)])


async def test_a_bad_time_names_the_forms_that_may_be_typed(
    server: Server, tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = (await tenant.create_app("bad_time")).sdk_app_id
    path = write(tmp_path / "events.jsonl", event("e1", app, "yesterdayy", type="ROOM_CREATED"))
    status, out, _ = await ingest(server, capsys, "events", path)
    assert status == 3
    assert out[1] == (
        f"line 1: INVALID_ARGUMENT: event_time: not a time: 'yesterdayy'; use {INSTANT_FORMS} (event_time)"
    )
    status, out, err = await ingest(server, capsys, "events", path, "--now", "noon")
    assert (status, out) == (2, [])
    assert "argument --now: not a time: 'noon'; use " + INSTANT_FORMS in err


# --json keeps its shape: every rejection's index is the 0-based line index


async def test_json_rejection_indexes_are_line_indexes(
    server: Server, tenant: Tenant, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = (await tenant.create_app("json_lines")).sdk_app_id
    path = write(
        tmp_path / "events.jsonl",
        event("e1", app, "now", type="ROOM_CREATED"),
        "",
        event("e2", app, "now", type="ROOM_CREATE"),
        event("e3", app, "now+1h", type="ROOM_DISMISSED"),
        event("e4", app, "now", type="ROOM_DISMISSED"),
    )
    status, out, err = await ingest(
        server, capsys, "events", path, "--json", "--batch-size", "1", "--now", timestamp_text(clock.now())
    )
    assert (status, err) == (3, "")
    result = json.loads("\n".join(out))
    assert (result["accepted"], result.get("duplicates", 0), result["rejected"]) == (2, 0, 2)
    local, late = result["rejections"]
    assert (local["index"], local["code"], local["fields"]) == ("2", "INVALID_ARGUMENT", ["type"])
    assert local["reason"].startswith('type: "ROOM_CREATE" is not an event type; one of ROOM_CREATED, ')
    assert (late["index"], late["id"], late["fields"]) == ("3", "e3", ["event_time"])


def test_help_says_what_the_exit_status_means(capsys: pytest.CaptureFixture[str]) -> None:
    examples = (
        ("events", '"type": "ROOM_CREATED"'),
        ("usage", '"category": "hd"'),
        ("quality", '"media": "VIDEO"'),
        ("client-events", '"type": "CAMERA_ON"'),
    )
    for command, example in examples:
        assert main(["ingest", command, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "exits 3 if any line is rejected" in text
        assert "Exit status: 0 every line accepted or a duplicate, 3 any line rejected" in text
        assert example in text and "now-10m" in text and "--now INSTANT" in text
