"""``rtcctl config``: function settings of an app (R11-R14), its callbacks (R15) and their deliveries.

A function-setting change takes effect about 5 minutes later (R11); a callback
change at once (R15). The commands print the app's whole config, effective and
pending. The flags given build the ``update_mask``, so only what is named
changes (``--key ""`` clears the key). With ``--json``, ``get`` and the update
commands print the ``AppConfig``, ``deliveries`` the whole list response and
``test-callback`` its response. The callback key is never printed: the server
returns only whether one is set.

Choices are the proto enum values' short names in lower case, exactly the words
the server's messages use in upper case (``--mode specified_streams`` is
``RELAYED_PUSH_MODE_SPECIFIED_STREAMS``, which a refusal calls
``SPECIFIED_STREAMS``); they are read case-insensitively and derived from the
generated enums, so they cannot drift. The spellings of earlier versions
(``--mode specified|global``, ``--mode auto``, ``--media av|audio|video``,
``--storage object-storage``) are still accepted as hidden aliases, so existing
scripts keep working; help and error messages show only the canonical words.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask

from rtcconsole._transport import Transport, paginate
from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, UsageError, add_paging, uint64
from rtcconsole.v1 import config_service_pb2 as pb
from rtcconsole.v1 import config_service_pb2_grpc as pb_grpc

__all__ = ["config_fields", "deliveries_table", "register"]

_E = TypeVar("_E", bound=int)


class _Enum(Protocol[_E]):
    """A generated proto enum (``pb.RelayedPushMode``)."""

    def items(self) -> list[tuple[str, _E]]: ...


def _short_names(enum: _Enum[_E], prefix: str) -> dict[str, _E]:
    """The enum's values but UNSPECIFIED, by short name in lower case (``specified_streams``)."""
    return {name.removeprefix(prefix).lower(): number for name, number in enum.items() if number}


_PUSH_MODES = _short_names(pb.RelayedPushMode, "RELAYED_PUSH_MODE_")
_RECORDING_MODES = _short_names(pb.RecordingMode, "RECORDING_MODE_")
_MEDIA = _short_names(pb.RecordingMedia, "RECORDING_MEDIA_")
_FORMATS = _short_names(pb.RecordingFileFormat, "RECORDING_FILE_FORMAT_")
_STORAGES = _short_names(pb.RecordingStorage, "RECORDING_STORAGE_")
_STATES = _short_names(pb.DeliveryState, "DELIVERY_STATE_")
_GROUPS = _short_names(pb.CallbackEventGroup, "CALLBACK_EVENT_GROUP_")


def _spelling(aliases: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """An argparse ``type``: the word in lower case, an old alias replaced by its canonical
    word; argparse's ``choices`` then refuses anything else, naming only canonical words."""
    known = dict(aliases or {})

    def canonical(text: str) -> str:
        word = text.strip().lower()
        return known.get(word, word)

    return canonical


def _seconds(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None


def _on_off(parser: argparse.ArgumentParser, *, required: bool) -> None:
    switch = parser.add_mutually_exclusive_group(required=required)
    switch.add_argument("--on", dest="enabled", action="store_const", const=True, help="turn it on")
    switch.add_argument("--off", dest="enabled", action="store_const", const=False, help="turn it off")


def register(commands: Commands) -> None:
    """Add ``config …`` to the command line."""
    config = commands.group(
        "config",
        "settings of an app: function settings take effect 5 minutes later, callbacks at once",
    )

    get = config.command("get", "show every setting, effective and pending (R11)", _get)
    get.add_argument("sdk_app_id", type=uint64, metavar="ID")

    push = config.command("relayed-push", "turn relayed push on or off (R12; on needs CSS)", _relayed_push)
    push.add_argument("sdk_app_id", type=uint64, metavar="ID")
    _on_off(push, required=True)
    push.add_argument(
        "--mode",
        type=_spelling({"specified": "specified_streams", "global": "global_auto_relay"}),
        choices=list(_PUSH_MODES),
        help="required with --on",
    )

    rec = config.command("recording", "cloud recording (R13; on needs CSS, VOD and relayed push)", _recording)
    rec.add_argument("sdk_app_id", type=uint64, metavar="ID")
    _on_off(rec, required=False)
    rec.add_argument("--mode", type=_spelling({"auto": "automatic"}), choices=list(_RECORDING_MODES))
    rec.add_argument(
        "--media",
        type=_spelling({"av": "audio_and_video", "audio": "audio_only", "video": "video_only"}),
        choices=list(_MEDIA),
    )
    rec.add_argument(
        "--format", type=_spelling(), choices=list(_FORMATS), help="aac needs --media audio_only"
    )
    rec.add_argument("--max-idle", type=_seconds, metavar="SECONDS", help="5 to 86400")
    rec.add_argument(
        "--storage", type=_spelling({"object-storage": "object_storage"}), choices=list(_STORAGES)
    )

    perm = config.command("permission", "advanced permission control (R14)", _permission)
    perm.add_argument("sdk_app_id", type=uint64, metavar="ID")
    _on_off(perm, required=True)

    callback = config.command(
        "callback", 'callback key and URLs (R15), in effect at once; "" clears a field', _callback
    )
    callback.add_argument("sdk_app_id", type=uint64, metavar="ID")
    callback.add_argument("--key", metavar="K", help="up to 32 letters and digits; never printed")
    callback.add_argument("--room-url", metavar="URL", help="http(s) URL for room events")
    callback.add_argument("--media-url", metavar="URL", help="http(s) URL for media events")

    deliveries = config.command("deliveries", "callback deliveries with their attempts", _deliveries)
    deliveries.add_argument("sdk_app_id", type=uint64, metavar="ID")
    deliveries.add_argument("--room", default="", help="only this room (its id as text)")
    deliveries.add_argument("--state", type=_spelling(), choices=list(_STATES))
    add_paging(deliveries)

    test = config.command("test-callback", "POST a signed test event now; show the answer", _test)
    test.add_argument("sdk_app_id", type=uint64, metavar="ID")
    test.add_argument(
        "--group", type=_spelling(), choices=list(_GROUPS), default="room", help="which URL (default room)"
    )


async def _service(run: Invocation) -> tuple[Transport, pb_grpc.ConfigServiceAsyncStub]:
    console = await run.console()
    a = run.args
    transport = Transport(console.channel, api_key=a.api_key, timeout=a.timeout)
    stub: pb_grpc.ConfigServiceAsyncStub = pb_grpc.ConfigServiceStub(console.channel)
    return transport, stub


async def _get(run: Invocation) -> Output:
    transport, stub = await _service(run)
    request = pb.GetAppConfigRequest(sdk_app_id=run.args.sdk_app_id)
    config = (await transport.unary(stub.GetAppConfig, request)).config
    return Output(config, config_fields(config))


async def _relayed_push(run: Invocation) -> Output:
    a = run.args
    transport, stub = await _service(run)
    settings = pb.RelayedPushSettings(
        enabled=a.enabled, mode=_PUSH_MODES.get(a.mode or "", pb.RELAYED_PUSH_MODE_UNSPECIFIED)
    )
    request = pb.UpdateRelayedPushRequest(sdk_app_id=a.sdk_app_id, settings=settings)
    config = (await transport.unary(stub.UpdateRelayedPush, request)).config
    return Output(config, config_fields(config))


async def _recording(run: Invocation) -> Output:
    a = run.args
    settings = pb.CloudRecordingSettings()
    paths: list[str] = []
    if a.enabled is not None:
        settings.enabled = a.enabled
        paths.append("enabled")
    for path, value, table in (
        ("mode", a.mode, _RECORDING_MODES),
        ("media", a.media, _MEDIA),
        ("file_format", a.format, _FORMATS),
        ("storage", a.storage, _STORAGES),
    ):
        if value is not None:
            setattr(settings, path, table[value])
            paths.append(path)
    if a.max_idle is not None:
        settings.max_idle_time.CopyFrom(Duration(seconds=a.max_idle))
        paths.append("max_idle_time")
    if not paths:
        raise UsageError("nothing to change: give --on/--off and/or a setting")
    transport, stub = await _service(run)
    request = pb.UpdateCloudRecordingRequest(
        sdk_app_id=a.sdk_app_id, settings=settings, update_mask=FieldMask(paths=paths)
    )
    config = (await transport.unary(stub.UpdateCloudRecording, request)).config
    return Output(config, config_fields(config))


async def _permission(run: Invocation) -> Output:
    a = run.args
    transport, stub = await _service(run)
    request = pb.UpdatePermissionControlRequest(
        sdk_app_id=a.sdk_app_id, settings=pb.PermissionControlSettings(enabled=a.enabled)
    )
    config = (await transport.unary(stub.UpdatePermissionControl, request)).config
    return Output(config, config_fields(config))


async def _callback(run: Invocation) -> Output:
    a = run.args
    given = {"key": a.key, "room_event_url": a.room_url, "media_event_url": a.media_url}
    paths = [path for path, value in given.items() if value is not None]
    if not paths:
        raise UsageError("nothing to change: give --key, --room-url and/or --media-url")
    transport, stub = await _service(run)
    request = pb.UpdateCallbackConfigRequest(
        sdk_app_id=a.sdk_app_id,
        update_mask=FieldMask(paths=paths),
        **{path: value for path, value in given.items() if value is not None},
    )
    config = (await transport.unary(stub.UpdateCallbackConfig, request)).config
    return Output(config, config_fields(config))


async def _deliveries(run: Invocation) -> Output:
    a = run.args
    transport, stub = await _service(run)

    def request(token: str) -> pb.ListCallbackDeliveriesRequest:
        return pb.ListCallbackDeliveriesRequest(
            sdk_app_id=a.sdk_app_id,
            room=a.room,
            state=_STATES.get(a.state or "", pb.DELIVERY_STATE_UNSPECIFIED),
            page_size=a.page_size,
            page_token=token,
        )

    if a.all:

        async def fetch(token: str) -> tuple[Sequence[pb.CallbackDelivery], str]:
            page = await transport.unary(stub.ListCallbackDeliveries, request(token))
            return page.deliveries, page.next_page_token

        items = [d async for d in paginate(fetch, a.page_token)]
        response = pb.ListCallbackDeliveriesResponse(deliveries=items)
    else:
        response = await transport.unary(stub.ListCallbackDeliveries, request(a.page_token))
    return Output(response, deliveries_table(response))


async def _test(run: Invocation) -> Output:
    a = run.args
    transport, stub = await _service(run)
    request = pb.SendTestCallbackRequest(sdk_app_id=a.sdk_app_id, event_group=_GROUPS[a.group])
    response = await transport.unary(stub.SendTestCallback, request)
    pairs = [
        ("url", response.url),
        ("status", str(response.status_code) if response.status_code else "no response"),
        ("duration", f"{response.duration.ToMilliseconds()} ms"),
        ("error", response.error or "-"),
        ("sent", response.body),
        ("answer", response.response_body or "-"),
    ]
    return Output(response, render.fields(pairs))


# -- human-readable output ----------------------------------------------------------


def _switch(enabled: bool) -> str:
    return "on" if enabled else "off"


def _recording_text(s: pb.CloudRecordingSettings) -> str:
    details = [
        render.label(pb.RecordingMode, s.mode),
        render.label(pb.RecordingMedia, s.media),
        render.label(pb.RecordingFileFormat, s.file_format),
        f"idle {s.max_idle_time.seconds}s",
        render.label(pb.RecordingStorage, s.storage),
    ]
    return f"{_switch(s.enabled)} ({', '.join(details)})"


def _callback_text(s: pb.CallbackSettings) -> str:
    key = f"set (…{s.key_hint})" if s.key_hint else ("set" if s.key_set else "none")
    return f"key {key}, room {s.room_event_url or '-'}, media {s.media_event_url or '-'}"


def _with_pending(effective: str, pending: str | None, at: Any) -> str:
    return effective if pending is None else f"{effective}; pending: {pending} at {render.when(at)}"


def config_fields(config: pb.AppConfig) -> str:
    """The app's settings, each effective value followed by the pending one and its time."""
    push, rec = config.relayed_push, config.cloud_recording
    perm, cb = config.permission_control, config.callback

    def push_text(s: pb.RelayedPushSettings) -> str:
        mode = render.label(pb.RelayedPushMode, s.mode)
        return f"{_switch(s.enabled)} ({mode})" if s.enabled else "off"

    rows = [
        ("sdk_app_id", str(config.sdk_app_id)),
        (
            "relayed push",
            _with_pending(
                push_text(push.effective),
                push_text(push.pending) if push.HasField("pending") else None,
                push.pending_effective_time,
            ),
        ),
        ("push domain", push.push_domain or "-"),
        (
            "cloud recording",
            _with_pending(
                _recording_text(rec.effective),
                _recording_text(rec.pending) if rec.HasField("pending") else None,
                rec.pending_effective_time,
            ),
        ),
        (
            "permission control",
            _with_pending(
                _switch(perm.effective.enabled),
                _switch(perm.pending.enabled) if perm.HasField("pending") else None,
                perm.pending_effective_time,
            ),
        ),
        (
            "callback",
            _with_pending(
                _callback_text(cb.effective),
                _callback_text(cb.pending) if cb.HasField("pending") else None,
                cb.pending_effective_time,
            ),
        ),
    ]
    return render.fields(rows)


def deliveries_table(response: pb.ListCallbackDeliveriesResponse) -> str:
    """A page of deliveries: newest first, with the outcome of the last attempt."""
    if not response.deliveries:
        return "no deliveries"
    rows = []
    for d in response.deliveries:
        last = d.attempts[-1] if d.attempts else None
        outcome = "-" if last is None else (last.error or str(last.status_code))
        rows.append(
            (
                d.delivery_id,
                d.event_id,
                str(d.event_type),
                d.room,
                str(d.room_sequence),
                render.label(pb.DeliveryState, d.state),
                str(len(d.attempts)),
                outcome,
                render.when(d.queue_time),
            )
        )
    headers = ("ID", "EVENT", "TYPE", "ROOM", "SEQ", "STATE", "ATTEMPTS", "LAST", "QUEUED")
    return render.table(headers, rows) + render.next_page(response.next_page_token)
