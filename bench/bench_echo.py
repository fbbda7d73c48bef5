"""``echo-self``: the echo baseline against a second echo server (noise check).

Both sides are identical separate ``python -m bench.echo`` processes, so every
ratio should be about 1.00; how far it strays on a given machine is the noise
floor below which no other ratio in the table means anything.
"""

from __future__ import annotations

import grpc

from bench.echo import DEFAULT_PAYLOAD_BYTES, echo_call, echo_server
from bench.registry import BenchConfig, Row, benchmark


@benchmark("echo-self")
async def echo_self(config: BenchConfig) -> list[Row]:
    """Echo server vs. an identical echo server: the ratio shows the run's noise (expect ~1.00)."""
    levels = [config.concurrency] if config.quick or config.concurrency == 1 else [config.concurrency, 1]
    rows: list[Row] = []
    async with (
        echo_server() as subject_target,
        echo_server() as baseline_target,
        grpc.aio.insecure_channel(subject_target) as subject_channel,
        grpc.aio.insecure_channel(baseline_target) as baseline_channel,
    ):
        for concurrency in levels:
            subject, baseline = await config.compare(
                echo_call(subject_channel), echo_call(baseline_channel), concurrency=concurrency
            )
            rows.append(
                Row.from_results(
                    benchmark="echo-self",
                    subject=f"echo c={concurrency}",
                    result=subject,
                    baseline=f"echo c={concurrency}",
                    baseline_result=baseline,
                    note=f"unary, {DEFAULT_PAYLOAD_BYTES} B payload" if concurrency == levels[0] else "",
                )
            )
    return rows
