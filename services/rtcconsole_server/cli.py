"""``rtc-console``: run the server, migrate the store, and operator tasks on the store.

    rtc-console [--log-level LEVEL] [--version] serve [--listen HOST:PORT] [--database-url URL] ...
    rtc-console migrate [--database-url URL]
    rtc-console dispatcher [--database-url URL] [--callback-timeout-seconds S] ...
    rtc-console aggregator [--once] [--aggregation-interval-seconds S] ...   (cli_usage.py)
    rtc-console retention [--once] [--retention-days N] [--retention-interval-seconds S] ...
    rtc-console admin account create NAME [--json | --quiet]
    rtc-console admin account billing ACCOUNT [--postpaid on|off] [--arrears on|off]
                                              [--package ok|used-up|expired] [--json]
    rtc-console admin account services ACCOUNT [--css on|off] [--vod on|off] [--json]
    rtc-console admin account totp-reset ACCOUNT [--remove-authenticator] [--json]
    rtc-console admin account edition ACCOUNT free|basic|advanced [--json]
    rtc-console admin account package add|list ACCOUNT ...   (cli_admin.py)
    rtc-console simulate [--sdk-app-id ID] [--rooms N] [--backfill DURATION] [--live] ...   (simulate/)

The flags of ``serve``, ``aggregator``, ``dispatcher`` and the store flags of the
others are built from the ``Settings`` fields (``settings.py``: name, variable,
default and help in one place). Every one has an environment variable,
``RTC_`` and the flag's name (``--listen``: ``RTC_LISTEN``); the flag wins over
the variable, the variable over the default.

Every command that changes the store names it (``store: URL`` on stderr, a
``"store"`` field with ``--json``; no password, a SQLite file by its absolute
path), and ``admin`` warns when it had to create the store, the trap of an
operator whose ``serve`` runs on another one. No parser accepts an abbreviated flag
(``serve --lis 1`` is a usage error, not ``--listen``). An operator's mistake (an unknown
account, a bad or unreachable database, an unwritable data directory, a busy
port) is one line on stderr, ``rtc-console: error: …`` with what to do, and
exit status 1 (2 for a usage error); alembic logs below WARNING only with
``--log-level DEBUG``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from rtcconsole_server import cli_admin, cli_usage
from rtcconsole_server.cli_admin import WHICH_STORE, Failure, sqlite_file
from rtcconsole_server.errors import RtcError
from rtcconsole_server.observability import configure_logging
from rtcconsole_server.settings import Option, SettingError, Settings, options
from rtcconsole_server.simulate.command import add_simulate_command
from rtcconsole_server.store import open_store, upgrade
from rtcconsole_server.store.migrate import shown_url

__all__ = ["DISTRIBUTION", "main", "parse"]

log = logging.getLogger("rtcconsole_server.cli")

DISTRIBUTION = "rtc-console"
"""The distribution ``--version`` reports (``[project] name`` of the root pyproject.toml)."""
_RUNNERS = ("serve", "aggregator", "dispatcher", "retention")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_URL_FORMS = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB"


def _version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


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
    parser = argparse.ArgumentParser(
        prog="rtc-console", allow_abbrev=False, description="rtc-console server and operator tools"
    )
    parser.add_argument("--version", action="version", version=f"rtc-console {_version()}")
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
    add_simulate_command(commands)  # a data-plane client of a running server: no store flags
    retention = commands.add_parser(
        "retention",
        help="run only the retention of quality samples and client events: every interval, or --once; "
        "SIGTERM stops it",
    )
    _add_settings_flags(retention, "retention")
    retention.add_argument("--once", action="store_true", help="remove what is due now and exit")

    cli_admin.add_admin_command(commands, _add_store_flags)
    for each in parsers_of(parser):
        each.allow_abbrev = False
    return parser


def parsers_of(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """*parser* and every parser below it, each command word's (depth first).

    ``_parser`` refuses abbreviated flags on each (``serve --lis 1`` is not ``--listen``): an
    abbreviation that works today silently means another flag once one is added, and argparse's
    ``allow_abbrev`` is per parser, not inherited by subcommands.
    """
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from parsers_of(child)


def _serve(settings: Settings) -> int:
    from rtcconsole_server.server import ListenError, serve

    try:
        asyncio.run(serve(settings))
    except ListenError as error:
        raise Failure(str(error)) from None
    return 0


def _dispatcher(settings: Settings) -> int:
    from rtcconsole_server.workers.dispatcher import run_dispatcher

    asyncio.run(run_dispatcher(settings))
    return 0


def _retention(settings: Settings, *, once: bool) -> int:
    from rtcconsole_server.workers.retention import run_retention

    return asyncio.run(run_retention(settings, once=once))


def _migrate(settings: Settings) -> int:
    store = open_store(settings.database_url)
    try:
        revision = upgrade(store)
    finally:
        store.dispose()
    print(f"migrated to {revision}")
    print(f"store: {shown_url(settings.database_url)}", file=sys.stderr)
    return 0


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


def _logging(level: str, log_format: str) -> None:
    """Log to stderr at ``level`` in ``log_format`` (text or json, ``observability``); alembic's
    INFO lines only at DEBUG (``serve`` logs the revision)."""
    if level.upper() not in _LOG_LEVELS:
        raise Failure(f"error: --log-level must be one of {', '.join(_LOG_LEVELS)}, got {level!r}", 2)
    configure_logging(level.upper(), log_format)
    logging.getLogger("alembic").setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING)


def _check_driver(settings: Settings) -> None:
    """Refuse in one line a database URL whose driver is not installed (``mysql://``)."""
    dialect = make_url(settings.database_url).get_dialect()
    try:
        dialect.import_dbapi()
    except ImportError as error:
        raise Failure(f"error: the driver of database URL {shown_url(settings.database_url)!r} is not "
                       f"installed ({error}); use {_URL_FORMS}") from None  # fmt: skip


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "simulate":
        from rtcconsole_server.simulate.command import run as simulate

        return simulate(args)
    _check_driver(settings)
    if args.command == "serve":
        return _serve(settings)
    if args.command == "dispatcher":
        return _dispatcher(settings)
    if args.command == "aggregator":
        return cli_usage.run_aggregator(settings, once=args.once)
    if args.command == "retention":
        return _retention(settings, once=args.once)
    if args.command == "migrate":
        return _migrate(settings)
    return cli_admin.run_admin(args, settings)


def _explain(error: ArgumentError | DBAPIError | OSError, settings: Settings) -> str:
    """The one line that says what went wrong with the store and what to do."""
    where = shown_url(settings.database_url)
    if isinstance(error, ArgumentError):  # the URL does not parse, or names no known backend
        reason = str(error).splitlines()[0].replace(settings.database_url, where)
        return (f"error: bad database URL {where!r} ({reason}); use {_URL_FORMS} "
                "(--database-url, RTC_DATABASE_URL)")  # fmt: skip
    if isinstance(error, DBAPIError):  # could not connect, or the database refused
        cause = error.orig if error.orig is not None else error
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        password = make_url(settings.database_url).password
        if password:  # a driver's message should not echo it; never let one through
            reason = reason.replace(str(password), "***")
        return (f"error: cannot use the store {where}: {reason}; is the database running, and the URL "
                f"right? (--database-url, RTC_DATABASE_URL)")  # fmt: skip
    what = f"{(error.strerror or str(error)).lower()}: {error.filename}" if error.filename else str(error)
    try:
        file = sqlite_file(settings.database_url)
    except ArgumentError:
        file = None
    if file is not None and error.filename and Path(error.filename).absolute() in (file, *file.parents):
        return (f"error: cannot open the store {where}: {what}; pick a directory you can write "
                f"({WHICH_STORE})")  # fmt: skip
    return f"error: {what}"


def main(argv: Sequence[str] | None = None) -> int:
    args, settings = parse(argv)
    try:
        _logging(settings.log_level, settings.log_format)
        for old, new in getattr(args, "deprecated_flags", ()):
            log.warning("%s is deprecated; use %s", old, new)
        return _run(args, settings)
    except Failure as failure:
        print(f"rtc-console: {failure}", file=sys.stderr)
        return failure.status
    except RtcError as error:
        print(f"rtc-console: error: {error.message}", file=sys.stderr)
        return 1
    except (ArgumentError, DBAPIError, OSError) as error:
        print(f"rtc-console: {_explain(error, settings)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
