"""Bounded growth per tenant (issue 10 §5), over real gRPC on SQLite and PostgreSQL.

API keys per account, tag-catalog pairs per account (R8), materials per app and
their bytes (R9): each limit is RESOURCE_EXHAUSTED with a QuotaFailure and an
ErrorInfo, like R1's app quota, holds under concurrent creates, and a delete
frees its share at once. Rows below the limit are seeded straight into the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Awaitable
from typing import Any

import grpc
from PIL import Image

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole_server.domain.apps import MATERIAL_BYTES_PER_APP, MATERIALS_PER_APP, TAG_CATALOG_QUOTA
from rtcconsole_server.domain.auth import API_KEY_QUOTA
from rtcconsole_server.store.models import Material, TagPair
from tests.support import Failure, Tenant, fails

CODE = grpc.StatusCode


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()


def _assert_quota(failure: Failure, subject: str, resource: str, limit: int, current: int) -> None:
    [violation] = failure.details["google.rpc.QuotaFailure"].violations
    assert violation.subject == subject
    assert violation.description == f"{current} {resource} of {limit} allowed"
    info = failure.details["google.rpc.ErrorInfo"]
    assert info.reason == f"{resource.upper()}_QUOTA_EXCEEDED"
    assert dict(info.metadata) == {"limit": str(limit), "current": str(current), "resource": resource}


async def _codes(calls: list[Awaitable[Any]]) -> list[str]:
    """The status names of calls run at once, sorted."""

    async def one(call: Awaitable[Any]) -> str:
        try:
            await call
        except grpc.aio.AioRpcError as error:
            return error.code().name
        return "OK"

    return sorted(await asyncio.gather(*[one(c) for c in calls]))


# -- API keys ---------------------------------------------------------------------------------


def _create_key(tenant: Tenant, name: str = "") -> Awaitable[auth_pb.CreateApiKeyResponse]:
    return tenant.auth.CreateApiKey(auth_pb.CreateApiKeyRequest(display_name=name), metadata=tenant.metadata)


async def test_api_keys_are_capped_per_account(tenant: Tenant, other_tenant: Tenant) -> None:
    assert API_KEY_QUOTA == 20
    created = [await _create_key(tenant, f"k{i}") for i in range(API_KEY_QUOTA - 1)]  # + the initial one
    failure = await fails(_create_key(tenant, "one too many"), CODE.RESOURCE_EXHAUSTED)
    _assert_quota(failure, f"accounts/{tenant.account_id}", "api_keys", API_KEY_QUOTA, API_KEY_QUOTA)
    await _create_key(other_tenant)  # another account's keys are its own

    await tenant.auth.DeleteApiKey(
        auth_pb.DeleteApiKeyRequest(key_id=created[0].key.key_id), metadata=tenant.metadata
    )
    await _create_key(tenant, "in the freed slot")
    await fails(_create_key(tenant), CODE.RESOURCE_EXHAUSTED)


async def test_the_api_key_quota_holds_under_concurrent_creates(tenant: Tenant) -> None:
    for i in range(API_KEY_QUOTA - 6):
        await _create_key(tenant, f"k{i}")  # 15 live keys with the initial one
    codes = await _codes([_create_key(tenant, f"race{i}") for i in range(12)])
    assert codes == ["OK"] * 5 + ["RESOURCE_EXHAUSTED"] * 7
    listed = await tenant.auth.ListApiKeys(
        auth_pb.ListApiKeysRequest(page_size=100), metadata=tenant.metadata
    )
    assert len(listed.keys) == API_KEY_QUOTA


# -- the tag catalog (R8) -------------------------------------------------------------------------


def _seed_tags(tenant: Tenant, count: int) -> None:
    now = tenant.server.console.clock.now()
    with tenant.server.console.store.write() as session:
        session.add_all(
            TagPair(account_id=tenant.account_id, key="seed", value=f"v{i:04}", created_at=now)
            for i in range(count)
        )


def _create_tag(tenant: Tenant, key: str, value: str) -> Awaitable[pb.CreateTagResponse]:
    return tenant.apps.CreateTag(
        pb.CreateTagRequest(tag=pb.Tag(key=key, value=value)), metadata=tenant.metadata
    )


async def test_r8_the_tag_catalog_is_capped_per_account(tenant: Tenant, other_tenant: Tenant) -> None:
    assert TAG_CATALOG_QUOTA == 1000
    await asyncio.to_thread(_seed_tags, tenant, TAG_CATALOG_QUOTA - 1)
    await _create_tag(tenant, "team", "live")
    failure = await fails(_create_tag(tenant, "team", "vod"), CODE.RESOURCE_EXHAUSTED)
    _assert_quota(failure, f"accounts/{tenant.account_id}", "tags", TAG_CATALOG_QUOTA, TAG_CATALOG_QUOTA)
    await fails(_create_tag(tenant, "team", "live"), CODE.ALREADY_EXISTS)  # a duplicate is still that
    await _create_tag(other_tenant, "team", "vod")

    await tenant.apps.DeleteTag(
        pb.DeleteTagRequest(tag=pb.Tag(key="team", value="live")), metadata=tenant.metadata
    )
    await _create_tag(tenant, "team", "vod")


async def test_r8_the_tag_quota_holds_under_concurrent_creates(tenant: Tenant) -> None:
    await asyncio.to_thread(_seed_tags, tenant, TAG_CATALOG_QUOTA - 5)
    codes = await _codes([_create_tag(tenant, "race", f"v{i}") for i in range(12)])
    assert codes == ["OK"] * 5 + ["RESOURCE_EXHAUSTED"] * 7


# -- materials (R9) -----------------------------------------------------------------------------


def _seed_materials(tenant: Tenant, sdk_app_id: int, count: int, size: int) -> None:
    now = tenant.server.console.clock.now()
    content = b"\x00" * size  # never decoded: only counted
    with tenant.server.console.store.write() as session:
        session.add_all(
            Material(
                sdk_app_id=sdk_app_id,
                name=f"seed{i}",
                format="png",
                width=1,
                height=1,
                size_bytes=size,
                sha256=hashlib.sha256(content).hexdigest(),
                content=content,
                created_at=now,
            )
            for i in range(count)
        )


def _add_material(
    tenant: Tenant, sdk_app_id: int, content: bytes = PNG
) -> Awaitable[pb.CreateMaterialResponse]:
    return tenant.apps.CreateMaterial(
        pb.CreateMaterialRequest(sdk_app_id=sdk_app_id, content=content), metadata=tenant.metadata
    )


async def test_r9_materials_are_capped_per_app(tenant: Tenant) -> None:
    assert MATERIALS_PER_APP == 50
    app, other_app = await tenant.create_app("full"), await tenant.create_app("empty")
    await asyncio.to_thread(_seed_materials, tenant, app.sdk_app_id, MATERIALS_PER_APP - 1, 10)
    last = (await _add_material(tenant, app.sdk_app_id)).material
    failure = await fails(_add_material(tenant, app.sdk_app_id), CODE.RESOURCE_EXHAUSTED)
    _assert_quota(failure, f"apps/{app.sdk_app_id}", "materials", MATERIALS_PER_APP, MATERIALS_PER_APP)
    await _add_material(tenant, other_app.sdk_app_id)  # per app, not per account

    await tenant.apps.DeleteMaterial(
        pb.DeleteMaterialRequest(sdk_app_id=app.sdk_app_id, material_id=last.material_id),
        metadata=tenant.metadata,
    )
    await _add_material(tenant, app.sdk_app_id)


async def test_r9_material_bytes_are_capped_per_app(tenant: Tenant) -> None:
    assert MATERIAL_BYTES_PER_APP == 32 * 1024 * 1024
    app = await tenant.create_app("heavy")
    per_row = (MATERIAL_BYTES_PER_APP - len(PNG) - len(PNG) // 2) // 16
    await asyncio.to_thread(_seed_materials, tenant, app.sdk_app_id, 16, per_row)
    held = per_row * 16
    await _add_material(tenant, app.sdk_app_id)  # fits, with less than another PNG to spare
    failure = await fails(_add_material(tenant, app.sdk_app_id), CODE.RESOURCE_EXHAUSTED)
    _assert_quota(
        failure, f"apps/{app.sdk_app_id}", "material_bytes", MATERIAL_BYTES_PER_APP, held + len(PNG)
    )


async def test_r9_the_material_quota_holds_under_concurrent_creates(tenant: Tenant) -> None:
    app = await tenant.create_app("race")
    await asyncio.to_thread(_seed_materials, tenant, app.sdk_app_id, MATERIALS_PER_APP - 5, 10)
    codes = await _codes([_add_material(tenant, app.sdk_app_id) for _ in range(12)])
    assert codes == ["OK"] * 5 + ["RESOURCE_EXHAUSTED"] * 7
    listed = await tenant.apps.ListMaterials(
        pb.ListMaterialsRequest(sdk_app_id=app.sdk_app_id, page_size=100), metadata=tenant.metadata
    )
    assert len(listed.materials) == MATERIALS_PER_APP
