"""Benchmark registry: ``@benchmark("name")`` and discovery of ``bench/bench_*.py``.

A benchmark is an ``async def fn(config: BenchConfig) -> list[Row]``. Every row
pairs a subject with a baseline measured in the same run; the table prints
their ratio. Modules named ``bench_*.py`` in this package are imported by
``discover()``, so adding a benchmark is adding one file.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load import Call, LoadResult, compare_load

__all__ = [
    "BenchConfig",
    "BenchFn",
    "Benchmark",
    "Row",
    "benchmark",
    "discover",
    "registered",
]


@dataclass(frozen=True, kw_only=True)
class BenchConfig:
    """Run-wide settings handed to every benchmark function."""

    duration_s: float = 5.0
    """Recorded seconds per side (subject, baseline) of each measured row."""
    warmup_s: float = 1.0
    """Unrecorded seconds of load before recording, per side of each row."""
    concurrency: int = 64
    """Calls kept in flight by the load generator."""
    segment_s: float = 0.25
    """Target recorded seconds of one alternating subject/baseline segment (see ``rounds``)."""
    quick: bool = False
    """Smoke-test mode: benchmarks should shrink data sets and skip secondary rows."""
    scale: str = "full"
    """Size of the data sets that benchmarks build (``monitor``): ``full`` (the issue's figures)
    or ``small`` (a quick smoke run of the same code)."""

    @property
    def rounds(self) -> int:
        """Segments per side for ``compare_load``: about ``duration_s / segment_s``, even, >= 2.

        Short alternating segments spread bursts of foreign load over both sides;
        an even count makes the B S S B order cancel a linear drift.
        """
        n = max(1, round(self.duration_s / self.segment_s))
        return n + n % 2

    async def compare(
        self, subject: Call, baseline: Call, *, concurrency: int | None = None
    ) -> tuple[LoadResult, LoadResult]:
        """``compare_load`` of ``subject`` and ``baseline`` with this run's duration, warmup and
        rounds, at ``concurrency`` calls in flight (default: :attr:`concurrency`)."""
        return await compare_load(
            subject,
            baseline,
            concurrency=self.concurrency if concurrency is None else concurrency,
            duration_s=self.duration_s,
            warmup_s=self.warmup_s,
            rounds=self.rounds,
        )


@dataclass(frozen=True, kw_only=True)
class Row:
    """One line of the table: a subject and the baseline it is divided by.

    ``ops_per_s`` is whatever unit of work the benchmark defines (calls, rows,
    queries) per second; subject and baseline must use the same unit.
    """

    benchmark: str
    """Registered benchmark name."""
    subject: str
    """What is measured, e.g. ``GetApp (c=64)``."""
    ops_per_s: float
    """Subject throughput (operations/s)."""
    p50_ms: float | None
    """Subject median latency per operation (milliseconds); None if not measured."""
    p99_ms: float | None
    """Subject 99th-percentile latency (milliseconds); None if not measured."""
    baseline: str
    """What the subject is compared with, e.g. ``echo (c=64)``."""
    baseline_ops_per_s: float
    """Baseline throughput (operations/s)."""
    baseline_p50_ms: float | None = None
    """Baseline median latency (milliseconds)."""
    baseline_p99_ms: float | None = None
    """Baseline 99th-percentile latency (milliseconds)."""
    errors: int = 0
    """Failed subject operations during recording."""
    baseline_errors: int = 0
    """Failed baseline operations during recording."""
    first_error: str | None = None
    """``repr`` of the first failure of either side, for the notes under the table."""
    note: str = ""
    """Free text shown under the table (payload size, data set, ...)."""

    @property
    def ratio(self) -> float:
        """Subject throughput divided by baseline throughput (> 1: subject faster); NaN if no baseline."""
        if self.baseline_ops_per_s <= 0:
            return math.nan
        return self.ops_per_s / self.baseline_ops_per_s

    def to_dict(self) -> dict[str, Any]:
        """Return the row as JSON-ready values, ``ratio`` included (NaN becomes None)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            out[name] = getattr(self, name)
        out["ratio"] = self.ratio
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}

    @classmethod
    def from_results(
        cls,
        *,
        benchmark: str,
        subject: str,
        result: LoadResult,
        baseline: str,
        baseline_result: LoadResult,
        note: str = "",
    ) -> Row:
        """Build a row from two ``run_load``/``compare_load`` results."""
        return cls(
            benchmark=benchmark,
            subject=subject,
            ops_per_s=result.ops_per_s,
            p50_ms=result.p50_ms,
            p99_ms=result.p99_ms,
            baseline=baseline,
            baseline_ops_per_s=baseline_result.ops_per_s,
            baseline_p50_ms=baseline_result.p50_ms,
            baseline_p99_ms=baseline_result.p99_ms,
            errors=result.errors,
            baseline_errors=baseline_result.errors,
            first_error=result.first_error or baseline_result.first_error,
            note=note,
        )


BenchFn = Callable[[BenchConfig], Awaitable[list[Row]]]
"""The shape of a benchmark: config in, rows out."""


@dataclass(frozen=True)
class Benchmark:
    """A registered benchmark."""

    name: str
    """Name used on the command line and in the table."""
    fn: BenchFn
    """The coroutine function that measures and returns rows."""
    description: str
    """First line of the function's docstring (shown by ``--list``)."""


_REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str) -> Callable[[BenchFn], BenchFn]:
    """Register the decorated ``async def fn(config) -> list[Row]`` under ``name``.

    Names are unique; registering one twice raises ``ValueError``.
    """

    def register(fn: BenchFn) -> BenchFn:
        if name in _REGISTRY:
            raise ValueError(f"benchmark {name!r} is already registered by {_REGISTRY[name].fn!r}")
        doc = (getattr(fn, "__doc__", None) or "").strip()
        _REGISTRY[name] = Benchmark(name=name, fn=fn, description=doc.splitlines()[0] if doc else "")
        return fn

    return register


def discover() -> dict[str, Benchmark]:
    """Import every ``bench/bench_*.py`` module, then return ``registered()``."""
    package_dir = Path(__file__).resolve().parent
    for module in sorted(pkgutil.iter_modules([str(package_dir)]), key=lambda m: m.name):
        if module.name.startswith("bench_"):
            importlib.import_module(f"bench.{module.name}")
    return registered()


def registered() -> dict[str, Benchmark]:
    """Return the registered benchmarks by name, in registration order (a copy)."""
    return dict(_REGISTRY)
