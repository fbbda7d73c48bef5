"""``rtc-console`` as real processes: start, serve, stop on SIGTERM; two replicas on one PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import app_service_pb2_grpc as pb_grpc
from rtcconsole_server.domain.apps import APP_QUOTA
from tests.e2e.processes import create_account, run_cli, serving
from tests.infra import PostgresDatabases


async def _create(target: str, key: str, name: str) -> pb.App | grpc.aio.AioRpcError:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.AppServiceStub(channel)
        try:
            response = await stub.CreateApp(
                pb.CreateAppRequest(name=name), metadata=(("authorization", f"Bearer {key}"),)
            )
            return response.app
        except grpc.aio.AioRpcError as error:
            return error


async def test_serve_answers_health_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'rtc.db'}"
    run_cli("migrate", "--database-url", url)
    _, key = create_account(url, "ops")
    with serving(url, "--data-plane-token", "dp-s3cret", log=tmp_path / "serve.log") as (process, target):
        async with grpc.aio.insecure_channel(target) as channel:
            stub: Any = health_pb2_grpc.HealthStub(channel)
            health = await stub.Check(health_pb2.HealthCheckRequest())
            assert health.status == health_pb2.HealthCheckResponse.SERVING
        app = await _create(target, key, "from_cli")
        assert isinstance(app, pb.App)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    logged = (tmp_path / "serve.log").read_text()
    assert "stopped" in logged
    # what it runs on, said at start (issue 11): the store file, the token's presence, never the token
    assert f"INFO rtcconsole_server: store: {url}\n" in logged
    assert "INFO rtcconsole_server: data-plane token: set\n" in logged and "dp-s3cret" not in logged
    assert f"listening on {target}" in logged


def test_admin_account_create_prints_the_key_once_and_stores_a_hash(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    account_id, key = create_account(url, "acme")
    assert account_id == 1 and key.startswith("rtc_")
    assert key.split("_", 2)[2].encode() not in (tmp_path / "rtc.db").read_bytes()
    again = run_cli("admin", "account", "create", "acme", "--json", "--database-url", url, check=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    billing = run_cli(
        "admin",
        "account",
        "billing",
        "acme",
        "--postpaid",
        "on",
        "--arrears",
        "on",
        "--json",
        "--database-url",
        url,
    )
    assert '"arrears": true' in billing.stdout


async def test_r1_holds_across_two_server_processes_on_one_postgresql(
    tmp_path: Path, postgres_database: PostgresDatabases
) -> None:
    url = postgres_database()
    run_cli("migrate", "--database-url", url)
    _, key = create_account(url, "racer")
    with (
        serving(url, "--no-workers", log=tmp_path / "a.log") as (_, first),
        serving(url, "--no-workers", log=tmp_path / "b.log") as (_, second),
    ):
        for i in range(APP_QUOTA - 1):
            assert isinstance(await _create(first, key, f"pre{i}"), pb.App)
        results = await asyncio.gather(
            *(_create(first if i % 2 else second, key, f"race{i}") for i in range(50))
        )
    won = [r for r in results if isinstance(r, pb.App)]
    lost = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(won) == 1, [r.details() for r in lost if r.code() != grpc.StatusCode.RESOURCE_EXHAUSTED]
    assert {e.code() for e in lost} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
