"""Server CPU time per call: the figure a loaded machine disturbs least.

Throughput ratios on these 2 shared cores move with whatever else runs (the load client
included); the CPU seconds a server process spends per call move much less, since they count
only that process's own work. Benchmarks that can name their server's pid add this to a row's
note: the subject server's CPU per call beside the bare echo server's, over the same number of
calls at the same concurrency, measured one after the other.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

__all__ = ["CPU_CALLS", "cpu_note", "cpu_seconds", "server_cpu_per_call"]

CPU_CALLS = 3000
"""Calls per measurement (default of :func:`server_cpu_per_call`)."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def server_cpu_per_call(
    pid: int, call: Callable[[], Awaitable[object]], concurrency: int, calls: int = CPU_CALLS
) -> float:
    """Server ``pid``'s CPU milliseconds per call over ``calls`` calls, ``concurrency`` in flight."""
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    before = cpu_seconds(pid)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (cpu_seconds(pid) - before) / calls * 1e3


def cpu_note(subject_ms: float, echo_ms: float) -> str:
    """The note text for a subject's CPU per call beside the echo server's (echo ÷ subject: the
    share of a call's server CPU that a bare unary call needs anyway)."""
    ratio = echo_ms / subject_ms if subject_ms > 0 else float("nan")
    return f"server CPU per call {subject_ms:.3f} ms vs echo {echo_ms:.3f} ms (ratio {ratio:.2f})"
