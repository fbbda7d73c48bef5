"""Building and running the gRPC server.

``build_server`` wires store, live state, domain, servicers, health, reflection
and the worker group, and returns a :class:`Server` that is started and stopped
explicitly (tests build one on port 0 with a manual clock, on which its workers
also sleep). ``serve`` runs one until SIGTERM or SIGINT through the same
``run_until_signalled`` as the standalone workers, then stops it in the order
of :meth:`Server.stop`.

At start ``serve`` logs the store it uses (:func:`~rtcconsole_server.store.migrate.shown_url`:
no password), whether a data-plane token is set (never the token), the revision it migrated
to and the address it listens on. An address it cannot bind is a :class:`ListenError`
saying why (in use, not allowed, not on this machine), found by trying the address before
gRPC does, so that no gRPC error lines precede it.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import gc
import logging
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from rtcconsole.v1 import (
    app_service_pb2,
    app_service_pb2_grpc,
    auth_service_pb2,
    auth_service_pb2_grpc,
    config_service_pb2,
    config_service_pb2_grpc,
    ingest_service_pb2,
    ingest_service_pb2_grpc,
    monitor_service_pb2,
    monitor_service_pb2_grpc,
    usage_service_pb2,
    usage_service_pb2_grpc,
)
from rtcconsole_aggregator.runner import aggregator_worker
from rtcconsole_server.api.app_service import AppServicer
from rtcconsole_server.api.auth_service import AuthServicer
from rtcconsole_server.api.config_service import ConfigServicer
from rtcconsole_server.api.ingest_service import IngestServicer
from rtcconsole_server.api.interceptor import ErrorInterceptor
from rtcconsole_server.api.monitor_service import MonitorServicer
from rtcconsole_server.api.usage_service import UsageServicer
from rtcconsole_server.clock import Clock, SystemClock
from rtcconsole_server.domain.callbacks import Dispatcher
from rtcconsole_server.domain.console import Console
from rtcconsole_server.gateway import HttpDoor, MethodTable, intercepted
from rtcconsole_server.gateway.connect import ConsoleConnectApp
from rtcconsole_server.gateway.routes import Routes
from rtcconsole_server.live import LiveState, open_live_state
from rtcconsole_server.observability import BacklogCollector, Metrics, metrics_asgi_app
from rtcconsole_server.reflection import enable_reflection
from rtcconsole_server.settings import Settings, split_listen
from rtcconsole_server.store import GroupCommit, Store, open_store, upgrade
from rtcconsole_server.store.migrate import shown_url
from rtcconsole_server.tls import TlsError, listeners
from rtcconsole_server.workers import WorkerGroup, run_until_signalled
from rtcconsole_server.workers.appliers import applier_workers
from rtcconsole_server.workers.backlog import read_backlog
from rtcconsole_server.workers.dispatcher import dispatcher_worker, run_dispatcher
from rtcconsole_server.workers.retention import retention_worker

__all__ = [
    "SERVICE_NAMES",
    "ListenError",
    "Server",
    "build_server",
    "build_workers",
    "dispatcher_worker",
    "run_dispatcher",
    "serve",
]

log = logging.getLogger("rtcconsole_server")

SERVICE_NAMES = (
    app_service_pb2.DESCRIPTOR.services_by_name["AppService"].full_name,
    auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
    config_service_pb2.DESCRIPTOR.services_by_name["ConfigService"].full_name,
    ingest_service_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name,
    monitor_service_pb2.DESCRIPTOR.services_by_name["MonitorService"].full_name,
    usage_service_pb2.DESCRIPTOR.services_by_name["UsageService"].full_name,
)
_DB_THREADS = 16
_MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # a 2 MiB material plus room for the rest of the message
_NO_TOKEN = "not set: ingest and room-entry RPCs are refused"  # noqa: S105 (a log line, not a secret)
_WHY_NOT = {
    errno.EADDRINUSE: "address in use (is another rtc-console serve running? pick another --listen)",
    errno.EACCES: "permission denied (ports below 1024 need privileges; pick another --listen)",
    errno.EADDRNOTAVAIL: "no such address on this machine (pick one of its addresses, or 127.0.0.1)",
}


def _why_not(code: int, flag: str) -> str:
    """Why an address cannot be bound, naming the ``flag`` that gave it."""
    return _WHY_NOT.get(code, os.strerror(code).lower()).replace("--listen", flag)


class ListenError(Exception):
    """The server cannot listen on ``address``; ``reason`` says why and what to do."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"cannot listen on {address}: {reason}")
        self.address = address
        self.reason = reason


def _check_bindable(address: str, flag: str = "--listen") -> None:
    """Raise :class:`ListenError` unless ``address`` (``HOST:PORT``) can be bound: every address
    the host resolves to is tried, as gRPC does (with ``SO_REUSEADDR``, as gRPC sets it)."""
    try:
        host, port = split_listen(address)
    except ValueError as error:
        raise ListenError(address, str(error)) from None
    try:
        resolved = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ListenError(address, f"unknown host {host!r} ({error.strerror})") from None
    failures: list[int] = []
    for family, kind, proto, _, sockaddr in resolved:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(sockaddr)
            except OSError as error:
                failures.append(error.errno or 0)
    if errno.EADDRINUSE in failures or (failures and len(failures) == len(resolved)):
        code = errno.EADDRINUSE if errno.EADDRINUSE in failures else failures[0]
        raise ListenError(address, _why_not(code, flag))


@dataclass
class Server:
    """A built server: its address, domain and workers."""

    grpc_server: grpc.aio.Server
    port: int
    console: Console
    workers: WorkerGroup
    health: health.aio.HealthServicer
    settings: Settings
    _executor: ThreadPoolExecutor
    dispatcher: Dispatcher | None = None
    """The callback dispatcher (a worker of ``workers``); tests call its ``run_once``."""
    live: LiveState | None = None
    """Live state (Redis when ``settings.redis_url`` is set, else in process); closed by ``stop``."""
    http: HttpDoor | None = None
    """The HTTP door (``settings.http_address``): Connect, gRPC-Web, /metrics, /healthz, /readyz."""
    ready: bool = False
    """Takes calls: set once started, cleared when the drain begins (``/readyz``)."""
    metrics: Metrics | None = None
    """This server's series and registry (``/metrics``, decision 0033)."""

    @property
    def target(self) -> str:
        host = self.settings.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    async def start(self) -> None:
        """Listen, start the workers (unless ``settings.run_workers`` is off), report SERVING."""
        await self.grpc_server.start()
        if self.http is not None:
            await self.http.start()
        if self.settings.run_workers:
            await self.workers.start()
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.ready = True
        log.info("rtc-console listening on %s", self.target)

    async def stop(self, grace: float | None = None) -> None:
        """Stop in this order, so that a held server stream never keeps the drain waiting:

        1. health NOT_SERVING and ``/readyz`` 503 (load balancers stop sending calls);
        2. open live subscriptions end (their streams finish at once);
        3. gRPC and the HTTP door stop admitting calls; in-flight ones get ``grace`` seconds,
           then are cancelled;
        4. the workers stop (stop claiming, ``grace`` for the step in flight, cancel);
        5. the dispatcher's HTTP client, the live state, the store threads and the store close.
        """
        self.ready = False
        await self.health.enter_graceful_shutdown()
        if self.live is not None:
            await self.live.end_subscriptions()
        if self.http is not None:
            await asyncio.gather(self.grpc_server.stop(grace), self.http.stop(grace))
        else:
            await self.grpc_server.stop(grace)
        await self.workers.stop(grace or 0.0)
        await self._release()

    async def discard(self) -> None:
        """Release what a built server holds without having started it (a failed build)."""
        await self.grpc_server.stop(None)
        await self._release()

    async def _release(self) -> None:
        """Close the dispatcher's HTTP client, the live state, the store threads and the store."""
        if self.dispatcher is not None:
            await self.dispatcher.aclose()
        if self.live is not None:
            await self.live.close()
        self._executor.shutdown(wait=True)
        self.console.store.dispose()


def build_workers(console: Console, settings: Settings, executor: ThreadPoolExecutor) -> WorkerGroup:
    """The appliers, (``settings.run_aggregator``) the aggregator and (``settings.run_retention``)
    retention, on ``console``'s clock; the dispatcher is added by :func:`build_server`, which owns it."""
    group = WorkerGroup(executor, applier_workers(console, settings), clock=console.clock)
    if settings.run_aggregator:  # usage roll-up and billing (R16, R6); replicas coordinate in the store
        group.workers.append(aggregator_worker(console.store, console.clock, settings))
    if settings.run_retention:  # samples and client events older than the retention (decision 0024)
        group.workers.append(retention_worker(console.store, console.clock, settings, executor))
    return group


async def build_server(
    settings: Settings, *, clock: Clock | None = None, store: Store | None = None
) -> Server:
    """Wire everything for ``settings``; the server is not started yet."""
    clock = clock or SystemClock()
    store = store or open_store(settings.database_url)
    # SQLite has one writer at a time: one store thread serialises writes without
    # the busy-wait sleeps of contending connections (docs/decisions/0010).
    threads = 1 if store.dialect == "sqlite" else _DB_THREADS
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rtc-store")
    if settings.migrate:
        revision = await asyncio.get_running_loop().run_in_executor(executor, upgrade, store)
        log.info("store migrated to %s", revision)
    metrics = Metrics()  # this server's own registry (decision 0033)
    # connects lazily, on first use
    live = open_live_state(
        settings.redis_url, clock=clock, prefix=settings.redis_key_prefix, on_error=metrics.live_state_error
    )
    console = Console.build(store, clock, settings, live=live)
    interceptors = [ErrorInterceptor(metrics)]
    server = grpc.aio.server(
        interceptors=interceptors,
        options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    methods = MethodTable()  # the same handlers, for the HTTP door
    writes = GroupCommit(store, executor)  # one queue of write transactions (store/group_commit.py)
    registrations: list[tuple[Callable[[Any, Any], None], object]] = [
        (
            app_service_pb2_grpc.add_AppServiceServicer_to_server,
            AppServicer(console, executor, writes=writes),
        ),
        (
            auth_service_pb2_grpc.add_AuthServiceServicer_to_server,
            AuthServicer(console, executor, writes=writes),
        ),
        (
            config_service_pb2_grpc.add_ConfigServiceServicer_to_server,
            ConfigServicer(console, executor, writes=writes),
        ),
        (
            ingest_service_pb2_grpc.add_IngestServiceServicer_to_server,
            IngestServicer(console, executor, metrics=metrics, writes=writes),
        ),
        (
            usage_service_pb2_grpc.add_UsageServiceServicer_to_server,
            UsageServicer(console, executor, writes=writes),
        ),
        (
            monitor_service_pb2_grpc.add_MonitorServiceServicer_to_server,
            MonitorServicer(console, executor, metrics=metrics, writes=writes),
        ),
    ]
    for register, servicer in registrations:
        register(servicer, server)
        register(servicer, methods)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection(server, (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name))
    try:
        port = _bind(server, settings)
    except ListenError:
        executor.shutdown(wait=True)
        await live.close()
        store.dispose()
        raise
    workers = build_workers(console, settings, executor)
    dispatcher = Dispatcher.build(store, clock, settings, executor)
    workers.workers.append(dispatcher_worker(dispatcher, settings))
    workers.metrics = metrics
    metrics.watch(BacklogCollector(functools.partial(read_backlog, store, clock)))  # read at each scrape
    built = Server(server, port, console, workers, health_servicer, settings, executor, dispatcher, live=live)
    built.metrics = metrics
    if settings.http_address is not None:
        handlers = await intercepted(methods, interceptors)
        services = ConsoleConnectApp(handlers, read_max_bytes=_MAX_MESSAGE_BYTES)
        routes = Routes(
            services, ready=lambda: built.ready, store_ok=store.ping, metrics=metrics_asgi_app(metrics)
        )
        try:
            built.http = _http_door(routes, settings)
        except ListenError:
            await built.discard()
            raise
    return built


def _http_door(routes: Routes, settings: Settings) -> HttpDoor:
    """The HTTP door on ``settings.http_address``, HTTPS with the gRPC listener's certificate when
    it has one; :class:`ListenError` if it cannot listen there."""
    address = settings.http_address
    assert address is not None
    _check_bindable(address, "--http-listen")
    tls = (settings.tls_cert, settings.tls_key) if settings.tls_cert and settings.tls_key else None
    try:
        return HttpDoor(routes, address, tls=tls)
    except OSError as error:  # taken between the check and now
        raise ListenError(address, _why_not(error.errno or 0, "--http-listen")) from None


def _bind(server: grpc.aio.Server, settings: Settings) -> int:
    """Listen on ``settings.listen`` (plain text or TLS) and, with mutual TLS, on
    ``settings.tls_data_plane_listen`` (:mod:`~rtcconsole_server.tls`); the port of the first.
    :class:`ListenError` if it cannot (a TLS file that does not do is one too, saying why)."""
    try:
        credentials = listeners(settings)
    except TlsError as error:
        raise ListenError(settings.listen, str(error)) from None
    port = _bind_one(server, settings.listen, credentials.console, "--listen")
    if settings.tls_data_plane_listen is not None:
        _bind_one(server, settings.tls_data_plane_listen, credentials.data_plane, "--tls-data-plane-listen")
    log.info("%s", credentials.description)
    return port


def _bind_one(
    server: grpc.aio.Server, address: str, credentials: grpc.ServerCredentials | None, flag: str
) -> int:
    _check_bindable(address)
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError:  # taken between the check and now
        port = 0
    if port == 0:
        raise ListenError(address, f"gRPC could not bind it (pick another {flag})")
    return port


async def serve(settings: Settings) -> None:
    """``rtc-console serve``: run until SIGTERM or SIGINT, then stop (``settings.grace``, default 10 s)."""
    log.info("store: %s", shown_url(settings.database_url))
    log.info("data-plane token: %s", "set" if settings.data_plane_token else _NO_TOKEN)
    server = await build_server(settings)
    # The start-up objects (modules, descriptors, the console) live as long as the process: out of
    # every later full collection, which otherwise walks them all (~140,000 objects, ~100 ms each
    # on this machine, once per dozen 1,000-record ingest batches; docs/performance.md).
    gc.collect()
    gc.freeze()
    await run_until_signalled(server, grace=settings.grace, name="rtc-console serve")
