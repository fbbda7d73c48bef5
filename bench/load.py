"""Closed-loop load generator: keep N calls in flight, measure each one.

``run_load`` starts ``concurrency`` worker coroutines; each loops "issue one call,
await it, record its latency" until the measurement window ends, so exactly
``concurrency`` calls are in flight at any moment (a closed-loop load, like
``ghz --concurrency`` or ``wrk -c``). Latency is measured per call with
``time.perf_counter_ns``.

Timeline of one run::

    |-- warmup_s (not recorded) --|------ duration_s (recorded) ------|-- drain --|

A call is recorded when it *completes* inside the recorded window, whenever it
started; calls still in flight at the end of the window are awaited (up to
``drain_timeout_s``) but not recorded. So ``ops_per_s = count / duration_s``.

Percentiles use the **nearest-rank** method (no interpolation): the p-th
percentile of n sorted samples is the sample of rank ``ceil(p / 100 * n)``
(1-based), so it is always a latency that was actually observed.

``compare_load`` runs a subject and its baseline in alternating segments
(baseline, subject, subject, baseline, ...) so that a slow drift of the machine
(another job starting, thermal throttling) weighs on both sides equally.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "Call",
    "LoadResult",
    "compare_load",
    "merge_results",
    "percentile",
    "run_load",
]

Call = Callable[[], Awaitable[object]]
"""A zero-argument factory of one request: each call must start a new request."""

_NS_PER_S = 1_000_000_000
_NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class LoadResult:
    """The outcome of one closed-loop load run (or of several merged runs)."""

    ops_per_s: float
    """Successful calls completed per second of the recorded window (calls/s)."""
    p50_ms: float
    """Median latency of the successful calls (milliseconds); NaN when ``count == 0``."""
    p99_ms: float
    """99th-percentile latency of the successful calls, nearest rank (milliseconds); NaN when none."""
    count: int
    """Successful calls completed inside the recorded window."""
    errors: int
    """Calls that raised an ``Exception`` and completed inside the recorded window."""
    first_error: str | None
    """``repr`` of the first exception counted in ``errors``; None when there were none."""
    concurrency: int
    """Calls kept in flight (worker coroutines)."""
    duration_s: float
    """Length of the recorded window (seconds); the sum of the windows for merged results."""
    latencies_ns: tuple[int, ...] = field(default=(), repr=False, compare=False)
    """Every recorded latency, sorted ascending (nanoseconds); used to merge results."""

    @property
    def error_rate(self) -> float:
        """Errors as a fraction of all calls completed in the window (0.0 to 1.0)."""
        total = self.count + self.errors
        return self.errors / total if total else 0.0


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Return the nearest-rank ``p``-th percentile of ``sorted_values`` (ascending).

    ``p`` is in percent, 0 to 100. The result has the unit of the values; NaN
    for an empty sequence. ``p == 0`` gives the minimum, ``p == 100`` the maximum.
    """
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"percentile must be within [0, 100], got {p}")
    n = len(sorted_values)
    if n == 0:
        return math.nan
    # round() absorbs float noise such as 99.9 * 1000 / 100 == 999.0000000000001.
    rank = max(1, math.ceil(round(p * n / 100.0, 9)))
    return float(sorted_values[rank - 1])


def _result(
    latencies_ns: list[int],
    *,
    errors: int,
    first_error: str | None,
    concurrency: int,
    duration_s: float,
) -> LoadResult:
    latencies_ns.sort()
    return LoadResult(
        ops_per_s=len(latencies_ns) / duration_s,
        p50_ms=percentile(latencies_ns, 50) / _NS_PER_MS,
        p99_ms=percentile(latencies_ns, 99) / _NS_PER_MS,
        count=len(latencies_ns),
        errors=errors,
        first_error=first_error,
        concurrency=concurrency,
        duration_s=duration_s,
        latencies_ns=tuple(latencies_ns),
    )


async def run_load(
    call: Call,
    *,
    concurrency: int = 64,
    duration_s: float = 5.0,
    warmup_s: float = 1.0,
    drain_timeout_s: float = 10.0,
) -> LoadResult:
    """Keep ``concurrency`` calls of ``call()`` in flight and measure them.

    ``duration_s`` is the recorded window (seconds), preceded by ``warmup_s``
    seconds of identical but unrecorded load. Exceptions raised by a call are
    counted in ``errors``, never propagated. After the window, in-flight calls
    get ``drain_timeout_s`` seconds to finish before they are cancelled (give
    your calls a deadline so that a stuck server cannot hang the benchmark).

    A call that never suspends (returns without awaiting real I/O) starves the
    other workers; the generator is meant for calls that do I/O.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    if duration_s <= 0:
        raise ValueError(f"duration_s must be > 0, got {duration_s}")
    if warmup_s < 0:
        raise ValueError(f"warmup_s must be >= 0, got {warmup_s}")

    latencies: list[int] = []
    errors = 0
    first_error: str | None = None
    clock = time.perf_counter_ns
    window_start = clock() + int(warmup_s * _NS_PER_S)
    window_end = window_start + int(duration_s * _NS_PER_S)

    async def worker() -> None:
        nonlocal errors, first_error
        while True:
            started = clock()
            if started >= window_end:
                return
            try:
                await call()
            except Exception as exc:
                finished = clock()
                if window_start <= finished < window_end:
                    errors += 1
                    if first_error is None:
                        first_error = repr(exc)
                # A call that fails at once never suspends: yield so that the
                # other workers still run.
                await asyncio.sleep(0)
                continue
            finished = clock()
            if window_start <= finished < window_end:
                latencies.append(finished - started)

    tasks = [asyncio.create_task(worker(), name=f"load-worker-{i}") for i in range(concurrency)]
    try:
        await asyncio.wait(tasks, timeout=warmup_s + duration_s + drain_timeout_s)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return _result(
        latencies,
        errors=errors,
        first_error=first_error,
        concurrency=concurrency,
        duration_s=(window_end - window_start) / _NS_PER_S,
    )


def merge_results(results: Sequence[LoadResult]) -> LoadResult:
    """Combine runs of the same call into one result.

    Counts, errors and window lengths add up; percentiles are recomputed from
    the pooled latencies; ``first_error`` is the first run's that has one.
    """
    if not results:
        raise ValueError("merge_results needs at least one result")
    pooled: list[int] = []
    for result in results:
        pooled.extend(result.latencies_ns)
    return _result(
        pooled,
        errors=sum(r.errors for r in results),
        first_error=next((r.first_error for r in results if r.first_error is not None), None),
        concurrency=results[0].concurrency,
        duration_s=sum(r.duration_s for r in results),
    )


async def compare_load(
    subject: Call,
    baseline: Call,
    *,
    concurrency: int = 64,
    duration_s: float = 5.0,
    warmup_s: float = 1.0,
    rounds: int = 2,
) -> tuple[LoadResult, LoadResult]:
    """Measure ``subject`` and ``baseline`` in alternating segments; return (subject, baseline).

    Each side gets ``rounds`` segments of ``duration_s / rounds`` recorded
    seconds, each preceded by ``warmup_s / rounds`` seconds of warmup, in the
    order B S S B B S ... (ABBA), so each side is recorded for ``duration_s``
    seconds in total and a linear drift of the machine cancels out.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    segment_s = duration_s / rounds
    segment_warmup_s = warmup_s / rounds
    runs: dict[str, list[LoadResult]] = {"subject": [], "baseline": []}
    calls = {"subject": subject, "baseline": baseline}
    for i in range(rounds):
        order = ("baseline", "subject") if i % 2 == 0 else ("subject", "baseline")
        for side in order:
            runs[side].append(
                await run_load(
                    calls[side],
                    concurrency=concurrency,
                    duration_s=segment_s,
                    warmup_s=segment_warmup_s,
                )
            )
    return merge_results(runs["subject"]), merge_results(runs["baseline"])
