"""R6 status from the account's billing state, R8 tags, R9 materials, over real gRPC."""

from __future__ import annotations

import asyncio
import io

import grpc
import pytest
from PIL import Image

from rtcconsole.v1 import app_service_pb2 as pb
from tests.support import Tenant, fails

CODE = grpc.StatusCode


def _image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


async def _billing(tenant: Tenant, **state: object) -> None:
    await asyncio.to_thread(tenant.server.console.accounts.set_billing, tenant.account_id, **state)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "reasons"),
    [
        ({"package_state": "used_up"}, [pb.STOP_REASON_PACKAGE_USED_UP]),
        ({"package_state": "expired"}, [pb.STOP_REASON_PACKAGE_EXPIRED]),
        ({"package_state": "expired", "postpaid": True}, []),  # postpaid keeps it in service
        ({"postpaid": True, "arrears": True}, [pb.STOP_REASON_ARREARS]),
        ({"postpaid": False, "arrears": True}, []),  # arrears only matter to postpaid accounts
    ],
)
async def test_r6_status_follows_the_billing_state(
    tenant: Tenant, state: dict[str, object], reasons: list[int]
) -> None:
    app = await tenant.create_app("billed")
    await _billing(tenant, **state)
    got = await tenant.get_app(app.sdk_app_id)
    assert list(got.stop_reasons) == reasons
    assert got.status == (pb.APP_STATUS_STOPPED if reasons else pb.APP_STATUS_NORMAL)


async def test_r6_arrears_clear_by_themselves(tenant: Tenant) -> None:
    app = await tenant.create_app("arrears")
    await _billing(tenant, postpaid=True, arrears=True)
    assert (await tenant.get_app(app.sdk_app_id)).status == pb.APP_STATUS_STOPPED
    await _billing(tenant, arrears=False)
    listed = await tenant.apps.ListApps(pb.ListAppsRequest(), metadata=tenant.metadata)
    assert [a.status for a in listed.apps] == [pb.APP_STATUS_NORMAL]


async def test_r8_tags_come_from_the_catalog(tenant: Tenant) -> None:
    apps = tenant.apps
    md = tenant.metadata
    team = pb.Tag(key="team", value="直播")
    env = pb.Tag(key="env", value="prod")
    for tag in (team, env):
        await apps.CreateTag(pb.CreateTagRequest(tag=tag), metadata=md)
    await fails(apps.CreateTag(pb.CreateTagRequest(tag=team), metadata=md), CODE.ALREADY_EXISTS)
    bad = await fails(
        apps.CreateTag(pb.CreateTagRequest(tag=pb.Tag(key=" x", value="")), metadata=md),
        CODE.INVALID_ARGUMENT,
    )
    assert {"tag.key", "tag.value"} <= set(bad.field_violations)

    tagged = await tenant.create_app("tagged")
    other = await tenant.create_app("untagged")
    unknown = pb.Tag(key="team", value="nobody")
    failure = await fails(
        apps.AddAppTags(
            pb.AddAppTagsRequest(sdk_app_id=tagged.sdk_app_id, tags=[team, unknown]), metadata=md
        ),
        CODE.FAILED_PRECONDITION,
    )
    assert failure.details["google.rpc.PreconditionFailure"].violations[0].type == "TAG_NOT_IN_CATALOG"
    added = await apps.AddAppTags(
        pb.AddAppTagsRequest(sdk_app_id=tagged.sdk_app_id, tags=[team, env, team]), metadata=md
    )
    assert [(t.key, t.value) for t in added.app.tags] == [("env", "prod"), ("team", "直播")]

    by_tag = await apps.ListApps(pb.ListAppsRequest(tags=[team]), metadata=md)
    assert [a.sdk_app_id for a in by_tag.apps] == [tagged.sdk_app_id]
    assert other.sdk_app_id not in {a.sdk_app_id for a in by_tag.apps}

    in_use = await fails(apps.DeleteTag(pb.DeleteTagRequest(tag=team), metadata=md), CODE.FAILED_PRECONDITION)
    assert in_use.details["google.rpc.PreconditionFailure"].violations[0].type == "TAG_IN_USE"
    removed = await apps.RemoveAppTags(
        pb.RemoveAppTagsRequest(sdk_app_id=tagged.sdk_app_id, tags=[team]), metadata=md
    )
    assert [(t.key, t.value) for t in removed.app.tags] == [("env", "prod")]
    await apps.DeleteTag(pb.DeleteTagRequest(tag=team), metadata=md)
    catalog = await apps.ListTags(pb.ListTagsRequest(), metadata=md)
    assert [(t.key, t.value) for t in catalog.tags] == [("env", "prod")]


async def test_r8_catalogs_are_per_account(tenant: Tenant, other_tenant: Tenant) -> None:
    await tenant.apps.CreateTag(pb.CreateTagRequest(tag=pb.Tag(key="k", value="v")), metadata=tenant.metadata)
    theirs = await other_tenant.create_app("theirs")
    await fails(
        other_tenant.apps.AddAppTags(
            pb.AddAppTagsRequest(sdk_app_id=theirs.sdk_app_id, tags=[pb.Tag(key="k", value="v")]),
            metadata=other_tenant.metadata,
        ),
        CODE.FAILED_PRECONDITION,
    )
    listed = await other_tenant.apps.ListTags(pb.ListTagsRequest(), metadata=other_tenant.metadata)
    assert list(listed.tags) == []


async def test_r8_tag_catalog_pages(tenant: Tenant) -> None:
    for i in range(5):
        await tenant.apps.CreateTag(
            pb.CreateTagRequest(tag=pb.Tag(key="k", value=f"v{i}")), metadata=tenant.metadata
        )
    seen, token = [], ""
    while True:
        page = await tenant.apps.ListTags(
            pb.ListTagsRequest(page_size=2, page_token=token), metadata=tenant.metadata
        )
        seen += [t.value for t in page.tags]
        if not (token := page.next_page_token):
            break
    assert seen == [f"v{i}" for i in range(5)]


@pytest.mark.parametrize(("fmt", "expected"), [("PNG", pb.IMAGE_FORMAT_PNG), ("JPEG", pb.IMAGE_FORMAT_JPEG)])
async def test_r9_png_and_jpeg_are_read_from_their_content(tenant: Tenant, fmt: str, expected: int) -> None:
    app = await tenant.create_app("mix")
    content = _image(fmt, (320, 180))
    created = await tenant.apps.CreateMaterial(
        pb.CreateMaterialRequest(
            sdk_app_id=app.sdk_app_id, name="bg.gif", content=content, x_position=10, y_position=20
        ),
        metadata=tenant.metadata,
    )
    material = created.material
    assert (material.format, material.width, material.height) == (expected, 320, 180)
    assert (material.x_position, material.y_position, material.size_bytes) == (10, 20, len(content))
    got = await tenant.apps.GetMaterial(
        pb.GetMaterialRequest(
            sdk_app_id=app.sdk_app_id, material_id=material.material_id, include_content=True
        ),
        metadata=tenant.metadata,
    )
    assert got.content == content
    listed = await tenant.apps.ListMaterials(
        pb.ListMaterialsRequest(sdk_app_id=app.sdk_app_id), metadata=tenant.metadata
    )
    assert [m.material_id for m in listed.materials] == [material.material_id]
    await tenant.apps.DeleteMaterial(
        pb.DeleteMaterialRequest(sdk_app_id=app.sdk_app_id, material_id=material.material_id),
        metadata=tenant.metadata,
    )
    await fails(
        tenant.apps.GetMaterial(
            pb.GetMaterialRequest(sdk_app_id=app.sdk_app_id, material_id=material.material_id),
            metadata=tenant.metadata,
        ),
        CODE.NOT_FOUND,
    )


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "empty"),
        (b"not an image at all", "text"),
        (_image("GIF"), "GIF"),
        (_image("BMP"), "BMP"),
        (_image("PNG")[:60], "truncated PNG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "PNG magic, garbage after"),
        (_image("JPEG") + b"\x00" * (2 * 1024 * 1024), "over 2 MiB"),
    ],
)
async def test_r9_anything_else_is_invalid_argument(tenant: Tenant, content: bytes, why: str) -> None:
    app = await tenant.create_app("mix")
    failure = await fails(
        tenant.apps.CreateMaterial(
            pb.CreateMaterialRequest(sdk_app_id=app.sdk_app_id, content=content), metadata=tenant.metadata
        ),
        CODE.INVALID_ARGUMENT,
    )
    assert "content" in failure.field_violations, why
