"""``http``: GetApp through the HTTP door (Connect, binary and JSON) against GetApp over gRPC.

Issue 14 asks for the overhead of the HTTP door against direct gRPC for ``GetApp``, as a ratio
measured in the same run; nothing is asserted.

One ``rtc-console serve`` process on a fresh SQLite file (default settings, workers on) with
both doors open; one app, read over and over with the same request and API key:

* ``GetApp`` over gRPC (grpc.aio channel, HTTP/2), the baseline of both rows;
* ``GetApp`` over the door with the Connect protocol, ``application/proto``, from an
  ``httpx.AsyncClient`` (HTTP/1.1 keep-alive, as many connections as calls in flight);
* the same with ``application/json``.

The client runs in this process on the same 2 cores as the server, so a row's ratio counts the
client's cost too (httpx is pure Python, grpc's client is C). So each row's note also gives the
server's own CPU time per call on each side (``/proc/PID/stat`` user + system time over
:data:`bench.server_cpu.CPU_CALLS` calls at the same concurrency, measured one side after the
other), whose ratio is the door's cost on the server alone.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable

import grpc
import httpx

from bench.load import compare_load
from bench.procs import free_port, subprocess_server
from bench.registry import BenchConfig, Row, benchmark
from bench.rtc_servers import CLI, PORT_LINE, create_accounts, migrate, sqlite_backend
from bench.server_cpu import server_cpu_per_call
from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import app_service_pb2_grpc as pb_grpc

__all__ = ["http"]

NAME = "http"
CALL_TIMEOUT_S = 10.0
_PATH = "/rtcconsole.v1.AppService/GetApp"


def _checked(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200:
        raise RuntimeError(f"GetApp over HTTP: {response.status_code} {response.text[:200]}")
    return response


@benchmark(NAME)
async def http(config: BenchConfig) -> list[Row]:
    """GetApp over the HTTP door (Connect binary and JSON) vs GetApp over gRPC, one server (SQLite)."""
    c = config.concurrency
    async with sqlite_backend() as backend:
        await migrate(backend.url)
        (owner,) = await create_accounts(backend.url, 1)
        port = free_port()
        serve = [*CLI, "--log-level", "INFO", "serve", "--listen", "127.0.0.1:0",
                 "--http-listen", f"127.0.0.1:{port}", "--database-url", backend.url]  # fmt: skip
        limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
        async with (
            subprocess_server(serve, ready_port_from=PORT_LINE) as server,
            grpc.aio.insecure_channel(server.target) as channel,
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=CALL_TIMEOUT_S
            ) as door,
        ):
            stub = pb_grpc.AppServiceStub(channel)
            created = await stub.CreateApp(pb.CreateAppRequest(name="bench_http"), metadata=owner)
            request = pb.GetAppRequest(sdk_app_id=created.app.sdk_app_id)
            size = (await stub.GetApp(request, metadata=owner)).ByteSize()
            token = dict(owner)["authorization"]
            binary = {"authorization": token, "content-type": "application/proto"}
            as_json = {"authorization": token, "content-type": "application/json"}
            body = request.SerializeToString()
            json_body = f'{{"sdkAppId": "{request.sdk_app_id}"}}'.encode()

            def over_grpc() -> Awaitable[pb.GetAppResponse]:
                return stub.GetApp(request, metadata=owner, timeout=CALL_TIMEOUT_S)

            async def over_connect_proto() -> httpx.Response:
                return _checked(await door.post(_PATH, content=body, headers=binary))

            async def over_connect_json() -> httpx.Response:
                return _checked(await door.post(_PATH, content=json_body, headers=as_json))

            rows: list[Row] = []
            for label, call in (("proto", over_connect_proto), ("json", over_connect_json)):
                print(f"  {NAME}: GetApp over Connect ({label}) vs gRPC", file=sys.stderr, flush=True)
                subject, baseline = await compare_load(
                    call, over_grpc, concurrency=c, duration_s=config.duration_s,
                    warmup_s=config.warmup_s, rounds=config.rounds,
                )  # fmt: skip
                grpc_cpu = await server_cpu_per_call(server.pid, over_grpc, c)
                door_cpu = await server_cpu_per_call(server.pid, call, c)
                rows.append(
                    Row.from_results(
                        benchmark=NAME,
                        subject=f"GetApp via HTTP door, Connect {label} c={c}",
                        result=subject,
                        baseline=f"GetApp via gRPC c={c}",
                        baseline_result=baseline,
                        note=f"sqlite; same server, app, key; GetAppResponse {size} B; httpx client "
                        "(pure Python, HTTP/1.1) vs grpc's C client, on the same 2 cores; server CPU per "
                        f"call {door_cpu:.3f} ms via the door vs {grpc_cpu:.3f} ms via gRPC "
                        f"(ratio {grpc_cpu / door_cpu:.2f})",
                    )
                )
    return rows
