"""Crash test of usage metering (R16): SIGKILL the ingest server and the aggregator at random points.

A data-plane client keeps sending batches of usage records (ReportUsage and
StreamUsage, fresh ones and retries of earlier ones) to ``rtc-console serve``
(its embedded aggregator ticking every 0.1 s) while a separate ``rtc-console
aggregator`` ticks too. In every trial one or both processes get SIGKILL at a
random moment, are restarted, and the client re-sends what was not
acknowledged, as a real reporter does. At the end every acknowledged record is
stored exactly once and the published lines equal a clean roll-up of the raw
rows (and of the records sent).

Trials per backend: ``RTC_CRASH_TRIALS`` (default 20, what CI runs).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import func, select

from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole_server.clock import SystemClock
from rtcconsole_server.domain.apps import Apps
from rtcconsole_server.domain.auth import Accounts
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.domain.usage import window_start
from rtcconsole_server.store import Store, open_store, upgrade
from rtcconsole_server.store.models_usage import UsageLine, UsageRecord
from tests.e2e.processes import BIN, run_cli
from tests.infra import PostgresDatabases

TRIALS = int(os.environ.get("RTC_CRASH_TRIALS", "20"))
TOKEN = "data-plane-test-token"
DATA_PLANE = (("authorization", f"Bearer {TOKEN}"),)
CATEGORIES = (usage_pb.USAGE_CATEGORY_AUDIO, usage_pb.USAGE_CATEGORY_HD, usage_pb.USAGE_CATEGORY_4K)
NAMES = {
    usage_pb.USAGE_CATEGORY_AUDIO: "Audio",
    usage_pb.USAGE_CATEGORY_HD: "HD",
    usage_pb.USAGE_CATEGORY_4K: "4K",
}
_LISTENING = re.compile(rb"listening on (\S+)")
Key = tuple[int, datetime, int, str]


class Process:
    """A restartable ``rtc-console`` process whose output goes to a log file."""

    def __init__(self, argv: list[str], log: Path, *, ready: re.Pattern[bytes] | None = None) -> None:
        self.argv, self.log, self.ready = argv, log, ready
        self.process: subprocess.Popen[bytes] | None = None
        self.target = ""
        self.starts = 0

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(self.argv, stdout=sink, stderr=subprocess.STDOUT)
        self.starts += 1
        if self.ready is None:
            return
        deadline = time.monotonic() + 60
        while True:
            with self.log.open("rb") as source:
                source.seek(offset)
                found = self.ready.search(source.read())
            if found:
                self.target = found.group(1).decode()
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.argv[1:3]} did not start:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.02)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Client:
    """The data plane: batches it made, and the records the server acknowledged."""

    apps: list[int]
    rng: random.Random
    base: datetime
    sent: dict[str, pb.UsageRecord] = field(default_factory=dict)
    pending: list[list[pb.UsageRecord]] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    done: list[list[pb.UsageRecord]] = field(default_factory=list)

    def new_batches(self, trial: int) -> None:
        for b in range(self.rng.randint(3, 6)):
            batch = []
            for r in range(self.rng.randint(50, 300)):
                stamp = Timestamp()
                stamp.FromDatetime(self.base + timedelta(seconds=self.rng.randrange(0, 3600)))
                record = pb.UsageRecord(
                    record_id=f"t{trial}-b{b}-r{r}",
                    sdk_app_id=self.rng.choice(self.apps),
                    room_id=self.rng.randint(1, 9),
                    user_id=f"u{r % 17}",
                    kind=self.rng.choice(
                        (usage_pb.USAGE_KIND_INTERACTIVE_AV, usage_pb.USAGE_KIND_CLOUD_RECORDING)
                    ),
                    category=self.rng.choice(CATEGORIES),
                    start_time=stamp,
                    seconds=self.rng.randint(1, 900),
                )
                self.sent[record.record_id] = record
                batch.append(record)
            self.pending.append(batch)
        if self.done:  # a retry of an acknowledged batch: counted once
            self.pending.append(self.rng.choice(self.done))

    async def send(self, target: str) -> None:
        """Send every pending batch (unary or streamed); stop at the first failure."""
        async with grpc.aio.insecure_channel(target) as channel:
            stub = pb_grpc.IngestServiceStub(channel)
            while self.pending:
                batches = self.pending[: self.rng.choice((1, 2))]
                if len(batches) == 1:
                    await stub.ReportUsage(
                        pb.ReportUsageRequest(records=batches[0]), metadata=DATA_PLANE, timeout=10
                    )
                else:
                    requests = [pb.StreamUsageRequest(records=b) for b in batches]
                    response = await stub.StreamUsage(iter(requests), metadata=DATA_PLANE, timeout=10)
                    assert response.rejected == 0, response.rejections
                for batch in batches:  # acknowledged: committed
                    self.acked.update(r.record_id for r in batch)
                    self.done.append(batch)
                del self.pending[: len(batches)]


def _expected(records: list[pb.UsageRecord]) -> dict[Key, int]:
    totals: dict[Key, int] = defaultdict(int)
    for r in records:
        start = window_start(r.start_time.ToDatetime(tzinfo=UTC))
        totals[(r.sdk_app_id, start, int(r.kind), NAMES[r.category])] += r.seconds
    return dict(totals)


def _lines(store: Store) -> dict[Key, int]:
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


def _clean_roll_up(store: Store) -> dict[Key, int]:
    r = UsageRecord
    key = (r.sdk_app_id, r.window_start, r.kind, r.category)
    with store.read() as session:
        return {
            (a, w, k, c): int(s)
            for a, w, k, c, s in session.execute(select(*key, func.sum(r.seconds)).group_by(*key))
        }


def _stored_ids(store: Store) -> list[str]:
    with store.read() as session:
        return list(session.scalars(select(UsageRecord.record_id)))


async def _trials(url: str, tmp_path: Path, seed: int) -> None:
    store = open_store(url)
    upgrade(store)
    clock = SystemClock()
    issued = Accounts(store, clock).create("crash")
    caller = Caller(issued.account_id, issued.key_id)
    apps = [Apps(store, clock).create(caller, name=f"c{i}", description="").sdk_app_id for i in range(4)]
    rng = random.Random(seed)
    client = Client(apps, rng, window_start(clock.now() - timedelta(hours=3)))
    cli = str(BIN / "rtc-console")
    server = Process(
        [cli, "serve", "--listen", "127.0.0.1:0", "--http-listen", "off", "--database-url", url,
         "--data-plane-token", TOKEN, "--aggregation-interval-seconds", "0.1",
         "--aggregation-batch-windows", "7"],
        tmp_path / "serve.log",
        ready=_LISTENING,
    )  # fmt: skip
    aggregator = Process(
        [cli, "aggregator", "--database-url", url, "--interval-seconds", "0.05", "--batch-windows", "5"],
        tmp_path / "aggregator.log",
    )
    server.start()
    aggregator.start()
    kills = {"server": 0, "aggregator": 0, "calls interrupted": 0}
    try:
        for trial in range(TRIALS):
            client.new_batches(trial)
            victims = rng.choice((("server",), ("aggregator",), ("server", "aggregator")))
            sending = asyncio.create_task(client.send(server.target))
            # half the kills land in the first milliseconds, so some hit a call in flight
            # however fast a batch is acknowledged; the others anywhere in a roll-up
            await asyncio.sleep(rng.uniform(0.0, 0.01) if trial % 2 else rng.uniform(0.02, 0.4))
            for victim in victims:
                (server if victim == "server" else aggregator).kill()
                kills[victim] += 1
            try:
                await sending
            except grpc.aio.AioRpcError as error:
                assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED), error
                kills["calls interrupted"] += 1
            restarts = [
                asyncio.to_thread(p.start)
                for p, name in ((server, "server"), (aggregator, "aggregator"))
                if name in victims
            ]
            await asyncio.gather(*restarts)
            await client.send(server.target)  # what was not acknowledged, again
            assert not client.pending
    finally:
        server.stop()
        aggregator.stop()
    print(f"{TRIALS} trials: {kills}")  # shown with -s
    assert kills["server"] and kills["aggregator"]
    assert kills["calls interrupted"] or TRIALS < 10
    final = run_cli("aggregator", "--once", "--database-url", url)
    assert final.returncode == 0
    stored = _stored_ids(store)
    assert len(stored) == len(set(stored)) == len(client.sent)  # exactly once, nothing lost
    assert client.acked == set(client.sent)
    assert _lines(store) == _clean_roll_up(store) == _expected(list(client.sent.values()))
    store.dispose()


@pytest.mark.timeout(600)
async def test_sigkill_at_random_points_on_sqlite(tmp_path: Path) -> None:
    await _trials(f"sqlite:///{tmp_path / 'rtc.db'}", tmp_path, seed=616)


@pytest.mark.timeout(600)
async def test_sigkill_at_random_points_on_postgresql(
    tmp_path: Path, postgres_database: PostgresDatabases
) -> None:
    await _trials(postgres_database(), tmp_path, seed=6160)
