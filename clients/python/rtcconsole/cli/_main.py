"""The ``rtcctl`` parser, the list of command groups, running a command and reporting errors."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Mapping
from importlib import metadata

import grpc

from rtcconsole.cli import _render as render
from rtcconsole.cli import (
    apps,
    auth,
    completion,
    config,
    ingest,
    materials,
    monitor,
    ops,
    rooms,
    tags,
    usage,
    usersig,
)
from rtcconsole.cli._framework import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_STATUS_HELP,
    EXIT_USAGE,
    CommandFailed,
    Commands,
    Handler,
    Invocation,
    UsageError,
    add_global_options,
)
from rtcconsole.errors import RtcConsoleError

__all__ = [
    "COMMAND_GROUPS",
    "DISTRIBUTION",
    "amain",
    "build_parser",
    "describe_error",
    "main",
    "transport_failure",
    "version",
]

DISTRIBUTION = "rtcconsole"
"""The distribution that installs ``rtcctl`` (clients/python/pyproject.toml)."""

COMMAND_GROUPS: tuple[Callable[[Commands], None], ...] = (
    apps.register,
    ops.register,
    tags.register,
    materials.register,
    auth.register,
    config.register,
    ingest.register,
    usage.register,
    monitor.register,
    rooms.register,
    usersig.register,
    completion.register,
)
"""Every command group, in help order. A new group is a module ``cli/<group>.py`` with a
``register(commands)`` function, added here."""


def version() -> str:
    """The installed version of the client distribution (``rtcctl --version``)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


_DESCRIPTION = f"""\
Command line of rtc-console. Global options go before or after the command words;
`rtcctl COMMAND --help` shows a command's own.

{EXIT_STATUS_HELP}"""


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    """The whole command line; ``environ`` supplies RTC_TARGET and RTC_API_KEY defaults.

    No parser accepts an abbreviated flag (``--nam`` for ``--name``)."""
    parser = argparse.ArgumentParser(
        prog="rtcctl",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"rtcctl {version()}")
    add_global_options(parser, environ)
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    add_global_options(common, None)
    words = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    words.required = True
    commands = Commands(words, common, root=parser)
    for register in COMMAND_GROUPS:
        register(commands)
    return parser


def describe_error(error: RtcConsoleError) -> str:
    """``error: CODE: message`` once, then one indented line per decoded detail.

    The server often writes its message from the details (``name: …; description: …``);
    the header then does not repeat them: one detail becomes the header, several get a
    count as the header and a line each. A detail that the message already says in full
    (the resource of ``app 1 not found``) gets no line of its own.
    """
    message = error.message
    fields = [f"{v.field}: {v.description}" for v in error.field_violations]
    preconditions = [v.description for v in error.precondition_violations]
    lines: list[str] = []
    if fields and message == "; ".join(fields):
        header = fields[0] if len(fields) == 1 else f"{len(fields)} fields are invalid"
        lines += [] if len(fields) == 1 else [f"  {text}" for text in fields]
    elif preconditions and message == "; ".join(preconditions):
        header = message if len(preconditions) == 1 else f"{len(preconditions)} preconditions are not met"
        lines += [
            f"  precondition {v.type} {v.subject}" + ("" if len(preconditions) == 1 else f": {v.description}")
            for v in error.precondition_violations
        ]
    else:
        header = message
        lines += [f"  {text}" for text in fields if text not in message]
        lines += [
            f"  precondition {v.type} {v.subject}: {v.description}"
            for v in error.precondition_violations
            if v.description not in message
        ]
    lines += [f"  quota {v.subject}: {v.description}" for v in error.quota_violations]
    if (info := error.error_info) is not None:
        pairs = ", ".join(f"{key}={value}" for key, value in sorted(info.metadata.items()))
        lines.append(f"  reason {info.reason}" + (f" ({pairs})" if pairs else ""))
    lines += [
        f"  resource {r.resource_type} {r.resource_name}".rstrip()
        for r in error.resource_infos
        if f"{r.resource_type} {r.resource_name}" not in message
    ]
    if (request := error.request_info) is not None:
        lines.append(f"  request id {request.request_id}")
    return "\n".join([f"error: {error.code.name}: {header}", *lines])


_CAUSES = (
    (("connection refused",), "connection refused"),
    (("certificate_verify_failed", "certificate verify failed"), "the server's certificate is not trusted"),
    (("errors resolving", "dns resolution", "lookup", "name resolution"), "host name not found"),
    (("handshake", "ssl", "tls"), "TLS handshake failed"),
    (("socket closed", "connection reset", "eof"), "the connection was closed"),
    (("timed out", "timeout"), "the connection attempt timed out"),
)


def transport_failure(error: RtcConsoleError, *, target: str, timeout: float, secure: bool) -> str | None:
    """rtcctl's own one-line account of a call that never reached an answer, or ``None``.

    UNAVAILABLE (rtc-console never sends it itself: it is the channel's) and DEADLINE_EXCEEDED
    name the target and what to do instead of gRPC's raw ``failed to connect to all addresses…``.
    """
    if error.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return (
            f"no answer from rtc-console at {target} within --timeout {timeout:g} seconds: "
            "is `rtc-console serve` running there and not overloaded? check RTC_TARGET or --target, "
            "or raise --timeout"
        )
    if error.code != grpc.StatusCode.UNAVAILABLE:
        return None
    raw = error.message.lower()
    cause = next((text for words, text in _CAUSES if any(w in raw for w in words)), error.message)
    if cause == "host name not found":
        advice = "check the host in RTC_TARGET or --target"
    elif cause == "the server's certificate is not trusted":
        advice = "pass the CA that signed it with --ca FILE (or RTC_CA)"
    elif cause in ("TLS handshake failed", "the connection was closed"):
        advice = (
            "it does not speak TLS: drop --secure"
            if secure
            else "is it a gRPC server, or does it need TLS (--secure)? check RTC_TARGET or --target"
        )
    else:
        advice = "is `rtc-console serve` running there? set RTC_TARGET or --target"
    return f"cannot reach rtc-console at {target} ({cause}): {advice}"


def _report(error: RtcConsoleError, args: argparse.Namespace) -> None:
    """The one report of a failed call on stderr: text, or JSON with ``--json``."""
    unreached = transport_failure(error, target=args.target, timeout=args.timeout, secure=args.secure)
    if args.json:
        print(render.error_json(error, message=unreached), file=sys.stderr)
    elif unreached is not None:
        print(f"rtcctl: {unreached}", file=sys.stderr)
    else:
        print(describe_error(error), file=sys.stderr)


def _exit_status(code: str | int | None) -> int:
    if code is None:
        return EXIT_OK
    return code if isinstance(code, int) else EXIT_USAGE


async def amain(argv: list[str] | None = None) -> int:
    """Run ``rtcctl`` in the running event loop (for tests and embedding); returns the exit status.

    Output goes to ``sys.stdout`` and ``sys.stderr`` as they are at call time.
    """
    parser = build_parser(os.environ)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or argparse's own usage errors
        return _exit_status(exit_.code)
    handler: Handler = args.handler
    run = Invocation(args)
    try:
        output = await handler(run)
    except RtcConsoleError as error:
        _report(error, args)
        return EXIT_REFUSED
    except UsageError as error:  # the same form as argparse's own: the command's usage, one line
        command: argparse.ArgumentParser = getattr(args, "command_parser", parser)
        command.print_usage(sys.stderr)
        print(f"{command.prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except CommandFailed as error:
        if args.json:
            body = {"code": "DEADLINE_EXCEEDED", "message": str(error), "details": []}
            print(json.dumps({"error": body}, indent=2), file=sys.stderr)
        else:
            print(f"rtcctl: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as error:  # writing --output, for instance
        print(f"error: {error}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await run.close()
    if args.field:
        try:
            print(render.field_value(output.message, args.field, as_json=args.json))
        except UsageError as error:
            command = getattr(args, "command_parser", parser)
            print(f"{command.prog}: error: {error}", file=sys.stderr)
            return EXIT_USAGE
    else:
        print(render.to_json(output.message) if args.json else output.text)
    return output.status


def main(argv: list[str] | None = None) -> int:
    """The ``rtcctl`` entry point: parse ``argv`` (default ``sys.argv[1:]``), run, return the exit status."""
    try:
        return asyncio.run(amain(argv))
    except KeyboardInterrupt:
        return 130
