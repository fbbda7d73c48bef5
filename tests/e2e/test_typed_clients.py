"""The typed client's ConfigClient and UsageClient against the real server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rtcconsole import InvalidArgument, NotFound, RtcConsole
from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole_server.clock import ManualClock
from tests.support import Tenant


async def test_config_client_round_trip(tenant: Tenant, clock: ManualClock) -> None:
    console = RtcConsole(tenant.channel, api_key=tenant.api_key)
    app = await console.apps.create_app(name="typed")
    config = await console.config.get_app_config(app.sdk_app_id)
    assert not config.permission_control.effective.enabled
    pending = await console.config.update_permission_control(app.sdk_app_id, enabled=True)
    assert pending.permission_control.pending.enabled  # R11: waits about 5 minutes
    updated = await console.config.update_callback_config(
        app.sdk_app_id, key="Abcdefgh12345678", room_event_url="https://example.com/rtc"
    )
    effective = updated.callback.effective  # R15: in effect at once
    assert effective.key_set and effective.key_hint == "5678" and not updated.callback.HasField("pending")
    with pytest.raises(InvalidArgument):
        await console.config.update_callback_config(app.sdk_app_id, room_event_url="ftp://example.com/x")
    with pytest.raises(ValueError, match="nothing to update"):
        await console.config.update_callback_config(app.sdk_app_id)
    page = await console.config.list_callback_deliveries(app.sdk_app_id)
    assert list(page.deliveries) == []
    with pytest.raises(NotFound):
        await console.config.get_app_config(1)


async def test_usage_client(tenant: Tenant, clock: ManualClock) -> None:
    console = RtcConsole(tenant.channel, api_key=tenant.api_key)
    now = clock.now()
    usage = await console.usage.get_usage(
        kind=usage_pb.USAGE_KIND_INTERACTIVE_AV, start_time=now - timedelta(hours=1), end_time=now
    )
    assert list(usage.lines) == []
    with pytest.raises(InvalidArgument):
        await console.usage.get_usage(
            kind=usage_pb.USAGE_KIND_INTERACTIVE_AV, start_time=now - timedelta(days=32), end_time=now
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        await console.usage.get_usage(
            kind=usage_pb.USAGE_KIND_CLOUD_RECORDING, start_time=now.replace(tzinfo=None), end_time=now
        )
    billing = await console.usage.get_billing_state()
    assert not billing.postpaid and billing.package_state == usage_pb.PACKAGE_STATE_OK
