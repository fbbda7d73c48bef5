"""Tests of the benchmark harness itself (bench/), not of any figure it measures.

No assertion here depends on how fast anything runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest

import bench
from bench import quality_data, registry, shaped_echo
from bench.__main__ import main
from bench.echo import DEFAULT_PAYLOAD_BYTES, echo_call, echo_server
from bench.load import LoadResult, compare_load, merge_results, percentile, run_load
from bench.procs import free_port, subprocess_server
from bench.registry import BenchConfig, Row, benchmark, discover
from bench.shaped_echo import shaped_call, shaped_echo_process
from bench.table import format_table, notes
from rtcconsole.v1 import auth_service_pb2 as auth_pb

_REPO_ROOT = Path(bench.__file__).resolve().parent.parent


# --- percentiles -------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "expected"),
    [(0, 15), (5, 15), (30, 20), (40, 20), (50, 35), (100, 50)],
)
def test_percentile_nearest_rank_textbook_example(p: float, expected: float) -> None:
    # The nearest-rank example of the Wikipedia "Percentile" article.
    assert percentile([15, 20, 35, 40, 50], p) == expected


def test_percentile_of_1_to_100_is_the_rank_itself() -> None:
    values = list(range(1, 101))
    assert [percentile(values, p) for p in (1, 50, 99, 99.5, 100)] == [1, 50, 99, 100, 100]
    assert percentile(list(range(1, 1001)), 99.9) == 999  # no float-noise off-by-one


def test_percentile_edge_cases() -> None:
    assert math.isnan(percentile([], 50))
    assert percentile([7], 99) == 7
    with pytest.raises(ValueError, match="percentile"):
        percentile([1, 2], 101)


# --- run_load ------------------------------------------------------------------


async def test_run_load_keeps_concurrency_in_flight_and_counts_calls_and_errors() -> None:
    concurrency = 8
    started = 0
    in_flight = 0
    max_in_flight = 0

    async def call() -> None:
        nonlocal started, in_flight, max_in_flight
        started += 1
        n = started
        in_flight += 1
        max_in_flight = max(max_in_flight, in_flight)
        try:
            await asyncio.sleep(0.001)
            if n % 4 == 0:
                raise ValueError(f"boom {n}")
        finally:
            in_flight -= 1

    result = await run_load(call, concurrency=concurrency, duration_s=0.3, warmup_s=0.0)

    assert max_in_flight == concurrency
    assert in_flight == 0  # every call finished or was cancelled before run_load returned
    assert result.count > 0
    assert result.errors > 0
    assert result.first_error is not None and result.first_error.startswith("ValueError('boom")
    # Only calls still in flight when the window closed go unrecorded.
    assert 0 <= started - (result.count + result.errors) <= concurrency
    assert result.ops_per_s == pytest.approx(result.count / result.duration_s)
    assert result.duration_s == pytest.approx(0.3)
    assert len(result.latencies_ns) == result.count
    assert list(result.latencies_ns) == sorted(result.latencies_ns)
    assert 0 < result.p50_ms <= result.p99_ms
    assert result.concurrency == concurrency
    assert 0 < result.error_rate < 1


async def test_run_load_excludes_the_warmup() -> None:
    calls = 0

    async def call() -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.001)
        if calls <= 4:  # the first wave fails, inside the warmup
            raise RuntimeError("still starting")

    result = await run_load(call, concurrency=4, duration_s=0.2, warmup_s=0.1)
    assert result.errors == 0
    assert result.first_error is None
    assert calls > result.count > 0


async def test_run_load_survives_calls_that_fail_without_suspending() -> None:
    async def call() -> None:
        raise KeyError("sync failure")

    result = await run_load(call, concurrency=3, duration_s=0.1, warmup_s=0.0)
    assert result.count == 0
    assert result.errors > 0
    assert math.isnan(result.p50_ms) and math.isnan(result.p99_ms)
    assert result.ops_per_s == 0


@pytest.mark.parametrize(
    "kwargs", [{"concurrency": 0}, {"duration_s": 0.0}, {"warmup_s": -1.0}], ids=["conc", "dur", "warm"]
)
async def test_run_load_rejects_bad_arguments(kwargs: dict[str, float]) -> None:
    async def call() -> None:
        await asyncio.sleep(0)

    with pytest.raises(ValueError):
        await run_load(call, **kwargs)  # type: ignore[arg-type]


def _result(latencies_ns: list[int], *, errors: int = 0, duration_s: float = 1.0) -> LoadResult:
    return LoadResult(
        ops_per_s=len(latencies_ns) / duration_s,
        p50_ms=percentile(latencies_ns, 50) / 1e6,
        p99_ms=percentile(latencies_ns, 99) / 1e6,
        count=len(latencies_ns),
        errors=errors,
        first_error="E()" if errors else None,
        concurrency=2,
        duration_s=duration_s,
        latencies_ns=tuple(sorted(latencies_ns)),
    )


def test_merge_results_pools_samples() -> None:
    a = _result([1_000_000, 3_000_000], duration_s=1.0)
    b = _result([2_000_000, 4_000_000, 5_000_000], errors=2, duration_s=0.5)
    merged = merge_results([a, b])
    assert merged.count == 5
    assert merged.errors == 2
    assert merged.first_error == "E()"
    assert merged.duration_s == pytest.approx(1.5)
    assert merged.ops_per_s == pytest.approx(5 / 1.5)
    assert merged.p50_ms == pytest.approx(3.0)
    assert merged.p99_ms == pytest.approx(5.0)
    with pytest.raises(ValueError):
        merge_results([])


async def test_compare_load_alternates_baseline_and_subject() -> None:
    sides: list[str] = []

    def factory(side: str) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            if not sides or sides[-1] != side:
                sides.append(side)
            await asyncio.sleep(0.001)

        return call

    subject, baseline = await compare_load(
        factory("S"), factory("B"), concurrency=2, duration_s=0.2, warmup_s=0.0, rounds=3
    )
    # Segments B S | S B | B S: adjacent segments of one side merge.
    assert sides == ["B", "S", "B", "S"]
    assert subject.duration_s == pytest.approx(0.2)
    assert baseline.duration_s == pytest.approx(0.2)
    assert subject.count > 0 and baseline.count > 0


@pytest.mark.parametrize(
    ("duration_s", "segment_s", "rounds"),
    [(3.0, 0.25, 12), (1.0, 0.25, 4), (0.75, 0.25, 4), (0.1, 0.25, 2), (5.0, 0.5, 10)],
)
def test_config_rounds_are_even_and_follow_the_segment_length(
    duration_s: float, segment_s: float, rounds: int
) -> None:
    assert BenchConfig(duration_s=duration_s, segment_s=segment_s).rounds == rounds


# --- registry and table -----------------------------------------------------------


def test_registry_registers_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", {})

    @benchmark("demo")
    async def demo(config: BenchConfig) -> list[Row]:
        """Demo benchmark.

        More text.
        """
        return []

    assert registry.registered()["demo"].fn is demo
    assert registry.registered()["demo"].description == "Demo benchmark."
    with pytest.raises(ValueError, match="already registered"):
        benchmark("demo")(demo)


def test_discover_finds_bench_modules() -> None:
    assert "echo-self" in discover()


def _row(**overrides: object) -> Row:
    fields: dict[str, object] = {
        "benchmark": "apps",
        "subject": "GetApp c=64",
        "ops_per_s": 1234.5,
        "p50_ms": 0.4567,
        "p99_ms": 12.345,
        "baseline": "echo c=64",
        "baseline_ops_per_s": 2469.0,
    }
    fields.update(overrides)
    return Row(**fields)  # type: ignore[arg-type]


def test_row_ratio_and_json() -> None:
    row = _row()
    assert row.ratio == pytest.approx(0.5)
    assert row.to_dict()["ratio"] == pytest.approx(0.5)
    no_baseline = _row(baseline_ops_per_s=0.0, p50_ms=math.nan)
    assert math.isnan(no_baseline.ratio)
    assert no_baseline.to_dict()["ratio"] is None
    assert no_baseline.to_dict()["p50_ms"] is None


def test_table_is_aligned_with_all_columns() -> None:
    rows = [_row(), _row(subject="CreateApp c=64", p50_ms=None, errors=3, first_error="Boom()", note="n")]
    lines = format_table(rows).splitlines()
    assert len(lines) == 4
    assert len({len(line) for line in lines}) == 1
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == [
        "benchmark",
        "subject",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "baseline",
        "baseline ops/s",
        "ratio",
    ]
    cells = [cell.strip() for cell in lines[2].strip("|").split("|")]
    assert cells == ["apps", "GetApp c=64", "1,234", "0.457", "12.3", "echo c=64", "2,469", "0.50"]
    assert [cell.strip() for cell in lines[3].strip("|").split("|")][3] == "-"
    assert any(line.startswith("! apps / CreateApp") and "Boom()" in line for line in notes(rows))


# --- data of the ingest benchmarks ---------------------------------------------------


def test_quality_batches_are_new_keys_in_key_order_the_same_on_both_sides() -> None:
    start = dt.datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
    streams = quality_data.groups()
    messages = quality_data.Messages(7, streams, start)
    plain = quality_data.PlainRows(7, streams, start, sqlite=False)
    metric_columns = quality_data.COLUMNS[7:]
    keys: set[tuple[object, ...]] = set()
    for _ in range(quality_data.GROUPS + 1):  # one tick and the first group of the next
        samples, rows = messages.batch(), plain.batch()
        assert len(samples) == len(rows) == quality_data.BATCH
        batch_keys = [row[:6] for row in rows]
        assert batch_keys == sorted(batch_keys)  # the order the server inserts
        keys.update(batch_keys)
        for sample, row in zip(samples, rows, strict=True):
            sent = (sample.sdk_app_id, f"n:{sample.room_id}", sample.user_id, sample.peer_id, sample.media)
            assert (*sent, sample.sample_time.ToDatetime(tzinfo=dt.UTC)) == row[:6]
            measured = {f.name: v for f, v in sample.ListFields() if f.name in metric_columns}
            assert measured == {n: v for n, v in zip(metric_columns, row[7:], strict=True) if v is not None}
    assert len(keys) == (quality_data.GROUPS + 1) * quality_data.BATCH
    assert min(row[5] for row in keys) == start  # type: ignore[type-var]


# --- subprocesses -------------------------------------------------------------------


async def test_echo_server_subprocess_answers_and_stops() -> None:
    async with echo_server() as target:
        async with grpc.aio.insecure_channel(target) as channel:
            reply = await echo_call(channel, payload_bytes=DEFAULT_PAYLOAD_BYTES)()
        host, port = target.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        assert len(reply) == DEFAULT_PAYLOAD_BYTES
    async with grpc.aio.insecure_channel(target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await echo_call(channel, timeout_s=2.0)()
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_servicer_shaped_echo_parses_reads_and_answers() -> None:
    request = auth_pb.AuthorizeRoomEntryRequest(sdk_app_id=1400000001, room_id=1, user_id="bob", user_sig="x")
    async with shaped_echo_process() as server, grpc.aio.insecure_channel(server.target) as channel:
        answer = await shaped_call(channel, request, (("authorization", "Bearer t"),))()
        assert answer == auth_pb.AuthorizeRoomEntryResponse(allowed=True)
        raw: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(shaped_echo.METHOD)
        with pytest.raises(grpc.aio.AioRpcError) as info:  # it parses: bytes that are no request fail
            await raw(b"\xff\xff", timeout=5)
    assert info.value.code() == grpc.StatusCode.UNKNOWN  # grpc's own answer to a corrupt message
    assert "AuthorizeRoomEntryRequest" in (info.value.details() or "")


async def test_subprocess_server_reports_early_exit_with_output() -> None:
    argv = [sys.executable, "-c", "import sys; print('bad config', file=sys.stderr); sys.exit(3)"]
    with pytest.raises(RuntimeError, match=r"exited \(3\)(.|\n)*bad config"):
        async with subprocess_server(argv, ready_port_from=r"PORT (\d+)"):
            pytest.fail("should not start")


async def test_subprocess_server_times_out_and_kills_the_process() -> None:
    argv = [sys.executable, "-c", "import os, time; print(os.getpid(), flush=True); time.sleep(60)"]
    with pytest.raises(RuntimeError, match="not ready within"):
        async with subprocess_server(argv, ready_port_from=free_port(), ready_timeout_s=0.5):
            pytest.fail("nothing listens on that port")


async def test_subprocess_server_stops_the_process_at_exit() -> None:
    argv = [sys.executable, "-m", "bench.echo", "--port", "0"]
    async with subprocess_server(argv, ready_port_from=r"^PORT (?P<port>\d+)$", cwd=_REPO_ROOT) as proc:
        os.kill(proc.pid, 0)  # alive
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)


async def test_subprocess_server_rejects_a_pattern_without_group() -> None:
    with pytest.raises(ValueError, match="group"):
        async with subprocess_server(["true"], ready_port_from="PORT"):
            pytest.fail("should not start")


# --- command line -------------------------------------------------------------------


def test_cli_lists_and_rejects_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    assert "echo-self" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["no-such-benchmark"])
    assert info.value.code == 2


# --- the monitor benchmark, at its small scale ------------------------------------------------


def test_monitor_bench_runs_at_small_scale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m bench monitor --scale small``: the simulated hour is loaded with nothing
    rejected, both ListCalls rows are measured against their bare SQL, the plan is read."""
    out = tmp_path / "monitor.json"
    status = main(["monitor", "--scale", "small", "--duration", "0.5", "--warmup", "0", "--json", str(out)])
    assert status == 0, capsys.readouterr().err[-3000:]
    document = json.loads(out.read_text())
    assert document["context"]["scale"] == "small" and document["failed"] == []
    rows = document["rows"]
    sqlite_rows = [row for row in rows if row["subject"].endswith("sqlite")]
    subjects = [row["subject"] for row in sqlite_rows]
    assert subjects == ["ListCalls 14d sqlite", "ListCalls 1d sqlite", "GetQualitySeries 5h sqlite"]
    for row in rows:
        assert row["errors"] == row["baseline_errors"] == 0
        assert row["ops_per_s"] > 0 and row["baseline_ops_per_s"] > 0
        if row["subject"].startswith("ListCalls"):  # on an hour's rows a scan may be the plan
            assert "ix_room_events_calls used: " in row["note"]
        assert "first ListCalls 14d before ANALYZE" in row["note"]
    assert "ix_room_events_calls used: yes" in sqlite_rows[0]["note"]
    assert "B per stored sample" in sqlite_rows[-1]["note"]


# --- the real-time fan-out benchmark, quick ---------------------------------------------------


def test_realtime_fanout_bench_runs_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m bench realtime-fanout --quick``: 50 subscribers receive one live frame (a real
    10-second slot, so this waits up to 12 s) beside the bare streaming server; both rows measured."""
    out = tmp_path / "fanout.json"
    status = main(["realtime-fanout", "--quick", "--json", str(out)])
    assert status == 0, capsys.readouterr().err[-3000:]
    document = json.loads(out.read_text())
    assert document["failed"] == []
    fanout, memory = document["rows"]
    assert fanout["subject"] == "SubscribeRealtime fan-out 50 subs" and fanout["p99_ms"] is not None
    assert fanout["ops_per_s"] > 0 and fanout["baseline_ops_per_s"] > 0
    assert memory["ops_per_s"] >= memory["baseline_ops_per_s"] > 0
    assert "50 subscriptions" in memory["note"]


# --- the real-time counting benchmark, quick --------------------------------------------------


def test_realtime_count_bench_runs_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m bench realtime-count --quick``: counted vs free ingest, in process (Redis rows
    too when it answers); the run checks that the counted app shows online users."""
    out = tmp_path / "count.json"
    status = main(["realtime-count", "--quick", "--json", str(out)])
    assert status == 0, capsys.readouterr().err[-3000:]
    document = json.loads(out.read_text())
    assert document["failed"] == []
    first, *_ = document["rows"]
    assert first["subject"] == "counted, in process" and first["baseline"] == "not counted (free)"
    for row in document["rows"]:
        assert row["errors"] == row["baseline_errors"] == 0
        assert row["ops_per_s"] > 0 and row["baseline_ops_per_s"] > 0
        assert "online users summed" in row["note"]
