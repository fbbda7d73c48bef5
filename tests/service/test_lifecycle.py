"""R7: disable, enable and delete need secondary authentication and take effect 3-5 minutes later.

Time is a ManualClock; the worker step runs when the test says so (``run_once``),
exactly as the in-process worker would call it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pyotp

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import common_pb2
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.apps import APP_QUOTA
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.settings import Settings
from tests.support import Tenant, fails, running_server

CODE = grpc.StatusCode


async def _disable(tenant: Tenant, sdk_app_id: int, token: str) -> common_pb2.Operation:
    response = await tenant.apps.DisableApp(
        pb.DisableAppRequest(sdk_app_id=sdk_app_id, secondary_auth_token=token), metadata=tenant.metadata
    )
    return response.operation


async def _delete(tenant: Tenant, sdk_app_id: int, token: str) -> common_pb2.Operation:
    response = await tenant.apps.DeleteApp(
        pb.DeleteAppRequest(sdk_app_id=sdk_app_id, secondary_auth_token=token), metadata=tenant.metadata
    )
    return response.operation


async def _operation(tenant: Tenant, name: str) -> common_pb2.Operation:
    response = await tenant.apps.GetOperation(pb.GetOperationRequest(name=name), metadata=tenant.metadata)
    return response.operation


async def _settle(tenant: Tenant, clock: ManualClock, minutes: float) -> None:
    clock.advance(minutes=minutes)
    await tenant.server.workers.run_once()


async def test_r7_disable_needs_a_secondary_auth_token(tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app("guarded")
    failure = await fails(_disable(tenant, app.sdk_app_id, ""), CODE.INVALID_ARGUMENT)
    assert "secondary_auth_token" in failure.field_violations
    await fails(_disable(tenant, app.sdk_app_id, "forged"), CODE.PERMISSION_DENIED)
    await fails(
        tenant.auth.CreateSecondaryAuth(
            auth_pb.CreateSecondaryAuthRequest(totp_code="123456"), metadata=tenant.metadata
        ),
        CODE.FAILED_PRECONDITION,  # nothing enrolled yet
    )


async def test_r7_totp_codes_are_checked_and_used_once(tenant: Tenant, clock: ManualClock) -> None:
    totp = await tenant.enroll()
    create = tenant.auth.CreateSecondaryAuth
    wrong = "000000" if totp.at(clock.now()) != "000000" else "111111"
    await fails(
        create(auth_pb.CreateSecondaryAuthRequest(totp_code=wrong), metadata=tenant.metadata),
        CODE.PERMISSION_DENIED,
    )
    await fails(
        create(auth_pb.CreateSecondaryAuthRequest(totp_code="12ab"), metadata=tenant.metadata),
        CODE.INVALID_ARGUMENT,
    )
    code = totp.at(clock.now())
    first = await create(auth_pb.CreateSecondaryAuthRequest(totp_code=code), metadata=tenant.metadata)
    assert first.token
    assert first.expire_time.ToDatetime().replace(tzinfo=clock.now().tzinfo) == clock.now() + timedelta(
        minutes=30
    )
    await fails(
        create(auth_pb.CreateSecondaryAuthRequest(totp_code=code), metadata=tenant.metadata),
        CODE.PERMISSION_DENIED,
    )


async def test_r7_an_active_authenticator_is_replaced_only_by_the_operator(
    tenant: Tenant, clock: ManualClock
) -> None:
    # Issue 10 §4 changed this: a current code no longer lets an API key re-enrol.
    totp = await tenant.enroll()
    await tenant.secondary_token(totp, clock)  # its first code makes it active
    enroll = tenant.auth.EnrollTotp
    await fails(enroll(auth_pb.EnrollTotpRequest(), metadata=tenant.metadata), CODE.FAILED_PRECONDITION)
    clock.advance(seconds=30)
    code = totp.at(clock.now())
    refused = await fails(
        enroll(auth_pb.EnrollTotpRequest(totp_code=code), metadata=tenant.metadata), CODE.FAILED_PRECONDITION
    )
    assert refused.details["google.rpc.PreconditionFailure"].violations[0].type == "TOTP_ENROLLED"
    await asyncio.to_thread(
        tenant.server.console.accounts.reset_totp, tenant.account_id, remove_authenticator=True
    )
    again = await enroll(auth_pb.EnrollTotpRequest(), metadata=tenant.metadata)
    assert pyotp.parse_uri(again.otpauth_uri).secret != totp.secret


async def test_r7_secondary_auth_lasts_30_minutes(tenant: Tenant, clock: ManualClock) -> None:
    first, second = await tenant.create_app("one"), await tenant.create_app("two")
    token = await tenant.secondary_token(await tenant.enroll(), clock)
    clock.advance(minutes=29, seconds=59)
    await _disable(tenant, first.sdk_app_id, token)
    clock.advance(seconds=1)
    await fails(_disable(tenant, second.sdk_app_id, token), CODE.PERMISSION_DENIED)


async def test_r7_a_token_is_bound_to_its_account(
    tenant: Tenant, other_tenant: Tenant, clock: ManualClock
) -> None:
    theirs = await other_tenant.create_app("theirs")
    token = await tenant.secondary_token(await tenant.enroll(), clock)
    await fails(_disable(other_tenant, theirs.sdk_app_id, token), CODE.PERMISSION_DENIED)


async def test_r7_disable_takes_effect_after_3_to_5_minutes(tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app("slow")
    token = await tenant.secondary_token(await tenant.enroll(), clock)
    accepted = clock.now()
    operation = await _disable(tenant, app.sdk_app_id, token)
    assert operation.state == common_pb2.OPERATION_STATE_PENDING and not operation.done
    assert operation.kind == common_pb2.OPERATION_KIND_DISABLE_APP
    effective = operation.effective_time.ToDatetime().replace(tzinfo=accepted.tzinfo) - accepted
    assert timedelta(minutes=3) <= effective <= timedelta(minutes=5)

    pending = await tenant.get_app(app.sdk_app_id)
    assert pending.status == pb.APP_STATUS_NORMAL  # not yet in effect
    assert pending.pending_transition == pb.APP_TRANSITION_DISABLING
    assert pending.pending_operation == operation.name

    await _settle(tenant, clock, 2.9)
    assert not (await _operation(tenant, operation.name)).done
    await _settle(tenant, clock, 0.1)
    done = await _operation(tenant, operation.name)
    assert done.done and done.state == common_pb2.OPERATION_STATE_SUCCEEDED
    stopped = await tenant.get_app(app.sdk_app_id)
    assert stopped.status == pb.APP_STATUS_STOPPED
    assert list(stopped.stop_reasons) == [pb.STOP_REASON_DISABLED_BY_OWNER]
    assert stopped.pending_transition == pb.APP_TRANSITION_UNSPECIFIED


async def test_r7_one_transition_at_a_time_and_only_from_the_right_state(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("states")
    token = await tenant.secondary_token(await tenant.enroll(), clock)
    enable = tenant.apps.EnableApp
    failure = await fails(_delete(tenant, app.sdk_app_id, token), CODE.FAILED_PRECONDITION)
    [violation] = failure.details["google.rpc.PreconditionFailure"].violations
    assert violation.type == "APP_STATUS" and "disable" in violation.description
    await fails(
        enable(
            pb.EnableAppRequest(sdk_app_id=app.sdk_app_id, secondary_auth_token=token),
            metadata=tenant.metadata,
        ),
        CODE.FAILED_PRECONDITION,
    )
    await _disable(tenant, app.sdk_app_id, token)
    failure = await fails(_disable(tenant, app.sdk_app_id, token), CODE.FAILED_PRECONDITION)
    assert failure.details["google.rpc.PreconditionFailure"].violations[0].type == "APP_TRANSITION_PENDING"
    await fails(_delete(tenant, app.sdk_app_id, token), CODE.FAILED_PRECONDITION)  # disable not in effect yet

    await _settle(tenant, clock, 3)
    operation = (
        await enable(
            pb.EnableAppRequest(sdk_app_id=app.sdk_app_id, secondary_auth_token=token),
            metadata=tenant.metadata,
        )
    ).operation
    assert (await tenant.get_app(app.sdk_app_id)).pending_transition == pb.APP_TRANSITION_ENABLING
    await _settle(tenant, clock, 3)
    assert (await _operation(tenant, operation.name)).done
    assert (await tenant.get_app(app.sdk_app_id)).status == pb.APP_STATUS_NORMAL


async def test_r7_delete_hides_the_app_and_frees_the_slot_at_effect(
    tenant: Tenant, clock: ManualClock
) -> None:
    apps = [await tenant.create_app(f"full{i}") for i in range(APP_QUOTA)]
    victim = apps[0]
    token = await tenant.secondary_token(await tenant.enroll(), clock)
    await _disable(tenant, victim.sdk_app_id, token)
    await _settle(tenant, clock, 3)
    operation = await _delete(tenant, victim.sdk_app_id, token)
    assert (await tenant.get_app(victim.sdk_app_id)).pending_transition == pb.APP_TRANSITION_DELETING
    await fails(tenant.create_app("too_early"), CODE.RESOURCE_EXHAUSTED)  # R1: the slot frees at effect

    await _settle(tenant, clock, 3)
    assert (await _operation(tenant, operation.name)).done
    await fails(tenant.get_app(victim.sdk_app_id), CODE.NOT_FOUND)
    replacement = await tenant.create_app("replacement")
    assert replacement.sdk_app_id > max(a.sdk_app_id for a in apps)  # R3: never reused


async def test_r7_operations_survive_a_restart(
    tenant: Tenant, clock: ManualClock, settings: Settings
) -> None:
    app = await tenant.create_app("restart")
    token = await tenant.secondary_token(await tenant.enroll(), clock)
    operation = await _disable(tenant, app.sdk_app_id, token)
    await tenant.server.stop(0)  # the process that accepted it goes away

    clock.advance(minutes=4)
    async with running_server(settings, clock) as replica:
        assert (await replica.workers.run_once())["operations"] == 1
        view = replica.console.lifecycle.get(Caller(tenant.account_id, "test"), operation.name)
        assert view.done


async def test_operations_are_listed_newest_first(tenant: Tenant, clock: ManualClock) -> None:
    first, second = await tenant.create_app("l1"), await tenant.create_app("l2")
    token = await tenant.secondary_token(await tenant.enroll(), clock)
    op1 = await _disable(tenant, first.sdk_app_id, token)
    op2 = await _disable(tenant, second.sdk_app_id, token)
    listed = await tenant.apps.ListOperations(
        pb.ListOperationsRequest(pending_only=True), metadata=tenant.metadata
    )
    assert [o.name for o in listed.operations] == [op2.name, op1.name]
    only_first = await tenant.apps.ListOperations(
        pb.ListOperationsRequest(sdk_app_id=first.sdk_app_id), metadata=tenant.metadata
    )
    assert [o.name for o in only_first.operations] == [op1.name]
    await fails(
        tenant.apps.GetOperation(pb.GetOperationRequest(name="ops/1"), metadata=tenant.metadata),
        CODE.INVALID_ARGUMENT,
    )
