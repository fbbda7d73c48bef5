"""``rtcctl usersig`` and ``rtcctl privatemapkey``: sign and check tokens on the server (R22, R14).

A backend can compute the same tokens without the server: see ``rtcconsole.usersig``.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import EXIT_OK, EXIT_REJECTED, Commands, Invocation, Output, uint32, uint64
from rtcconsole.v1 import auth_service_pb2 as auth_pb

__all__ = ["lifetime_seconds", "parse_privileges", "register"]

_PRIVILEGE_NAMES = {
    name.removeprefix("PRIVILEGE_").lower().replace("_", "-"): number
    for name, number in auth_pb.Privilege.items()
    if number
}


def parse_privileges(text: str) -> int:
    """``255``, ``all``, or names joined by commas: ``enter-room,send-audio,receive-video``."""
    if text.isascii() and text.isdigit():
        value = int(text)
        if value > 255:
            raise argparse.ArgumentTypeError(
                f"privileges are a number 0-255 or names joined by commas ({', '.join(_PRIVILEGE_NAMES)}), "
                f"got {text!r}"
            )
        return value
    total = 0
    for word in filter(None, (part.strip().lower() for part in text.split(","))):
        if word not in _PRIVILEGE_NAMES:
            raise argparse.ArgumentTypeError(
                f"unknown privilege {word!r}; known: {', '.join(_PRIVILEGE_NAMES)}"
            )
        total |= _PRIVILEGE_NAMES[word]
    return total


def lifetime_seconds(text: str) -> int:
    """``--expire``: a whole number of seconds above 0."""
    try:
        value = int(text, 10)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of seconds above 0 such as 3600, got {text!r}"
        )
    return value


def _room_options(parser: argparse.ArgumentParser) -> None:
    room = parser.add_mutually_exclusive_group(required=True)
    room.add_argument("--room-id", type=uint32, metavar="N", help="numeric room id")
    room.add_argument("--str-room-id", metavar="TEXT", help="string room id")


def _room(args: argparse.Namespace) -> int | str:
    return int(args.room_id) if args.room_id is not None else str(args.str_room_id)


def register(commands: Commands) -> None:
    """Add ``usersig …`` and ``privatemapkey …`` to the command line."""
    usersig = commands.group("usersig", "UserSig of a user of an app (R22)")
    gen = usersig.command("gen", "sign a UserSig with the app's secret key", _usersig_gen)
    gen.add_argument("--sdk-app-id", type=uint64, required=True, metavar="ID")
    gen.add_argument("--user", required=True, metavar="USER_ID")
    gen.add_argument(
        "--expire", type=lifetime_seconds, default=None, metavar="SECONDS", help="lifetime (default 180 days)"
    )
    verify = usersig.command(
        "verify", "check a UserSig and show its claims; exit status 3 when it is not valid", _usersig_verify
    )
    verify.add_argument("--sdk-app-id", type=uint64, required=True, metavar="ID")
    verify.add_argument("--user", required=True, metavar="USER_ID")
    verify.add_argument("--sig", required=True, metavar="TOKEN")

    pmk = commands.group("privatemapkey", "room-level permission tickets (R14)")
    pgen = pmk.command("gen", "sign a PrivateMapKey for one room", _pmk_gen)
    pgen.add_argument("--sdk-app-id", type=uint64, required=True, metavar="ID")
    pgen.add_argument("--user", required=True, metavar="USER_ID")
    _room_options(pgen)
    pgen.add_argument(
        "--privileges", type=parse_privileges, default=0, help="e.g. all, 255, enter-room,send-audio"
    )
    pgen.add_argument(
        "--expire", type=lifetime_seconds, default=None, metavar="SECONDS", help="lifetime (default 180 days)"
    )
    pverify = pmk.command(
        "verify", "check a PrivateMapKey for a room; exit status 3 when it is not valid", _pmk_verify
    )
    pverify.add_argument("--sdk-app-id", type=uint64, required=True, metavar="ID")
    pverify.add_argument("--user", required=True, metavar="USER_ID")
    pverify.add_argument("--key", required=True, metavar="TOKEN")
    _room_options(pverify)
    pverify.add_argument(
        "--privileges", type=parse_privileges, default=0, help="required (default enter-room)"
    )


def _lifetime(seconds: int | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def _failure(value: int) -> str:
    return render.label(auth_pb.SignatureFailure, value)


def _verdict(valid: bool) -> int:
    """An invalid token is printed, and exits :data:`EXIT_REJECTED` so that scripts can rely on it."""
    return EXIT_OK if valid else EXIT_REJECTED


async def _usersig_gen(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    response = await console.auth.generate_user_sig(
        a.sdk_app_id, user_id=a.user, lifetime=_lifetime(a.expire)
    )
    text = render.fields([("user_sig", response.user_sig), ("expires", render.when(response.expire_time))])
    return Output(response, text)


async def _usersig_verify(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    response = await console.auth.verify_user_sig(a.sdk_app_id, user_id=a.user, user_sig=a.sig)
    text = render.fields(
        [
            ("valid", "yes" if response.valid else f"no ({_failure(response.failure)})"),
            ("identifier", response.claims.identifier or "-"),
            ("expires", render.when(response.claims.expire_time)),
        ]
    )
    return Output(response, text, status=_verdict(response.valid))


async def _pmk_gen(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    response = await console.auth.generate_private_map_key(
        a.sdk_app_id, user_id=a.user, room=_room(a), privileges=a.privileges, lifetime=_lifetime(a.expire)
    )
    text = render.fields(
        [("private_map_key", response.private_map_key), ("expires", render.when(response.expire_time))]
    )
    return Output(response, text)


async def _pmk_verify(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    response = await console.auth.verify_private_map_key(
        a.sdk_app_id, user_id=a.user, private_map_key=a.key, room=_room(a), required_privileges=a.privileges
    )
    granted = response.private_map.privileges
    names = [name for name, bit in _PRIVILEGE_NAMES.items() if bit != 255 and granted & bit]
    text = render.fields(
        [
            ("valid", "yes" if response.valid else f"no ({_failure(response.failure)})"),
            ("privileges", f"{granted} ({', '.join(names) or 'none'})"),
            ("expires", render.when(response.private_map.expire_time)),
        ]
    )
    return Output(response, text, status=_verdict(response.valid))
