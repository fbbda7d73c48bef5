"""One costly request never stalls the server (issue 10 #1).

A deliberately slow read is held in flight through the servicers' own read path;
meanwhile the health check and another account's GetApp answer, and the slow read is
still running when they do: an ordering, never a timing assertion.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import text

from rtcconsole_server.api.base import ServicerBase
from rtcconsole_server.server import Server
from tests.support import Tenant

SLOW = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000) "
    "SELECT count(*) FROM n",  # about 2.5 s of SQLite's VM
    "postgresql": "SELECT 1 FROM pg_sleep(3)",
}


async def test_a_slow_read_in_flight_holds_up_neither_health_nor_other_tenants(
    server: Server, tenant: Tenant, other_tenant: Tenant, backend: str
) -> None:
    app = await other_tenant.create_app("bystander")
    started = threading.Semaphore(0)
    attempts: list[str] = []

    def slow_read() -> int:
        attempts.append(threading.current_thread().name)
        started.release()
        with server.console.store.read_core() as connection:
            return int(connection.execute(text(SLOW[backend])).scalar_one())

    executor = ThreadPoolExecutor(max_workers=1)
    try:
        servicer = ServicerBase(server.console, executor)
        slow = asyncio.ensure_future(servicer.read(slow_read))
        # SQLite: the inline attempt is interrupted after its small budget, the second runs on a
        # thread; PostgreSQL reads run on a thread at once.
        wanted = 2 if backend == "sqlite" else 1
        for _ in range(wanted):
            await asyncio.to_thread(started.acquire)
        health: Any = health_pb2_grpc.HealthStub(tenant.channel)  # untyped stub
        answer = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
        assert (await other_tenant.get_app(app.sdk_app_id)).name == "bystander"
        assert not slow.done(), "the slow read should still be in flight"
        assert await slow > 0
        assert len(attempts) == wanted
        assert attempts[-1] != threading.main_thread().name
    finally:
        executor.shutdown(wait=True)
