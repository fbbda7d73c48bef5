"""ConfigService: translates protos to domain calls and back (R11-R15).

Every RPC needs the account's API key; another account's app is ``NOT_FOUND``.
Update masks name fields of ``settings`` (``mode``; ``settings.mode`` is
accepted too). The callback deliveries RPCs delegate to ``console.deliveries``
(domain/deliveries.py, the dispatcher's side).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rtcconsole.v1 import config_service_pb2 as pb
from rtcconsole.v1 import config_service_pb2_grpc as pb_grpc
from rtcconsole_server.api import convert_config as convert
from rtcconsole_server.api.base import Context, ServicerBase, require_id
from rtcconsole_server.domain.common import text_violations
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = ["ConfigServicer"]

_RECORDING_PATHS = ("enabled", "mode", "media", "file_format", "max_idle_time", "storage")
_CALLBACK_PATHS = ("key", "room_event_url", "media_event_url")


def _mask(paths: Iterable[str], allowed: tuple[str, ...], *, prefix: str = "") -> list[str]:
    """The mask's paths without ``prefix``; an unknown path is ``INVALID_ARGUMENT``."""
    cleaned = [p.removeprefix(prefix) if prefix else p for p in paths]
    unknown = [p for p in cleaned if p not in allowed]
    if unknown:
        raise InvalidArgument(
            FieldViolation(
                "update_mask", f"unknown path(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"
            )
        )
    return cleaned


class ConfigServicer(ServicerBase, pb_grpc.ConfigServiceServicer):
    async def GetAppConfig(
        self, request: pb.GetAppConfigRequest, context: Context
    ) -> pb.GetAppConfigResponse:
        caller = await self.caller(context)
        view = await self.run(self.console.config.get, caller, require_id(request.sdk_app_id))
        return pb.GetAppConfigResponse(config=convert.app_config(view))

    async def UpdateRelayedPush(
        self, request: pb.UpdateRelayedPushRequest, context: Context
    ) -> pb.UpdateRelayedPushResponse:
        caller = await self.caller(context)
        view = await self.run(
            self.console.config.update_relayed_push,
            caller,
            require_id(request.sdk_app_id),
            enabled=request.settings.enabled,
            mode=convert.domain_value(convert.PUSH_MODE, request.settings.mode),
        )
        return pb.UpdateRelayedPushResponse(config=convert.app_config(view))

    async def UpdateCloudRecording(
        self, request: pb.UpdateCloudRecordingRequest, context: Context
    ) -> pb.UpdateCloudRecordingResponse:
        """An empty mask means every field, except that an enum left UNSPECIFIED and an
        unset ``max_idle_time`` keep their current values."""
        caller = await self.caller(context)
        explicit = _mask(request.update_mask.paths, _RECORDING_PATHS, prefix="settings.")
        paths = explicit or list(_RECORDING_PATHS)
        settings = request.settings

        def choice(path: str, table: Mapping[str, int], number: int) -> str | None:
            if path not in paths:
                return None
            value = convert.domain_value(table, number)
            return None if value == "" and not explicit else value

        max_idle: float | None = None
        if "max_idle_time" in paths and (explicit or settings.HasField("max_idle_time")):
            max_idle = settings.max_idle_time.seconds + settings.max_idle_time.nanos / 1e9
        view = await self.run(
            self.console.config.update_cloud_recording,
            caller,
            require_id(request.sdk_app_id),
            enabled=settings.enabled if "enabled" in paths else None,
            mode=choice("mode", convert.RECORDING_MODE, settings.mode),
            media=choice("media", convert.MEDIA, settings.media),
            file_format=choice("file_format", convert.FILE_FORMAT, settings.file_format),
            max_idle_seconds=max_idle,
            storage=choice("storage", convert.STORAGE, settings.storage),
        )
        return pb.UpdateCloudRecordingResponse(config=convert.app_config(view))

    async def UpdatePermissionControl(
        self, request: pb.UpdatePermissionControlRequest, context: Context
    ) -> pb.UpdatePermissionControlResponse:
        caller = await self.caller(context)
        view = await self.run(
            self.console.config.update_permission_control,
            caller,
            require_id(request.sdk_app_id),
            enabled=request.settings.enabled,
        )
        return pb.UpdatePermissionControlResponse(config=convert.app_config(view))

    async def UpdateCallbackConfig(
        self, request: pb.UpdateCallbackConfigRequest, context: Context
    ) -> pb.UpdateCallbackConfigResponse:
        """An empty mask means every field set to a non-empty value; clearing needs the mask.
        The change is in effect when this answers (R15: no delay)."""
        caller = await self.caller(context)
        paths = _mask(request.update_mask.paths, _CALLBACK_PATHS)
        if not paths:
            paths = [p for p in _CALLBACK_PATHS if getattr(request, p)]
            if not paths:
                raise InvalidArgument(
                    FieldViolation("update_mask", "names no field and the request sets none")
                )
        view = await self.run(
            self.console.config.update_callback,
            caller,
            require_id(request.sdk_app_id),
            key=request.key if "key" in paths else None,
            room_event_url=request.room_event_url if "room_event_url" in paths else None,
            media_event_url=request.media_event_url if "media_event_url" in paths else None,
        )
        return pb.UpdateCallbackConfigResponse(config=convert.app_config(view))

    async def ListCallbackDeliveries(
        self, request: pb.ListCallbackDeliveriesRequest, context: Context
    ) -> pb.ListCallbackDeliveriesResponse:
        caller = await self.caller(context)
        state = convert.domain_value(convert.STATE, request.state)
        violations = text_violations(request.room, "room")  # the store holds no NUL (domain.common)
        if violations:
            raise InvalidArgument(violations)
        page = await self.run(
            self.console.deliveries.list,
            caller,
            require_id(request.sdk_app_id),
            room=request.room,
            state=state or None,
            page_size_requested=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListCallbackDeliveriesResponse(
            deliveries=[convert.delivery(d) for d in page.items], next_page_token=page.next_page_token
        )

    async def SendTestCallback(
        self, request: pb.SendTestCallbackRequest, context: Context
    ) -> pb.SendTestCallbackResponse:
        """Waits up to the callback timeout (5 s, the whole exchange) for the POST, which runs on the
        test-callback pool (4 threads, at most 2 per account: ``RESOURCE_EXHAUSTED`` beyond),
        neither on the loop nor in the store's or the loop's default pool."""
        caller = await self.caller(context)
        result = await self.console.deliveries.send_test_async(
            caller, require_id(request.sdk_app_id), event_group=int(request.event_group)
        )
        return convert.test_callback(result)
