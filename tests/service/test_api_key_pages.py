"""ListApiKeys is paginated (issue 10 §5): oldest first, opaque page tokens bound to the list."""

from __future__ import annotations

import grpc

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole_server.clock import ManualClock
from tests.support import Tenant, fails

CODE = grpc.StatusCode


async def _page(tenant: Tenant, size: int = 0, token: str = "") -> auth_pb.ListApiKeysResponse:
    return await tenant.auth.ListApiKeys(
        auth_pb.ListApiKeysRequest(page_size=size, page_token=token), metadata=tenant.metadata
    )


async def test_keys_come_oldest_first_a_page_at_a_time(tenant: Tenant, clock: ManualClock) -> None:
    for i in range(7):
        if i % 3 == 0:
            clock.advance(seconds=1)  # some keys share their creation instant, some do not
        await tenant.auth.CreateApiKey(
            auth_pb.CreateApiKeyRequest(display_name=f"k{i}"), metadata=tenant.metadata
        )
    everything = await _page(tenant)  # 0 means 20: one page
    assert not everything.next_page_token and len(everything.keys) == 8
    expected = [(k.create_time.ToDatetime(), k.key_id) for k in everything.keys]
    assert expected == sorted(expected)
    assert everything.keys[0].display_name == "initial"

    seen, token, pages = [], "", 0
    while True:
        page = await _page(tenant, 3, token)
        seen += [k.key_id for k in page.keys]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 3 and seen == [k.key_id for k in everything.keys]


async def test_a_revoked_key_leaves_the_pages(tenant: Tenant, clock: ManualClock) -> None:
    clock.advance(seconds=1)  # after the initial key
    created = await tenant.auth.CreateApiKey(
        auth_pb.CreateApiKeyRequest(display_name="gone"), metadata=tenant.metadata
    )
    first = await _page(tenant, 1)
    await tenant.auth.DeleteApiKey(
        auth_pb.DeleteApiKeyRequest(key_id=created.key.key_id), metadata=tenant.metadata
    )
    rest = await _page(tenant, 1, first.next_page_token)
    assert [k.display_name for k in [*first.keys, *rest.keys]] == ["initial"]
    assert not rest.next_page_token


async def test_bad_page_tokens_and_sizes_are_invalid_argument(tenant: Tenant) -> None:
    for name, value in (("a", "1"), ("b", "2"), ("c", "3")):
        await tenant.apps.CreateTag(
            pb.CreateTagRequest(tag=pb.Tag(key=name, value=value)), metadata=tenant.metadata
        )
    tags_token = (
        await tenant.apps.ListTags(pb.ListTagsRequest(page_size=1), metadata=tenant.metadata)
    ).next_page_token
    assert tags_token
    for token in (tags_token, "garbage", "e30.AAAAAAAAAAAAAAAAAAAAAA", "x" * 2048):
        failure = await fails(_page(tenant, 1, token), CODE.INVALID_ARGUMENT)
        assert "page_token" in failure.field_violations, token[:40]
    failure = await fails(_page(tenant, 1, "x" * 2049), CODE.INVALID_ARGUMENT)  # the contract's cap
    assert "page_token" in failure.field_violations
    failure = await fails(_page(tenant, -1), CODE.INVALID_ARGUMENT)
    assert "page_size" in failure.field_violations
