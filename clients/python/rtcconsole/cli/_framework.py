"""The pieces every command module uses: registering commands, the invocation, the output."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from google.protobuf.message import Message

from rtcconsole.client import DEFAULT_TIMEOUT, RtcConsole

__all__ = [
    "DEFAULT_TARGET",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "Commands",
    "Handler",
    "Invocation",
    "Output",
    "UsageError",
    "add_global_options",
    "add_paging",
    "key_value",
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


class UsageError(Exception):
    """A mistake in the command line that argparse cannot see; exit status 2."""


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
            try:
                self._console = await RtcConsole.connect(
                    self.args.target, api_key=api_key, secure=self.args.secure, timeout=self.args.timeout
                )
            except ValueError as error:  # a malformed key; the message never repeats it
                raise UsageError(str(error)) from None
        return self._console

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
        type=float,
        default=default(DEFAULT_TIMEOUT),
        metavar="SECONDS",
        help=f"deadline of each call (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--secure", action="store_true", default=default(False), help="use TLS (system root certificates)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print the response as proto-JSON (errors as JSON on stderr)",
    )


class Commands:
    """One level of command words (``rtcctl apps …``); command modules register through it."""

    def __init__(
        self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
    ) -> None:
        self._subparsers = subparsers
        self._common = common

    def group(self, name: str, help: str) -> Commands:
        """A word that only leads to more words (``apps``, ``auth keys``)."""
        parser = self._subparsers.add_parser(name, help=help, description=help, parents=[self._common])
        words = parser.add_subparsers(title="commands", metavar="COMMAND", dest=f"{name}_command")
        words.required = True
        return Commands(words, self._common)

    def command(self, name: str, help: str, run: Handler) -> argparse.ArgumentParser:
        """A command that runs ``run``; add its arguments to the parser returned."""
        parser = self._subparsers.add_parser(name, help=help, description=help, parents=[self._common])
        parser.set_defaults(handler=run)
        return parser


def add_paging(parser: argparse.ArgumentParser) -> None:
    """``--page-size``, ``--page-token`` and ``--all`` of a list command."""
    parser.add_argument(
        "--page-size", type=int, default=0, metavar="N", help="items per page (server default)"
    )
    parser.add_argument("--page-token", default="", metavar="TOKEN", help="start at this page")
    parser.add_argument("--all", action="store_true", help="follow next_page_token to the last page")


def _integer(text: str, low: int, high: int) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"out of range {low}..{high}: {text!r}")
    return value


def uint64(text: str) -> int:
    """An id argument: a positive integer below 2**64."""
    return _integer(text, 1, 2**64 - 1)


def uint32(text: str) -> int:
    """A pixel position or size: 0 to 2**32 - 1."""
    return _integer(text, 0, 2**32 - 1)


def key_value(text: str) -> tuple[str, str]:
    """A ``KEY=VALUE`` argument (split at the first ``=``; the value may be empty or hold ``=``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value
