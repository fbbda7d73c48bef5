"""``examples/*.jsonl`` through the real ``rtcctl ingest`` against a real ``rtc-console serve``.

The files must ingest cleanly on whatever day the test runs (their times are relative), for
app 1400000001 (the first SDKAppID a fresh server issues, R3), and a second run with the
printed ``--now`` is a retry: every line counted once, as a duplicate.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rtcconsole.times import is_relative, parse_instant
from rtcconsole_server.store.models import FIRST_SDK_APP_ID
from tests.e2e.processes import BIN, create_account, serving

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TOKEN = "examples-data-plane-token"
FILES = {
    "events": ("events.jsonl", "event_time", "event_id"),
    "usage": ("usage.jsonl", "start_time", "record_id"),
    "quality": ("quality.jsonl", "sample_time", "sample_id"),
    "client-events": ("client-events.jsonl", "event_time", "event_id"),
}
"""``rtcctl ingest`` command → (file, its time field, its id field)."""
SIZES = {"quality": (20, 30)}
"""Lines a file may hold when not 10-15: the quality samples of both sides, two media kinds, three moments."""


def rtcctl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``.venv/bin/rtcctl ARGS`` from the repository root, as examples/README.md does."""
    return subprocess.run(
        [str(BIN / "rtcctl"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={**os.environ, **env},
    )


def records(name: str) -> list[dict[str, Any]]:
    lines = (EXAMPLES / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize("command", sorted(FILES))
def test_the_examples_are_written_as_a_person_would(command: str) -> None:
    """Short enum names, relative times well inside the server's window, app 1400000001."""
    name, time_field, id_field = FILES[command]
    lines = records(name)
    low, high = SIZES.get(command, (10, 15))
    assert low <= len(lines) <= high
    assert FIRST_SDK_APP_ID == 1_400_000_001  # R3: what a fresh server issues first
    now = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    for line in lines:
        assert line["sdk_app_id"] == FIRST_SDK_APP_ID and line["room_id"] == 42
        # the server takes 35 days back to 5 minutes ahead (events/_rules.py, usage/_ingest.py)
        assert is_relative(line[time_field])
        assert (
            now - timedelta(hours=1) <= parse_instant(line[time_field], now=now) <= now - timedelta(minutes=1)
        )
        for field in ("type", "role", "kind", "category", "media"):
            full = ("EVENT_TYPE_", "ROLE_", "USAGE_", "MEDIA_KIND_", "CLIENT_EVENT_TYPE_")
            assert not str(line.get(field, "")).startswith(full)
    assert len({line[id_field] for line in lines}) == len(lines)
    if command == "events":  # R15: one call, in order, from room created to room dismissed
        times = [parse_instant(line["event_time"], now=now) for line in lines]
        assert times == sorted(times)
        assert (lines[0]["type"], lines[-1]["type"]) == ("ROOM_CREATED", "ROOM_DISMISSED")
        entered = [line for line in lines if line["type"] == "USER_ENTERED"]
        assert len(entered) == 2 and all(line["role"] and line["session"] for line in entered)  # R18
    if command in ("quality", "client-events"):  # inside the call of events.jsonl, by the same users
        calls = {line["user_id"]: line for line in records("events.jsonl") if "user_id" in line}
        assert {line["user_id"] for line in lines} == set(calls) == {"alice", "bob"}
        start, end = parse_instant("now-20m", now=now), parse_instant("now-3m", now=now)
        assert all(start <= parse_instant(line[time_field], now=now) <= end for line in lines)
    if command == "quality":  # R20: both sides of both users, video and audio, one congestion moment
        sides = {(line["user_id"], line.get("peer_id", ""), line["media"]) for line in lines}
        assert sides == {
            (user, peer, media)
            for user, other in (("alice", "bob"), ("bob", "alice"))
            for peer in ("", other)
            for media in ("VIDEO", "AUDIO")
        }
        assert any(line.get("packet_loss_percent", 0) > 10 for line in lines)  # the loss burst
        assert any(line.get("stall_ms", 0) >= 600 for line in lines)  # a video stall (R21: >= 600 ms)
    if command == "client-events":  # R20's client events and one of R21's abnormal events
        types = [line["type"] for line in lines]
        assert {
            "ENTER_ROOM",
            "EXIT_ROOM",
            "CAMERA_ON",
            "CAMERA_OFF",
            "MICROPHONE_ON",
            "MICROPHONE_OFF",
        } <= set(types)
        assert sum(kind.startswith(("SENDER_", "RECEIVER_")) for kind in types) == 1


def test_the_examples_ingest_cleanly_and_a_retry_counts_every_line_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    _, api_key = create_account(url, "acme")
    with serving(url, "--data-plane-token", TOKEN, "--no-workers", log=tmp_path / "serve.log") as (_, target):
        env = {"RTC_TARGET": target, "RTC_API_KEY": api_key, "RTC_DATA_PLANE_TOKEN": TOKEN}
        created = rtcctl("apps", "create", "--name", "demo", "--json", env=env)
        assert created.returncode == 0, created.stderr
        assert json.loads(created.stdout)["sdk_app_id"] == str(FIRST_SDK_APP_ID)

        for command, (name, _, _) in sorted(FILES.items()):
            count = len(records(name))
            first = rtcctl("ingest", command, f"examples/{name}", env=env)
            assert (first.returncode, first.stderr) == (0, ""), first.stdout
            head, anchor = first.stdout.splitlines()
            assert head == f"accepted {count}, duplicates 0, rejected 0"
            now = anchor.rsplit(" --now ", 1)[1]  # the instant the relative times counted from

            again = rtcctl("ingest", command, f"examples/{name}", "--now", now, "--json", env=env)
            assert (again.returncode, again.stderr) == (0, ""), again.stdout
            result = json.loads(again.stdout)
            tally = (result.get("accepted", 0), result.get("duplicates", 0), result.get("rejected", 0))
            assert tally == (0, count, 0)  # R16: a retry is counted once
