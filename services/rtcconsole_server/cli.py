"""``rtc-console``: run the server, migrate the store, and operator tasks on the store.

    rtc-console serve [--listen ADDR] [--database-url URL] [--redis-url URL] ...
    rtc-console migrate [--database-url URL]
    rtc-console admin account create NAME [--json]
    rtc-console admin account billing ACCOUNT [--postpaid on|off] [--arrears on|off]
                                              [--package ok|used-up|expired] [--json]

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
from pathlib import Path

from rtcconsole_server.clock import SystemClock
from rtcconsole_server.domain.accounts import Accounts
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
        "--operation-delay-seconds",
        type=float,
        default=180.0,
        help="R7 effect delay of disable/enable/delete",
    )

    migrate = commands.add_parser("migrate", help="apply pending database migrations and exit")
    _add_store_flags(migrate)

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
    )
    asyncio.run(serve(settings))
    return 0


def _accounts(args: argparse.Namespace) -> Accounts:
    store = open_store(_database_url(args))
    upgrade(store)
    return Accounts(store, SystemClock())


def _account(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    if args.account_command == "create":
        issued = accounts.create(args.name)
        if args.json:
            print(json.dumps({"account_id": issued.account_id, "api_key": issued.api_key}))
        else:
            print(f"account {issued.account_id} created")
            print(f"api key (shown once, keep it safe): {issued.api_key}")
        return 0
    account_id = accounts.find(args.account)
    state = accounts.set_billing(
        account_id,
        postpaid=args.postpaid,
        arrears=args.arrears,
        package_state=args.package.replace("-", "_") if args.package else None,
    )
    result = {
        "account_id": account_id,
        "postpaid": state.postpaid,
        "arrears": state.arrears,
        "package": state.package_state.replace("_", "-"),
    }
    print(json.dumps(result) if args.json else " ".join(f"{k}={v}" for k, v in result.items()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=str(args.log_level).upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "serve":
            return _serve(args)
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
