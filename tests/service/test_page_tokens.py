"""Page tokens are opaque and authenticated: a forged one is INVALID_ARGUMENT, never INTERNAL."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable

import grpc
import pytest

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import config_service_pb2 as config_pb
from rtcconsole_server.domain.common import PageTokens, int_position, pair_position
from rtcconsole_server.errors import InvalidArgument
from tests.support import Tenant, fails


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


FORGED = [
    "123",
    "true",
    _b64(b"true"),
    _b64(json.dumps({"p": 10**30, "f": "0" * 16}).encode()),  # the old, unauthenticated format
    _b64(b"[" * 5000 + b"]" * 5000),
    "a.b.c",
    "\u00e9" * 10,
    ".",
]


@pytest.mark.parametrize("token", FORGED)
async def test_a_forged_token_is_invalid_argument_on_every_list(tenant: Tenant, token: str) -> None:
    app = await tenant.create_app("paged")
    calls: list[Awaitable[object]] = [
        tenant.apps.ListApps(pb.ListAppsRequest(page_token=token), metadata=tenant.metadata),
        tenant.apps.ListOperations(pb.ListOperationsRequest(page_token=token), metadata=tenant.metadata),
        tenant.apps.ListTags(pb.ListTagsRequest(page_token=token), metadata=tenant.metadata),
        tenant.apps.ListMaterials(
            pb.ListMaterialsRequest(sdk_app_id=app.sdk_app_id, page_token=token), metadata=tenant.metadata
        ),
        tenant.config.ListCallbackDeliveries(
            config_pb.ListCallbackDeliveriesRequest(sdk_app_id=app.sdk_app_id, page_token=token),
            metadata=tenant.metadata,
        ),
        tenant.auth.ListApiKeys(auth_pb.ListApiKeysRequest(page_token=token), metadata=tenant.metadata),
    ]
    for call in calls:
        failure = await fails(call, grpc.StatusCode.INVALID_ARGUMENT)
        assert set(failure.field_violations) == {"page_token"}


async def test_a_genuine_token_pages_and_an_altered_one_does_not(tenant: Tenant) -> None:
    for n in range(3):
        await tenant.create_app(f"app{n}")
    first = await tenant.apps.ListApps(pb.ListAppsRequest(page_size=2), metadata=tenant.metadata)
    assert first.next_page_token
    second = await tenant.apps.ListApps(
        pb.ListAppsRequest(page_size=2, page_token=first.next_page_token), metadata=tenant.metadata
    )
    assert len(second.apps) == 1
    body, _, mac = first.next_page_token.partition(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["p"] += 1000  # skip ahead by editing the position
    altered = f"{_b64(json.dumps(data).encode())}.{mac}"
    await fails(
        tenant.apps.ListApps(pb.ListAppsRequest(page_size=2, page_token=altered), metadata=tenant.metadata),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    # a token of one list is refused by another
    await fails(
        tenant.apps.ListOperations(
            pb.ListOperationsRequest(page_token=first.next_page_token), metadata=tenant.metadata
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )


def test_tokens_are_bound_to_key_list_filters_and_shape() -> None:
    tokens, other = PageTokens.ephemeral(), PageTokens.ephemeral()
    token = tokens.encode("apps", 42, {"name": "a"})
    assert tokens.decode(token, "apps", {"name": "a"}, int_position) == 42
    assert tokens.decode("", "apps", {}, int_position) is None
    for attempt in (
        lambda: other.decode(token, "apps", {"name": "a"}, int_position),
        lambda: tokens.decode(token, "tags", {"name": "a"}, int_position),
        lambda: tokens.decode(token, "apps", {"name": "b"}, int_position),
        lambda: tokens.decode(token, "apps", {"name": "a"}, pair_position),
        lambda: tokens.decode(tokens.encode("apps", True, {}), "apps", {}, int_position),
        lambda: tokens.decode(tokens.encode("apps", 2**63, {}), "apps", {}, int_position),
    ):
        with pytest.raises(InvalidArgument) as caught:
            attempt()
        assert [v.field for v in caught.value.violations] == ["page_token"]
    longest = tokens.encode("tags", ["键" * 127, "値" * 255], {"key": "键" * 127})
    assert len(longest) <= 2048  # the contract's cap on page_token
    assert tokens.decode(longest, "tags", {"key": "键" * 127}, pair_position) == ("键" * 127, "値" * 255)
