"""``rtcctl apps``: create, list, get, update, disable, enable, delete, secret-key (R1–R7, R10)."""

from __future__ import annotations

import os

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import (
    Commands,
    Invocation,
    Output,
    UsageError,
    add_paging,
    key_value,
    totp_code,
    uint64,
)
from rtcconsole.cli._secondary import with_secondary_auth
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import common_pb2

__all__ = ["register"]

_LIFECYCLE = """\
{summary}.

It needs a secondary authentication of the account (R7), which lasts 30 minutes:
  --totp CODE                    a code of your authenticator, always checked; the token
                                 it is exchanged for is kept for the next 30 minutes
  (neither)                      the kept token of an earlier --totp or `rtcctl auth secondary`
  --secondary-auth-token TOKEN   a token from `rtcctl auth secondary`

examples:
  rtcctl apps {name} 1400000001 --totp 123456
  rtcctl apps {name} 1400000002          # within 30 minutes: the kept token"""


def register(commands: Commands) -> None:
    """Add ``apps …`` to the command line."""
    apps = commands.group("apps", "applications of the account")

    create = apps.command("create", "create an app (R1, R2)", _create)
    create.add_argument("--name", required=True, help="1–15 letters, digits, CJK or _")
    create.add_argument("--description", default="", help="0–15 characters, same alphabet")
    create.add_argument("--request-id", default="", help="idempotency key: a retry returns the same app")

    search = apps.command("list", "list apps, newest first (R4)", _list)
    search.add_argument("--name-contains", default="", metavar="TEXT", help="name substring")
    search.add_argument("--sdk-app-id", type=uint64, default=0, metavar="ID", help="exactly this app")
    search.add_argument(
        "--tag",
        dest="tags",
        type=key_value,
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="apps carrying every one of these tags (repeatable)",
    )
    add_paging(search)

    get = apps.command("get", "show one app (R5)", _get)
    get.add_argument("sdk_app_id", type=uint64, metavar="ID")

    update = apps.command("update", "change the name and/or the description (R2)", _update)
    update.add_argument("sdk_app_id", type=uint64, metavar="ID")
    update.add_argument("--name", default=None, help="new name")
    update.add_argument("--description", default=None, help='new description ("" clears it)')

    for name, verb, run in (
        ("disable", "disable an app", _disable),
        ("enable", "enable a disabled app", _enable),
        ("delete", "delete a disabled app", _delete),
    ):
        summary = f"{verb}; takes effect minutes later (R7)"
        action = apps.command(name, summary, run, description=_LIFECYCLE.format(summary=summary, name=name))
        action.add_argument("sdk_app_id", type=uint64, metavar="ID")
        proof = action.add_mutually_exclusive_group()
        proof.add_argument(
            "--totp",
            type=totp_code,
            metavar="CODE",
            help="a 6-digit TOTP code, always checked: exchanged for a 30-minute token that later "
            "actions reuse (optional while a kept token is valid)",
        )
        proof.add_argument("--secondary-auth-token", metavar="TOKEN", help="from `rtcctl auth secondary`")

    secret = apps.command("secret-key", "show the app's UserSig secret key (R10)", _secret_key)
    secret.add_argument("sdk_app_id", type=uint64, metavar="ID")


async def _create(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    app = await console.apps.create_app(name=a.name, description=a.description, request_id=a.request_id)
    return Output(app, render.app_fields(app))


async def _list(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    filters = {"name_contains": a.name_contains, "sdk_app_id": a.sdk_app_id, "tags": a.tags}
    if a.all:
        pages = console.apps.iter_apps(**filters, page_size=a.page_size, page_token=a.page_token)
        response = app_pb.ListAppsResponse(apps=[app async for app in pages])
    else:
        response = await console.apps.list_apps(**filters, page_size=a.page_size, page_token=a.page_token)
    return Output(response, render.apps_table(response))


async def _get(run: Invocation) -> Output:
    console = await run.console()
    app = await console.apps.get_app(run.args.sdk_app_id)
    return Output(app, render.app_fields(app))


async def _update(run: Invocation) -> Output:
    a = run.args
    if a.name is None and a.description is None:
        raise UsageError("nothing to update: give --name and/or --description")
    console = await run.console()
    app = await console.apps.update_app(a.sdk_app_id, name=a.name, description=a.description)
    return Output(app, render.app_fields(app))


async def _transition(run: Invocation, verb: str) -> Output:
    console = await run.console()
    a = run.args
    method = {
        "disable": console.apps.disable_app,
        "enable": console.apps.enable_app,
        "delete": console.apps.delete_app,
    }[verb]

    async def action(token: str) -> common_pb2.Operation:
        return await method(a.sdk_app_id, secondary_auth_token=token)

    operation = await with_secondary_auth(
        console,
        target=a.target,
        api_key=a.api_key,
        totp_code=a.totp,
        token=a.secondary_auth_token,
        action=action,
        environ=os.environ,
    )
    return Output(operation, render.operation_fields(operation))


async def _disable(run: Invocation) -> Output:
    return await _transition(run, "disable")


async def _enable(run: Invocation) -> Output:
    return await _transition(run, "enable")


async def _delete(run: Invocation) -> Output:
    return await _transition(run, "delete")


async def _secret_key(run: Invocation) -> Output:
    console = await run.console()
    response = await console.auth.get_app_secret_key(run.args.sdk_app_id)
    text = render.fields([("sdk_app_id", str(response.sdk_app_id)), ("secret_key", response.secret_key)])
    return Output(response, text)
