"""The ``rtcctl`` parser, the list of command groups, running a command and reporting errors."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Mapping

from rtcconsole.cli import _render as render
from rtcconsole.cli import apps, auth, config, ingest, materials, ops, tags, usage, usersig
from rtcconsole.cli._framework import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    Commands,
    Handler,
    Invocation,
    UsageError,
    add_global_options,
)
from rtcconsole.errors import RtcConsoleError

__all__ = ["COMMAND_GROUPS", "amain", "build_parser", "describe_error", "main"]

COMMAND_GROUPS: tuple[Callable[[Commands], None], ...] = (
    apps.register,
    ops.register,
    tags.register,
    materials.register,
    auth.register,
    config.register,
    ingest.register,
    usage.register,
    usersig.register,
)
"""Every command group, in help order. A new group is a module ``cli/<group>.py`` with a
``register(commands)`` function, added here."""


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    """The whole command line; ``environ`` supplies RTC_TARGET and RTC_API_KEY defaults."""
    parser = argparse.ArgumentParser(
        prog="rtcctl",
        description="Command line of rtc-console. Exit status: 0 success, 1 the server refused "
        "(error: CODE: message on stderr; with --json a JSON object on stderr), 2 usage error.",
    )
    add_global_options(parser, environ)
    common = argparse.ArgumentParser(add_help=False)
    add_global_options(common, None)
    words = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    words.required = True
    commands = Commands(words, common)
    for register in COMMAND_GROUPS:
        register(commands)
    return parser


def describe_error(error: RtcConsoleError) -> str:
    """``error: CODE: message`` and one indented line per decoded detail."""
    lines = [f"error: {error.code.name}: {error.message}"]
    lines += [f"  {v.field}: {v.description}" for v in error.field_violations]
    lines += [f"  quota {v.subject}: {v.description}" for v in error.quota_violations]
    lines += [f"  precondition {v.type} {v.subject}: {v.description}" for v in error.precondition_violations]
    if (info := error.error_info) is not None:
        metadata = ", ".join(f"{key}={value}" for key, value in sorted(info.metadata.items()))
        lines.append(f"  reason {info.reason}" + (f" ({metadata})" if metadata else ""))
    lines += [f"  resource {r.resource_type} {r.resource_name}".rstrip() for r in error.resource_infos]
    if (request := error.request_info) is not None:
        lines.append(f"  request id {request.request_id}")
    return "\n".join(lines)


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
        if args.json:
            print(json.dumps({"error": error.to_dict()}, indent=2), file=sys.stderr)
        else:
            print(describe_error(error), file=sys.stderr)
        return EXIT_REFUSED
    except UsageError as error:
        parser.print_usage(sys.stderr)
        print(f"rtcctl: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # writing --output, for instance
        print(f"error: {error}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await run.close()
    print(render.to_json(output.message) if args.json else output.text)
    return output.status


def main(argv: list[str] | None = None) -> int:
    """The ``rtcctl`` entry point: parse ``argv`` (default ``sys.argv[1:]``), run, return the exit status."""
    try:
        return asyncio.run(amain(argv))
    except KeyboardInterrupt:
        return 130
