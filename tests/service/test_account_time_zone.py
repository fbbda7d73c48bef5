"""The account's time zone (AuthService.UpdateAccountSettings): the call list's "today" and
"yesterday" are its days (R17), UTC until the account sets one.

The clock is injected; the day boundaries are checked where UTC and the zone disagree (a call
at 23:30 UTC is "tomorrow" in Tokyo) and across a daylight-saving change (a 23-hour day).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from rtcconsole.cli import amain
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import auth_service_pb2_grpc as auth_grpc
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole_server.clock import ManualClock
from tests.callback_support import report, room_event
from tests.support import Tenant, fails

CODE = grpc.StatusCode
ENTER, EXIT = ingest_pb.EVENT_TYPE_USER_ENTERED, ingest_pb.EVENT_TYPE_USER_EXITED


def _auth(tenant: Tenant) -> auth_grpc.AuthServiceAsyncStub:
    return auth_grpc.AuthServiceStub(tenant.channel)


async def _set_zone(tenant: Tenant, zone: str) -> auth_pb.UpdateAccountSettingsResponse:
    response: auth_pb.UpdateAccountSettingsResponse = await _auth(tenant).UpdateAccountSettings(
        auth_pb.UpdateAccountSettingsRequest(time_zone=zone), metadata=tenant.metadata
    )
    return response


async def _list(tenant: Tenant, **fields: object) -> pb.ListCallsResponse:
    response: pb.ListCallsResponse = await pb_grpc.MonitorServiceStub(tenant.channel).ListCalls(
        pb.ListCallsRequest(**fields),  # type: ignore[arg-type]
        metadata=tenant.metadata,
    )
    return response


async def _zone(tenant: Tenant) -> str:
    identity = await _auth(tenant).GetCallerIdentity(
        auth_pb.GetCallerIdentityRequest(), metadata=tenant.metadata
    )
    return identity.time_zone


def _range(response: pb.ListCallsResponse) -> tuple[datetime, datetime]:
    return response.start_time.ToDatetime(tzinfo=UTC), response.end_time.ToDatetime(tzinfo=UTC)


async def test_today_is_a_day_of_the_account_time_zone(tenant: Tenant, clock: ManualClock) -> None:
    app = (await tenant.create_app("zones")).sdk_app_id
    clock.set(datetime(2026, 3, 10, 23, 50, tzinfo=UTC))  # 08:50 on 11 March in Tokyo
    late = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # 08:30 on 11 March in Tokyo
    noon = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 21:00 on 10 March in Tokyo
    await report(
        tenant.channel,
        [
            room_event("a1", app, at=late, room=1, user="a", type=ENTER),
            room_event("a2", app, at=late + timedelta(minutes=5), room=1, user="a", type=EXIT),
            room_event("b1", app, at=noon, room=2, user="b", type=ENTER),
            room_event("b2", app, at=noon + timedelta(minutes=5), room=2, user="b", type=EXIT),
        ],
    )
    identity = await _auth(tenant).GetCallerIdentity(
        auth_pb.GetCallerIdentityRequest(), metadata=tenant.metadata
    )
    assert identity.time_zone == "UTC"  # the default
    utc_today = await _list(tenant, sdk_app_id=app)
    assert _range(utc_today) == (datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))
    assert [c.room_id for c in utc_today.calls] == [1, 2]

    assert (await _set_zone(tenant, "Asia/Tokyo")).time_zone == "Asia/Tokyo"
    tokyo_today = await _list(tenant, sdk_app_id=app)
    # 11 March 00:00 JST is 10 March 15:00 UTC
    assert _range(tokyo_today) == (
        datetime(2026, 3, 10, 15, tzinfo=UTC),
        datetime(2026, 3, 11, 15, tzinfo=UTC),
    )
    assert [c.room_id for c in tokyo_today.calls] == [1]
    yesterday = await _list(tenant, sdk_app_id=app, range=pb.CALL_RANGE_YESTERDAY)
    assert [c.room_id for c in yesterday.calls] == [2]
    identity = await _auth(tenant).GetCallerIdentity(
        auth_pb.GetCallerIdentityRequest(), metadata=tenant.metadata
    )
    assert identity.time_zone == "Asia/Tokyo"


async def test_a_day_with_a_daylight_saving_change_lasts_23_hours(tenant: Tenant, clock: ManualClock) -> None:
    app = (await tenant.create_app("dst")).sdk_app_id
    await _set_zone(tenant, "America/New_York")
    clock.set(datetime(2026, 3, 8, 18, 0, tzinfo=UTC))  # 8 March 2026: clocks go forward at 02:00
    start, end = _range(await _list(tenant, sdk_app_id=app))
    assert start == datetime(2026, 3, 8, 5, tzinfo=UTC)  # midnight EST (UTC-5)
    assert end == datetime(2026, 3, 9, 4, tzinfo=UTC)  # next midnight EDT (UTC-4)
    assert end - start == timedelta(hours=23)


@pytest.mark.parametrize(
    "zone", ["", "asia/tokyo", "Mars/Olympus", "../../etc/passwd", "UTC+9", "Asia/Tokyo\x00"]
)
async def test_an_unknown_zone_is_a_field_error(tenant: Tenant, zone: str) -> None:
    failure = await fails(_set_zone(tenant, zone), CODE.INVALID_ARGUMENT)
    assert list(failure.field_violations) == ["time_zone"]
    identity = await _auth(tenant).GetCallerIdentity(
        auth_pb.GetCallerIdentityRequest(), metadata=tenant.metadata
    )
    assert identity.time_zone == "UTC"  # nothing changed


async def test_the_setting_is_the_account_s_own(tenant: Tenant, other_tenant: Tenant) -> None:
    await _set_zone(tenant, "Europe/Paris")
    assert await _zone(other_tenant) == "UTC"


async def test_rtcctl_sets_and_shows_the_zone(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--target", tenant.server.target, "--api-key", tenant.api_key]
    assert await amain([*base, "auth", "set-time-zone", "Asia/Tokyo"]) == 0
    assert capsys.readouterr().out.strip() == "time zone: Asia/Tokyo"
    assert await amain([*base, "auth", "whoami"]) == 0
    assert "Asia/Tokyo" in capsys.readouterr().out
    assert await amain([*base, "auth", "set-time-zone", "Tokio"]) == 1  # refused by the server
    assert "time_zone" in capsys.readouterr().err
