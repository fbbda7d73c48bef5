"""``rtc-console simulate`` end to end: the real binary against a real server, on both backends.

Every record a backfill sends is accepted (the simulator keeps the data plane's rules: which
metric on which side and media kind, which event needs a peer); the calls it writes are the
calls ``ListCalls`` derives; the same seed and ``--now`` send the same records again (all
duplicates); ``--live`` reports at real time until SIGINT, then prints its summary and exits 0.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rtcconsole.client import RtcConsole
from rtcconsole_server.simulate.model import Scenario, backfill
from tests.e2e.processes import BIN, create_account, serving

TOKEN = "simulate-test-token"


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


def test_usage_mistakes_exit_2_in_one_line() -> None:
    for args, message in (
        (["--backfill", "90d", "--sdk-app-id", "1"], "at most 34d"),
        (["--backfill", "two hours", "--sdk-app-id", "1"], "such as 30m"),
        (["--live", "--now", "now-1h", "--sdk-app-id", "1"], "--now is for a backfill"),
        (["--sdk-app-id", "1", "--token", ""], "no data-plane token"),
    ):
        done = subprocess.run(
            [str(BIN / "rtc-console"), "simulate", "--token", TOKEN, *args],
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": ""},
        )
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)


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
