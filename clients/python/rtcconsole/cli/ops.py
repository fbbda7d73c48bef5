"""``rtcctl ops``: the operations that disable, enable and delete apps (R7).

``ops wait NAME`` polls the operation until it is done (3-5 minutes after it was accepted,
R7) and prints it: exit status 0 when it succeeded, 3 when it failed (its error is
printed), 1 when it is still pending after ``--max-wait`` seconds.
"""

from __future__ import annotations

import asyncio
import time

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import (
    EXIT_OK,
    EXIT_REJECTED,
    CommandFailed,
    Commands,
    Invocation,
    Output,
    add_paging,
    seconds,
    uint64,
)
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import common_pb2

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``ops …`` to the command line."""
    ops = commands.group("ops", "operations: lifecycle actions waiting to take effect")

    get = ops.command("get", "show one operation", _get)
    get.add_argument("name", metavar="NAME", help="as returned, e.g. operations/42")

    wait = ops.command(
        "wait", "wait until an operation is done and show it; exit status 3 if it failed", _wait
    )
    wait.add_argument("name", metavar="NAME", help="as returned, e.g. operations/42")
    wait.add_argument(
        "--interval", type=seconds, default=2.0, metavar="SECONDS", help="between two looks (default 2)"
    )
    wait.add_argument(
        "--max-wait",
        type=seconds,
        default=600.0,
        metavar="SECONDS",
        help="give up after this long, exit status 1 (default 600; R7 actions take 3-5 minutes)",
    )

    search = ops.command("list", "list operations, newest first", _list)
    search.add_argument("--sdk-app-id", type=uint64, default=0, metavar="ID", help="only this app's")
    search.add_argument("--pending", action="store_true", help="only those not done")
    add_paging(search)


async def _get(run: Invocation) -> Output:
    console = await run.console()
    operation = await console.apps.get_operation(run.args.name)
    return Output(operation, render.operation_fields(operation))


async def _wait(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    deadline = time.monotonic() + a.max_wait
    while True:
        operation = await console.apps.get_operation(a.name)
        if operation.done:
            failed = operation.state == common_pb2.OPERATION_STATE_FAILED
            return Output(
                operation, render.operation_fields(operation), status=EXIT_REJECTED if failed else EXIT_OK
            )
        left = deadline - time.monotonic()
        if left <= 0:
            raise CommandFailed(
                f"{a.name} is still pending after {a.max_wait:g} seconds (it takes effect at "
                f"{render.when(operation.effective_time)}); run `rtcctl ops wait {a.name}` again"
            )
        await asyncio.sleep(min(a.interval, left))


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
