"""R15: the callback key and URLs: validation, secrecy, and no delay (they take effect at once,
unlike the function settings of R11); a pending value left by an older version."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from rtcconsole.v1 import config_service_pb2 as pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.config import CallbackSection, encode
from rtcconsole_server.store.models import AppSetting
from tests.callback_support import Receiver, report, room_event
from tests.support import Tenant, fails

CODE = grpc.StatusCode
KEY = "Ab3dEf6hIj9kLmN0pQr5tUv8wXy1zK42"  # 32 letters and digits
DELAY = timedelta(minutes=5)


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


async def test_r15_callback_settings_take_effect_at_once_while_function_settings_wait(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("cbnow")
    accounts = tenant.server.console.accounts
    await asyncio.to_thread(accounts.set_services, tenant.account_id, css=True, vod=True)
    room, media = "https://hooks.example.com/room", "http://[::1]:8080/media?x=1"
    config = await _callback(tenant, app.sdk_app_id, key=KEY, room_event_url=room, media_event_url=media)
    effective = config.callback.effective
    assert (effective.key_set, effective.room_event_url, effective.media_event_url) == (True, room, media)
    assert not config.callback.HasField("pending") and not config.callback.HasField("pending_effective_time")
    assert await _get(tenant, app.sdk_app_id) == config  # GetAppConfig shows the same, at once
    domain = tenant.server.console.config
    assert await asyncio.to_thread(domain.effective_callback, app.sdk_app_id) == CallbackSection(
        KEY, room, media
    )
    # the function settings keep their 5 minutes (R11)
    push = pb.UpdateRelayedPushRequest(
        sdk_app_id=app.sdk_app_id,
        settings=pb.RelayedPushSettings(enabled=True, mode=pb.RELAYED_PUSH_MODE_SPECIFIED_STREAMS),
    )
    await tenant.config.UpdateRelayedPush(push, metadata=tenant.metadata)
    recording = pb.UpdateCloudRecordingRequest(
        sdk_app_id=app.sdk_app_id,
        settings=pb.CloudRecordingSettings(enabled=True),
        update_mask=FieldMask(paths=["enabled"]),
    )
    await tenant.config.UpdateCloudRecording(recording, metadata=tenant.metadata)
    config = await _callback(tenant, app.sdk_app_id, room_event_url=room + "2")
    assert config.callback.effective.room_event_url == room + "2" and not config.callback.HasField("pending")
    for section in (config.relayed_push, config.cloud_recording):
        assert section.pending.enabled and not section.effective.enabled
        assert section.pending_effective_time.ToDatetime() == clock.now().replace(tzinfo=None) + DELAY
    clock.advance(DELAY - timedelta(seconds=1))
    assert (await tenant.server.workers.run_once())["config"] == 0
    clock.advance(seconds=1)
    assert (await tenant.server.workers.run_once())["config"] == 2  # push and recording; no callback
    config = await _get(tenant, app.sdk_app_id)
    assert config.relayed_push.effective.enabled and config.cloud_recording.effective.enabled
    assert config.callback.effective.room_event_url == room + "2"


async def test_r15_deliveries_use_a_new_url_and_key_from_the_next_attempt(
    tenant: Tenant, clock: ManualClock
) -> None:
    """No clock moves: what UpdateCallbackConfig sets is what the very next attempts use."""
    app = await tenant.create_app("cbnext")
    dispatcher = tenant.server.dispatcher
    assert dispatcher is not None
    other_key = "Zz9" * 6
    with Receiver(key=KEY) as receiver:
        await _callback(tenant, app.sdk_app_id, key=KEY, room_event_url=receiver.url("/first"))
        await report(tenant.channel, [room_event("now-1", app.sdk_app_id, at=clock.now())])
        assert await dispatcher.run_once() == 1
        await _callback(tenant, app.sdk_app_id, key=other_key, room_event_url=receiver.url("/second"))
        receiver.key = other_key
        await report(tenant.channel, [room_event("now-2", app.sdk_app_id, at=clock.now(), user="bob")])
        assert await dispatcher.run_once() == 1
    assert [(r.path, r.event.event_id, r.signature_ok) for r in receiver.received] == [
        ("/first", "now-1", True),
        ("/second", "now-2", True),
    ]


async def _legacy_pending(
    tenant: Tenant,
    sdk_app_id: int,
    clock: ManualClock,
    *,
    effective: CallbackSection,
    pending: CallbackSection,
) -> None:
    """A callback row as a version that delayed callback changes left it: pending, due in 5 minutes."""
    now = clock.now()

    def write() -> None:
        with tenant.server.console.store.write() as session:
            session.add(
                AppSetting(
                    sdk_app_id=sdk_app_id,
                    section="callback",
                    effective=encode(effective),
                    pending=encode(pending),
                    pending_effective_at=now + DELAY,
                    updated_at=now,
                )
            )

    await asyncio.to_thread(write)


async def _row(tenant: Tenant, sdk_app_id: int) -> tuple[str, str | None]:
    def read() -> tuple[str, str | None]:
        with tenant.server.console.store.read() as session:
            row = session.get_one(AppSetting, (sdk_app_id, "callback"))
            return row.effective, row.pending

    return await asyncio.to_thread(read)


async def test_r15_a_pending_callback_change_of_an_older_version_is_in_effect_at_once(
    tenant: Tenant, clock: ManualClock
) -> None:
    """No migration: the old pending value reads as in effect; the worker tidies the row when due."""
    app, other = await tenant.create_app("cblegacy"), await tenant.create_app("cblegacy2")
    old = CallbackSection(room_event_url="http://127.0.0.1:9/old")
    with Receiver(key=KEY) as receiver:
        new = CallbackSection(key=KEY, room_event_url=receiver.url("/new"))
        await _legacy_pending(tenant, app.sdk_app_id, clock, effective=old, pending=new)
        await _legacy_pending(tenant, other.sdk_app_id, clock, effective=old, pending=new)
        before = (await _get(tenant, app.sdk_app_id)).callback
        assert before.effective.room_event_url == receiver.url("/new")
        assert before.effective.key_set and not before.HasField("pending")
        domain = tenant.server.console.config
        assert await asyncio.to_thread(domain.effective_callback, app.sdk_app_id) == new
        test = pb.SendTestCallbackRequest(sdk_app_id=app.sdk_app_id)
        sent = await tenant.config.SendTestCallback(test, metadata=tenant.metadata)
        assert (sent.url, sent.status_code) == (receiver.url("/new"), 200)
        await report(tenant.channel, [room_event("old-1", app.sdk_app_id, at=clock.now())])
        dispatcher = tenant.server.dispatcher
        assert dispatcher is not None and await dispatcher.run_once() == 1
        assert [r.path for r in receiver.received] == ["/new", "/new"]
        assert all(r.signature_ok for r in receiver.received)
    # an update builds on the old pending value and leaves nothing pending
    config = await _callback(tenant, other.sdk_app_id, media_event_url="http://a.example/m")
    effective = config.callback.effective
    assert (effective.key_set, effective.room_event_url) == (True, new.room_event_url)
    assert await _row(tenant, other.sdk_app_id) == (
        encode(CallbackSection(KEY, new.room_event_url, "http://a.example/m")),
        None,
    )
    # the worker still folds the untouched row when its old due time comes; nothing read changes
    clock.advance(DELAY)
    assert (await tenant.server.workers.run_once())["config"] == 1
    assert await _row(tenant, app.sdk_app_id) == (encode(new), None)
    assert (await _get(tenant, app.sdk_app_id)).callback == before


async def test_r15_the_mask_says_what_changes_and_an_empty_value_clears(tenant: Tenant) -> None:
    app = await tenant.create_app("cbmask")
    await _callback(tenant, app.sdk_app_id, key=KEY, room_event_url="http://a.example/r")
    # no mask: every non-empty field; the key stays
    config = await _callback(tenant, app.sdk_app_id, media_event_url="http://a.example/m")
    effective = config.callback.effective
    assert effective.key_set and effective.room_event_url == "http://a.example/r"
    config = await _callback(tenant, app.sdk_app_id, "key", "room_event_url")  # both cleared
    effective = config.callback.effective
    assert not effective.key_set and effective.key_hint == "" and effective.room_event_url == ""
    assert effective.media_event_url == "http://a.example/m" and not config.callback.HasField("pending")
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
    assert responses[0].callback.effective.key_hint == KEY[-4:]
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
    effective = (await _callback(tenant, app.sdk_app_id, key="abc1")).callback.effective
    assert effective.key_set and effective.key_hint == ""


async def test_r15_deliveries_and_test_callbacks_through_config_service(
    tenant: Tenant, other_tenant: Tenant, clock: ManualClock
) -> None:
    """Light: the RPCs delegate to the dispatcher's domain (tested in test_callbacks.py)."""
    app = await tenant.create_app("cbrpc")
    config, md = tenant.config, tenant.metadata
    with Receiver(key=KEY) as receiver:
        await _callback(tenant, app.sdk_app_id, key=KEY, room_event_url=receiver.url("/room"))
        test = pb.SendTestCallbackRequest(sdk_app_id=app.sdk_app_id)
        sent = await config.SendTestCallback(test, metadata=md)  # right away: no delay (R15)
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
