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
}
"""``rtcctl ingest`` command → (file, its time field, its id field)."""


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
    assert 10 <= len(lines) <= 15
    assert FIRST_SDK_APP_ID == 1_400_000_001  # R3: what a fresh server issues first
    now = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    for line in lines:
        assert line["sdk_app_id"] == FIRST_SDK_APP_ID and line["room_id"] == 42
        # the server takes 35 days back to 5 minutes ahead (events/_rules.py, usage/_ingest.py)
        assert is_relative(line[time_field])
        assert (
            now - timedelta(hours=1) <= parse_instant(line[time_field], now=now) <= now - timedelta(minutes=1)
        )
        for field in ("type", "role", "kind", "category"):
            assert not str(line.get(field, "")).startswith(("EVENT_TYPE_", "ROLE_", "USAGE_"))
    assert len({line[id_field] for line in lines}) == len(lines)
    if command == "events":  # R15: one call, in order, from room created to room dismissed
        times = [parse_instant(line["event_time"], now=now) for line in lines]
        assert times == sorted(times)
        assert (lines[0]["type"], lines[-1]["type"]) == ("ROOM_CREATED", "ROOM_DISMISSED")
        entered = [line for line in lines if line["type"] == "USER_ENTERED"]
        assert len(entered) == 2 and all(line["role"] and line["session"] for line in entered)  # R18


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
