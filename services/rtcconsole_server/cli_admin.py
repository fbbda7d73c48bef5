"""The ``admin`` part of ``rtc-console``: operator tasks straight on the store; ``cli.py`` wires it in.

    rtc-console admin account create NAME [--json | --quiet]
    rtc-console admin account billing ACCOUNT [--postpaid on|off] [--arrears on|off]
                                              [--package ok|used-up|expired] [--json]
    rtc-console admin account services ACCOUNT [--css on|off] [--vod on|off] [--json]
    rtc-console admin account totp-reset ACCOUNT [--remove-authenticator] [--json]
    rtc-console admin account edition ACCOUNT free|basic|advanced [--json]
    rtc-console admin account package add|list ACCOUNT ...

Every ``admin`` command upgrades the store first, names it (``store: URL`` on stderr,
a ``"store"`` field with ``--json``), and warns when it had to create it: the trap of
an operator whose ``serve`` runs on another store. ``package`` and ``billing`` are
``cli_usage``'s (R6, R16). Also here, for the rest of ``cli.py``: :class:`Failure`
(an operator's mistake in one line) and :func:`sqlite_file` (a SQLite URL's file).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from rtcconsole_server import cli_usage
from rtcconsole_server.clock import SystemClock
from rtcconsole_server.domain.auth import Accounts
from rtcconsole_server.domain.monitor import Edition, set_edition
from rtcconsole_server.errors import NotFound
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import Store, open_store, upgrade
from rtcconsole_server.store.migrate import shown_url

__all__ = ["WHICH_STORE", "Failure", "add_admin_command", "run_admin", "sqlite_file"]

WHICH_STORE = "--database-url, RTC_DATABASE_URL or --data-dir, RTC_DATA_DIR"
"""Where an operator picks the store, as the errors that ask "is this the store serve uses?" say it."""


class Failure(Exception):
    """An operator's mistake, said in one line after ``rtc-console: ``; ``status`` is the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _on_off(value: str) -> bool:
    if value not in ("on", "off"):
        raise argparse.ArgumentTypeError("must be on or off")
    return value == "on"


def add_admin_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add_store_flags: Callable[[argparse.ArgumentParser], None],
) -> None:
    """``rtc-console admin account create|billing|package|services|totp-reset|edition``, each with
    the store flags (``add_store_flags``)."""
    admin = commands.add_parser("admin", help="operator tasks, straight on the store")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    account = admin_commands.add_parser("account", help="accounts")
    account_commands = account.add_subparsers(dest="account_command", required=True)

    create = account_commands.add_parser("create", help="create an account and print its first API key once")
    create.add_argument(
        "name", help="1-64 letters, digits, '_', '-' or '.', not only digits (docs/operations.md)"
    )
    shown = create.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true")
    shown.add_argument(
        "--quiet", "-q", action="store_true",
        help="print only the API key: export RTC_API_KEY=$(rtc-console admin account create NAME -q)",
    )  # fmt: skip
    add_store_flags(create)

    billing = account_commands.add_parser("billing", help="set the account's billing state (R6)")
    billing.add_argument("account", help="account id or name")
    billing.add_argument("--postpaid", type=_on_off)
    billing.add_argument("--arrears", type=_on_off)
    billing.add_argument("--package", choices=["ok", "used-up", "expired"])
    billing.add_argument("--json", action="store_true")
    add_store_flags(billing)
    cli_usage.add_package_commands(account_commands, add_store_flags)

    services = account_commands.add_parser(
        "services",
        help="activate or deactivate the account's CSS and VOD services (R12, R13); "
        "turning one off changes no app's settings",
    )
    services.add_argument("account", help="account id or name")
    services.add_argument("--css", type=_on_off, help="live streaming (CSS): on or off")
    services.add_argument("--vod", type=_on_off, help="video on demand (VOD): on or off")
    services.add_argument("--json", action="store_true")
    add_store_flags(services)

    totp_reset = account_commands.add_parser(
        "totp-reset",
        help="lift the account's TOTP lockout (R7); --remove-authenticator also removes its "
        "authenticator and live secondary-auth tokens, so the account enrols again",
    )
    totp_reset.add_argument("account", help="account id or name")
    totp_reset.add_argument("--remove-authenticator", action="store_true")
    totp_reset.add_argument("--json", action="store_true")
    add_store_flags(totp_reset)

    edition = account_commands.add_parser(
        "edition",
        help="set the account's dashboard edition (R21): free has no real-time monitoring, "
        "basic looks back 3 hours, advanced 12 hours",
    )
    edition.add_argument("account", help="account id or name")
    edition.add_argument("edition", choices=[e.value for e in Edition])
    edition.add_argument("--json", action="store_true")
    add_store_flags(edition)


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL (``None`` for another backend or an in-memory database)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser().absolute()


def run_admin(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``admin account …`` on the settings' store (upgraded first); returns the exit status."""
    file = sqlite_file(settings.database_url)
    created = file is not None and not file.exists()
    store = open_store(settings.database_url)
    try:  # dispose the pool so that no connection outlives the command (in-process callers, tests)
        upgrade(store)
        status = _account_on(store, args, shown_url(settings.database_url))
        if created:  # after the result: a failed command says only its one error line
            print(f"rtc-console: note: there was no store at {file}, this command created it; "
                  f"serve must use the same store ({WHICH_STORE})", file=sys.stderr)  # fmt: skip
        return status
    finally:
        store.dispose()


def _account_on(store: Store, args: argparse.Namespace, where: str) -> int:
    """Run ``admin account …`` on ``store`` (named ``where`` in the output)."""
    accounts = Accounts(store, SystemClock())
    try:
        if args.account_command == "create":
            return _create(accounts, args, where)
        account_id = accounts.find(args.account)
    except NotFound as error:
        raise Failure(f"error: {error.message} in store {where}; is this the store serve uses? "
                      f"({WHICH_STORE})") from None  # fmt: skip
    if args.account_command == "package":  # billing state recomputed (R6)
        return cli_usage.account_package(store, account_id, args, where=where)
    if args.account_command == "billing":
        return cli_usage.account_billing(store, account_id, args, where=where)
    if args.account_command == "services":
        services = accounts.set_services(account_id, css=args.css, vod=args.vod)
        shown = {"account_id": account_id, "css": services.css_active, "vod": services.vod_active}
        cli_usage.print_document(shown, args.json, " ".join(f"{k}={v}" for k, v in shown.items()), where)
        return 0
    if args.account_command == "edition":
        chosen = set_edition(store, account_id, args.edition)
        shown_edition = {"account_id": account_id, "edition": chosen.value}
        text = " ".join(f"{k}={v}" for k, v in shown_edition.items())
        cli_usage.print_document(shown_edition, args.json, text, where)
        return 0
    if args.account_command == "totp-reset":
        state = accounts.reset_totp(account_id, remove_authenticator=args.remove_authenticator)
        reset = {"account_id": account_id, "active": state.active, "pending": state.pending,
                 "failures": state.failures, "lockouts": state.lockouts}  # fmt: skip
        cli_usage.print_document(reset, args.json, " ".join(f"{k}={v}" for k, v in reset.items()), where)
        return 0
    raise AssertionError(f"unhandled command {args.account_command!r}")


def _create(accounts: Accounts, args: argparse.Namespace, where: str) -> int:
    issued = accounts.create(args.name)
    if args.quiet:
        print(issued.api_key)
        return 0
    text = f"account {issued.account_id} created\napi key (shown once, keep it safe): {issued.api_key}"
    issued_doc = {"account_id": issued.account_id, "api_key": issued.api_key}
    cli_usage.print_document(issued_doc, args.json, text, where)
    return 0
