"""R11-R14: function settings take effect 5 minutes later; relayed push, cloud recording and
permission control with their preconditions. Callbacks (R15) are in test_config_callback.py.

Time is a ManualClock; the config worker runs when the test says so (``run_once``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole.v1 import config_service_pb2 as pb
from rtcconsole_server import cli
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.common import Caller, load_app
from tests.support import Failure, Tenant, fails

CODE = grpc.StatusCode
DELAY = timedelta(minutes=5)
SPECIFIED = pb.RELAYED_PUSH_MODE_SPECIFIED_STREAMS
GLOBAL = pb.RELAYED_PUSH_MODE_GLOBAL_AUTO_RELAY


def _at(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


async def _services(tenant: Tenant, *, css: bool | None = None, vod: bool | None = None) -> None:
    accounts = tenant.server.console.accounts
    await asyncio.to_thread(accounts.set_services, tenant.account_id, css=css, vod=vod)


async def _get(tenant: Tenant, sdk_app_id: int) -> pb.AppConfig:
    request = pb.GetAppConfigRequest(sdk_app_id=sdk_app_id)
    return (await tenant.config.GetAppConfig(request, metadata=tenant.metadata)).config


async def _push(
    tenant: Tenant, sdk_app_id: int, enabled: bool, mode: pb.RelayedPushMode.ValueType = SPECIFIED
) -> pb.AppConfig:
    request = pb.UpdateRelayedPushRequest(
        sdk_app_id=sdk_app_id, settings=pb.RelayedPushSettings(enabled=enabled, mode=mode)
    )
    return (await tenant.config.UpdateRelayedPush(request, metadata=tenant.metadata)).config


async def _recording(
    tenant: Tenant, sdk_app_id: int, settings: pb.CloudRecordingSettings, *paths: str
) -> pb.AppConfig:
    request = pb.UpdateCloudRecordingRequest(
        sdk_app_id=sdk_app_id, settings=settings, update_mask=FieldMask(paths=list(paths))
    )
    return (await tenant.config.UpdateCloudRecording(request, metadata=tenant.metadata)).config


async def _recording_on(tenant: Tenant, sdk_app_id: int, enabled: bool = True) -> pb.AppConfig:
    return await _recording(tenant, sdk_app_id, pb.CloudRecordingSettings(enabled=enabled), "enabled")


async def _settle(tenant: Tenant, clock: ManualClock, delta: timedelta = DELAY) -> dict[str, int]:
    clock.advance(delta)
    return await tenant.server.workers.run_once()


def _precondition_types(failure: Failure) -> list[str]:
    details = failure.details["google.rpc.PreconditionFailure"]
    return [v.type for v in details.violations]


async def test_r12_r13_r14_r15_everything_is_off_by_default(tenant: Tenant) -> None:
    app = await tenant.create_app("fresh")
    config = await _get(tenant, app.sdk_app_id)
    assert config.sdk_app_id == app.sdk_app_id
    for section in (config.relayed_push, config.cloud_recording, config.permission_control):
        assert not section.effective.enabled
        assert not section.HasField("pending") and not section.HasField("pending_effective_time")
    assert config.relayed_push.push_domain == ""
    recording = config.cloud_recording.effective
    assert (
        recording.mode == pb.RECORDING_MODE_MANUAL and recording.media == pb.RECORDING_MEDIA_AUDIO_AND_VIDEO
    )
    assert recording.file_format == pb.RECORDING_FILE_FORMAT_HLS
    assert recording.storage == pb.RECORDING_STORAGE_VOD and recording.max_idle_time.seconds == 30
    callback = config.callback.effective
    assert not callback.key_set and callback.key_hint == "" and not callback.room_event_url
    assert not (await tenant.get_app(app.sdk_app_id)).relayed_live_streaming.enabled


async def test_r12_relayed_push_needs_css_and_a_mode(tenant: Tenant) -> None:
    app = await tenant.create_app("push")
    failure = await fails(_push(tenant, app.sdk_app_id, True), CODE.FAILED_PRECONDITION)
    assert _precondition_types(failure) == ["CSS_SERVICE_INACTIVE"]
    violation = failure.details["google.rpc.PreconditionFailure"].violations[0]
    assert violation.subject == f"accounts/{tenant.account_id}"
    await _services(tenant, css=True)
    failure = await fails(
        _push(tenant, app.sdk_app_id, True, pb.RELAYED_PUSH_MODE_UNSPECIFIED), CODE.INVALID_ARGUMENT
    )
    assert "settings.mode" in failure.field_violations
    failure = await fails(_push(tenant, app.sdk_app_id, True, 7), CODE.INVALID_ARGUMENT)  # type: ignore[arg-type]
    assert "settings.mode" in failure.field_violations
    assert not (await _get(tenant, app.sdk_app_id)).relayed_push.HasField("pending")


async def test_r11_r12_change_is_pending_for_exactly_5_minutes_then_shows_in_the_app(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("delay")
    await _services(tenant, css=True)
    changed_at = clock.now()
    config = await _push(tenant, app.sdk_app_id, True)
    push = config.relayed_push
    assert not push.effective.enabled
    assert push.pending.enabled and push.pending.mode == SPECIFIED
    assert _at(push.pending_effective_time) == changed_at + DELAY
    assert await _get(tenant, app.sdk_app_id) == config  # GetAppConfig shows the same

    assert (await _settle(tenant, clock, DELAY - timedelta(seconds=1)))["config"] == 0
    assert not (await _get(tenant, app.sdk_app_id)).relayed_push.effective.enabled
    assert not (await tenant.get_app(app.sdk_app_id)).relayed_live_streaming.enabled

    assert (await _settle(tenant, clock, timedelta(seconds=1)))["config"] == 1
    push = (await _get(tenant, app.sdk_app_id)).relayed_push
    assert push.effective.enabled and push.effective.mode == SPECIFIED
    assert not push.HasField("pending") and not push.HasField("pending_effective_time")
    domain = f"{app.sdk_app_id}.livepush.rtc-console.local"
    assert push.push_domain == domain
    info = (await tenant.get_app(app.sdk_app_id)).relayed_live_streaming  # R5
    assert info.enabled and info.push_domain == domain


async def test_r11_a_second_change_replaces_the_pending_one_and_restarts_the_delay(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("twice")
    await _services(tenant, css=True)
    first_at = clock.now()
    await _push(tenant, app.sdk_app_id, True, SPECIFIED)
    clock.advance(minutes=3)
    second = (await _push(tenant, app.sdk_app_id, True, GLOBAL)).relayed_push
    assert second.pending.mode == GLOBAL
    assert _at(second.pending_effective_time) == first_at + timedelta(minutes=8)
    await _settle(tenant, clock, timedelta(minutes=2))  # the first change's time: nothing happens
    assert not (await _get(tenant, app.sdk_app_id)).relayed_push.effective.enabled
    await _settle(tenant, clock, timedelta(minutes=3))
    push = (await _get(tenant, app.sdk_app_id)).relayed_push
    assert push.effective.enabled and push.effective.mode == GLOBAL


async def test_r11_changing_back_before_the_effect_cancels_the_pending_change(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("undo")
    await _services(tenant, css=True)
    await _push(tenant, app.sdk_app_id, True)
    config = await _push(tenant, app.sdk_app_id, False)
    assert not config.relayed_push.HasField("pending")
    assert (await _settle(tenant, clock))["config"] == 0


async def test_r12_turning_relayed_push_off_keeps_the_push_domain(tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app("offagain")
    await _services(tenant, css=True)
    await _push(tenant, app.sdk_app_id, True)
    await _settle(tenant, clock)
    pending = (await _push(tenant, app.sdk_app_id, False, pb.RELAYED_PUSH_MODE_UNSPECIFIED)).relayed_push
    assert not pending.pending.enabled and pending.pending.mode == SPECIFIED  # the mode stays
    await _settle(tenant, clock)
    info = (await tenant.get_app(app.sdk_app_id)).relayed_live_streaming
    assert not info.enabled and info.push_domain == f"{app.sdk_app_id}.livepush.rtc-console.local"


async def test_r13_cloud_recording_preconditions_each_have_their_type(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("rec")
    failure = await fails(_recording_on(tenant, app.sdk_app_id), CODE.FAILED_PRECONDITION)
    assert _precondition_types(failure) == [
        "CSS_SERVICE_INACTIVE",
        "VOD_SERVICE_INACTIVE",
        "RELAYED_PUSH_OFF",
    ]
    await _services(tenant, css=True, vod=True)
    failure = await fails(_recording_on(tenant, app.sdk_app_id), CODE.FAILED_PRECONDITION)
    assert _precondition_types(failure) == ["RELAYED_PUSH_OFF"]
    assert failure.details["google.rpc.PreconditionFailure"].violations[0].subject == f"apps/{app.sdk_app_id}"

    await _push(tenant, app.sdk_app_id, True)
    await _settle(tenant, clock)
    await _services(tenant, vod=False)
    failure = await fails(_recording_on(tenant, app.sdk_app_id), CODE.FAILED_PRECONDITION)
    assert _precondition_types(failure) == ["VOD_SERVICE_INACTIVE"]
    await _services(tenant, css=False, vod=True)
    failure = await fails(_recording_on(tenant, app.sdk_app_id), CODE.FAILED_PRECONDITION)
    assert _precondition_types(failure) == ["CSS_SERVICE_INACTIVE"]
    assert not (await _get(tenant, app.sdk_app_id)).cloud_recording.HasField("pending")


async def test_r13_pending_relayed_push_counts_as_on(tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app("heading")
    await _services(tenant, css=True, vod=True)
    await _push(tenant, app.sdk_app_id, True)  # pending, not yet in effect
    config = await _recording_on(tenant, app.sdk_app_id)
    assert config.cloud_recording.pending.enabled and not config.relayed_push.effective.enabled
    await _settle(tenant, clock)
    config = await _get(tenant, app.sdk_app_id)
    assert config.relayed_push.effective.enabled and config.cloud_recording.effective.enabled


async def test_r13_recording_never_takes_effect_before_relayed_push(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("order")
    await _services(tenant, css=True, vod=True)
    start = clock.now()
    await _push(tenant, app.sdk_app_id, True, SPECIFIED)  # due at +5
    clock.advance(minutes=1)
    await _recording_on(tenant, app.sdk_app_id)  # due at +6
    clock.advance(minutes=2)
    await _push(tenant, app.sdk_app_id, True, GLOBAL)  # replaces the push change: due at +8
    await _settle(tenant, clock, timedelta(minutes=3))  # +6: recording is due, relayed push is not
    config = await _get(tenant, app.sdk_app_id)
    assert not config.cloud_recording.effective.enabled and config.cloud_recording.pending.enabled
    assert _at(config.cloud_recording.pending_effective_time) == start + timedelta(minutes=8)
    await _settle(tenant, clock, timedelta(minutes=2))
    config = await _get(tenant, app.sdk_app_id)
    assert config.relayed_push.effective.enabled and config.cloud_recording.effective.enabled


async def test_r13_relayed_push_cannot_go_off_while_recording_is_on(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("depends")
    await _services(tenant, css=True, vod=True)
    await _push(tenant, app.sdk_app_id, True)
    await _settle(tenant, clock)
    await _recording_on(tenant, app.sdk_app_id)
    failure = await fails(_push(tenant, app.sdk_app_id, False), CODE.FAILED_PRECONDITION)  # pending on
    assert _precondition_types(failure) == ["CLOUD_RECORDING_ON"]
    assert "cloud recording" in failure.message
    await _settle(tenant, clock)
    await fails(_push(tenant, app.sdk_app_id, False), CODE.FAILED_PRECONDITION)  # effective on
    await _recording_on(tenant, app.sdk_app_id, False)
    await fails(_push(tenant, app.sdk_app_id, False), CODE.FAILED_PRECONDITION)  # still on in effect
    await _settle(tenant, clock)
    config = await _push(tenant, app.sdk_app_id, False)
    assert not config.relayed_push.pending.enabled
    await _push(tenant, app.sdk_app_id, True, GLOBAL)  # a mode change while on needs nothing more


async def test_r13_settings_are_edited_with_an_update_mask(tenant: Tenant) -> None:
    app = await tenant.create_app("edit")
    settings = pb.CloudRecordingSettings(
        mode=pb.RECORDING_MODE_AUTOMATIC,
        media=pb.RECORDING_MEDIA_AUDIO_ONLY,
        file_format=pb.RECORDING_FILE_FORMAT_AAC,
        max_idle_time=Duration(seconds=60),
        storage=pb.RECORDING_STORAGE_OBJECT_STORAGE,
    )
    paths = ("mode", "media", "file_format", "max_idle_time", "storage")
    pending = (await _recording(tenant, app.sdk_app_id, settings, *paths)).cloud_recording.pending
    assert not pending.enabled  # editing while off needs no precondition
    assert (pending.mode, pending.media, pending.file_format, pending.storage) == (
        pb.RECORDING_MODE_AUTOMATIC,
        pb.RECORDING_MEDIA_AUDIO_ONLY,
        pb.RECORDING_FILE_FORMAT_AAC,
        pb.RECORDING_STORAGE_OBJECT_STORAGE,
    )
    assert pending.max_idle_time.seconds == 60
    only = pb.CloudRecordingSettings(max_idle_time=Duration(seconds=5))
    pending = (
        await _recording(tenant, app.sdk_app_id, only, "settings.max_idle_time")
    ).cloud_recording.pending
    assert pending.max_idle_time.seconds == 5 and pending.mode == pb.RECORDING_MODE_AUTOMATIC

    async def refused(settings: pb.CloudRecordingSettings, *paths: str) -> dict[str, str]:
        call = _recording(tenant, app.sdk_app_id, settings, *paths)
        return (await fails(call, CODE.INVALID_ARGUMENT)).field_violations

    video = pb.CloudRecordingSettings(media=pb.RECORDING_MEDIA_AUDIO_AND_VIDEO)
    assert "settings.media" in await refused(video, "media")  # the pending format is aac
    aac = pb.CloudRecordingSettings(media=video.media, file_format=pb.RECORDING_FILE_FORMAT_AAC)
    assert "settings.file_format" in await refused(aac, "media", "file_format")
    for seconds, nanos in ((4, 0), (86_401, 0), (5, 500_000_000), (-5, 0)):
        idle = pb.CloudRecordingSettings(max_idle_time=Duration(seconds=seconds, nanos=nanos))
        assert "settings.max_idle_time" in await refused(idle, "max_idle_time")
    assert "settings.max_idle_time" in await refused(pb.CloudRecordingSettings(), "max_idle_time")
    assert "settings.mode" in await refused(pb.CloudRecordingSettings(), "mode")
    assert "settings.storage" in await refused(pb.CloudRecordingSettings(storage=9), "storage")  # type: ignore[arg-type]
    assert "update_mask" in await refused(pb.CloudRecordingSettings(), "colour")
    # an empty mask means every field; unspecified enums keep their values
    whole = pb.CloudRecordingSettings(max_idle_time=Duration(seconds=86_400))
    pending = (await _recording(tenant, app.sdk_app_id, whole)).cloud_recording.pending
    assert pending.max_idle_time.seconds == 86_400 and pending.file_format == pb.RECORDING_FILE_FORMAT_AAC


def _short_names(enum: Any, prefix: str) -> list[str]:
    """The values of a proto enum but UNSPECIFIED, by short name (``SPECIFIED_STREAMS``)."""
    return [name.removeprefix(prefix) for name, number in enum.items() if number]


async def test_r12_r13_messages_name_enum_values_by_their_short_names(tenant: Tenant) -> None:
    """What a caller types after the enum's prefix; rtcctl takes the same words in lower case."""
    app = await tenant.create_app("words")
    await _services(tenant, css=True)
    unset = _push(tenant, app.sdk_app_id, True, pb.RELAYED_PUSH_MODE_UNSPECIFIED)
    said = (await fails(unset, CODE.INVALID_ARGUMENT)).field_violations["settings.mode"]
    assert said == "is required; one of SPECIFIED_STREAMS, GLOBAL_AUTO_RELAY"
    unknown = _push(tenant, app.sdk_app_id, True, 7)  # type: ignore[arg-type]
    said = (await fails(unknown, CODE.INVALID_ARGUMENT)).field_violations["settings.mode"]
    assert said == "is not a known value; one of SPECIFIED_STREAMS, GLOBAL_AUTO_RELAY"
    for path, enum, prefix in (
        ("mode", pb.RecordingMode, "RECORDING_MODE_"),
        ("media", pb.RecordingMedia, "RECORDING_MEDIA_"),
        ("file_format", pb.RecordingFileFormat, "RECORDING_FILE_FORMAT_"),
        ("storage", pb.RecordingStorage, "RECORDING_STORAGE_"),
    ):
        call = _recording(tenant, app.sdk_app_id, pb.CloudRecordingSettings(), path)
        said = (await fails(call, CODE.INVALID_ARGUMENT)).field_violations[f"settings.{path}"]
        assert said == f"is required; one of {', '.join(_short_names(enum, prefix))}", path
    aac = pb.CloudRecordingSettings(
        media=pb.RECORDING_MEDIA_AUDIO_AND_VIDEO, file_format=pb.RECORDING_FILE_FORMAT_AAC
    )
    call = _recording(tenant, app.sdk_app_id, aac, "media", "file_format")
    assert (await fails(call, CODE.INVALID_ARGUMENT)).field_violations == {
        "settings.file_format": "the AAC file format records audio only: it needs AUDIO_ONLY media"
    }


async def test_r14_permission_control_is_stored_and_read_in_effect_only(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("perm")
    config_domain = tenant.server.console.config
    request = pb.UpdatePermissionControlRequest(
        sdk_app_id=app.sdk_app_id, settings=pb.PermissionControlSettings(enabled=True)
    )
    config = (await tenant.config.UpdatePermissionControl(request, metadata=tenant.metadata)).config
    assert config.permission_control.pending.enabled and not config.permission_control.effective.enabled
    assert not await asyncio.to_thread(config_domain.permission_control_enabled, app.sdk_app_id)
    await _settle(tenant, clock)
    assert (await _get(tenant, app.sdk_app_id)).permission_control.effective.enabled
    assert await asyncio.to_thread(config_domain.permission_control_enabled, app.sdk_app_id)


async def test_config_is_walled_off_between_tenants(tenant: Tenant, other_tenant: Tenant) -> None:
    app = await tenant.create_app("mine")
    theirs, md, sdk_app_id = other_tenant.config, other_tenant.metadata, app.sdk_app_id
    await _services(other_tenant, css=True, vod=True)
    calls: list[Awaitable[object]] = [
        theirs.GetAppConfig(pb.GetAppConfigRequest(sdk_app_id=sdk_app_id), metadata=md),
        theirs.UpdateRelayedPush(
            pb.UpdateRelayedPushRequest(
                sdk_app_id=sdk_app_id, settings=pb.RelayedPushSettings(enabled=True, mode=SPECIFIED)
            ),
            metadata=md,
        ),
        theirs.UpdateCloudRecording(pb.UpdateCloudRecordingRequest(sdk_app_id=sdk_app_id), metadata=md),
        theirs.UpdatePermissionControl(pb.UpdatePermissionControlRequest(sdk_app_id=sdk_app_id), metadata=md),
        theirs.UpdateCallbackConfig(
            pb.UpdateCallbackConfigRequest(sdk_app_id=sdk_app_id, room_event_url="http://x.test/"),
            metadata=md,
        ),
    ]
    for call in calls:
        await fails(call, CODE.NOT_FOUND)
    await fails(
        tenant.config.GetAppConfig(pb.GetAppConfigRequest(sdk_app_id=sdk_app_id)), CODE.UNAUTHENTICATED
    )
    failure = await fails(_get(tenant, 0), CODE.INVALID_ARGUMENT)
    assert "sdk_app_id" in failure.field_violations
    assert not (await _get(tenant, sdk_app_id)).relayed_push.HasField("pending")


async def test_admin_cli_sets_services_and_turning_css_off_changes_no_setting(
    tenant: Tenant, clock: ManualClock, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await tenant.create_app("operator")
    base = ["admin", "account", "services", str(tenant.account_id), "--database-url", database_url]
    assert await asyncio.to_thread(cli.main, [*base, "--css", "on", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)  # and the store it changed (issue 11)
    assert {k: printed[k] for k in ("account_id", "css", "vod")} == {
        "account_id": tenant.account_id,
        "css": True,
        "vod": False,
    }
    await _push(tenant, app.sdk_app_id, True)
    await _settle(tenant, clock)
    assert await asyncio.to_thread(cli.main, [*base, "--css", "off"]) == 0
    words = capsys.readouterr().out.split()
    assert {f"account_id={tenant.account_id}", "css=False", "vod=False"} <= set(words), words
    await _settle(tenant, clock)
    assert (await _get(tenant, app.sdk_app_id)).relayed_push.effective.enabled  # nothing turned off
    assert (await tenant.get_app(app.sdk_app_id)).relayed_live_streaming.enabled
    await _push(tenant, app.sdk_app_id, True, GLOBAL)  # not new enablement: no CSS check
    assert await asyncio.to_thread(cli.main, ["admin", "account", "services", "nobody", "--css", "on"]) == 1


async def test_the_worker_skips_apps_locked_elsewhere(
    tenant: Tenant, clock: ManualClock, backend: str
) -> None:
    """Replicas share the work: an app locked by another transaction is skipped, not waited for."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers; SKIP LOCKED is a PostgreSQL claim")
    app = await tenant.create_app("locked")
    await _services(tenant, css=True)
    await _push(tenant, app.sdk_app_id, True)
    clock.advance(DELAY)
    console = tenant.server.console
    with console.store.write() as session:
        load_app(session, Caller(tenant.account_id, ""), app.sdk_app_id, for_update=True)
        assert await asyncio.to_thread(console.config.apply_due) == 0
    assert await asyncio.to_thread(console.config.apply_due) == 1
