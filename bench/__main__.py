"""``python -m bench [names...]``: run benchmarks and print one table.

Progress and the run's context go to stderr, the table (and notes) to stdout.
Exit status: 0 when every selected benchmark ran without errors, 1 when a
benchmark raised or a row counted failed operations, 2 on bad arguments, 130
when interrupted (SIGINT or SIGTERM; server subprocesses are stopped first).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import grpc

from bench.registry import BenchConfig, Benchmark, Row, discover
from bench.table import format_table, notes

QUICK_DURATION_S = 1.0
"""``--quick`` recorded seconds per side, unless ``--duration`` is given."""
QUICK_WARMUP_S = 0.3
"""``--quick`` warmup seconds per side, unless ``--warmup`` is given."""


def _parser(available: dict[str, Benchmark]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run rtc-console benchmarks against their same-run baselines and print one table.",
        epilog="benchmarks: " + (", ".join(available) or "(none)"),
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    parser.add_argument("--duration", type=float, metavar="S", help="recorded seconds per side (default 5)")
    parser.add_argument("--warmup", type=float, metavar="S", help="warmup seconds per side (default 1)")
    parser.add_argument(
        "--concurrency", type=int, default=64, metavar="N", help="calls in flight (default 64)"
    )
    parser.add_argument(
        "--segment",
        type=float,
        default=0.25,
        metavar="S",
        help="seconds per alternating subject/baseline segment (default %(default)s)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_DURATION_S} s / {QUICK_WARMUP_S} s warmup, smaller data sets",
    )
    parser.add_argument(
        "--scale",
        choices=("full", "small"),
        default="full",
        help="data set size of the benchmarks that build one (monitor: 14 days or one hour)",
    )
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="also write the rows and run context as JSON"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return parser


def _context(config: BenchConfig) -> dict[str, Any]:
    """Facts about the run that a reader of the numbers needs."""
    try:
        load = os.getloadavg()
    except OSError:  # not available on this platform
        load = (float("nan"),) * 3
    return {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_1m": round(load[0], 2),
        "duration_s": config.duration_s,
        "warmup_s": config.warmup_s,
        "concurrency": config.concurrency,
        "segment_s": config.segment_s,
        "rounds": config.rounds,
        "quick": config.quick,
        "scale": config.scale,
    }


async def _run(selected: list[Benchmark], config: BenchConfig) -> tuple[list[Row], list[str]]:
    # SIGTERM cancels the run like Ctrl-C does, so server subprocesses are stopped.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    rows: list[Row] = []
    failed: list[str] = []
    for bench in selected:
        print(f"running {bench.name} ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            new_rows = await bench.fn(config)
        except Exception:
            traceback.print_exc()
            print(f"FAILED {bench.name}", file=sys.stderr, flush=True)
            failed.append(bench.name)
            continue
        rows.extend(new_rows)
        print(f"  {bench.name}: {len(new_rows)} rows in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return rows, failed


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the selected benchmarks, print the table; return the exit status."""
    available = discover()
    parser = _parser(available)
    args = parser.parse_args(argv)
    if args.list:
        width = max((len(name) for name in available), default=0)
        for name, bench in available.items():
            print(f"{name.ljust(width)}  {bench.description}")
        return 0
    unknown = [name for name in args.names if name not in available]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
    config = BenchConfig(
        duration_s=args.duration if args.duration is not None else (QUICK_DURATION_S if args.quick else 5.0),
        warmup_s=args.warmup if args.warmup is not None else (QUICK_WARMUP_S if args.quick else 1.0),
        concurrency=args.concurrency,
        segment_s=args.segment,
        quick=args.quick,
        scale=args.scale,
    )
    if config.duration_s <= 0 or config.warmup_s < 0 or config.concurrency < 1 or config.segment_s <= 0:
        parser.error("need --duration > 0, --warmup >= 0, --concurrency >= 1, --segment > 0")
    selected = [available[name] for name in dict.fromkeys(args.names or available)]

    context = _context(config)
    print(
        "context: " + ", ".join(f"{key}={value}" for key, value in context.items()),
        file=sys.stderr,
        flush=True,
    )
    try:
        rows, failed = asyncio.run(_run(selected, config))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        return 130

    print(format_table(rows))
    for line in notes(rows):
        print(line)
    for name in failed:
        print(f"! {name}: FAILED (traceback on stderr)")
    if args.json is not None:
        document = {"context": context, "failed": failed, "rows": [row.to_dict() for row in rows]}
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    had_errors = any(row.errors or row.baseline_errors for row in rows)
    return 1 if failed or had_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
