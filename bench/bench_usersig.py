"""``usersig``: UserSig verification locally and the room-entry gate over gRPC (issue 5).

Rows, each against a baseline measured in the same run:

- ``verify_usersig`` (decode, inflate, parse, check claims, HMAC, constant-time compare) against
  a bare HMAC-SHA256 of the same string to sign: the format's floor. Single-threaded loop; latency
  per operation measured around every call. One token again and again: decoding comes from the
  verifier's per-token cache, the HMAC and every claim check run on every call.
- the same with ``_COLD_TOKENS`` distinct tokens in turn (more than the decode cache holds), so every
  call decodes: the path of a token seen for the first time.
- ``AuthorizeRoomEntry`` RPCs of ``rtc-console serve`` (SQLite, data-plane token, a valid UserSig,
  advanced permission control off) against the bare echo server at ``--concurrency`` in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import sys
import time
from collections.abc import Awaitable, Callable

import grpc

from bench.echo import echo_call, echo_process
from bench.load import LoadResult, percentile
from bench.procs import subprocess_server
from bench.registry import BenchConfig, Row, benchmark
from bench.rtc_servers import CLI, PORT_LINE, create_accounts, migrate, sqlite_backend
from bench.server_cpu import cpu_note, server_cpu_per_call
from bench.shaped_echo import shaped_call, shaped_echo_process
from rtcconsole._usersig import DECODE_CACHE_ENTRIES
from rtcconsole.usersig import generate_usersig, verify_usersig
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import app_service_pb2_grpc as app_grpc
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import auth_service_pb2_grpc as auth_grpc

__all__ = ["usersig"]

NAME = "usersig"
_TOKEN = "bench-data-plane-token"
_SDK_APP_ID = 1_400_000_001
_KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
_TIMEOUT_S = 10.0
_COLD_TOKENS = 3 * DECODE_CACHE_ENTRIES


def _timed_loop(fn: Callable[[], object], seconds: float) -> LoadResult:
    """Call ``fn`` back to back for ``seconds``; every call timed on its own."""
    latencies: list[int] = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        for _ in range(200):
            t0 = time.perf_counter_ns()
            fn()
            latencies.append(time.perf_counter_ns() - t0)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return LoadResult(
        ops_per_s=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 50) / 1e6,
        p99_ms=percentile(latencies, 99) / 1e6,
        count=len(latencies),
        errors=0,
        first_error=None,
        concurrency=1,
        duration_s=elapsed,
        latencies_ns=tuple(latencies),
    )


def _local_rows(config: BenchConfig) -> list[Row]:
    now = int(time.time())
    token = generate_usersig(sdk_app_id=_SDK_APP_ID, secret_key=_KEY, user_id="alice", now=now)
    to_sign = (
        f"TLS.identifier:alice\nTLS.sdkappid:{_SDK_APP_ID}\nTLS.time:{now}\nTLS.expire:15552000\n"
    ).encode()

    def verify() -> None:
        assert verify_usersig(token, sdk_app_id=_SDK_APP_ID, secret_key=_KEY, user_id="alice", now=now).ok

    def bare_hmac() -> None:
        hmac.new(_KEY.encode(), to_sign, hashlib.sha256).digest()

    cold_tokens = [
        generate_usersig(sdk_app_id=_SDK_APP_ID, secret_key=_KEY, user_id="alice", now=now - i)
        for i in range(_COLD_TOKENS)
    ]
    cold_next = itertools.cycle(cold_tokens).__next__

    def verify_cold() -> None:
        token = cold_next()
        assert verify_usersig(token, sdk_app_id=_SDK_APP_ID, secret_key=_KEY, user_id="alice", now=now).ok

    half = max(config.duration_s / 2, 0.5)
    rows: list[Row] = []
    for subject_name, fn in (
        ("verify_usersig (local)", verify),
        ("verify_usersig (local, cold)", verify_cold),
    ):
        rounds = [(_timed_loop(fn, half), _timed_loop(bare_hmac, half)) for _ in range(2)]
        subject = rounds[0][0] if rounds[0][0].ops_per_s >= rounds[1][0].ops_per_s else rounds[1][0]
        baseline = rounds[0][1] if rounds[0][1].ops_per_s >= rounds[1][1].ops_per_s else rounds[1][1]
        rows.append(
            Row.from_results(
                benchmark=NAME,
                subject=subject_name,
                result=subject,
                baseline="HMAC-SHA256 of the same string",
                baseline_result=baseline,
                note=f"{subject_name}: one thread, best of two rounds per side; the baseline is the floor"
                + ("; every call decodes (distinct tokens)" if fn is verify_cold else ""),
            )
        )
    return rows


async def _rpc_rows(config: BenchConfig) -> list[Row]:
    async with sqlite_backend() as backend, echo_process() as echo, shaped_echo_process() as shaped:
        await migrate(backend.url)
        (owner,) = await create_accounts(backend.url, 1)
        serve = [
            *CLI, "--log-level", "INFO", "serve", "--listen", "127.0.0.1:0",
            "--database-url", backend.url, "--data-plane-token", _TOKEN, "--http-listen", "off",
        ]  # fmt: skip
        async with (
            subprocess_server(serve, ready_port_from=PORT_LINE) as server,
            grpc.aio.insecure_channel(server.target) as channel,
            grpc.aio.insecure_channel(echo.target) as echo_channel,
            grpc.aio.insecure_channel(shaped.target) as shaped_channel,
        ):
            apps = app_grpc.AppServiceStub(channel)
            auth = auth_grpc.AuthServiceStub(channel)
            app = (await apps.CreateApp(app_pb.CreateAppRequest(name="bench_gate"), metadata=owner)).app
            secret = await auth.GetAppSecretKey(
                auth_pb.GetAppSecretKeyRequest(sdk_app_id=app.sdk_app_id), metadata=owner
            )
            user_sig = generate_usersig(
                sdk_app_id=app.sdk_app_id, secret_key=secret.secret_key, user_id="bob"
            )
            request = auth_pb.AuthorizeRoomEntryRequest(
                sdk_app_id=app.sdk_app_id, room_id=1, user_id="bob", user_sig=user_sig
            )
            data_plane = (("authorization", f"Bearer {_TOKEN}"),)
            answer = await auth.AuthorizeRoomEntry(request, metadata=data_plane)
            assert answer.allowed, answer

            def authorize() -> Awaitable[auth_pb.AuthorizeRoomEntryResponse]:
                return auth.AuthorizeRoomEntry(request, metadata=data_plane, timeout=_TIMEOUT_S)

            print(f"  {NAME}: AuthorizeRoomEntry", file=sys.stderr, flush=True)
            echo_authorize = echo_call(
                echo_channel, payload_bytes=max(answer.ByteSize(), 1), timeout_s=_TIMEOUT_S
            )
            subject, baseline = await config.compare(authorize, echo_authorize)
            cpu = cpu_note(
                await server_cpu_per_call(server.pid, authorize, config.concurrency),
                await server_cpu_per_call(echo.pid, echo_authorize, config.concurrency),
            )
            print(f"  {NAME}: the servicer-shaped echo (the stack's ceiling)", file=sys.stderr, flush=True)
            shaped_authorize = shaped_call(shaped_channel, request, data_plane, timeout_s=_TIMEOUT_S)
            shaped_result, shaped_baseline = await config.compare(shaped_authorize, echo_authorize)
            ours, ceiling = await config.compare(authorize, shaped_authorize)
            shaped_cpu = cpu_note(
                await server_cpu_per_call(shaped.pid, shaped_authorize, config.concurrency),
                await server_cpu_per_call(echo.pid, echo_authorize, config.concurrency),
            )
    c = config.concurrency
    return [
        Row.from_results(
            benchmark=NAME,
            subject=f"AuthorizeRoomEntry (sqlite) c={c}",
            result=subject,
            baseline=f"echo c={c}",
            baseline_result=baseline,
            note="AuthorizeRoomEntry: app lookup + billing state + R14 flag + UserSig verify per call; "
            + cpu,
        ),
        Row.from_results(
            benchmark=NAME,
            subject=f"servicer-shaped echo c={c}",
            result=shaped_result,
            baseline=f"echo c={c}",
            baseline_result=shaped_baseline,
            note="the stack's ceiling for any servicer: the request parsed, the metadata read, one "
            "pass-through interceptor, a prebuilt answer (bench/shaped_echo.py); " + shaped_cpu,
        ),
        Row.from_results(
            benchmark=NAME,
            subject=f"AuthorizeRoomEntry (sqlite) c={c}",
            result=ours,
            baseline=f"servicer-shaped echo c={c}",
            baseline_result=ceiling,
            note="what our own code costs a room entry, above what the stack costs every servicer",
        ),
    ]


@benchmark(NAME)
async def usersig(config: BenchConfig) -> list[Row]:
    """Local verify vs bare HMAC; AuthorizeRoomEntry vs echo."""
    rows = await asyncio.to_thread(_local_rows, config)
    return rows + await _rpc_rows(config)
