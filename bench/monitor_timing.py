"""Timing of ``bench/bench_monitor.py``: one call at a time, B S S B, and the bare side's thread.

A query of a second or more fits no segment of ``compare_load`` (``bench.load``): :func:`alternate`
times each call whatever it takes, and the ABBA order still cancels a drift of the machine.
:func:`bare_side` runs a captured statement (``monitor_data.BareQuery``,
``monitor_series.SeriesQuery``) on its own connection in one thread of the bench process.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from bench.load import LoadResult, percentile
from bench.quality_data import libpq

__all__ = ["BareStatement", "alternate", "bare_side"]


class BareStatement:
    """A captured statement (``sql`` with its DB-API ``parameters``, as SQLAlchemy sent them to
    the database at ``url``) replayed bare: connect, run once (the rows), close."""

    sql: str
    parameters: Any
    backend: str
    """``sqlite`` or ``postgresql``."""

    def replay(self, url: str, sql: str, parameters: Any) -> None:
        """Keep the statement to replay on ``url`` (called once the subclass has captured it)."""
        self.sql, self.parameters, self._url = sql, parameters, url
        self.backend = "sqlite" if url.startswith("sqlite") else "postgresql"
        self._conn: Any = None

    def open(self) -> None:
        """Connect (call on the thread that runs :meth:`run`)."""
        if self.backend == "sqlite":
            self._conn = sqlite3.connect(self._url.removeprefix("sqlite:///"), check_same_thread=False)
        else:
            self._conn = psycopg.connect(libpq(self._url), autocommit=True)

    def run(self) -> int:
        """Run the statement once; the rows it returned."""
        return len(self._conn.execute(self.sql, self.parameters).fetchall())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


@contextlib.asynccontextmanager
async def bare_side(query: BareStatement) -> AsyncIterator[Callable[[], Awaitable[int]]]:
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1, thread_name_prefix="bench-monitor-bare") as executor:
        await loop.run_in_executor(executor, query.open)
        try:
            yield lambda: loop.run_in_executor(executor, query.run)
        finally:
            await loop.run_in_executor(executor, query.close)


async def _timed(call: Callable[[], Awaitable[object]], latencies: list[int], errors: list[str]) -> int:
    started = time.perf_counter_ns()
    try:
        await call()
    except Exception as error:  # counted, as run_load counts them
        errors.append(repr(error))
    else:
        latencies.append(time.perf_counter_ns() - started)
    return time.perf_counter_ns() - started


def _result(latencies: list[int], errors: list[str], spent_ns: int) -> LoadResult:
    ordered = sorted(latencies)
    return LoadResult(
        ops_per_s=len(ordered) / (spent_ns / 1e9) if spent_ns else 0.0,
        p50_ms=percentile(ordered, 50) / 1e6,
        p99_ms=percentile(ordered, 99) / 1e6,
        count=len(ordered),
        errors=len(errors),
        first_error=errors[0] if errors else None,
        concurrency=1,
        duration_s=spent_ns / 1e9,
        latencies_ns=tuple(ordered),
    )


async def alternate(
    subject: Callable[[], Awaitable[object]],
    baseline: Callable[[], Awaitable[object]],
    *,
    duration_s: float,
    min_calls: int = 3,
) -> tuple[LoadResult, LoadResult]:
    """Time one call at a time in the order B S S B (repeated) after one unrecorded call each,
    until each side has spent ``duration_s`` and made ``min_calls`` calls; ops/s is calls per
    second of that side's own time. A query of a second or more would fit no segment of
    ``compare_load``; this measures it whatever it takes, and the ABBA order still cancels a drift."""
    await _timed(baseline, [], [])
    await _timed(subject, [], [])
    sides: dict[str, tuple[list[int], list[str]]] = {"S": ([], []), "B": ([], [])}
    spent = {"S": 0, "B": 0}
    calls = {"S": subject, "B": baseline}
    while (
        min(spent.values()) < duration_s * 1e9
        or min(len(v[0]) + len(v[1]) for v in sides.values()) < min_calls
    ):
        for side in "BSSB":
            spent[side] += await _timed(calls[side], *sides[side])
    return _result(*sides["S"], spent["S"]), _result(*sides["B"], spent["B"])
