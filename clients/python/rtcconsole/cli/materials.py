"""``rtcctl materials``: background images for cloud mix transcoding (R9)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, UsageError, add_paging, uint32, uint64
from rtcconsole.v1 import app_service_pb2 as app_pb

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``materials …`` to the command line."""
    materials = commands.group("materials", "background images of an app (PNG or JPEG, at most 2 MiB)")

    add = materials.command("add", "upload an image", _add)
    add.add_argument("sdk_app_id", type=uint64, metavar="ID")
    add.add_argument("file", type=Path, metavar="FILE", help="PNG or JPEG")
    add.add_argument("--name", default=None, help="up to 64 characters (default: the file name)")
    add.add_argument("--x", type=uint32, default=0, metavar="X", help="left edge on the canvas, pixels")
    add.add_argument("--y", type=uint32, default=0, metavar="Y", help="top edge on the canvas, pixels")

    search = materials.command("list", "list an app's materials, newest first", _list)
    search.add_argument("sdk_app_id", type=uint64, metavar="ID")
    add_paging(search)

    get = materials.command("get", "show one material, optionally saving its image", _get)
    get.add_argument("sdk_app_id", type=uint64, metavar="ID")
    get.add_argument("material_id", type=uint64, metavar="MATERIAL_ID")
    get.add_argument("--output", type=Path, default=None, metavar="FILE", help="write the image here")

    remove = materials.command("remove", "remove a material", _remove)
    remove.add_argument("sdk_app_id", type=uint64, metavar="ID")
    remove.add_argument("material_id", type=uint64, metavar="MATERIAL_ID")


async def _add(run: Invocation) -> Output:
    a = run.args
    path: Path = a.file
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    console = await run.console()
    material = await console.apps.create_material(
        a.sdk_app_id,
        content=content,
        name=path.name if a.name is None else a.name,
        x_position=a.x,
        y_position=a.y,
    )
    return Output(material, render.material_fields(material))


async def _list(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    if a.all:
        pages = console.apps.iter_materials(a.sdk_app_id, page_size=a.page_size, page_token=a.page_token)
        response = app_pb.ListMaterialsResponse(materials=[m async for m in pages])
    else:
        response = await console.apps.list_materials(
            a.sdk_app_id, page_size=a.page_size, page_token=a.page_token
        )
    return Output(response, render.materials_table(response))


async def _get(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    output: Path | None = a.output
    if output is None:
        material = await console.apps.get_material(a.sdk_app_id, a.material_id)
        return Output(material, render.material_fields(material))
    material, content = await console.apps.get_material_content(a.sdk_app_id, a.material_id)
    await asyncio.to_thread(output.write_bytes, content)
    text = render.material_fields(material) + f"\nwrote {len(content)} bytes to {output}"
    return Output(material, text)


async def _remove(run: Invocation) -> Output:
    console = await run.console()
    await console.apps.delete_material(run.args.sdk_app_id, run.args.material_id)
    return Output(app_pb.DeleteMaterialResponse(), f"removed material {run.args.material_id}")
