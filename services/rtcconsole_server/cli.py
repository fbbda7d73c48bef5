"""``rtc-console``: run the server, migrate the store, and operator tasks on the store.

    rtc-console serve [--listen ADDR] [--database-url URL] [--redis-url URL] ...
    rtc-console migrate [--database-url URL]
    rtc-console dispatcher [--database-url URL] [--callback-timeout-seconds S] ...
    rtc-console admin account create NAME [--json]
    rtc-console admin account billing ACCOUNT [--postpaid on|off] [--arrears on|off]
                                              [--package ok|used-up|expired] [--json]
    rtc-console admin account services ACCOUNT [--css on|off] [--vod on|off] [--json]
    rtc-console aggregator [--once] ...              (usage roll-up and billing: cli_usage.py)
    rtc-console admin account package add|list ACCOUNT ...

Every flag has an environment variable (``RTC_LISTEN``, ``RTC_DATABASE_URL``,
``RTC_REDIS_URL``, ``RTC_DATA_PLANE_TOKEN``, ``RTC_DATA_DIR``, ``RTC_LOG_LEVEL``);
the flag wins.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from rtcconsole_server import cli_usage
from rtcconsole_server.clock import SystemClock
from rtcconsole_server.domain.auth import Accounts
from rtcconsole_server.errors import RtcError
from rtcconsole_server.settings import DEFAULT_DATA_DIR, Settings
from rtcconsole_server.store import open_store, upgrade

__all__ = ["main"]


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


def _on_off(value: str) -> bool:
    if value not in ("on", "off"):
        raise argparse.ArgumentTypeError("must be on or off")
    return value == "on"


def _add_store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=_env("RTC_DATABASE_URL"),
        help="sqlite:///PATH or postgresql+psycopg://user:pw@host/db (env RTC_DATABASE_URL; "
        "default: a SQLite file in the data directory)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(_env("RTC_DATA_DIR") or DEFAULT_DATA_DIR),
        help=f"where the default SQLite file lives (env RTC_DATA_DIR; default {DEFAULT_DATA_DIR})",
    )


def _add_callback_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of the callback dispatcher (R15), shared by ``serve`` and ``dispatcher``."""
    group = parser.add_argument_group("callback dispatcher")
    group.add_argument(
        "--callback-timeout-seconds", type=float, default=5.0, help="a POST must get HTTP 200 within this"
    )
    group.add_argument(
        "--callback-retry-window-hours",
        type=float,
        default=24.0,
        help="retry a failing delivery at least this long after it was queued, then expire it",
    )
    group.add_argument(
        "--callback-lease-seconds",
        type=float,
        default=60.0,
        help="after this, a delivery claimed by a dispatcher that died is retried by another",
    )
    group.add_argument("--callback-concurrency", type=int, default=32, help="POSTs in flight at once")
    group.add_argument(
        "--callback-poll-seconds", type=float, default=1.0, help="how often an idle dispatcher looks for work"
    )


def _callback_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "callback_timeout": timedelta(seconds=args.callback_timeout_seconds),
        "callback_retry_window": timedelta(hours=args.callback_retry_window_hours),
        "callback_lease": timedelta(seconds=args.callback_lease_seconds),
        "callback_concurrency": args.callback_concurrency,
        "callback_poll_interval": timedelta(seconds=args.callback_poll_seconds),
    }


def _database_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    return f"sqlite:///{Path(args.data_dir).expanduser() / 'rtc-console.db'}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtc-console", description="rtc-console server and operator tools")
    parser.add_argument(
        "--log-level", default=_env("RTC_LOG_LEVEL", "INFO"), help="DEBUG, INFO, WARNING (env RTC_LOG_LEVEL)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gRPC server with its workers (embedded mode)")
    serve.add_argument(
        "--listen", default=_env("RTC_LISTEN", "127.0.0.1:50051"), help="host:port (env RTC_LISTEN)"
    )
    _add_store_flags(serve)
    _add_callback_flags(serve)
    serve.add_argument(
        "--redis-url",
        default=_env("RTC_REDIS_URL"),
        help="shared live state (env RTC_REDIS_URL; unset = in process)",
    )
    serve.add_argument(
        "--data-plane-token",
        default=_env("RTC_DATA_PLANE_TOKEN"),
        help="bearer token of the data plane (env RTC_DATA_PLANE_TOKEN)",
    )
    serve.add_argument(
        "--no-workers", action="store_true", help="do not run background workers in this process"
    )
    serve.add_argument(
        "--no-aggregator",
        action="store_true",
        help="do not run the usage aggregator here (run `rtc-console aggregator` instead)",
    )
    cli_usage.add_aggregation_flags(serve)
    serve.add_argument(
        "--operation-delay-seconds",
        type=float,
        default=180.0,
        help="R7 effect delay of disable/enable/delete",
    )
    serve.add_argument(
        "--config-delay-seconds",
        type=float,
        default=300.0,
        help="R11 effect delay of function-settings changes (default 300)",
    )
    serve.add_argument(
        "--push-domain-suffix",
        default=_env("RTC_PUSH_DOMAIN_SUFFIX", "livepush.rtc-console.local"),
        help="apps get the push domain <sdk_app_id>.<suffix> (env RTC_PUSH_DOMAIN_SUFFIX)",
    )

    migrate = commands.add_parser("migrate", help="apply pending database migrations and exit")
    _add_store_flags(migrate)

    dispatcher = commands.add_parser(
        "dispatcher", help="run only the callback dispatcher (scaled deployments; SIGTERM stops it)"
    )
    _add_store_flags(dispatcher)
    _add_callback_flags(dispatcher)
    cli_usage.add_aggregator_command(commands, _add_store_flags)

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
    return parser


def _serve(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from rtcconsole_server.server import serve

    settings = Settings(
        listen=args.listen,
        database_url=_database_url(args),
        redis_url=args.redis_url,
        data_plane_token=args.data_plane_token,
        run_workers=not args.no_workers,
        operation_delay=timedelta(seconds=args.operation_delay_seconds),
        config_delay=timedelta(seconds=args.config_delay_seconds),
        push_domain_suffix=args.push_domain_suffix,
        **_callback_settings(args),
        **cli_usage.aggregation_settings(args),
    )
    asyncio.run(serve(settings))
    return 0


def _dispatcher(args: argparse.Namespace) -> int:
    from rtcconsole_server.server import run_dispatcher

    asyncio.run(run_dispatcher(Settings(database_url=_database_url(args), **_callback_settings(args))))
    return 0


def _account(args: argparse.Namespace) -> int:
    store = open_store(_database_url(args))
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
    raise AssertionError(f"unhandled command {args.account_command!r}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=str(args.log_level).upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "dispatcher":
            return _dispatcher(args)
        if args.command == "aggregator":
            return cli_usage.run_aggregator(args, _database_url(args))
        if args.command == "migrate":
            upgrade(open_store(_database_url(args)))
            print("migrated")
            return 0
        return _account(args)
    except RtcError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
