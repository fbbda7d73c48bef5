"""``rtcctl ingest``: the data plane's door, for replaying or loading events by hand.

``rtcctl ingest events FILE`` reads JSON lines (one proto-JSON ``RoomEvent`` per
line; blank lines are skipped; ``-`` reads stdin) and sends them through
``IngestService.StreamEvents`` in batches (500 by default), with the data-plane
token (``--token``, env ``RTC_DATA_PLANE_TOKEN``) instead of an API key. It
prints the accepted, duplicate and rejected counts and one line per rejected
line (1-based line numbers), lines that did not parse here included. With
``--json`` it prints the response with every rejection's ``index`` replaced by
the 0-based line index in the file.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import TextIO

import grpc
from google.protobuf import json_format

from rtcconsole.cli._framework import Commands, Invocation, Output, UsageError
from rtcconsole.errors import from_grpc_error
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc

__all__ = ["DEFAULT_BATCH", "register"]

DEFAULT_BATCH = 500
"""Events per StreamEvents message."""
MAX_BATCH = 5000
"""The server's limit per message."""


def _batch_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_BATCH:
        raise argparse.ArgumentTypeError(f"must be 1-{MAX_BATCH}")
    return value


def register(commands: Commands) -> None:
    """Add ``ingest …`` to the command line."""
    ingest = commands.group(
        "ingest", "data plane: report events (needs the data-plane token, not an API key)"
    )
    events = ingest.command("events", "send a JSON-lines file of RoomEvent messages", _events)
    events.add_argument("file", metavar="FILE", help="one proto-JSON RoomEvent per line; - for stdin")
    events.add_argument(
        "--token",
        default=os.environ.get("RTC_DATA_PLANE_TOKEN"),
        help="data-plane token (env RTC_DATA_PLANE_TOKEN); never printed",
    )
    events.add_argument(
        "--batch-size",
        type=_batch_size,
        default=DEFAULT_BATCH,
        metavar="N",
        help="events per message (1-5000)",
    )


@dataclass
class _Reading:
    """Lines read so far: where each sent event came from, and what did not parse."""

    sent_lines: list[int] = field(default_factory=list)
    local: list[pb.RejectedRecord] = field(default_factory=list)


def _parse_lines(source: TextIO, reading: _Reading) -> Iterator[pb.RoomEvent]:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        event = pb.RoomEvent()
        try:
            json_format.Parse(line, event)
        except json_format.ParseError as error:
            reading.local.append(
                pb.RejectedRecord(
                    index=number - 1, code="INVALID_ARGUMENT", reason=f"cannot parse: {error}".strip()
                )
            )
            continue
        reading.sent_lines.append(number)
        yield event


async def _requests(source: TextIO, reading: _Reading, size: int) -> AsyncIterator[pb.StreamEventsRequest]:
    batch: list[pb.RoomEvent] = []
    for event in _parse_lines(source, reading):
        batch.append(event)
        if len(batch) == size:
            yield pb.StreamEventsRequest(events=batch)
            batch = []
    if batch:
        yield pb.StreamEventsRequest(events=batch)


def _open(path: str) -> TextIO:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")  # closed by the caller
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


def _channel(run: Invocation) -> grpc.aio.Channel:
    if run.args.secure:
        return grpc.aio.secure_channel(run.args.target, grpc.ssl_channel_credentials())
    return grpc.aio.insecure_channel(run.args.target)


def _summary(response: pb.StreamEventsResponse, listed_by_server: int, server_rejected: int) -> str:
    lines = [f"accepted {response.accepted}, duplicates {response.duplicates}, rejected {response.rejected}"]
    for rejection in response.rejections:
        where = f"line {rejection.index + 1}"
        named = f" ({', '.join(rejection.fields)})" if rejection.fields else ""
        lines.append(f"{where}: {rejection.code}: {rejection.reason}{named}")
    if server_rejected > listed_by_server:
        lines.append(f"... and {server_rejected - listed_by_server} more the server did not list")
    return "\n".join(lines)


async def _events(run: Invocation) -> Output:
    a = run.args
    token = (a.token or "").strip()
    if not token:
        raise UsageError("no data-plane token: pass --token or set RTC_DATA_PLANE_TOKEN")
    reading = _Reading()
    source = _open(a.file)
    try:
        async with _channel(run) as channel:
            stub = pb_grpc.IngestServiceStub(channel)
            try:
                server = await stub.StreamEvents(
                    _requests(source, reading, a.batch_size),
                    metadata=(("authorization", f"Bearer {token}"),),
                    timeout=a.timeout,
                )
            except grpc.RpcError as error:
                raise from_grpc_error(error) from error
    finally:
        if source is not sys.stdin:
            source.close()
    response = pb.StreamEventsResponse(
        accepted=server.accepted,
        duplicates=server.duplicates,
        rejected=server.rejected + len(reading.local),
    )
    rejections = list(reading.local)
    for rejection in server.rejections:  # stream position → line in the file
        moved = pb.RejectedRecord()
        moved.CopyFrom(rejection)
        moved.index = reading.sent_lines[rejection.index] - 1
        rejections.append(moved)
    response.rejections.extend(sorted(rejections, key=lambda r: r.index))
    return Output(response, _summary(response, len(server.rejections), server.rejected))
