"""``rtc-console``: run the server, migrate the store, and operator tasks on the store.

    rtc-console [--log-level LEVEL] serve [--listen HOST:PORT] [--database-url URL] ...
    rtc-console migrate [--database-url URL]
    rtc-console dispatcher [--database-url URL] [--callback-timeout-seconds S] ...
    rtc-console aggregator [--once] [--aggregation-interval-seconds S] ...   (cli_usage.py)
    rtc-console admin account create NAME [--json]
    rtc-console admin account billing ACCOUNT [--postpaid on|off] [--arrears on|off]
                                              [--package ok|used-up|expired] [--json]
    rtc-console admin account services ACCOUNT [--css on|off] [--vod on|off] [--json]
    rtc-console admin account totp-reset ACCOUNT [--remove-authenticator] [--json]
    rtc-console admin account package add|list ACCOUNT ...

The flags of ``serve``, ``aggregator``, ``dispatcher`` and the store flags of the
others are built from the ``Settings`` fields (``settings.py``: name, variable,
default and help in one place). Every one has an environment variable,
``RTC_`` and the flag's name (``--listen``: ``RTC_LISTEN``); the flag wins over
the variable, the variable over the default.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rtcconsole_server import cli_usage
from rtcconsole_server.clock import SystemClock
from rtcconsole_server.domain.auth import Accounts
from rtcconsole_server.errors import RtcError
from rtcconsole_server.settings import Option, SettingError, Settings, options
from rtcconsole_server.store import open_store, upgrade

__all__ = ["main", "parse"]

log = logging.getLogger("rtcconsole_server.cli")

_RUNNERS = ("serve", "aggregator", "dispatcher")


def _on_off(value: str) -> bool:
    if value not in ("on", "off"):
        raise argparse.ArgumentTypeError("must be on or off")
    return value == "on"


def _flag_type(option: Option, scale: float = 1.0) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return option.parse(text, scale=scale)
        except SettingError as error:
            raise argparse.ArgumentTypeError(str(error).split(": ", 1)[1]) from None

    parse.__name__ = option.name
    return parse


class _DeprecatedAlias(argparse.Action):
    """A hidden old flag name: sets the setting and remembers to warn about the new name."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, option: Option, scale: float) -> None:
        super().__init__(option_strings, dest, type=_flag_type(option, scale), default=argparse.SUPPRESS,
                         help=argparse.SUPPRESS)  # fmt: skip
        self.replacement = option.flag

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, flag: Any = None
    ) -> None:
        setattr(namespace, self.dest, values)
        namespace.deprecated_flags = [*getattr(namespace, "deprecated_flags", []), (flag, self.replacement)]


def _help(option: Option) -> str:
    return f"{option.help} (default: {option.shown}; env {option.env})".replace("%", "%%")


def _add_settings_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """One flag per setting of ``command`` (``Settings`` field metadata), and its hidden aliases.

    Defaults are ``SUPPRESS``: a flag not given leaves its setting to the environment, then to
    the field's default (:meth:`Settings.resolve`)."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for option in options([command]):
        target: Any = parser
        if option.group is not None:
            if option.group not in groups:
                groups[option.group] = parser.add_argument_group(option.group)
            target = groups[option.group]
        if option.kind is bool:
            target.add_argument(option.flag, dest=option.name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=_help(option))  # fmt: skip
        else:
            metavar = option.metavar or ("SECONDS" if option.flag.endswith("-seconds") else None)
            action = "append" if option.repeatable else "store"  # a list setting: every occurrence counts
            target.add_argument(option.flag, dest=option.name, type=_flag_type(option), action=action,
                                default=argparse.SUPPRESS, metavar=metavar, help=_help(option))  # fmt: skip
        for alias in option.aliases:
            if command in alias.commands:
                target.add_argument(alias.flag, dest=option.name, action=_DeprecatedAlias, option=option,
                                    scale=alias.scale)  # fmt: skip


def _add_store_flags(parser: argparse.ArgumentParser) -> None:
    _add_settings_flags(parser, "store")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtc-console", description="rtc-console server and operator tools")
    _add_settings_flags(parser, "global")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gRPC server with its workers (embedded mode)")
    _add_settings_flags(serve, "serve")

    migrate = commands.add_parser("migrate", help="apply pending database migrations and exit")
    _add_store_flags(migrate)

    dispatcher = commands.add_parser(
        "dispatcher", help="run only the callback dispatcher (scaled deployments; SIGTERM stops it)"
    )
    _add_settings_flags(dispatcher, "dispatcher")
    cli_usage.add_aggregator_command(commands, _add_settings_flags)

    admin = commands.add_parser("admin", help="operator tasks, straight on the store")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    account = admin_commands.add_parser("account", help="accounts")
    account_commands = account.add_subparsers(dest="account_command", required=True)

    create = account_commands.add_parser("create", help="create an account and print its first API key once")
    create.add_argument("name")
    create.add_argument("--json", action="store_true")
    _add_store_flags(create)

    billing = account_commands.add_parser("billing", help="set the account's billing state (R6)")
    billing.add_argument("account", help="account id or name")
    billing.add_argument("--postpaid", type=_on_off)
    billing.add_argument("--arrears", type=_on_off)
    billing.add_argument("--package", choices=["ok", "used-up", "expired"])
    billing.add_argument("--json", action="store_true")
    _add_store_flags(billing)
    cli_usage.add_package_commands(account_commands, _add_store_flags)

    services = account_commands.add_parser(
        "services",
        help="activate or deactivate the account's CSS and VOD services (R12, R13); "
        "turning one off changes no app's settings",
    )
    services.add_argument("account", help="account id or name")
    services.add_argument("--css", type=_on_off, help="live streaming (CSS): on or off")
    services.add_argument("--vod", type=_on_off, help="video on demand (VOD): on or off")
    services.add_argument("--json", action="store_true")
    _add_store_flags(services)

    totp_reset = account_commands.add_parser(
        "totp-reset",
        help="lift the account's TOTP lockout (R7); --remove-authenticator also removes its "
        "authenticator and live secondary-auth tokens, so the account enrols again",
    )
    totp_reset.add_argument("account", help="account id or name")
    totp_reset.add_argument("--remove-authenticator", action="store_true")
    totp_reset.add_argument("--json", action="store_true")
    _add_store_flags(totp_reset)
    return parser


def _serve(settings: Settings) -> int:
    from rtcconsole_server.server import serve

    asyncio.run(serve(settings))
    return 0


def _dispatcher(settings: Settings) -> int:
    from rtcconsole_server.workers.dispatcher import run_dispatcher

    asyncio.run(run_dispatcher(settings))
    return 0


def _account(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings.database_url)
    try:  # dispose the pool so that no connection outlives the command (in-process callers, tests)
        upgrade(store)
        if args.account_command in ("package", "billing"):  # billing state recomputed (R6)
            account_id = Accounts(store, SystemClock()).find(args.account)
            if args.account_command == "package":
                return cli_usage.account_package(store, account_id, args)
            return cli_usage.account_billing(store, account_id, args)
        return _account_command(Accounts(store, SystemClock()), args)
    finally:
        store.dispose()


def _account_command(accounts: Accounts, args: argparse.Namespace) -> int:
    if args.account_command == "create":
        issued = accounts.create(args.name)
        if args.json:
            print(json.dumps({"account_id": issued.account_id, "api_key": issued.api_key}))
        else:
            print(f"account {issued.account_id} created")
            print(f"api key (shown once, keep it safe): {issued.api_key}")
        return 0
    account_id = accounts.find(args.account)
    if args.account_command == "services":
        services = accounts.set_services(account_id, css=args.css, vod=args.vod)
        shown = {"account_id": account_id, "css": services.css_active, "vod": services.vod_active}
        print(json.dumps(shown) if args.json else " ".join(f"{k}={v}" for k, v in shown.items()))
        return 0
    if args.account_command == "totp-reset":
        state = accounts.reset_totp(account_id, remove_authenticator=args.remove_authenticator)
        reset = {"account_id": account_id, "active": state.active, "pending": state.pending,
                 "failures": state.failures, "lockouts": state.lockouts}  # fmt: skip
        print(json.dumps(reset) if args.json else " ".join(f"{k}={v}" for k, v in reset.items()))
        return 0
    raise AssertionError(f"unhandled command {args.account_command!r}")


def parse(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[argparse.Namespace, Settings]:
    """The arguments of ``argv`` and the settings of its command, with ``environ`` (default
    ``os.environ``) under the flags. Exits 2 with a message, as argparse does, on a bad value."""
    parser = _parser()
    args = parser.parse_args(argv)
    command = args.command if args.command in _RUNNERS else "store"
    try:
        settings = Settings.resolve(
            ("global", command), vars(args), os.environ if environ is None else environ
        )
    except SettingError as error:
        parser.error(str(error))
    return args, settings


def main(argv: Sequence[str] | None = None) -> int:
    args, settings = parse(argv)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for old, new in getattr(args, "deprecated_flags", ()):
        log.warning("%s is deprecated; use %s", old, new)
    try:
        if args.command == "serve":
            return _serve(settings)
        if args.command == "dispatcher":
            return _dispatcher(settings)
        if args.command == "aggregator":
            return cli_usage.run_aggregator(settings, once=args.once)
        if args.command == "migrate":
            upgrade(open_store(settings.database_url))
            print("migrated")
            return 0
        return _account(args, settings)
    except RtcError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
