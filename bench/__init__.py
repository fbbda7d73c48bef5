"""Benchmarks of rtc-console, each measured against a baseline in the same run.

Run ``python -m bench --help``; see ``bench/README.md``. This package re-exports
the harness API used by the ``bench_*.py`` modules. ``bench.echo`` and
``bench.procs`` are imported explicitly (they pull in grpc and run as
subprocess entry points).
"""

from bench.load import LoadResult, compare_load, merge_results, percentile, run_load
from bench.registry import BenchConfig, Benchmark, Row, benchmark, discover, registered

__all__ = [
    "BenchConfig",
    "Benchmark",
    "LoadResult",
    "Row",
    "benchmark",
    "compare_load",
    "discover",
    "merge_results",
    "percentile",
    "registered",
    "run_load",
]
