"""AppService: translates protos to domain calls and back (R1-R10)."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import app_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import common_pb2
from rtcconsole_server.api import convert
from rtcconsole_server.api.base import Context, ServicerBase, require_id
from rtcconsole_server.domain.apps import AppView, OperationKind
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = ["IMAGE_DECODERS", "AppServicer"]

_UPDATABLE = ("name", "description")

IMAGE_DECODERS = 2
"""Material images decoded at once in this process. Decoding is CPU and memory work
(up to 256 MiB of pixels for an 8192x8192 image), so it has its own small pool, shared
by every server of the process: never the store's threads (SQLite has one, for every
tenant's writes), and a burst of uploads queues here instead of exhausting memory."""

_DECODERS = ThreadPoolExecutor(max_workers=IMAGE_DECODERS, thread_name_prefix="rtc-image")

_RESPONSES_KEPT = 1024
"""GetApp answers kept per view object (a view from the app state cache is answered with the
message built for it the first time; nothing mutates a response once returned)."""
_responses: dict[int, tuple[AppView, pb.GetAppResponse]] = {}


class AppServicer(ServicerBase, pb_grpc.AppServiceServicer):
    async def CreateApp(self, request: pb.CreateAppRequest, context: Context) -> pb.CreateAppResponse:
        caller = await self.caller(context)
        apps = self.console.apps
        name, description, request_id = request.name, request.description, request.request_id
        apps.check_create(name=name, description=description, request_id=request_id)
        create = functools.partial(
            apps.create_in, caller=caller, name=name, description=description, request_id=request_id
        )
        view = await self.writes.write(create)  # committed with the writes waiting beside it
        return pb.CreateAppResponse(app=convert.app(view))

    async def GetApp(self, request: pb.GetAppRequest, context: Context) -> pb.GetAppResponse:
        caller = await self.caller(context)
        sdk_app_id = require_id(request.sdk_app_id)
        view = self.console.apps.get_cached(caller, sdk_app_id)  # decision 0035: no store call
        if view is None:
            view = await self.read(self.console.apps.get, caller, sdk_app_id)
        built = _responses.get(id(view))
        if built is not None and built[0] is view:  # the same cached view: the same answer
            return built[1]
        response = pb.GetAppResponse(app=convert.app(view))
        if len(_responses) >= _RESPONSES_KEPT:
            _responses.clear()
        _responses[id(view)] = (view, response)
        return response

    async def ListApps(self, request: pb.ListAppsRequest, context: Context) -> pb.ListAppsResponse:
        caller = await self.caller(context)
        page = await self.read(
            self.console.apps.list,
            caller,
            page_size_requested=request.page_size,
            page_token=request.page_token,
            name_contains=request.name_contains,
            sdk_app_id=request.sdk_app_id,
            tags=[convert.tag_view(t) for t in request.tags],
        )
        return pb.ListAppsResponse(
            apps=[convert.app(a) for a in page.items], next_page_token=page.next_page_token
        )

    async def UpdateApp(self, request: pb.UpdateAppRequest, context: Context) -> pb.UpdateAppResponse:
        caller = await self.caller(context)
        paths = list(request.update_mask.paths)
        unknown = [p for p in paths if p not in _UPDATABLE]
        if unknown:
            raise InvalidArgument(
                FieldViolation(
                    "update_mask", f"cannot update {', '.join(unknown)}; only name and description"
                )
            )
        if not paths:
            paths = [p for p in _UPDATABLE if getattr(request.app, p)]
            if not paths:
                raise InvalidArgument(FieldViolation("update_mask", "names no field and app sets none"))
        view = await self.run(
            self.console.apps.update,
            caller,
            require_id(request.app.sdk_app_id, "app.sdk_app_id"),
            name=request.app.name if "name" in paths else None,
            description=request.app.description if "description" in paths else None,
        )
        return pb.UpdateAppResponse(app=convert.app(view))

    async def _transition(
        self, context: Context, sdk_app_id: int, token: str, kind: OperationKind
    ) -> common_pb2.Operation:
        caller = await self.caller(context)
        view = await self.run(self.console.lifecycle.request, caller, require_id(sdk_app_id), kind, token)
        return convert.operation(view)

    async def DisableApp(self, request: pb.DisableAppRequest, context: Context) -> pb.DisableAppResponse:
        operation = await self._transition(
            context, request.sdk_app_id, request.secondary_auth_token, OperationKind.DISABLE_APP
        )
        return pb.DisableAppResponse(operation=operation)

    async def EnableApp(self, request: pb.EnableAppRequest, context: Context) -> pb.EnableAppResponse:
        operation = await self._transition(
            context, request.sdk_app_id, request.secondary_auth_token, OperationKind.ENABLE_APP
        )
        return pb.EnableAppResponse(operation=operation)

    async def DeleteApp(self, request: pb.DeleteAppRequest, context: Context) -> pb.DeleteAppResponse:
        operation = await self._transition(
            context, request.sdk_app_id, request.secondary_auth_token, OperationKind.DELETE_APP
        )
        return pb.DeleteAppResponse(operation=operation)

    async def GetOperation(
        self, request: pb.GetOperationRequest, context: Context
    ) -> pb.GetOperationResponse:
        caller = await self.caller(context)
        view = await self.read(self.console.lifecycle.get, caller, request.name)
        return pb.GetOperationResponse(operation=convert.operation(view))

    async def ListOperations(
        self, request: pb.ListOperationsRequest, context: Context
    ) -> pb.ListOperationsResponse:
        caller = await self.caller(context)
        page = await self.read(
            self.console.lifecycle.list,
            caller,
            page_size_requested=request.page_size,
            page_token=request.page_token,
            sdk_app_id=request.sdk_app_id,
            pending_only=request.pending_only,
        )
        return pb.ListOperationsResponse(
            operations=[convert.operation(o) for o in page.items], next_page_token=page.next_page_token
        )

    async def CreateTag(self, request: pb.CreateTagRequest, context: Context) -> pb.CreateTagResponse:
        caller = await self.caller(context)
        view = await self.run(self.console.tags.create, caller, convert.tag_view(request.tag))
        return pb.CreateTagResponse(tag=convert.tag(view))

    async def ListTags(self, request: pb.ListTagsRequest, context: Context) -> pb.ListTagsResponse:
        caller = await self.caller(context)
        page = await self.read(
            self.console.tags.list,
            caller,
            page_size_requested=request.page_size,
            page_token=request.page_token,
            key=request.key,
        )
        return pb.ListTagsResponse(
            tags=[convert.tag(t) for t in page.items], next_page_token=page.next_page_token
        )

    async def DeleteTag(self, request: pb.DeleteTagRequest, context: Context) -> pb.DeleteTagResponse:
        caller = await self.caller(context)
        await self.run(self.console.tags.delete, caller, convert.tag_view(request.tag))
        return pb.DeleteTagResponse()

    async def AddAppTags(self, request: pb.AddAppTagsRequest, context: Context) -> pb.AddAppTagsResponse:
        caller = await self.caller(context)
        tags = [convert.tag_view(t) for t in request.tags]
        view = await self.run(self.console.tags.attach, caller, require_id(request.sdk_app_id), tags)
        return pb.AddAppTagsResponse(app=convert.app(view))

    async def RemoveAppTags(
        self, request: pb.RemoveAppTagsRequest, context: Context
    ) -> pb.RemoveAppTagsResponse:
        caller = await self.caller(context)
        tags = [convert.tag_view(t) for t in request.tags]
        view = await self.run(self.console.tags.detach, caller, require_id(request.sdk_app_id), tags)
        return pb.RemoveAppTagsResponse(app=convert.app(view))

    async def CreateMaterial(
        self, request: pb.CreateMaterialRequest, context: Context
    ) -> pb.CreateMaterialResponse:
        caller = await self.caller(context)
        sdk_app_id = require_id(request.sdk_app_id)
        materials = self.console.materials
        name, x, y = request.name, request.x_position, request.y_position
        # Three steps: what is cheap (fields, the app, size, quotas); the decoding, in the
        # image pool; the insert, in the store's pool, which checks the quotas again under a lock.
        await self.read(
            materials.check,
            caller,
            sdk_app_id,
            name=name,
            content=request.content,
            x_position=x,
            y_position=y,
        )
        loop = asyncio.get_running_loop()
        image = await loop.run_in_executor(_DECODERS, materials.inspect, request.content)
        view = await self.run(
            materials.create, caller, sdk_app_id, name=name, image=image, x_position=x, y_position=y
        )
        return pb.CreateMaterialResponse(material=convert.material(view))

    async def ListMaterials(
        self, request: pb.ListMaterialsRequest, context: Context
    ) -> pb.ListMaterialsResponse:
        caller = await self.caller(context)
        page = await self.read(
            self.console.materials.list,
            caller,
            require_id(request.sdk_app_id),
            page_size_requested=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListMaterialsResponse(
            materials=[convert.material(m) for m in page.items], next_page_token=page.next_page_token
        )

    async def GetMaterial(self, request: pb.GetMaterialRequest, context: Context) -> pb.GetMaterialResponse:
        caller = await self.caller(context)
        view, content = await self.read(
            self.console.materials.get,
            caller,
            require_id(request.sdk_app_id),
            require_id(request.material_id, "material_id"),
        )
        return pb.GetMaterialResponse(
            material=convert.material(view), content=content if request.include_content else b""
        )

    async def DeleteMaterial(
        self, request: pb.DeleteMaterialRequest, context: Context
    ) -> pb.DeleteMaterialResponse:
        caller = await self.caller(context)
        await self.run(
            self.console.materials.delete,
            caller,
            require_id(request.sdk_app_id),
            require_id(request.material_id, "material_id"),
        )
        return pb.DeleteMaterialResponse()
