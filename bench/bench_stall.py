"""``stall``: what one tenant's costly requests do to everybody else (issue 10 #1).

The subject and the baseline are the same calls, from a bystander account at one call in
flight (so each figure is a latency): ``GetApp`` of its own app, and the gRPC health check.
The baseline runs on an idle server; the subject runs while an attacker account keeps
``ATTACKERS`` uploads of the largest image a material may be (8192 x 8192 pixels, decoded in
full to be checked) in flight, each deleted again so the quota never stops it. Segments
alternate idle / attacked in the ABBA order of ``compare_load``, so machine drift cancels.

A ratio near 1 means the attack does not reach the bystander; the image decoding runs off
the SQLite store thread and off the event loop (issue 10), so on a 2-core machine what is
left is the CPU the decoding takes from everybody.

``--quick`` runs SQLite only and a smaller image.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image

from bench.load import LoadResult, merge_results, run_load
from bench.procs import subprocess_server
from bench.registry import BenchConfig, Row, benchmark
from bench.rtc_servers import (
    CLI,
    PORT_LINE,
    Backend,
    create_accounts,
    migrate,
    on_each_backend,
)
from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import app_service_pb2_grpc as pb_grpc

__all__ = ["stall"]

NAME = "stall"
ATTACKERS = 4
"""Uploads the attacker keeps in flight."""
SIDE, QUICK_SIDE = 8192, 2048
"""Width and height of the attacker's image, in pixels (8192: ``MAX_SIDE`` of materials)."""
CALL_TIMEOUT_S = 60.0
Call = Callable[[], Awaitable[Any]]


def _image(side: int) -> bytes:
    """A PNG of ``side`` x ``side`` pixels that compresses well below the 2 MiB cap."""
    picture = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=False, compress_level=9)
    return out.getvalue()


@contextlib.asynccontextmanager
async def _attack(upload: Call, counter: list[int]) -> AsyncIterator[None]:
    """Keep :data:`ATTACKERS` uploads in flight until the block ends."""

    async def loop() -> None:
        while True:
            await upload()
            counter[0] += 1

    tasks = [asyncio.create_task(loop()) for _ in range(ATTACKERS)]
    try:
        await asyncio.sleep(0.5)  # let every upload reach the server before recording
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                await task
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                raise RuntimeError("the attacker's upload failed") from task.exception()


async def _compare(
    victim: Call, upload: Call, config: BenchConfig, uploads: list[int]
) -> tuple[LoadResult, LoadResult]:
    """(attacked, idle): ABBA segments of ``victim`` at one call in flight."""
    segment_s = config.duration_s / config.rounds
    warmup_s = config.warmup_s / config.rounds
    runs: dict[str, list[LoadResult]] = {"attacked": [], "idle": []}
    for i in range(config.rounds):
        for side in ("idle", "attacked") if i % 2 == 0 else ("attacked", "idle"):
            if side == "idle":
                runs[side].append(
                    await run_load(victim, concurrency=1, duration_s=segment_s, warmup_s=warmup_s)
                )
                continue
            async with _attack(upload, uploads):
                runs[side].append(
                    await run_load(victim, concurrency=1, duration_s=segment_s, warmup_s=warmup_s)
                )
    return merge_results(runs["attacked"]), merge_results(runs["idle"])


async def _measure(config: BenchConfig, backend: Backend) -> list[Row]:
    side = QUICK_SIDE if config.quick else SIDE
    content = _image(side)
    print(f"  {NAME}: {backend.label}: migrate, two accounts", file=sys.stderr, flush=True)
    await migrate(backend.url)
    attacker, bystander = await create_accounts(backend.url, 2)
    serve = [*CLI, "--log-level", "INFO", "serve", "--listen", "127.0.0.1:0", "--database-url", backend.url]
    rows: list[Row] = []
    async with (
        subprocess_server(serve, ready_port_from=PORT_LINE) as server,
        grpc.aio.insecure_channel(server.target) as channel,
    ):
        apps = pb_grpc.AppServiceStub(channel)
        health: Any = health_pb2_grpc.HealthStub(channel)  # untyped stub
        own = await apps.CreateApp(pb.CreateAppRequest(name="bystander"), metadata=bystander)
        target = await apps.CreateApp(pb.CreateAppRequest(name="attacker"), metadata=attacker)
        get_request = pb.GetAppRequest(sdk_app_id=own.app.sdk_app_id)
        upload_request = pb.CreateMaterialRequest(
            sdk_app_id=target.app.sdk_app_id, name="big", content=content
        )

        async def upload() -> None:
            made = await apps.CreateMaterial(upload_request, metadata=attacker, timeout=CALL_TIMEOUT_S)
            delete = pb.DeleteMaterialRequest(
                sdk_app_id=target.app.sdk_app_id, material_id=made.material.material_id
            )
            await apps.DeleteMaterial(delete, metadata=attacker, timeout=CALL_TIMEOUT_S)

        await upload()  # the request is accepted: the attack is legitimate traffic

        victims: dict[str, Call] = {
            "GetApp": lambda: apps.GetApp(get_request, metadata=bystander, timeout=CALL_TIMEOUT_S),
            "health check": lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT_S),
        }
        for name, victim in victims.items():
            print(f"  {NAME}: {backend.label}: {name}", file=sys.stderr, flush=True)
            uploads = [0]
            attacked, idle = await _compare(victim, upload, config, uploads)
            rows.append(
                Row.from_results(
                    benchmark=NAME,
                    subject=f"{name} ({backend.label}) c=1, {ATTACKERS} uploads in flight",
                    result=attacked,
                    baseline=f"{name} c=1, idle",
                    baseline_result=idle,
                    note=f"{backend.note}; another account uploads {side}x{side} PNGs "
                    f"({len(content):,} B, decoded in full), kept in flight; {uploads[0]} of them "
                    "completed inside the attacked segments",
                )
            )
    return rows


@benchmark(NAME)
async def stall(config: BenchConfig) -> list[Row]:
    """A bystander's GetApp and health check while another tenant uploads huge images, vs idle."""
    return await on_each_backend(NAME, lambda backend: _measure(config, backend), postgres=not config.quick)
