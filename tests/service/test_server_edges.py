"""The edge of the server: health, reflection, the error table, redacted logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole_server.api.interceptor import ErrorInterceptor
from rtcconsole_server.api.redact import REDACTED, redacted_text
from rtcconsole_server.errors import FieldViolation, InvalidArgument
from rtcconsole_server.server import SERVICE_NAMES, Server
from tests.support import Tenant, fails


async def test_health_reports_every_service_serving(server: Server) -> None:
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        for name in ("", *SERVICE_NAMES):
            response = await stub.Check(health_pb2.HealthCheckRequest(service=name))
            assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_services(server: Server) -> None:
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub: Any = reflection_pb2_grpc.ServerReflectionStub(channel)  # type: ignore[arg-type]

        async def one_request() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        async for response in stub.ServerReflectionInfo(one_request()):
            names = {s.name for s in response.list_services_response.service}
            assert set(SERVICE_NAMES) <= names
            assert "grpc.health.v1.Health" in names


@pytest.fixture
async def bare_server() -> AsyncIterator[str]:
    """A server with only the interceptor and handlers that fail on purpose."""

    async def bug(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        raise RuntimeError("secret internals")

    async def refused(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        raise InvalidArgument(FieldViolation("thing", "is wrong"))

    handlers: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {
        "Bug": grpc.unary_unary_rpc_method_handler(bug),
        "Refused": grpc.unary_unary_rpc_method_handler(refused),
    }
    server = grpc.aio.server(interceptors=[ErrorInterceptor()])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.Edge", handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


async def test_a_bug_is_internal_with_a_correlation_id_and_no_traceback(
    bare_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with grpc.aio.insecure_channel(bare_server) as channel:
        call: Any = channel.unary_unary("/test.Edge/Bug")
        failure = await fails(call(b""), grpc.StatusCode.INTERNAL)
    correlation_id = failure.details["google.rpc.RequestInfo"].request_id
    assert correlation_id in failure.message
    assert "secret internals" not in failure.message and "Traceback" not in failure.message
    logged = [r for r in caplog.records if correlation_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None


async def test_domain_errors_keep_their_code(bare_server: str) -> None:
    async with grpc.aio.insecure_channel(bare_server) as channel:
        call: Any = channel.unary_unary("/test.Edge/Refused")
        failure = await fails(call(b""), grpc.StatusCode.INVALID_ARGUMENT)
    assert failure.field_violations == {"thing": "is wrong"}


def test_sensitive_fields_are_redacted_in_logs() -> None:
    text = redacted_text(pb.DisableAppRequest(sdk_app_id=7, secondary_auth_token="tok-123"))
    assert "tok-123" not in text and REDACTED in text and "7" in text
    big = redacted_text(pb.CreateMaterialRequest(sdk_app_id=1, content=b"x" * 1000))
    assert "1000 bytes" in big and "xxxx" not in big


async def test_debug_logs_never_carry_keys_or_tokens(
    tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await tenant.create_app("logged")
    await fails(
        tenant.apps.DisableApp(
            pb.DisableAppRequest(sdk_app_id=app.sdk_app_id, secondary_auth_token="sekrit-token"),
            metadata=tenant.metadata,
        ),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert "DisableApp" in logs  # the request was logged ...
    assert "sekrit-token" not in logs and tenant.api_key not in logs  # ... without its secrets
