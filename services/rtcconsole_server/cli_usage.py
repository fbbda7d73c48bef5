"""The usage and billing part of ``rtc-console`` (R16, R6); ``cli.py`` wires it in.

    rtc-console aggregator [--once] [--database-url URL] [--aggregation-interval-seconds S]
                           [--aggregation-watermark-seconds S] [--aggregation-batch-windows N]
    rtc-console admin account package add ACCOUNT --minutes N --from T --to T [--json]
    rtc-console admin account package list ACCOUNT [--json]
    rtc-console admin account billing ACCOUNT [--postpaid on|off] [--arrears on|off] [--json]

Times (``--from``, ``--to``) are those of ``rtcconsole.times`` (as in ``rtcctl``):
ISO 8601 (``2026-01-01`` is midnight UTC, ``2026-01-01T08:00:00Z`` or with an
offset; a time without a zone is UTC) or relative to now (``today``, ``+30d``,
``today+30d``, ``now-1h``), so that a script's package is valid whenever it runs.
Every change re-evaluates the account's billing state at once (R6). The aggregator's
flags are the ``aggregation_*`` settings (``settings.py``), the same as ``serve``'s.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rtcconsole import times
from rtcconsole_server.clock import SystemClock
from rtcconsole_server.domain.usage import Billing, BillingView, PackageView
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import Store

__all__ = [
    "account_billing",
    "account_package",
    "add_aggregator_command",
    "add_package_commands",
    "parse_instant",
    "print_document",
    "run_aggregator",
]


def parse_instant(text: str) -> datetime:
    """The UTC instant ``text`` names (:func:`rtcconsole.times.parse_instant`: ISO 8601, without
    a zone UTC, or relative to now such as ``today`` and ``+30d``); the error lists the forms."""
    try:
        return times.parse_instant(text)
    except ValueError as error:
        message = str(error)
        if times.INSTANT_FORMS not in message:
            message = f"{message}; use {times.INSTANT_FORMS}"
        raise argparse.ArgumentTypeError(message) from None


def _positive(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_aggregator_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add_settings_flags: Callable[[argparse.ArgumentParser, str], None],
) -> None:
    """``rtc-console aggregator``: the settings of the ``aggregator`` command and ``--once``."""
    parser = commands.add_parser(
        "aggregator",
        help="run only the usage aggregator (R16): every interval, or --once; SIGTERM stops it",
    )
    add_settings_flags(parser, "aggregator")
    parser.add_argument("--once", action="store_true", help="publish what is due now, settle billing, exit")


def run_aggregator(settings: Settings, *, once: bool) -> int:
    """Run the aggregator alone (``rtcconsole_aggregator.run``); returns the exit status."""
    from rtcconsole_aggregator.runner import run

    return run(settings, once=once)


def add_package_commands(
    account_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add_store_flags: Callable[[argparse.ArgumentParser], None],
) -> None:
    package = account_commands.add_parser("package", help="packages of minutes (R6)")
    words = package.add_subparsers(dest="package_command", required=True)
    add = words.add_parser("add", help="give the account a package; its apps resume if it was stopped by R6")
    add.add_argument("account", help="account id or name")
    add.add_argument("--minutes", type=_positive, required=True, help="equivalent minutes (audio minutes)")
    add.add_argument(
        "--from", dest="valid_from", type=parse_instant, required=True, metavar="TIME",
        help="valid from: ISO 8601 (2026-01-01, 2026-01-01T08:00Z) or relative (today, now, +30d); "
        "a negative offset as --from=-1d",
    )  # fmt: skip
    add.add_argument(
        "--to", dest="valid_to", type=parse_instant, required=True, metavar="TIME",
        help="valid until, exclusive: ISO 8601 or relative (+30d, today+30d)",
    )  # fmt: skip
    add.add_argument("--json", action="store_true")
    add_store_flags(add)
    listing = words.add_parser("list", help="the account's packages, their consumption and the state")
    listing.add_argument("account", help="account id or name")
    listing.add_argument("--json", action="store_true")
    add_store_flags(listing)


def _when(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _package(view: PackageView) -> dict[str, Any]:
    return {
        "package_id": view.package_id,
        "minutes": view.minutes,
        "used_minutes": view.used_minutes,
        "remaining_minutes": view.remaining_minutes,
        "valid_from": _when(view.valid_from),
        "valid_to": _when(view.valid_to),
        "in_force": view.in_force,
    }


def _summary(view: BillingView) -> dict[str, Any]:
    return {
        "account_id": view.account_id,
        "postpaid": view.postpaid,
        "arrears": view.arrears,
        "package": view.package_state.replace("_", "-"),
        "metered": view.metered,
        "uncovered_minutes": view.uncovered_minutes,
        "data_through": _when(view.data_through),
    }


def print_document(document: dict[str, Any], as_json: bool, text: str, where: str) -> None:
    """The result of an ``admin`` command on the store named ``where`` (``shown_url``): with
    ``as_json`` the document and its ``"store"`` on stdout, else ``text`` on stdout and
    ``store: where`` on stderr (stdout stays what scripts read)."""
    if as_json:
        print(json.dumps({**document, "store": where}))
    else:
        print(text)
        print(f"store: {where}", file=sys.stderr)


def _table(view: BillingView) -> str:
    lines = [" ".join(f"{k}={v}" for k, v in _summary(view).items())]
    if view.packages:
        lines.append(
            f"{'PACKAGE':>8} {'MINUTES':>12} {'USED':>12} {'VALID_FROM':<21} {'VALID_TO':<21} IN_FORCE"
        )
        for p in view.packages:
            lines.append(
                f"{p.package_id:>8} {p.minutes:>12} {p.used_minutes:>12} {_when(p.valid_from):<21} "
                f"{_when(p.valid_to):<21} {'yes' if p.in_force else 'no'}"
            )
    return "\n".join(lines)


def account_package(store: Store, account_id: int, args: argparse.Namespace, *, where: str) -> int:
    """``admin account package add|list`` on ``store``, named ``where`` in the output."""
    billing = Billing(store, SystemClock())
    if args.package_command == "add":
        view = billing.add_package(
            account_id, minutes=args.minutes, valid_from=args.valid_from, valid_to=args.valid_to
        )
        added = max(view.packages, key=lambda p: p.package_id)
        document = {**_summary(view), "added": _package(added)}
        print_document(document, args.json, f"package {added.package_id} added\n{_table(view)}", where)
        return 0
    view = billing.view(account_id)
    listing = {**_summary(view), "packages": [_package(p) for p in view.packages]}
    print_document(listing, args.json, _table(view), where)
    return 0


def account_billing(store: Store, account_id: int, args: argparse.Namespace, *, where: str) -> int:
    """``admin account billing``: set the flags (and, unmetered only, the package state)."""
    view = Billing(store, SystemClock()).set_flags(
        account_id,
        postpaid=args.postpaid,
        arrears=args.arrears,
        package_state=args.package.replace("-", "_") if args.package else None,
    )
    summary = _summary(view)
    print_document(summary, args.json, " ".join(f"{k}={v}" for k, v in summary.items()), where)
    return 0
