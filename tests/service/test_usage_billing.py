"""Packages and the billing state (R6) driven by settled usage, over a real server.

Transitions: a used-up package stops the apps (PACKAGE_USED_UP), time passing
ends a package (PACKAGE_EXPIRED), a new package or postpaid brings them back at
once, arrears stop a postpaid account and clearing them resumes it. Packages
are added through ``Billing`` (what ``rtc-console admin account package add``
calls); GetApp and GetBillingState show the result.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import usage_service_pb2 as pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.usage import BillingView
from rtcconsole_server.errors import FailedPrecondition, InvalidArgument
from tests.support import Tenant
from tests.usage_support import billing_state, ingest, record, tick

CODE = grpc.StatusCode
DAY0 = datetime(2026, 1, 1, tzinfo=UTC)
DATA_PLANE = (("authorization", "Bearer data-plane-test-token"),)


async def _status(tenant: Tenant, sdk_app_id: int) -> tuple[int, list[int]]:
    app = await tenant.get_app(sdk_app_id)
    return app.status, list(app.stop_reasons)


async def _add(tenant: Tenant, minutes: int, start: datetime, end: datetime) -> BillingView:
    billing = tenant.server.console.billing
    return await asyncio.to_thread(
        billing.add_package, tenant.account_id, minutes=minutes, valid_from=start, valid_to=end
    )


async def _flags(tenant: Tenant, *, postpaid: bool | None = None, arrears: bool | None = None) -> BillingView:
    billing = tenant.server.console.billing
    return await asyncio.to_thread(billing.set_flags, tenant.account_id, postpaid=postpaid, arrears=arrears)


async def _enter(tenant: Tenant, sdk_app_id: int) -> auth_pb.AuthorizeRoomEntryResponse:
    request = auth_pb.GenerateUserSigRequest(sdk_app_id=sdk_app_id, user_id="dave")
    sig = (await tenant.auth.GenerateUserSig(request, metadata=tenant.metadata)).user_sig
    entry = auth_pb.AuthorizeRoomEntryRequest(sdk_app_id=sdk_app_id, room_id=42, user_id="dave", user_sig=sig)
    return await tenant.auth.AuthorizeRoomEntry(entry, metadata=DATA_PLANE)


NORMAL: tuple[int, list[int]] = (app_pb.APP_STATUS_NORMAL, [])
USED_UP = (app_pb.APP_STATUS_STOPPED, [app_pb.STOP_REASON_PACKAGE_USED_UP])
EXPIRED = (app_pb.APP_STATUS_STOPPED, [app_pb.STOP_REASON_PACKAGE_EXPIRED])
ARREARS = (app_pb.APP_STATUS_STOPPED, [app_pb.STOP_REASON_ARREARS])


async def test_r6_used_up_expired_and_back_by_package_postpaid_and_arrears(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("metered")
    clock.set(DAY0 + timedelta(hours=10))
    first = await _add(tenant, 10, DAY0 - timedelta(days=1), DAY0 + timedelta(days=2))
    assert first.metered and first.package_state == "ok"
    assert await _status(tenant, app.sdk_app_id) == NORMAL

    await ingest(tenant.server, [record(app.sdk_app_id, DAY0 + timedelta(hours=9), 120, category="HD")])
    await tick(tenant.server)  # 2 HD minutes × 4 = 8 equivalent minutes
    state = await billing_state(tenant)
    assert [(p.minutes, p.used_minutes, p.in_force) for p in state.packages] == [(10, 8, True)]
    assert state.package_state == pb.PACKAGE_STATE_OK and state.metered
    assert await _status(tenant, app.sdk_app_id) == NORMAL

    await ingest(tenant.server, [record(app.sdk_app_id, DAY0 + timedelta(hours=9), 150, category="Audio")])
    await tick(tenant.server)  # + 3 audio minutes: 11 > 10
    state = await billing_state(tenant)
    assert (state.packages[0].used_minutes, state.uncovered_minutes) == (10, 1)
    assert state.package_state == pb.PACKAGE_STATE_USED_UP
    assert await _status(tenant, app.sdk_app_id) == USED_UP
    entry = await _enter(tenant, app.sdk_app_id)  # the data plane's gate says so too
    assert not entry.allowed and list(entry.stop_reasons) == [app_pb.STOP_REASON_PACKAGE_USED_UP]

    bought = await _add(tenant, 100, clock.now(), clock.now() + timedelta(days=1))  # no tick needed
    assert bought.package_state == "ok"
    assert await _status(tenant, app.sdk_app_id) == NORMAL
    assert (await _enter(tenant, app.sdk_app_id)).allowed
    # the day's 11 minutes go to the package that ends first: the new one
    assert [(p.minutes, p.used_minutes) for p in bought.packages] == [(100, 11), (10, 0)]

    clock.set(DAY0 + timedelta(days=2, minutes=1))  # both have ended: time alone changes the state
    await tick(tenant.server)
    assert await _status(tenant, app.sdk_app_id) == EXPIRED
    assert (await billing_state(tenant)).package_state == pb.PACKAGE_STATE_EXPIRED

    assert (await _flags(tenant, postpaid=True)).postpaid
    assert await _status(tenant, app.sdk_app_id) == NORMAL  # postpaid brings it back at once
    await _flags(tenant, arrears=True)
    assert await _status(tenant, app.sdk_app_id) == ARREARS
    await _flags(tenant, arrears=False)  # cleared: back by itself
    assert await _status(tenant, app.sdk_app_id) == NORMAL
    await _flags(tenant, postpaid=False)
    assert await _status(tenant, app.sdk_app_id) == EXPIRED


async def test_a_package_that_starts_later_takes_effect_at_the_first_tick_after_it_starts(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("later")
    clock.set(DAY0)
    view = await _add(tenant, 50, DAY0 + timedelta(hours=1), DAY0 + timedelta(days=5))
    assert view.package_state == "expired"  # nothing in force yet
    assert await _status(tenant, app.sdk_app_id) == EXPIRED
    clock.set(DAY0 + timedelta(hours=1, minutes=3))
    await tick(tenant.server)
    assert await _status(tenant, app.sdk_app_id) == NORMAL


async def test_cloud_recording_does_not_consume_packages(tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app("recorder")
    clock.set(DAY0 + timedelta(hours=2))
    await _add(tenant, 1, DAY0, DAY0 + timedelta(days=1))
    await ingest(tenant.server, [record(app.sdk_app_id, DAY0, 3600, kind=2, category="4K")])
    await tick(tenant.server)
    state = await billing_state(tenant)
    assert [p.used_minutes for p in state.packages] == [0]
    assert state.package_state == pb.PACKAGE_STATE_OK


async def test_operator_state_only_on_unmetered_accounts_and_package_validation(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("operator")
    billing = tenant.server.console.billing
    view = await asyncio.to_thread(billing.set_flags, tenant.account_id, package_state="used_up")
    assert not view.metered and view.package_state == "used_up"
    assert await _status(tenant, app.sdk_app_id) == USED_UP
    assert (await billing_state(tenant)).package_state == pb.PACKAGE_STATE_USED_UP
    await _add(tenant, 5, clock.now(), clock.now() + timedelta(days=1))
    assert await _status(tenant, app.sdk_app_id) == NORMAL  # metered from now on
    with pytest.raises(FailedPrecondition, match="computed"):
        await asyncio.to_thread(billing.set_flags, tenant.account_id, package_state="ok")
    with pytest.raises(InvalidArgument) as refused:
        await _add(tenant, 0, clock.now(), clock.now())
    assert {v.field for v in refused.value.violations} == {"minutes", "valid_to"}
