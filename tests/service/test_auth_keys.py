"""API keys: identity, creation shown once, revocation; UNAUTHENTICATED for anything else."""

from __future__ import annotations

import grpc
import pytest

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from tests.support import Tenant, fails

CODE = grpc.StatusCode


async def test_identity_names_the_account_and_key(tenant: Tenant) -> None:
    me = await tenant.auth.GetCallerIdentity(auth_pb.GetCallerIdentityRequest(), metadata=tenant.metadata)
    assert me.account_id == tenant.account_id
    assert me.account_name == "tenant-a"
    assert tenant.api_key.startswith(f"rtc_{me.api_key_id}_")
    assert not me.totp_enrolled


@pytest.mark.parametrize(
    "header",
    [
        "Bearer rtc_0000000000000000_wrong",
        "Bearer not-a-key",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "Bearer data-plane-test-token",  # the data plane's credential is not an account key
    ],
)
async def test_bad_credentials_are_unauthenticated(tenant: Tenant, header: str) -> None:
    await fails(
        tenant.apps.ListApps(pb.ListAppsRequest(), metadata=(("authorization", header),)),
        CODE.UNAUTHENTICATED,
    )


async def test_a_tampered_key_with_a_real_id_is_unauthenticated(tenant: Tenant) -> None:
    await tenant.create_app("warm")  # the real key is now cached in the server
    prefix, key_id, secret = tenant.api_key.split("_", 2)
    forged = f"{prefix}_{key_id}_{secret[::-1]}"
    await fails(
        tenant.apps.ListApps(pb.ListAppsRequest(), metadata=(("authorization", f"Bearer {forged}"),)),
        CODE.UNAUTHENTICATED,
    )


async def test_keys_are_created_listed_and_revoked(tenant: Tenant) -> None:
    created = await tenant.auth.CreateApiKey(
        auth_pb.CreateApiKeyRequest(display_name="ci"), metadata=tenant.metadata
    )
    second = (("authorization", f"Bearer {created.api_key}"),)
    me = await tenant.auth.GetCallerIdentity(auth_pb.GetCallerIdentityRequest(), metadata=second)
    assert me.account_id == tenant.account_id and me.api_key_id == created.key.key_id

    listed = await tenant.auth.ListApiKeys(auth_pb.ListApiKeysRequest(), metadata=tenant.metadata)
    assert {k.display_name for k in listed.keys} == {"initial", "ci"}
    assert created.api_key not in str(listed)

    await fails(
        tenant.auth.DeleteApiKey(auth_pb.DeleteApiKeyRequest(key_id=me.api_key_id), metadata=second),
        CODE.FAILED_PRECONDITION,  # a key cannot revoke itself
    )
    await tenant.auth.DeleteApiKey(
        auth_pb.DeleteApiKeyRequest(key_id=created.key.key_id), metadata=tenant.metadata
    )
    await fails(
        tenant.auth.GetCallerIdentity(auth_pb.GetCallerIdentityRequest(), metadata=second),
        CODE.UNAUTHENTICATED,
    )


async def test_keys_of_another_account_cannot_be_revoked(tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = await other_tenant.auth.GetCallerIdentity(
        auth_pb.GetCallerIdentityRequest(), metadata=other_tenant.metadata
    )
    await fails(
        tenant.auth.DeleteApiKey(
            auth_pb.DeleteApiKeyRequest(key_id=theirs.api_key_id), metadata=tenant.metadata
        ),
        CODE.NOT_FOUND,
    )
