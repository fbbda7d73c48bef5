"""R15: the callback key and URLs: validation, secrecy, the 5-minute delay (R11)."""

from __future__ import annotations

import asyncio
import logging

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from rtcconsole.v1 import config_service_pb2 as pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.config import CallbackSection
from tests.callback_support import Receiver, report, room_event
from tests.support import Tenant, fails

CODE = grpc.StatusCode
KEY = "Ab3dEf6hIj9kLmN0pQr5tUv8wXy1zK42"  # 32 letters and digits


async def _callback(tenant: Tenant, sdk_app_id: int, *paths: str, **fields: str) -> pb.AppConfig:
    request = pb.UpdateCallbackConfigRequest(
        sdk_app_id=sdk_app_id, update_mask=FieldMask(paths=list(paths)), **fields
    )
    return (await tenant.config.UpdateCallbackConfig(request, metadata=tenant.metadata)).config


async def _get(tenant: Tenant, sdk_app_id: int) -> pb.AppConfig:
    request = pb.GetAppConfigRequest(sdk_app_id=sdk_app_id)
    return (await tenant.config.GetAppConfig(request, metadata=tenant.metadata)).config


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"key": "K" * 33}, "key"),
        ({"key": "not-alnum"}, "key"),
        ({"key": "has space"}, "key"),
        ({"room_event_url": "ftp://example.com/cb"}, "room_event_url"),
        ({"room_event_url": "http:///no-host"}, "room_event_url"),
        ({"media_event_url": "https://example.com/" + "a" * 2064}, "media_event_url"),  # 2084 characters
        ({"media_event_url": "http://example.com/a b"}, "media_event_url"),
        ({"room_event_url": "http://user:pw@example.com/"}, "room_event_url"),
        ({"room_event_url": "example.com/cb"}, "room_event_url"),
    ],
)
async def test_r15_bad_callback_fields_are_invalid_argument_naming_the_field(
    tenant: Tenant, fields: dict[str, str], field: str
) -> None:
    app = await tenant.create_app("cbcheck")
    failure = await fails(_callback(tenant, app.sdk_app_id, **fields), CODE.INVALID_ARGUMENT)
    assert list(failure.field_violations) == [field]
    assert not (await _get(tenant, app.sdk_app_id)).callback.HasField("pending")


async def test_r15_every_bad_field_is_reported_at_once(tenant: Tenant) -> None:
    app = await tenant.create_app("cbmany")
    failure = await fails(
        _callback(tenant, app.sdk_app_id, key="k!", room_event_url="ftp://x", media_event_url="http://"),
        CODE.INVALID_ARGUMENT,
    )
    assert set(failure.field_violations) == {"key", "room_event_url", "media_event_url"}


async def test_r15_r11_callback_settings_take_effect_after_5_minutes(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("cbdelay")
    room, media = "https://hooks.example.com/room", "http://[::1]:8080/media?x=1"
    config = await _callback(tenant, app.sdk_app_id, key=KEY, room_event_url=room, media_event_url=media)
    pending = config.callback.pending
    assert (pending.key_set, pending.room_event_url, pending.media_event_url) == (True, room, media)
    assert not config.callback.effective.key_set
    domain = tenant.server.console.config
    assert await asyncio.to_thread(domain.effective_callback, app.sdk_app_id) == CallbackSection()
    clock.advance(minutes=5)
    await tenant.server.workers.run_once()
    effective = (await _get(tenant, app.sdk_app_id)).callback.effective
    assert effective.room_event_url == room and effective.key_set
    assert await asyncio.to_thread(domain.effective_callback, app.sdk_app_id) == CallbackSection(
        KEY, room, media
    )


async def test_r15_the_mask_says_what_changes_and_an_empty_value_clears(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("cbmask")
    await _callback(tenant, app.sdk_app_id, key=KEY, room_event_url="http://a.example/r")
    # no mask: every non-empty field; the key stays
    config = await _callback(tenant, app.sdk_app_id, media_event_url="http://a.example/m")
    assert config.callback.pending.key_set and config.callback.pending.room_event_url == "http://a.example/r"
    config = await _callback(tenant, app.sdk_app_id, "key", "room_event_url")  # both cleared
    pending = config.callback.pending
    assert not pending.key_set and pending.key_hint == "" and pending.room_event_url == ""
    assert pending.media_event_url == "http://a.example/m"
    failure = await fails(_callback(tenant, app.sdk_app_id), CODE.INVALID_ARGUMENT)
    assert "update_mask" in failure.field_violations
    failure = await fails(_callback(tenant, app.sdk_app_id, "secret"), CODE.INVALID_ARGUMENT)
    assert "update_mask" in failure.field_violations


async def test_r15_the_key_is_never_returned_nor_logged(
    tenant: Tenant, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await tenant.create_app("cbsecret")
    responses: list[pb.AppConfig] = [await _callback(tenant, app.sdk_app_id, key=KEY)]
    assert responses[0].callback.pending.key_hint == KEY[-4:]
    responses.append(await _get(tenant, app.sdk_app_id))
    clock.advance(minutes=5)
    await tenant.server.workers.run_once()
    responses.append(await _get(tenant, app.sdk_app_id))
    assert responses[-1].callback.effective.key_set
    bad_key = "Secret0Value9With-Dash"
    await fails(_callback(tenant, app.sdk_app_id, key=bad_key), CODE.INVALID_ARGUMENT)
    for response in responses:
        assert KEY not in str(response) and KEY not in response.SerializeToString().decode("latin-1")
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert "UpdateCallbackConfig" in logs  # requests were logged, redacted
    assert KEY not in logs and KEY[:-4] not in logs and bad_key not in logs


async def test_r15_a_short_key_gets_no_hint(tenant: Tenant) -> None:
    app = await tenant.create_app("cbshort")
    pending = (await _callback(tenant, app.sdk_app_id, key="abc1")).callback.pending
    assert pending.key_set and pending.key_hint == ""


async def test_r15_deliveries_and_test_callbacks_through_config_service(
    tenant: Tenant, other_tenant: Tenant, clock: ManualClock
) -> None:
    """Light: the RPCs delegate to the dispatcher's domain (tested in test_callbacks.py)."""
    app = await tenant.create_app("cbrpc")
    config, md = tenant.config, tenant.metadata
    with Receiver(key=KEY) as receiver:
        await _callback(tenant, app.sdk_app_id, key=KEY, room_event_url=receiver.url("/room"))
        test = pb.SendTestCallbackRequest(sdk_app_id=app.sdk_app_id)
        failure = await fails(config.SendTestCallback(test, metadata=md), CODE.FAILED_PRECONDITION)
        assert "CALLBACK_URL_UNSET" in str(failure.details)  # the URL is only pending (R11)
        clock.advance(minutes=5)
        await tenant.server.workers.run_once()
        sent = await config.SendTestCallback(test, metadata=md)
        [got] = receiver.received
    assert (sent.url, sent.status_code, sent.error, sent.response_body) == (
        receiver.url("/room"),
        200,
        "",
        "ok",
    )
    assert got.signature_ok and got.body.decode() == sent.body and sent.HasField("duration")
    media = pb.SendTestCallbackRequest(sdk_app_id=app.sdk_app_id, event_group=pb.CALLBACK_EVENT_GROUP_MEDIA)
    await fails(config.SendTestCallback(media, metadata=md), CODE.FAILED_PRECONDITION)  # no media URL

    await report(tenant.channel, [room_event("ev-1", app.sdk_app_id, at=clock.now(), room=1234)])
    listed = await config.ListCallbackDeliveries(
        pb.ListCallbackDeliveriesRequest(sdk_app_id=app.sdk_app_id, room="1234"), metadata=md
    )
    [delivery] = listed.deliveries
    assert (delivery.event_id, delivery.room, delivery.room_sequence) == ("ev-1", "1234", 1)
    assert (
        delivery.state == pb.DELIVERY_STATE_PENDING and delivery.event_group == pb.CALLBACK_EVENT_GROUP_ROOM
    )
    assert delivery.url == receiver.url("/room") and delivery.delivery_id and not listed.next_page_token
    delivered = pb.ListCallbackDeliveriesRequest(sdk_app_id=app.sdk_app_id, state=pb.DELIVERY_STATE_DELIVERED)
    assert not (await config.ListCallbackDeliveries(delivered, metadata=md)).deliveries
    bad = pb.ListCallbackDeliveriesRequest(sdk_app_id=app.sdk_app_id, state=9)  # type: ignore[arg-type]
    failure = await fails(config.ListCallbackDeliveries(bad, metadata=md), CODE.INVALID_ARGUMENT)
    assert "state" in failure.field_violations

    theirs = other_tenant.metadata
    await fails(other_tenant.config.SendTestCallback(test, metadata=theirs), CODE.NOT_FOUND)
    mine = pb.ListCallbackDeliveriesRequest(sdk_app_id=app.sdk_app_id)
    await fails(other_tenant.config.ListCallbackDeliveries(mine, metadata=theirs), CODE.NOT_FOUND)
