"""``rtcctl ingest``: the data plane's door, for replaying or loading records by hand.

``rtcctl ingest events FILE``, ``rtcctl ingest usage FILE``, ``rtcctl ingest quality FILE``
and ``rtcctl ingest client-events FILE`` read JSON lines (one proto-JSON ``RoomEvent``,
``UsageRecord``, ``QualitySample`` or ``ClientEvent`` per line; blank lines are skipped;
``-`` reads stdin) and send them with :class:`~rtcconsole.client.IngestClient`
(``IngestService.StreamEvents``, ``StreamUsage``, ``StreamQuality`` or
``StreamClientEvents``) in batches (500 by default),
with the data-plane token (``--token``, env ``RTC_DATA_PLANE_TOKEN``) instead of
an API key. The lines are written for people (:mod:`rtcconsole.cli._jsonlines`):
enum values may be short and in any case (``"type": "room_created"``,
``"category": "HD"``, ``"role": "ANCHOR"``, ``"media": "VIDEO"``), times may be relative
(``"event_time": "now-10m"``), counted from one ``now`` for the whole file: the
moment the command starts, or ``--now``.

They print the accepted, duplicate and rejected counts and one line per rejected
line (1-based line numbers), lines that did not parse here included; when the file
held relative times, a last line gives the ``--now`` that sends the same records
again (a retry must repeat the payload to count as a duplicate). With ``--json``
they print the response with every rejection's ``index`` replaced by the 0-based
line index in the file.

Exit status: 0 when every line was accepted or a duplicate, 3 (``EXIT_REJECTED``)
when any line was rejected, by the server or because it did not parse here; 1 when
the server refused the call itself, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from rtcconsole.cli._framework import (
    EXIT_OK,
    EXIT_REJECTED,
    Commands,
    Invocation,
    Output,
    UsageError,
)
from rtcconsole.cli._jsonlines import LineError, LineReader, timestamp_text
from rtcconsole.client import IngestClient
from rtcconsole.times import INSTANT_FORMS, parse_instant
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import quality_pb2

__all__ = ["DEFAULT_BATCH", "MAX_BATCH", "register"]

DEFAULT_BATCH = 500
"""Events per StreamEvents message."""
MAX_BATCH = 5000
"""The server's limit per message."""

_EPILOG = (
    "Each line is one proto-JSON {record}. Enum values may be short and in any case "
    "({enums}); the full names and the numbers work too. Times ({times}) take RFC 3339 or "
    "{forms}; relative ones count from one now for the whole file (--now). "
    "Exit status: 0 every line accepted or a duplicate, 3 any line rejected (by the server, "
    "or because it did not parse here), 1 the server refused the call, 2 usage error."
)


def _batch_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_BATCH:
        raise argparse.ArgumentTypeError(f"must be 1-{MAX_BATCH}")
    return value


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


@dataclass(frozen=True)
class _Kind:
    """What one ``ingest`` command sends: the record message and the streaming call."""

    record: type[Any]
    send: Callable[[IngestClient, AsyncIterator[list[Any]]], Awaitable[Any]]
    """The client-streaming method of :class:`IngestClient` (StreamEvents, StreamUsage, …)."""
    response: type[Any]
    enums: str
    """Examples of short enum values, for the help."""
    times: str
    """The time fields, for the help."""


_EVENTS = _Kind(
    pb.RoomEvent,
    IngestClient.stream_events,
    pb.StreamEventsResponse,
    '"type": "ROOM_CREATED", "role": "anchor"',
    '"event_time": "now-10m"',
)
_USAGE = _Kind(
    pb.UsageRecord,
    IngestClient.stream_usage,
    pb.StreamUsageResponse,
    '"kind": "INTERACTIVE_AV", "category": "hd"',
    '"start_time": "now-10m"',
)
_QUALITY = _Kind(
    quality_pb2.QualitySample,
    IngestClient.stream_quality,
    pb.StreamQualityResponse,
    '"media": "VIDEO"',
    '"sample_time": "now-10m"',
)
_CLIENT_EVENTS = _Kind(
    quality_pb2.ClientEvent,
    IngestClient.stream_client_events,
    pb.StreamClientEventsResponse,
    '"type": "CAMERA_ON", "media": "video"',
    '"event_time": "now-10m"',
)


def register(commands: Commands) -> None:
    """Add ``ingest …`` to the command line."""
    ingest = commands.group(
        "ingest",
        "data plane: report events, usage, quality samples and client events "
        "(needs the data-plane token, not an API key)",
    )
    for name, kind, help in (
        ("events", _EVENTS, "send a JSON-lines file of RoomEvent messages; exits 3 if any line is rejected"),
        (
            "usage",
            _USAGE,
            "send a JSON-lines file of UsageRecord messages (R16); exits 3 if any line is rejected",
        ),
        (
            "quality",
            _QUALITY,
            "send a JSON-lines file of QualitySample messages (R20); exits 3 if any line is rejected",
        ),
        (
            "client-events",
            _CLIENT_EVENTS,
            "send a JSON-lines file of ClientEvent messages (R20, R21); exits 3 if any line is rejected",
        ),
    ):
        command = ingest.command(name, help, _sender(kind))
        command.epilog = _EPILOG.format(
            record=kind.record.__name__, enums=kind.enums, times=kind.times, forms=INSTANT_FORMS
        )
        command.add_argument(
            "file", metavar="FILE", help=f"one proto-JSON {kind.record.__name__} per line; - for stdin"
        )
        command.add_argument(
            "--token",
            default=os.environ.get("RTC_DATA_PLANE_TOKEN"),
            help="data-plane token (env RTC_DATA_PLANE_TOKEN); never printed",
        )
        command.add_argument(
            "--batch-size",
            type=_batch_size,
            default=DEFAULT_BATCH,
            metavar="N",
            help="records per message (1-5000)",
        )
        command.add_argument(
            "--now",
            type=_instant,
            default=None,
            metavar="INSTANT",
            help="what now means in the file's relative times (default: when the command starts, "
            "to the second); the summary prints the one used, to send the same records again",
        )


@dataclass
class _Reading:
    """Lines read so far: where each sent event came from, and what did not parse."""

    reader: LineReader[Any]
    sent_lines: list[int] = field(default_factory=list)
    local: list[pb.RejectedRecord] = field(default_factory=list)


def _parse_lines(source: TextIO, reading: _Reading) -> Iterator[Any]:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            record = reading.reader.parse(line)
        except LineError as error:
            reading.local.append(
                pb.RejectedRecord(
                    index=number - 1, code="INVALID_ARGUMENT", reason=error.reason, fields=error.fields
                )
            )
            continue
        reading.sent_lines.append(number)
        yield record


async def _batches(source: TextIO, reading: _Reading, size: int) -> AsyncIterator[list[Any]]:
    batch: list[Any] = []
    for record in _parse_lines(source, reading):
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _open(path: str) -> TextIO:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")  # closed by the caller
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


def _summary(response: Any, listed_by_server: int, server_rejected: int, now: str | None) -> str:
    lines = [f"accepted {response.accepted}, duplicates {response.duplicates}, rejected {response.rejected}"]
    for rejection in response.rejections:
        where = f"line {rejection.index + 1}"
        named = f" ({', '.join(rejection.fields)})" if rejection.fields else ""
        lines.append(f"{where}: {rejection.code}: {rejection.reason}{named}")
    if server_rejected > listed_by_server:
        lines.append(f"... and {server_rejected - listed_by_server} more the server did not list")
    if now is not None:
        lines.append(
            f"relative times counted from now = {now}; to send the same records again, add --now {now}"
        )
    return "\n".join(lines)


def _sender(kind: _Kind) -> Callable[[Invocation], Awaitable[Output]]:
    async def send(run: Invocation) -> Output:
        return await _send(run, kind)

    return send


async def _send(run: Invocation, kind: _Kind) -> Output:
    a = run.args
    now: datetime = a.now or datetime.now(UTC).replace(microsecond=0)  # one now for the whole file
    token = (a.token or "").strip()
    if not token:
        raise UsageError("no data-plane token: pass --token or set RTC_DATA_PLANE_TOKEN")
    reading = _Reading(LineReader(kind.record, now))
    source = _open(a.file)
    try:
        client = await IngestClient.connect(a.target, data_plane_token=token, timeout=a.timeout, **run.tls())
        async with client:
            server = await kind.send(client, _batches(source, reading, a.batch_size))
    finally:
        if source is not sys.stdin:
            source.close()
    response = kind.response(
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
    anchor = timestamp_text(now) if reading.reader.relative else None
    text = _summary(response, len(server.rejections), server.rejected, anchor)
    return Output(response, text, status=EXIT_REJECTED if response.rejected else EXIT_OK)
