"""``rtcctl auth``: who am I, API keys, TOTP enrolment and secondary authentication (R7)."""

from __future__ import annotations

import os

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, UsageError, totp_code
from rtcconsole.cli._secondary import cache_file, remember
from rtcconsole.v1 import auth_service_pb2 as auth_pb

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``auth …`` to the command line."""
    auth = commands.group("auth", "identity, API keys, TOTP and secondary authentication")

    auth.command("whoami", "show the account and API key in use", _whoami)
    zone = auth.command("set-time-zone", "set the account's time zone (the call list's days, R17)", _set_zone)
    zone.add_argument("time_zone", metavar="ZONE", help='an IANA name, e.g. "Asia/Tokyo" or "UTC"')

    enroll = auth.command("totp-enroll", "enrol a TOTP authenticator (prints its URI)", _totp_enroll)
    enroll.add_argument(
        "--totp",
        default=None,
        metavar="CODE",
        help="no longer taken (refused rather than ignored): an active authenticator is replaced "
        "only by the operator (rtc-console admin account totp-reset)",
    )

    secondary = auth.command(
        "secondary",
        "exchange a TOTP code for a 30-minute token (R7)",
        _secondary,
        description="exchange a TOTP code for a 30-minute secondary-auth token (R7).\n\n"
        "The token is printed and kept: `rtcctl apps disable|enable|delete` use it without\n"
        "--totp for its 30 minutes.",
    )
    secondary.add_argument("--totp", type=totp_code, required=True, metavar="CODE", help="6 digits")

    keys = auth.group("keys", "API keys of the account")
    create = keys.command("create", "create an API key (shown once)", _keys_create)
    create.add_argument("--display-name", default="", metavar="NAME", help="up to 64 characters")
    keys.command("list", "list every API key, all pages (never the keys themselves)", _keys_list)
    delete = keys.command("delete", "revoke an API key (not the one in use)", _keys_delete)
    delete.add_argument("key_id", metavar="KEY_ID")


async def _whoami(run: Invocation) -> Output:
    console = await run.console()
    me = await console.auth.get_caller_identity()
    text = render.fields(
        [
            ("account_id", str(me.account_id)),
            ("account_name", me.account_name),
            ("api_key_id", me.api_key_id),
            ("totp_enrolled", "yes" if me.totp_enrolled else "no"),
            ("time_zone", me.time_zone),
        ]
    )
    return Output(me, text)


async def _set_zone(run: Invocation) -> Output:
    console = await run.console()
    response = await console.auth.update_account_settings(time_zone=run.args.time_zone)
    return Output(response, f"time zone: {response.time_zone}")


async def _totp_enroll(run: Invocation) -> Output:
    if run.args.totp is not None:  # never accept a code and ignore it
        raise UsageError(
            "totp-enroll takes no --totp (it would be ignored): run `rtcctl auth totp-enroll`; an "
            "active authenticator is replaced only by the operator (rtc-console admin account totp-reset)"
        )
    console = await run.console()
    response = await console.auth.enroll_totp()
    text = (
        f"{response.otpauth_uri}\nadd this URI to an authenticator app; it is shown only once, and becomes "
        "active with its first code (rtcctl auth secondary --totp CODE)"
    )
    return Output(response, text)


async def _secondary(run: Invocation) -> Output:
    console = await run.console()
    response = await console.auth.create_secondary_auth(totp_code=run.args.totp)
    remember(cache_file(os.environ), run.args.target, run.args.api_key, response.token)
    text = render.fields([("token", response.token), ("expires", render.when(response.expire_time))])
    return Output(response, text)


async def _keys_create(run: Invocation) -> Output:
    console = await run.console()
    response = await console.auth.create_api_key(display_name=run.args.display_name)
    text = render.fields(
        [
            ("key_id", response.key.key_id),
            ("display_name", response.key.display_name or "-"),
            ("api_key", response.api_key),
        ]
    )
    return Output(response, text + "\nstore the key now: it is shown only once")


async def _keys_list(run: Invocation) -> Output:
    console = await run.console()
    response = auth_pb.ListApiKeysResponse(keys=[k async for k in console.auth.iter_api_keys()])
    rows = [
        (k.key_id, k.display_name or "-", render.when(k.create_time), render.when(k.last_used_time))
        for k in response.keys
    ]
    return Output(response, render.table(("KEY_ID", "NAME", "CREATED", "LAST_USED"), rows))


async def _keys_delete(run: Invocation) -> Output:
    console = await run.console()
    await console.auth.delete_api_key(run.args.key_id)
    return Output(auth_pb.DeleteApiKeyResponse(), f"deleted API key {run.args.key_id}")
