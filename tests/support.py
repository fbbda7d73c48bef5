"""Helpers for tests that talk to a real server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import pyotp
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import app_service_pb2_grpc as app_grpc
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import auth_service_pb2_grpc as auth_grpc
from rtcconsole.v1 import config_service_pb2_grpc as config_grpc
from rtcconsole_server.clock import Clock
from rtcconsole_server.server import Server, build_server
from rtcconsole_server.settings import Settings

T = TypeVar("T")

DETAIL_TYPES: dict[str, type[Message]] = {
    "google.rpc.BadRequest": error_details_pb2.BadRequest,
    "google.rpc.QuotaFailure": error_details_pb2.QuotaFailure,
    "google.rpc.PreconditionFailure": error_details_pb2.PreconditionFailure,
    "google.rpc.ErrorInfo": error_details_pb2.ErrorInfo,
    "google.rpc.ResourceInfo": error_details_pb2.ResourceInfo,
    "google.rpc.RequestInfo": error_details_pb2.RequestInfo,
    "google.rpc.RetryInfo": error_details_pb2.RetryInfo,
}


@asynccontextmanager
async def running_server(settings: Settings, clock: Clock) -> AsyncIterator[Server]:
    """A started server on ``settings`` (an ephemeral port), stopped at once afterwards; a second
    one on the same settings is a replica over the same store (and Redis, if they name one)."""
    built = await build_server(settings, clock=clock)
    await built.start()
    try:
        yield built
    finally:
        await built.stop(0)


def free_port() -> int:
    """A loopback port that nothing listened on a moment ago (bound to port 0, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def totp_of(otpauth_uri: str) -> pyotp.TOTP:
    """The authenticator an ``otpauth://totp/…`` URI describes."""
    totp = pyotp.parse_uri(otpauth_uri)
    assert isinstance(totp, pyotp.TOTP)
    return totp


@dataclass
class Failure:
    """A failed call: its code, message and decoded ``google.rpc`` details by type name."""

    code: grpc.StatusCode
    message: str
    details: dict[str, Any]

    @property
    def field_violations(self) -> dict[str, str]:
        bad = self.details["google.rpc.BadRequest"]
        return {v.field: v.description for v in bad.field_violations}


async def fails(call: Awaitable[Any], code: grpc.StatusCode) -> Failure:
    """Await ``call``, assert it fails with ``code``, and decode its details."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        details: dict[str, Any] = {}
        for packed in status.details if status else ():
            name = packed.TypeName()
            message = DETAIL_TYPES[name]()
            packed.Unpack(message)
            details[name] = message
        assert error.code() == code, f"expected {code}, got {error.code()}: {error.details()}"
        return Failure(error.code(), error.details() or "", details)
    raise AssertionError(f"expected {code}, the call succeeded")


@dataclass
class Tenant:
    """An account of the server under test, with stubs that carry its API key."""

    account_id: int
    api_key: str
    channel: grpc.aio.Channel
    server: Server

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.api_key}"),)

    @property
    def apps(self) -> app_grpc.AppServiceAsyncStub:
        return app_grpc.AppServiceStub(self.channel)

    @property
    def auth(self) -> auth_grpc.AuthServiceAsyncStub:
        return auth_grpc.AuthServiceStub(self.channel)

    @property
    def config(self) -> config_grpc.ConfigServiceAsyncStub:
        return config_grpc.ConfigServiceStub(self.channel)

    async def create_app(self, name: str = "demo", description: str = "") -> app_pb.App:
        response = await self.apps.CreateApp(
            app_pb.CreateAppRequest(name=name, description=description), metadata=self.metadata
        )
        return response.app

    async def get_app(self, sdk_app_id: int) -> app_pb.App:
        return (
            await self.apps.GetApp(app_pb.GetAppRequest(sdk_app_id=sdk_app_id), metadata=self.metadata)
        ).app

    async def enroll(self) -> pyotp.TOTP:
        response = await self.auth.EnrollTotp(auth_pb.EnrollTotpRequest(), metadata=self.metadata)
        return totp_of(response.otpauth_uri)

    async def secondary_token(self, totp: pyotp.TOTP, clock: Clock) -> str:
        """A fresh secondary-auth token; moves on one TOTP step first so each code is new."""
        code = totp.at(clock.now())
        response = await self.auth.CreateSecondaryAuth(
            auth_pb.CreateSecondaryAuthRequest(totp_code=code), metadata=self.metadata
        )
        return response.token


@asynccontextmanager
async def new_tenant(server: Server, name: str) -> AsyncIterator[Tenant]:
    issued = await asyncio.to_thread(server.console.accounts.create, name)
    async with grpc.aio.insecure_channel(server.target) as channel:
        yield Tenant(issued.account_id, issued.api_key, channel, server)


def analyze(server: Server, table: str) -> None:
    """``ANALYZE`` one table of the server's PostgreSQL store now (statistics as of this moment)."""
    with server.console.store.engine.connect() as connection:
        connection.exec_driver_sql(f"ANALYZE {table}")


def assert_probes_by_index(server: Server, sql: str, parameters: Any, column: str) -> None:
    """The PostgreSQL plan of ``sql`` for these ``parameters`` (planned for them: never prepared)
    reads rows only through index conditions that name ``column``, with no filter after a scan:
    one probe of the index per value, whatever the table's statistics say."""
    with server.console.store.engine.connect() as connection:
        raw: Any = connection.connection.dbapi_connection
        rows = raw.execute(f"EXPLAIN {sql}", parameters, prepare=False).fetchall()
    plan = "\n".join(line for (line,) in rows)
    conditions = [line for line in plan.splitlines() if "Index Cond" in line]
    assert conditions and all(column in line for line in conditions), plan
    assert "Filter" not in plan, plan
