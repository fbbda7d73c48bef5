"""``rtc-console simulate``: drive the data plane of a running server with simulated calls.

    rtc-console simulate [--sdk-app-id ID] [--rooms N] [--users N] [--max-users N] [--backfill DURATION]
                         [--live] [--seed N] [--now INSTANT] [--target HOST:PORT] [--token TOKEN]

The target and the data-plane token come from the same flags and variables as ``rtcctl``
(``--target``/``RTC_TARGET``, ``--token``/``RTC_DATA_PLANE_TOKEN`` as ``rtcctl ingest``). Without
``--sdk-app-id`` the app is the newest one of the account of ``--api-key``/``RTC_API_KEY``, as
``rtcctl monitor calls`` picks it. Neither ``--backfill`` nor ``--live``: a one-hour backfill.

Exit status as ``rtcctl``'s: 0 every record accepted or a duplicate, 3 some rejected (the
summary lists the first ones), 1 the server refused or could not be reached, 2 usage.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from rtcconsole.cli._tls import TlsFileError, add_tls_options, tls_arguments
from rtcconsole.times import INSTANT_FORMS, parse_instant
from rtcconsole_server.simulate.model import Shape

__all__ = ["MAX_BACKFILL", "add_simulate_command", "duration", "run"]

MAX_BACKFILL = timedelta(days=34)
"""The longest backfill: the ingest accepts records up to 35 days old (one day of margin)."""
_DURATION = re.compile(r"^(\d{1,9}[smhdw])+$")


def duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``14d``, ``1h30m`` (units s, m, h, d, w, as ``rtcconsole.times`` offsets)."""
    stripped = text.strip().lower()
    if not _DURATION.fullmatch(stripped):
        raise argparse.ArgumentTypeError(f"expected a duration such as 30m, 2h or 14d, got {text!r}")
    anchor = datetime(2000, 1, 1, tzinfo=UTC)
    value = anchor - parse_instant(f"now-{stripped}", now=anchor)
    if not timedelta(0) < value <= MAX_BACKFILL:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most {MAX_BACKFILL.days}d, got {text!r}")
    return value


def _count(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, got {text!r}")
        return value

    return parse


def _seconds(text: str) -> float:
    from rtcconsole.cli._framework import seconds  # rtcctl's --timeout; grpc only when used

    return seconds(text)


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {text!r}; use {INSTANT_FORMS}") from None


def add_simulate_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``simulate`` to ``rtc-console``'s commands."""
    parser = commands.add_parser(
        "simulate",
        help="drive a running server's data plane with simulated rooms, users and congestion",
        description="Drive the data plane of a running server with simulated calls: rooms, users joining "
        "and leaving, media, quality samples with congestion, client and abnormal events, usage.",
    )
    env = os.environ
    parser.add_argument(
        "--sdk-app-id",
        type=_count(1, 2**63 - 1),
        metavar="ID",
        help="the app reported for (default: the newest app of --api-key's account)",
    )
    parser.add_argument(
        "--rooms", type=_count(1, 10_000), default=5, metavar="N", help="rooms in use (default 5)"
    )
    parser.add_argument(
        "--users",
        type=_count(2, 1_000_000),
        default=30,
        metavar="N",
        help="the population calls draw their users from (default 30)",
    )
    parser.add_argument(
        "--max-users",
        type=_count(2, 20),
        default=Shape().max_users,
        metavar="N",
        help=f"most users in one call, 2-20 (GetCall shows up to 20; default {Shape().max_users}, "
        "at most --users)",
    )
    parser.add_argument(
        "--backfill",
        type=duration,
        metavar="DURATION",
        help="write this much history ending now, e.g. 30m, 2h, 14d (at most 34d)",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="keep reporting at real time until SIGINT/SIGTERM (after the backfill, if any)",
    )
    parser.add_argument(
        "--seed",
        type=_count(0, 2**63 - 1),
        metavar="N",
        help="the same seed (with the same --now) sends the same records (default: random, printed)",
    )
    parser.add_argument(
        "--now",
        type=_instant,
        metavar="INSTANT",
        help="the instant a backfill ends (default: the system clock); not with --live",
    )
    parser.add_argument(
        "--batch-size",
        type=_count(1, 5000),
        default=1000,
        metavar="N",
        help="records per stream message (1-5000, default 1000)",
    )
    parser.add_argument(
        "--target",
        default=env.get("RTC_TARGET"),
        help="server address host:port (env RTC_TARGET, default rtcctl's: 127.0.0.1:50051)",
    )
    parser.add_argument(
        "--token",
        default=env.get("RTC_DATA_PLANE_TOKEN"),
        help="data-plane token (env RTC_DATA_PLANE_TOKEN); never printed",
    )
    parser.add_argument(
        "--api-key",
        default=env.get("RTC_API_KEY"),
        metavar="KEY",
        help="only to find the default app (env RTC_API_KEY); never printed",
    )
    parser.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="deadline of each call (default rtcctl's: 30)"
    )
    add_tls_options(parser, env)  # rtcctl's --secure, --ca, --client-cert, --client-key
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(simulate_parser=parser)


def _usage(args: argparse.Namespace, message: str) -> int:
    parser: argparse.ArgumentParser = args.simulate_parser
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run ``rtc-console simulate`` with its parsed ``args``; the exit status."""
    token = (args.token or "").strip()
    if not token:
        return _usage(args, "no data-plane token: pass --token or set RTC_DATA_PLANE_TOKEN")
    if args.live and args.now is not None:
        return _usage(args, "--now is for a backfill; --live reports at the system clock")
    if args.sdk_app_id is None and not (args.api_key or "").strip():
        return _usage(args, "no app: pass --sdk-app-id, or --api-key / RTC_API_KEY to use the newest app")
    try:
        args.tls = tls_arguments(args)
    except TlsFileError as error:
        return _usage(args, str(error))
    from rtcconsole_server.simulate._session import simulate  # grpc is imported only here

    return simulate(args, token)
