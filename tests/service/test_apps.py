"""AppService over real gRPC on SQLite and PostgreSQL: R1-R5, R10, tenancy, errors."""

from __future__ import annotations

import asyncio
import logging
import re

import grpc
import pytest
from google.protobuf import field_mask_pb2

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole_server.domain.apps import APP_QUOTA
from tests.support import Tenant, fails

CODE = grpc.StatusCode


async def test_r3_ids_are_numeric_unique_across_accounts(tenant: Tenant, other_tenant: Tenant) -> None:
    ids = [(await t.create_app(f"app{i}")).sdk_app_id for i in range(3) for t in (tenant, other_tenant)]
    assert len(set(ids)) == len(ids)
    assert all(i >= 1_400_000_001 for i in ids)


async def test_r5_app_info(tenant: Tenant) -> None:
    app = await tenant.create_app("课堂_1", "中文简介")
    got = await tenant.get_app(app.sdk_app_id)
    assert got.name == "课堂_1" and got.description == "中文简介"
    assert got.source == ""  # R5: created here, not by another product
    assert got.status == pb.APP_STATUS_NORMAL and list(got.stop_reasons) == []
    assert got.relayed_live_streaming.enabled is False
    assert got.HasField("create_time")
    assert got.pending_transition == pb.APP_TRANSITION_UNSPECIFIED


async def test_r2_bad_name_is_invalid_argument_naming_the_field(tenant: Tenant) -> None:
    failure = await fails(
        tenant.apps.CreateApp(
            pb.CreateAppRequest(name="my-app", description="a b"), metadata=tenant.metadata
        ),
        CODE.INVALID_ARGUMENT,
    )
    assert set(failure.field_violations) == {"name", "description"}
    assert "R2" in failure.field_violations["name"]


async def test_r2_update_checks_the_same_rules_and_respects_the_mask(tenant: Tenant) -> None:
    app = await tenant.create_app("before", "keep")
    update = tenant.apps.UpdateApp
    renamed = await update(
        pb.UpdateAppRequest(
            app=pb.App(sdk_app_id=app.sdk_app_id, name="after", description="ignored"),
            update_mask=field_mask_pb2.FieldMask(paths=["name"]),
        ),
        metadata=tenant.metadata,
    )
    assert (renamed.app.name, renamed.app.description) == ("after", "keep")
    cleared = await update(
        pb.UpdateAppRequest(
            app=pb.App(sdk_app_id=app.sdk_app_id), update_mask=field_mask_pb2.FieldMask(paths=["description"])
        ),
        metadata=tenant.metadata,
    )
    assert cleared.app.description == ""
    failure = await fails(
        update(
            pb.UpdateAppRequest(app=pb.App(sdk_app_id=app.sdk_app_id, name="カタ")), metadata=tenant.metadata
        ),
        CODE.INVALID_ARGUMENT,
    )
    assert "app.name" in failure.field_violations
    failure = await fails(
        update(
            pb.UpdateAppRequest(
                app=pb.App(sdk_app_id=app.sdk_app_id), update_mask=field_mask_pb2.FieldMask(paths=["source"])
            ),
            metadata=tenant.metadata,
        ),
        CODE.INVALID_ARGUMENT,
    )
    assert "update_mask" in failure.field_violations


async def test_r4_list_newest_first_and_paginated(tenant: Tenant) -> None:
    created = [(await tenant.create_app(f"page{i}")).sdk_app_id for i in range(7)]
    seen: list[int] = []
    token = ""
    while True:
        page = await tenant.apps.ListApps(
            pb.ListAppsRequest(page_size=3, page_token=token), metadata=tenant.metadata
        )
        assert len(page.apps) <= 3
        seen += [a.sdk_app_id for a in page.apps]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(created))


async def test_r4_search_by_name_substring_id_and_tags(tenant: Tenant) -> None:
    alpha = await tenant.create_app("alpha_live")
    beta = await tenant.create_app("Beta_LIVE")
    await tenant.create_app("gamma")
    list_apps = tenant.apps.ListApps
    by_name = await list_apps(pb.ListAppsRequest(name_contains="live"), metadata=tenant.metadata)
    assert {a.sdk_app_id for a in by_name.apps} == {alpha.sdk_app_id, beta.sdk_app_id}
    by_id = await list_apps(pb.ListAppsRequest(sdk_app_id=beta.sdk_app_id), metadata=tenant.metadata)
    assert [a.name for a in by_id.apps] == ["Beta_LIVE"]
    percent = await list_apps(pb.ListAppsRequest(name_contains="%"), metadata=tenant.metadata)
    assert list(percent.apps) == []  # LIKE wildcards are escaped


async def test_page_token_is_tied_to_its_filters(tenant: Tenant) -> None:
    for i in range(3):
        await tenant.create_app(f"tok{i}")
    first = await tenant.apps.ListApps(pb.ListAppsRequest(page_size=1), metadata=tenant.metadata)
    failure = await fails(
        tenant.apps.ListApps(
            pb.ListAppsRequest(page_size=1, page_token=first.next_page_token, name_contains="tok"),
            metadata=tenant.metadata,
        ),
        CODE.INVALID_ARGUMENT,
    )
    assert "page_token" in failure.field_violations
    await fails(
        tenant.apps.ListApps(pb.ListAppsRequest(page_token="garbage!"), metadata=tenant.metadata),
        CODE.INVALID_ARGUMENT,
    )
    await fails(
        tenant.apps.ListApps(pb.ListAppsRequest(page_size=-1), metadata=tenant.metadata),
        CODE.INVALID_ARGUMENT,
    )


async def test_request_id_makes_create_idempotent(tenant: Tenant) -> None:
    request = pb.CreateAppRequest(name="once", request_id="req-1")
    first = await tenant.apps.CreateApp(request, metadata=tenant.metadata)
    again = await tenant.apps.CreateApp(request, metadata=tenant.metadata)
    assert first.app.sdk_app_id == again.app.sdk_app_id
    listed = await tenant.apps.ListApps(pb.ListAppsRequest(), metadata=tenant.metadata)
    assert len(listed.apps) == 1
    await fails(
        tenant.apps.CreateApp(
            pb.CreateAppRequest(name="other", request_id="req-1"), metadata=tenant.metadata
        ),
        CODE.ALREADY_EXISTS,
    )


async def test_r1_the_101st_app_is_resource_exhausted_with_limit_and_count(tenant: Tenant) -> None:
    for i in range(APP_QUOTA):
        await tenant.create_app(f"q{i}")
    failure = await fails(tenant.create_app("q100"), CODE.RESOURCE_EXHAUSTED)
    [violation] = failure.details["google.rpc.QuotaFailure"].violations
    assert violation.subject == f"accounts/{tenant.account_id}"
    info = failure.details["google.rpc.ErrorInfo"]
    assert (info.metadata["limit"], info.metadata["current"]) == ("100", "100")


async def test_r1_holds_when_50_creates_race_at_99(tenant: Tenant, other_tenant: Tenant) -> None:
    for i in range(APP_QUOTA - 1):
        await tenant.create_app(f"r{i}")
    results = await asyncio.gather(
        *(tenant.create_app(f"race{i}") for i in range(50)), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, pb.App)]
    lost = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == 49
    assert {e.code() for e in lost} == {CODE.RESOURCE_EXHAUSTED}
    # another account is not affected by this one's quota
    assert (await other_tenant.create_app("free")).sdk_app_id


async def test_tenants_are_walled_off(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = await tenant.create_app("mine")
    theirs = other_tenant
    missing = await fails(theirs.get_app(mine.sdk_app_id), CODE.NOT_FOUND)
    nonexistent = await fails(theirs.get_app(1), CODE.NOT_FOUND)
    assert missing.details.keys() == nonexistent.details.keys()  # indistinguishable
    md = theirs.metadata
    await fails(
        theirs.apps.UpdateApp(
            pb.UpdateAppRequest(app=pb.App(sdk_app_id=mine.sdk_app_id, name="x")), metadata=md
        ),
        CODE.NOT_FOUND,
    )
    await fails(
        theirs.auth.GetAppSecretKey(auth_pb.GetAppSecretKeyRequest(sdk_app_id=mine.sdk_app_id), metadata=md),
        CODE.NOT_FOUND,
    )
    await fails(
        theirs.apps.ListMaterials(pb.ListMaterialsRequest(sdk_app_id=mine.sdk_app_id), metadata=md),
        CODE.NOT_FOUND,
    )
    listed = await theirs.apps.ListApps(pb.ListAppsRequest(sdk_app_id=mine.sdk_app_id), metadata=md)
    assert list(listed.apps) == []


async def test_r10_secret_key_is_64_hex_for_the_owner_and_never_listed(
    tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await tenant.create_app("keys")
    response = await tenant.auth.GetAppSecretKey(
        auth_pb.GetAppSecretKeyRequest(sdk_app_id=app.sdk_app_id), metadata=tenant.metadata
    )
    assert re.fullmatch(r"[0-9a-f]{64}", response.secret_key)
    listed = await tenant.apps.ListApps(pb.ListAppsRequest(), metadata=tenant.metadata)
    got = await tenant.get_app(app.sdk_app_id)
    for message in (listed, got, app):
        assert response.secret_key not in str(message)
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert response.secret_key not in logs
    assert tenant.api_key not in logs


async def test_errors_for_missing_ids_are_invalid_argument(tenant: Tenant) -> None:
    failure = await fails(tenant.get_app(0), CODE.INVALID_ARGUMENT)
    assert "sdk_app_id" in failure.field_violations
