"""AppClient: the typed async client of ``rtcconsole.v1.AppService`` (R1–R9)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

import grpc
from google.protobuf import field_mask_pb2

from rtcconsole._auth import AuthClient
from rtcconsole._transport import DEFAULT_TIMEOUT, TagLike, Transport, paginate, to_tags
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import app_service_pb2_grpc as app_grpc
from rtcconsole.v1 import common_pb2

if TYPE_CHECKING:
    from rtcconsole.v1.app_service_pb2_grpc import AppServiceAsyncStub

__all__ = ["AppClient"]


class AppClient:
    """Applications, lifecycle operations, tags and materials of the calling account.

    Methods return the resource (``App``, ``Operation``, ``Tag``, ``Material``)
    when the response wraps exactly one, the whole response for lists, and
    ``None`` for empty responses. Failures raise :mod:`rtcconsole.errors`.
    ``rpc_timeout`` (seconds) overrides the client's default deadline for one call.
    """

    def __init__(
        self, channel: grpc.aio.Channel, *, api_key: str, timeout: float | None = DEFAULT_TIMEOUT
    ) -> None:
        self._transport = Transport(channel, api_key=api_key, timeout=timeout)
        self._stub: AppServiceAsyncStub = app_grpc.AppServiceStub(channel)
        self._auth = AuthClient(channel, api_key=api_key, timeout=timeout)

    def __repr__(self) -> str:
        return f"AppClient({self._transport!r})"

    # Applications (R1–R5)

    async def create_app(
        self, *, name: str, description: str = "", request_id: str = "", rpc_timeout: float | None = None
    ) -> app_pb.App:
        """Create an app (R1 quota, R2 names); a retry with the same ``request_id`` returns the same app."""
        request = app_pb.CreateAppRequest(name=name, description=description, request_id=request_id)
        return (await self._transport.unary(self._stub.CreateApp, request, rpc_timeout)).app

    async def get_app(self, sdk_app_id: int, *, rpc_timeout: float | None = None) -> app_pb.App:
        """Read one app (R5)."""
        request = app_pb.GetAppRequest(sdk_app_id=sdk_app_id)
        return (await self._transport.unary(self._stub.GetApp, request, rpc_timeout)).app

    async def list_apps(
        self,
        *,
        name_contains: str = "",
        sdk_app_id: int = 0,
        tags: Iterable[TagLike] = (),
        page_size: int = 0,
        page_token: str = "",
        rpc_timeout: float | None = None,
    ) -> app_pb.ListAppsResponse:
        """One page of apps, newest first (R4); filters combine (tags: apps carrying every one)."""
        request = app_pb.ListAppsRequest(
            name_contains=name_contains,
            sdk_app_id=sdk_app_id,
            tags=to_tags(tags),
            page_size=page_size,
            page_token=page_token,
        )
        return await self._transport.unary(self._stub.ListApps, request, rpc_timeout)

    def iter_apps(
        self,
        *,
        name_contains: str = "",
        sdk_app_id: int = 0,
        tags: Iterable[TagLike] = (),
        page_size: int = 0,
        page_token: str = "",
    ) -> AsyncIterator[app_pb.App]:
        """Every app matching the filters, across pages: ``async for app in apps.iter_apps(): …``."""
        wanted = to_tags(tags)

        async def fetch(token: str) -> tuple[list[app_pb.App], str]:
            page = await self.list_apps(
                name_contains=name_contains,
                sdk_app_id=sdk_app_id,
                tags=wanted,
                page_size=page_size,
                page_token=token,
            )
            return list(page.apps), page.next_page_token

        return paginate(fetch, page_token)

    async def update_app(
        self,
        sdk_app_id: int,
        *,
        name: str | None = None,
        description: str | None = None,
        rpc_timeout: float | None = None,
    ) -> app_pb.App:
        """Set the fields that are not ``None`` (R2); ``description=""`` clears the description."""
        paths = [path for path, value in (("name", name), ("description", description)) if value is not None]
        if not paths:
            raise ValueError("update_app needs name or description")
        request = app_pb.UpdateAppRequest(
            app=app_pb.App(sdk_app_id=sdk_app_id, name=name or "", description=description or ""),
            update_mask=field_mask_pb2.FieldMask(paths=paths),
        )
        return (await self._transport.unary(self._stub.UpdateApp, request, rpc_timeout)).app

    # Lifecycle (R7): each needs a secondary authentication and takes effect minutes later.

    async def _token(self, totp_code: str | None, secondary_auth_token: str | None) -> str:
        if (totp_code is None) == (secondary_auth_token is None):
            raise ValueError("pass exactly one of totp_code and secondary_auth_token")
        if secondary_auth_token is not None:
            return secondary_auth_token
        assert totp_code is not None
        return (await self._auth.create_secondary_auth(totp_code=totp_code)).token

    async def disable_app(
        self,
        sdk_app_id: int,
        *,
        totp_code: str | None = None,
        secondary_auth_token: str | None = None,
        rpc_timeout: float | None = None,
    ) -> common_pb2.Operation:
        """Disable an app; with ``totp_code`` a secondary-auth token is obtained first (R7)."""
        token = await self._token(totp_code, secondary_auth_token)
        request = app_pb.DisableAppRequest(sdk_app_id=sdk_app_id, secondary_auth_token=token)
        return (await self._transport.unary(self._stub.DisableApp, request, rpc_timeout)).operation

    async def enable_app(
        self,
        sdk_app_id: int,
        *,
        totp_code: str | None = None,
        secondary_auth_token: str | None = None,
        rpc_timeout: float | None = None,
    ) -> common_pb2.Operation:
        """Enable a disabled app; ``totp_code`` or ``secondary_auth_token`` as for :meth:`disable_app`."""
        token = await self._token(totp_code, secondary_auth_token)
        request = app_pb.EnableAppRequest(sdk_app_id=sdk_app_id, secondary_auth_token=token)
        return (await self._transport.unary(self._stub.EnableApp, request, rpc_timeout)).operation

    async def delete_app(
        self,
        sdk_app_id: int,
        *,
        totp_code: str | None = None,
        secondary_auth_token: str | None = None,
        rpc_timeout: float | None = None,
    ) -> common_pb2.Operation:
        """Delete a disabled app; ``totp_code`` or ``secondary_auth_token`` as for :meth:`disable_app`."""
        token = await self._token(totp_code, secondary_auth_token)
        request = app_pb.DeleteAppRequest(sdk_app_id=sdk_app_id, secondary_auth_token=token)
        return (await self._transport.unary(self._stub.DeleteApp, request, rpc_timeout)).operation

    async def get_operation(self, name: str, *, rpc_timeout: float | None = None) -> common_pb2.Operation:
        """Read an operation by its name (``operations/42``)."""
        request = app_pb.GetOperationRequest(name=name)
        return (await self._transport.unary(self._stub.GetOperation, request, rpc_timeout)).operation

    async def wait_operation(self, name: str, *, poll_interval: float = 5.0) -> common_pb2.Operation:
        """Poll :meth:`get_operation` every ``poll_interval`` seconds until it is done."""
        while True:
            operation = await self.get_operation(name)
            if operation.done:
                return operation
            await asyncio.sleep(poll_interval)

    async def list_operations(
        self,
        *,
        sdk_app_id: int = 0,
        pending_only: bool = False,
        page_size: int = 0,
        page_token: str = "",
        rpc_timeout: float | None = None,
    ) -> app_pb.ListOperationsResponse:
        """One page of the account's operations, newest first."""
        request = app_pb.ListOperationsRequest(
            sdk_app_id=sdk_app_id, pending_only=pending_only, page_size=page_size, page_token=page_token
        )
        return await self._transport.unary(self._stub.ListOperations, request, rpc_timeout)

    def iter_operations(
        self, *, sdk_app_id: int = 0, pending_only: bool = False, page_size: int = 0, page_token: str = ""
    ) -> AsyncIterator[common_pb2.Operation]:
        """Every operation matching the filters, across pages."""

        async def fetch(token: str) -> tuple[list[common_pb2.Operation], str]:
            page = await self.list_operations(
                sdk_app_id=sdk_app_id, pending_only=pending_only, page_size=page_size, page_token=token
            )
            return list(page.operations), page.next_page_token

        return paginate(fetch, page_token)

    # Tags (R8)

    async def create_tag(self, key: str, value: str, *, rpc_timeout: float | None = None) -> app_pb.Tag:
        """Add a (key, value) pair to the account's tag catalog."""
        request = app_pb.CreateTagRequest(tag=app_pb.Tag(key=key, value=value))
        return (await self._transport.unary(self._stub.CreateTag, request, rpc_timeout)).tag

    async def list_tags(
        self, *, key: str = "", page_size: int = 0, page_token: str = "", rpc_timeout: float | None = None
    ) -> app_pb.ListTagsResponse:
        """One page of the tag catalog, by key then value."""
        request = app_pb.ListTagsRequest(key=key, page_size=page_size, page_token=page_token)
        return await self._transport.unary(self._stub.ListTags, request, rpc_timeout)

    def iter_tags(
        self, *, key: str = "", page_size: int = 0, page_token: str = ""
    ) -> AsyncIterator[app_pb.Tag]:
        """The whole tag catalog (or one key's pairs), across pages."""

        async def fetch(token: str) -> tuple[list[app_pb.Tag], str]:
            page = await self.list_tags(key=key, page_size=page_size, page_token=token)
            return list(page.tags), page.next_page_token

        return paginate(fetch, page_token)

    async def delete_tag(self, key: str, value: str, *, rpc_timeout: float | None = None) -> None:
        """Remove a pair from the catalog (refused while an app carries it)."""
        request = app_pb.DeleteTagRequest(tag=app_pb.Tag(key=key, value=value))
        await self._transport.unary(self._stub.DeleteTag, request, rpc_timeout)

    async def add_app_tags(
        self, sdk_app_id: int, *, tags: Iterable[TagLike], rpc_timeout: float | None = None
    ) -> app_pb.App:
        """Attach catalog tags to an app; returns the app with its tags."""
        request = app_pb.AddAppTagsRequest(sdk_app_id=sdk_app_id, tags=to_tags(tags))
        return (await self._transport.unary(self._stub.AddAppTags, request, rpc_timeout)).app

    async def remove_app_tags(
        self, sdk_app_id: int, *, tags: Iterable[TagLike], rpc_timeout: float | None = None
    ) -> app_pb.App:
        """Detach tags from an app; returns the app with its remaining tags."""
        request = app_pb.RemoveAppTagsRequest(sdk_app_id=sdk_app_id, tags=to_tags(tags))
        return (await self._transport.unary(self._stub.RemoveAppTags, request, rpc_timeout)).app

    # Materials (R9)

    async def create_material(
        self,
        sdk_app_id: int,
        *,
        content: bytes,
        name: str = "",
        x_position: int = 0,
        y_position: int = 0,
        rpc_timeout: float | None = None,
    ) -> app_pb.Material:
        """Upload a PNG or JPEG background image (at most 2 MiB)."""
        request = app_pb.CreateMaterialRequest(
            sdk_app_id=sdk_app_id, name=name, content=content, x_position=x_position, y_position=y_position
        )
        return (await self._transport.unary(self._stub.CreateMaterial, request, rpc_timeout)).material

    async def list_materials(
        self, sdk_app_id: int, *, page_size: int = 0, page_token: str = "", rpc_timeout: float | None = None
    ) -> app_pb.ListMaterialsResponse:
        """One page of an app's materials, newest first."""
        request = app_pb.ListMaterialsRequest(
            sdk_app_id=sdk_app_id, page_size=page_size, page_token=page_token
        )
        return await self._transport.unary(self._stub.ListMaterials, request, rpc_timeout)

    def iter_materials(
        self, sdk_app_id: int, *, page_size: int = 0, page_token: str = ""
    ) -> AsyncIterator[app_pb.Material]:
        """Every material of an app, across pages."""

        async def fetch(token: str) -> tuple[list[app_pb.Material], str]:
            page = await self.list_materials(sdk_app_id, page_size=page_size, page_token=token)
            return list(page.materials), page.next_page_token

        return paginate(fetch, page_token)

    async def get_material(
        self, sdk_app_id: int, material_id: int, *, rpc_timeout: float | None = None
    ) -> app_pb.Material:
        """Read one material's description (not its bytes)."""
        request = app_pb.GetMaterialRequest(sdk_app_id=sdk_app_id, material_id=material_id)
        return (await self._transport.unary(self._stub.GetMaterial, request, rpc_timeout)).material

    async def get_material_content(
        self, sdk_app_id: int, material_id: int, *, rpc_timeout: float | None = None
    ) -> tuple[app_pb.Material, bytes]:
        """Read one material and its image bytes."""
        request = app_pb.GetMaterialRequest(
            sdk_app_id=sdk_app_id, material_id=material_id, include_content=True
        )
        response = await self._transport.unary(self._stub.GetMaterial, request, rpc_timeout)
        return response.material, response.content

    async def delete_material(
        self, sdk_app_id: int, material_id: int, *, rpc_timeout: float | None = None
    ) -> None:
        """Remove a material."""
        request = app_pb.DeleteMaterialRequest(sdk_app_id=sdk_app_id, material_id=material_id)
        await self._transport.unary(self._stub.DeleteMaterial, request, rpc_timeout)
