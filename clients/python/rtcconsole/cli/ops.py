"""``rtcctl ops``: the operations that disable, enable and delete apps (R7)."""

from __future__ import annotations

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, add_paging, uint64
from rtcconsole.v1 import app_service_pb2 as app_pb

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``ops …`` to the command line."""
    ops = commands.group("ops", "operations: lifecycle actions waiting to take effect")

    get = ops.command("get", "show one operation", _get)
    get.add_argument("name", metavar="NAME", help="as returned, e.g. operations/42")

    search = ops.command("list", "list operations, newest first", _list)
    search.add_argument("--sdk-app-id", type=uint64, default=0, metavar="ID", help="only this app's")
    search.add_argument("--pending", action="store_true", help="only those not done")
    add_paging(search)


async def _get(run: Invocation) -> Output:
    console = await run.console()
    operation = await console.apps.get_operation(run.args.name)
    return Output(operation, render.operation_fields(operation))


async def _list(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    if a.all:
        pages = console.apps.iter_operations(
            sdk_app_id=a.sdk_app_id, pending_only=a.pending, page_size=a.page_size, page_token=a.page_token
        )
        response = app_pb.ListOperationsResponse(operations=[o async for o in pages])
    else:
        response = await console.apps.list_operations(
            sdk_app_id=a.sdk_app_id, pending_only=a.pending, page_size=a.page_size, page_token=a.page_token
        )
    return Output(response, render.operations_table(response))
