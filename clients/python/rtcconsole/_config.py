"""ConfigClient: the typed async client of ``rtcconsole.v1.ConfigService`` (R11–R15)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

import grpc
from google.protobuf import field_mask_pb2

from rtcconsole._transport import DEFAULT_TIMEOUT, Transport, paginate
from rtcconsole.v1 import config_service_pb2 as pb
from rtcconsole.v1 import config_service_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from rtcconsole.v1.config_service_pb2_grpc import ConfigServiceAsyncStub

__all__ = ["ConfigClient"]


class ConfigClient:
    """Function settings of the caller's apps, their callback settings and deliveries.

    Every update returns the whole :class:`~rtcconsole.v1.config_service_pb2.AppConfig`: the
    effective value of each section and, while a function-setting change waits (about 5 minutes,
    R11), the pending one with the time it takes effect. Callback settings take effect at once
    (R15): their section is never pending.
    """

    def __init__(
        self, channel: grpc.aio.Channel, *, api_key: str, timeout: float | None = DEFAULT_TIMEOUT
    ) -> None:
        self._transport = Transport(channel, api_key=api_key, timeout=timeout)
        self._stub: ConfigServiceAsyncStub = pb_grpc.ConfigServiceStub(channel)

    def __repr__(self) -> str:
        return f"ConfigClient({self._transport!r})"

    async def get_app_config(self, sdk_app_id: int, *, rpc_timeout: float | None = None) -> pb.AppConfig:
        """Every section of the app, effective and pending."""
        request = pb.GetAppConfigRequest(sdk_app_id=sdk_app_id)
        return (await self._transport.unary(self._stub.GetAppConfig, request, rpc_timeout)).config

    async def update_relayed_push(
        self,
        sdk_app_id: int,
        *,
        enabled: bool,
        mode: pb.RelayedPushMode.ValueType = pb.RELAYED_PUSH_MODE_UNSPECIFIED,
        rpc_timeout: float | None = None,
    ) -> pb.AppConfig:
        """Turn relayed push on (``mode`` required) or off (R12)."""
        request = pb.UpdateRelayedPushRequest(
            sdk_app_id=sdk_app_id, settings=pb.RelayedPushSettings(enabled=enabled, mode=mode)
        )
        return (await self._transport.unary(self._stub.UpdateRelayedPush, request, rpc_timeout)).config

    async def update_cloud_recording(
        self,
        sdk_app_id: int,
        *,
        settings: pb.CloudRecordingSettings,
        paths: Sequence[str] = (),
        rpc_timeout: float | None = None,
    ) -> pb.AppConfig:
        """Change cloud recording (R13); ``paths`` names the fields of ``settings`` to set (all if empty)."""
        request = pb.UpdateCloudRecordingRequest(
            sdk_app_id=sdk_app_id, settings=settings, update_mask=field_mask_pb2.FieldMask(paths=list(paths))
        )
        return (await self._transport.unary(self._stub.UpdateCloudRecording, request, rpc_timeout)).config

    async def update_permission_control(
        self, sdk_app_id: int, *, enabled: bool, rpc_timeout: float | None = None
    ) -> pb.AppConfig:
        """Turn advanced permission control on or off (R14)."""
        request = pb.UpdatePermissionControlRequest(
            sdk_app_id=sdk_app_id, settings=pb.PermissionControlSettings(enabled=enabled)
        )
        return (await self._transport.unary(self._stub.UpdatePermissionControl, request, rpc_timeout)).config

    async def update_callback_config(
        self,
        sdk_app_id: int,
        *,
        key: str | None = None,
        room_event_url: str | None = None,
        media_event_url: str | None = None,
        rpc_timeout: float | None = None,
    ) -> pb.AppConfig:
        """Set the callback key and URLs (R15), in effect at once (the returned config shows them
        effective, and :meth:`send_test_callback` may follow right away); ``None`` leaves a field
        alone, ``""`` clears it."""
        given = {"key": key, "room_event_url": room_event_url, "media_event_url": media_event_url}
        paths = [name for name, value in given.items() if value is not None]
        if not paths:
            raise ValueError("nothing to update: pass key, room_event_url and/or media_event_url")
        request = pb.UpdateCallbackConfigRequest(
            sdk_app_id=sdk_app_id,
            key=key or "",
            room_event_url=room_event_url or "",
            media_event_url=media_event_url or "",
            update_mask=field_mask_pb2.FieldMask(paths=paths),
        )
        return (await self._transport.unary(self._stub.UpdateCallbackConfig, request, rpc_timeout)).config

    async def list_callback_deliveries(
        self,
        sdk_app_id: int,
        *,
        room: str = "",
        state: pb.DeliveryState.ValueType = pb.DELIVERY_STATE_UNSPECIFIED,
        page_size: int = 0,
        page_token: str = "",
        rpc_timeout: float | None = None,
    ) -> pb.ListCallbackDeliveriesResponse:
        """One page of deliveries with their attempts, newest first."""
        request = pb.ListCallbackDeliveriesRequest(
            sdk_app_id=sdk_app_id, room=room, state=state, page_size=page_size, page_token=page_token
        )
        return await self._transport.unary(self._stub.ListCallbackDeliveries, request, rpc_timeout)

    def iter_callback_deliveries(
        self,
        sdk_app_id: int,
        *,
        room: str = "",
        state: pb.DeliveryState.ValueType = pb.DELIVERY_STATE_UNSPECIFIED,
    ) -> AsyncIterator[pb.CallbackDelivery]:
        """Every delivery, following page tokens."""

        async def fetch(token: str) -> tuple[Sequence[pb.CallbackDelivery], str]:
            page = await self.list_callback_deliveries(sdk_app_id, room=room, state=state, page_token=token)
            return page.deliveries, page.next_page_token

        return paginate(fetch)

    async def send_test_callback(
        self,
        sdk_app_id: int,
        *,
        event_group: pb.CallbackEventGroup.ValueType = pb.CALLBACK_EVENT_GROUP_UNSPECIFIED,
        rpc_timeout: float | None = None,
    ) -> pb.SendTestCallbackResponse:
        """POST a signed test event to the app's URL now; the receiver's answer."""
        request = pb.SendTestCallbackRequest(sdk_app_id=sdk_app_id, event_group=event_group)
        return await self._transport.unary(self._stub.SendTestCallback, request, rpc_timeout)
