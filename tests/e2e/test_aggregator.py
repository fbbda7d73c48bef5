"""``rtc-console aggregator`` as real processes: once, in a loop until SIGTERM, two replicas at
once and a paused ex-leader on one PostgreSQL. Data goes in through the domain's ingest on the
wall clock, an hour back, so every window is due.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from rtcconsole.usage import CATEGORIES
from rtcconsole_server.clock import SystemClock
from rtcconsole_server.domain.apps import Apps
from rtcconsole_server.domain.auth import Accounts
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.domain.usage import UsageIngest, UsageInput, window_start
from rtcconsole_server.store import Store, open_store, upgrade
from rtcconsole_server.store.models_usage import UsageLine, UsageRecord, UsageWindow
from tests.e2e.processes import BIN, run_cli
from tests.infra import PostgresDatabases, admin_url_of, waiting_for

Lines = dict[tuple[int, datetime, int, str], int]


@dataclass
class Loaded:
    store: Store
    apps: list[int]
    records: list[UsageInput]


def _load(url: str, *, apps: int, windows: int, per_window: int, seed: int = 6) -> Loaded:
    """``apps`` apps with ``per_window`` records in each of ``windows`` windows ending an hour ago."""
    store = open_store(url)
    upgrade(store)
    clock = SystemClock()
    issued = Accounts(store, clock).create(f"load-{seed}")
    caller = Caller(issued.account_id, issued.key_id)
    ids = [Apps(store, clock).create(caller, name=f"a{i}", description="").sdk_app_id for i in range(apps)]
    first = window_start(clock.now() - timedelta(hours=1)) - windows * timedelta(minutes=5)
    records = [
        UsageInput(
            f"{seed}-{app}-{w}-{r}",
            app,
            "n:1",
            f"u{r}",
            1 + (r % 2),
            CATEGORIES[(app + w + r) % len(CATEGORIES)],
            first + timedelta(minutes=5 * w, seconds=(r * 37) % 300),
            1 + (app * 7 + w * 13 + r * 17) % 900,
        )
        for app in ids
        for w in range(windows)
        for r in range(per_window)
    ]
    _ingest(store, records)
    return Loaded(store, ids, records)


def _ingest(store: Store, records: list[UsageInput]) -> None:
    ingest = UsageIngest(store, SystemClock())
    for i in range(0, len(records), 5000):
        assert not ingest.record(records[i : i + 5000]).rejections


def _expected(records: list[UsageInput]) -> Lines:
    expected: Lines = defaultdict(int)
    for r in records:
        expected[(r.sdk_app_id, window_start(r.start_time), r.kind, r.category)] += r.seconds
    return dict(expected)


def _lines(store: Store) -> Lines:
    with store.read() as session:
        rows = session.execute(
            select(
                UsageLine.sdk_app_id,
                UsageLine.window_start,
                UsageLine.kind,
                UsageLine.category,
                UsageLine.seconds,
            )
        )
        return {(a, w, k, c): s for a, w, k, c, s in rows}


def _bare_group_by(store: Store) -> Lines:
    """The clean answer straight from the raw rows."""
    r = UsageRecord
    key = (r.sdk_app_id, r.window_start, r.kind, r.category)
    with store.read() as session:
        rows = session.execute(select(*key, func.sum(r.seconds)).group_by(*key))
        return {(a, w, k, c): int(s) for a, w, k, c, s in rows}


def _revisions(store: Store) -> dict[int, int]:
    with store.read() as session:
        rows = session.execute(select(UsageWindow.revision, func.count()).group_by(UsageWindow.revision))
        return {revision: count for revision, count in rows}


def _aggregator(url: str, *extra: str) -> list[str]:
    return [str(BIN / "rtc-console"), "--log-level", "DEBUG", "aggregator", "--database-url", url, *extra]


def test_once_publishes_what_is_due_and_exits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    loaded = _load(url, apps=3, windows=4, per_window=5)
    done = subprocess.run(_aggregator(url, "--once"), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "published 12 window(s); done" in done.stderr
    assert _lines(loaded.store) == _expected(loaded.records)
    again = run_cli("aggregator", "--once", "--database-url", url)
    assert "published 0 window(s)" in again.stderr
    loaded.store.dispose()


def test_the_loop_ticks_until_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    loaded = _load(url, apps=1, windows=2, per_window=3)
    process = subprocess.Popen(
        _aggregator(url, "--interval-seconds", "0.2"), stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "published 2 window(s)" in line:
            break
    process.send_signal(signal.SIGTERM)
    rest = process.communicate(timeout=30)[1]
    assert process.returncode == 0 and "stopped" in rest
    assert _lines(loaded.store) == _expected(loaded.records)
    loaded.store.dispose()


def test_two_aggregators_at_once_publish_every_window_exactly_once(
    postgres_database: PostgresDatabases,
) -> None:
    url = postgres_database()
    loaded = _load(url, apps=40, windows=30, per_window=6)
    admin_url = admin_url_of(url)
    with psycopg.connect(admin_url) as gate:
        # Both start at once, whatever their start-up times: the windows table is held until
        # both wait for it (else the first could finish all 30 batches before the second is up).
        gate.execute("LOCK TABLE usage_windows IN ACCESS EXCLUSIVE MODE")
        both = [
            subprocess.Popen(
                _aggregator(url, "--once", "--batch-windows", "40"), stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        deadline = time.monotonic() + 60
        while waiting_for(gate, "usage_windows") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting_for(gate, "usage_windows") == 2, "both aggregators wait for the windows"
        gate.commit()
    logs = [p.communicate(timeout=120)[1] for p in both]
    assert [p.returncode for p in both] == [0, 0], logs
    assert all("claimed" in log for log in logs), "both replicas did some of the work"
    assert _lines(loaded.store) == _expected(loaded.records) == _bare_group_by(loaded.store)
    assert _revisions(loaded.store) == {1: 40 * 30}  # no window was published twice
    loaded.store.dispose()


def _waiting_on_lock(admin: psycopg.Connection[tuple[object, ...]], name: str) -> bool:
    """Whether the session named ``name`` waits for a lock (a row, a table or an advisory one)."""
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
        (name,),
    ).fetchone()
    return bool(row and int(str(row[0])) > 0)


def _reader(stream: Iterator[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _in_transaction(admin: psycopg.Connection[tuple[object, ...]], name: str) -> bool:
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND xact_start IS NOT NULL",
        (name,),
    ).fetchone()
    return bool(row and int(str(row[0])) > 0)


def test_a_paused_aggregator_neither_overwrites_newer_lines_nor_loses_records(
    postgres_database: PostgresDatabases,
) -> None:
    url = postgres_database()
    loaded = _load(url, apps=30, windows=40, per_window=8)
    name = f"rtc-paused-{os.getpid()}"
    paused_url = (
        make_url(url).update_query_dict({"application_name": name}).render_as_string(hide_password=False)
    )
    admin_url = admin_url_of(url)
    first = subprocess.Popen(
        _aggregator(paused_url, "--once", "--batch-windows", "30"), stderr=subprocess.PIPE, text=True
    )
    assert first.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_reader, args=(first.stderr, lines), daemon=True)
    reader.start()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        caught = False
        deadline = time.monotonic() + 60
        while not caught and time.monotonic() < deadline:  # pause it inside a roll-up transaction
            line = lines.get(timeout=60)
            if "claimed" in line:
                first.send_signal(signal.SIGSTOP)
                time.sleep(0.05)
                caught = _in_transaction(admin, name)
                if not caught:
                    first.send_signal(signal.SIGCONT)
        assert caught, "could not pause the aggregator inside a transaction"
        try:
            late = [  # stragglers into every app's first and last windows while it is paused
                UsageInput(
                    f"late-{r.record_id}", r.sdk_app_id, "n:2", "late", r.kind, r.category, r.start_time, 11
                )
                for r in loaded.records
                if r.record_id.endswith(("-0-0", "-39-0"))
            ]
            writer = threading.Thread(target=_ingest, args=(loaded.store, late))
            writer.start()  # may wait for the paused one's window locks: that is the point
            # The second publishes the windows the paused one did not claim (SKIP LOCKED). The
            # days both touch are taken in turns (advisory locks): if the paused one already
            # holds them, the second waits for it, so the paused one is let go once the second
            # has finished or waits on a lock, while it is still inside its transaction.
            second_name = f"rtc-second-{os.getpid()}"
            second_url = make_url(url).update_query_dict({"application_name": second_name})
            second = subprocess.Popen(
                _aggregator(
                    second_url.render_as_string(hide_password=False), "--once", "--batch-windows", "30"
                ),
                stderr=subprocess.PIPE,
                text=True,
            )
            deadline = time.monotonic() + 60
            while second.poll() is None and not _waiting_on_lock(admin, second_name):
                assert time.monotonic() < deadline, "the second aggregator neither ends nor waits"
                time.sleep(0.05)
            assert _in_transaction(admin, name), "the paused one still holds its claim"
        finally:
            first.send_signal(signal.SIGCONT)
        second_log = second.communicate(timeout=120)[1]
        assert second.returncode == 0, second_log
        assert first.wait(timeout=120) == 0
        reader.join(timeout=30)
        first.stderr.close()
        writer.join(timeout=120)
        assert not writer.is_alive()
    final = subprocess.run(_aggregator(url, "--once"), capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    everything = loaded.records + late
    assert _lines(loaded.store) == _expected(everything) == _bare_group_by(loaded.store)
    loaded.store.dispose()
