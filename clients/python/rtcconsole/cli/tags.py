"""``rtcctl tags``: the account's tag catalog and the tags of apps (R8)."""

from __future__ import annotations

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, add_paging, key_value, uint64
from rtcconsole.v1 import app_service_pb2 as app_pb

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``tags …`` to the command line."""
    tags = commands.group("tags", "the tag catalog and the tags of apps")

    create = tags.command("create", "add a (key, value) pair to the catalog", _create)
    create.add_argument("key", metavar="KEY")
    create.add_argument("value", metavar="VALUE")

    search = tags.command("list", "list the catalog by key then value", _list)
    search.add_argument("--key", default="", metavar="KEY", help="only this key's pairs")
    add_paging(search)

    delete = tags.command("delete", "remove a pair from the catalog (refused while an app has it)", _delete)
    delete.add_argument("key", metavar="KEY")
    delete.add_argument("value", metavar="VALUE")

    attach = tags.command("attach", "attach catalog tags to an app", _attach)
    attach.add_argument("sdk_app_id", type=uint64, metavar="ID")
    attach.add_argument("tags", type=key_value, nargs="+", metavar="KEY=VALUE")

    detach = tags.command("detach", "detach tags from an app", _detach)
    detach.add_argument("sdk_app_id", type=uint64, metavar="ID")
    detach.add_argument("tags", type=key_value, nargs="+", metavar="KEY=VALUE")


async def _create(run: Invocation) -> Output:
    console = await run.console()
    tag = await console.apps.create_tag(run.args.key, run.args.value)
    return Output(tag, f"created tag {render.tag_text([tag])}")


async def _list(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    if a.all:
        pages = console.apps.iter_tags(key=a.key, page_size=a.page_size, page_token=a.page_token)
        response = app_pb.ListTagsResponse(tags=[t async for t in pages])
    else:
        response = await console.apps.list_tags(key=a.key, page_size=a.page_size, page_token=a.page_token)
    if not response.tags:
        return Output(response, "no tags")
    text = render.table(("KEY", "VALUE"), [(t.key, t.value) for t in response.tags])
    return Output(response, text + render.next_page(response.next_page_token))


async def _delete(run: Invocation) -> Output:
    console = await run.console()
    await console.apps.delete_tag(run.args.key, run.args.value)
    return Output(app_pb.DeleteTagResponse(), f"deleted tag {run.args.key}={run.args.value}")


async def _attach(run: Invocation) -> Output:
    console = await run.console()
    app = await console.apps.add_app_tags(run.args.sdk_app_id, tags=run.args.tags)
    return Output(app, render.app_fields(app))


async def _detach(run: Invocation) -> Output:
    console = await run.console()
    app = await console.apps.remove_app_tags(run.args.sdk_app_id, tags=run.args.tags)
    return Output(app, render.app_fields(app))
