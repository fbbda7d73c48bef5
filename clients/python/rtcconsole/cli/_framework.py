"""The pieces every command module uses: registering commands, the invocation, the output."""

from __future__ import annotations

import argparse
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from google.protobuf.message import Message

from rtcconsole.cli._tls import TlsArguments, TlsFileError, add_tls_options, tls_arguments
from rtcconsole.client import DEFAULT_TIMEOUT, RtcConsole
from rtcconsole.times import INSTANT_FORMS, parse_instant

__all__ = [
    "DEFAULT_TARGET",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_REJECTED",
    "EXIT_STATUS_HELP",
    "EXIT_USAGE",
    "CommandFailed",
    "Commands",
    "Handler",
    "Invocation",
    "Output",
    "UsageError",
    "add_global_options",
    "add_paging",
    "bounded_integer",
    "instant",
    "key_value",
    "room",
    "seconds",
    "totp_code",
    "uint32",
    "uint64",
]

DEFAULT_TARGET = "127.0.0.1:50051"

EXIT_OK = 0
"""The command did what was asked."""
EXIT_REFUSED = 1
"""The server refused the call, could not be reached, or a local file could not be written."""
EXIT_USAGE = 2
"""A mistake in the command line."""
EXIT_REJECTED = 3
"""The command ran, but what it checked or sent was not all good: a token that does not
verify, records the server rejected. The output says which."""

EXIT_STATUS_HELP = f"""\
exit status:
  {EXIT_OK}  success
  {EXIT_REFUSED}  refused: the server refused the call, could not be reached, or a file could
     not be written (the error is on stderr; with --json as a JSON object)
  {EXIT_USAGE}  usage: a mistake in the command line
  {EXIT_REJECTED}  rejected: the command ran, but what it checked or sent was not all good (a
     UserSig or PrivateMapKey that does not verify, records the server rejected); the
     output says which"""
"""The exit statuses as ``rtcctl --help`` lists them."""


class UsageError(Exception):
    """A mistake in the command line that argparse cannot see; exit status 2."""


class CommandFailed(Exception):
    """A command that could not finish for a reason of rtcctl's own (not the server's refusal),
    such as ``ops wait`` giving up: one ``rtcctl: …`` line on stderr, exit status 1."""


@dataclass(frozen=True)
class Output:
    """What a command prints: ``message`` with ``--json``, ``text`` without."""

    message: Message
    """The response message, or the resource it wraps for single-resource commands."""
    text: str
    """The human-readable form (a table for lists)."""
    status: int = EXIT_OK
    """The exit status: :data:`EXIT_REJECTED` when something checked or sent was not good."""


@dataclass
class Invocation:
    """One run of a command: its parsed arguments and a lazily opened connection."""

    args: argparse.Namespace
    _console: RtcConsole | None = field(default=None, repr=False)

    async def console(self) -> RtcConsole:
        """The client, connected on first use (commands that work offline never call this)."""
        if self._console is None:
            api_key: str | None = self.args.api_key
            if not api_key:
                raise UsageError("no API key: pass --api-key or set RTC_API_KEY")
            tls = self.tls()
            try:
                self._console = await RtcConsole.connect(
                    self.args.target, api_key=api_key, timeout=self.args.timeout, **tls
                )
            except ValueError as error:  # a malformed key; the message never repeats it
                raise UsageError(str(error)) from None
        return self._console

    def tls(self) -> TlsArguments:
        """The TLS arguments of ``connect`` from ``--secure``, ``--ca``, ``--client-cert`` and
        ``--client-key`` (or their variables); a file that does not do is a :class:`UsageError`."""
        try:
            return tls_arguments(self.args)
        except TlsFileError as error:
            raise UsageError(str(error)) from None

    async def close(self) -> None:
        """Close the connection if one was opened."""
        if self._console is not None:
            await self._console.close()
            self._console = None


Handler = Callable[[Invocation], Awaitable[Output]]
"""What a command runs: ``async def run(invocation) -> Output``; errors propagate."""


def add_global_options(parser: argparse.ArgumentParser, environ: Mapping[str, str] | None) -> None:
    """The options every command accepts, before or after the command words.

    The top-level parser (``environ`` given) holds the defaults; every command
    parser repeats the options with ``SUPPRESS`` so that a value given after the
    command overrides the top-level one and an absent one leaves it alone.
    """
    suppress = environ is None
    env = environ or {}

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument(
        "--target",
        default=default(env.get("RTC_TARGET") or DEFAULT_TARGET),
        help=f"server address host:port (env RTC_TARGET, default {DEFAULT_TARGET})",
    )
    parser.add_argument(
        "--api-key",
        default=default(env.get("RTC_API_KEY")),
        metavar="KEY",
        help="API key sent as `authorization: Bearer` (env RTC_API_KEY); never printed",
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=default(DEFAULT_TIMEOUT),
        metavar="SECONDS",
        help=f"deadline of each call (default {DEFAULT_TIMEOUT:g})",
    )
    add_tls_options(parser, environ)
    parser.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print the response as proto-JSON (errors as JSON on stderr)",
    )
    parser.add_argument(
        "--field",
        default=default(None),
        metavar="NAME",
        help="print only this field of the response (proto name, dotted for nested: claims.identifier; "
        "a number picks an item of a list: calls.0.call_id); text as it is, other values as JSON",
    )


class Commands:
    """One level of command words (``rtcctl apps …``); command modules register through it.

    Every parser it makes refuses abbreviated flags (``--nam`` for ``--name``): an
    abbreviation that works today silently means another flag once one is added.
    """

    def __init__(
        self,
        subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
        common: argparse.ArgumentParser,
        *,
        root: argparse.ArgumentParser,
    ) -> None:
        self._subparsers = subparsers
        self._common = common
        self.root = root
        """The top-level ``rtcctl`` parser (complete once every group has registered)."""

    def _parser(self, name: str, help: str, description: str | None) -> argparse.ArgumentParser:
        return self._subparsers.add_parser(
            name,
            help=help,
            description=description or help,
            parents=[self._common],
            allow_abbrev=False,
            formatter_class=argparse.RawDescriptionHelpFormatter if description else argparse.HelpFormatter,
        )

    def group(self, name: str, help: str, *, description: str | None = None) -> Commands:
        """A word that only leads to more words (``apps``, ``auth keys``)."""
        parser = self._parser(name, help, description)
        words = parser.add_subparsers(title="commands", metavar="COMMAND", dest=f"{name}_command")
        words.required = True
        return Commands(words, self._common, root=self.root)

    def command(
        self, name: str, help: str, run: Handler, *, description: str | None = None
    ) -> argparse.ArgumentParser:
        """A command that runs ``run``; add its arguments to the parser returned.

        ``description`` (default ``help``) is printed as written, line breaks kept.
        """
        parser = self._parser(name, help, description)
        parser.set_defaults(handler=run, command_parser=parser)
        return parser


def add_paging(parser: argparse.ArgumentParser) -> None:
    """``--page-size``, ``--page-token`` and ``--all`` of a list command."""
    parser.add_argument(
        "--page-size", type=int, default=0, metavar="N", help="items per page (server default)"
    )
    parser.add_argument("--page-token", default="", metavar="TOKEN", help="start at this page")
    parser.add_argument("--all", action="store_true", help="follow next_page_token to the last page")


def bounded_integer(text: str, low: int, high: int) -> int:
    """A whole-number argument from ``low`` to ``high``, both included."""
    try:
        value = int(text, 10)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, got {text!r}")
    return value


def uint64(text: str) -> int:
    """An id argument: a positive integer below 2**64."""
    return bounded_integer(text, 1, 2**64 - 1)


def uint32(text: str) -> int:
    """A pixel position or size: 0 to 2**32 - 1."""
    return bounded_integer(text, 0, 2**32 - 1)


def room(text: str) -> int | str:
    """A room argument as rooms are reported: digits are the numeric room, anything else a
    string room."""
    return int(text) if text.isascii() and text.isdigit() else text


def seconds(text: str) -> float:
    """A duration in seconds above 0: ``30``, ``0.5``."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0 such as 30 or 0.5, got {text!r}"
        )
    return value


def instant(text: str) -> datetime:
    """A time flag: what :func:`rtcconsole.times.parse_instant` reads (``today``, ``now-1h``, ISO 8601)."""
    try:
        return parse_instant(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {text!r}; use {INSTANT_FORMS}") from None


_TOTP_CODE = re.compile(r"[0-9]{6}")


def totp_code(text: str) -> str:
    """A TOTP code: six ASCII digits (spaces, as some authenticators show them, are dropped)."""
    code = text.replace(" ", "")
    if not _TOTP_CODE.fullmatch(code):
        raise argparse.ArgumentTypeError(f"a TOTP code is 6 digits such as 123456, got {text!r}")
    return code


def key_value(text: str) -> tuple[str, str]:
    """A ``KEY=VALUE`` argument (split at the first ``=``; the value may be empty or hold ``=``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value
