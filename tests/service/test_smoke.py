"""The server answers over real gRPC on both backends."""

from __future__ import annotations

import grpc

from rtcconsole.v1 import app_service_pb2 as pb
from tests.support import Tenant, fails


async def test_create_then_get(tenant: Tenant) -> None:
    app = await tenant.create_app("smoke")
    assert app.sdk_app_id >= 1_400_000_001
    assert (await tenant.get_app(app.sdk_app_id)).name == "smoke"


async def test_missing_key_is_unauthenticated(tenant: Tenant) -> None:
    await fails(tenant.apps.GetApp(pb.GetAppRequest(sdk_app_id=1)), grpc.StatusCode.UNAUTHENTICATED)
