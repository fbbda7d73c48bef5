"""The one table from domain errors to gRPC status codes and ``google.rpc`` details.

Every :class:`~rtcconsole_server.errors.RtcError` subclass has its own entry in
:data:`STATUS_OF` (looked up by exact class, never through a base class:
``tests/unit/test_error_table.py`` holds that every class has one) and maps to
its code with rich details (read them with ``grpc_status.rpc_status.from_call``).
Anything else, including an ``RtcError`` of a class without an entry, is a bug
of ours: it becomes ``INTERNAL`` with a fresh correlation id, logged at ERROR
next to the traceback; the caller never sees the traceback.

Every status is bounded here, the one place for it, whatever the domain put in its
message (which may echo a caller's value): each text a detail carries (a description,
a field path, a resource name, a subject) is cut to :data:`MAX_VALUE_CHARS`
characters, the details together to :data:`MAX_DETAILS_BYTES` (a list that does
not fit ends with an entry saying how many more there were), and the status
message to :data:`MAX_MESSAGE_BYTES` as ``grpc-message`` carries it. So the
trailers of an error stay well under the 8 KiB a gRPC client accepts by default,
however many violations a 5,000-record batch has or however long the value they
quote.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from rtcconsole_server import errors

__all__ = [
    "DOMAIN",
    "MAX_DETAILS_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_VALUE_CHARS",
    "STATUS_OF",
    "bounded_details",
    "bounded_message",
    "internal_status",
    "shorten",
    "status_message",
    "to_status",
    "wire_length",
]

log = logging.getLogger("rtcconsole_server.rpc")

DOMAIN = "rtcconsole.v1"
"""``ErrorInfo.domain`` of every error this server raises."""

MAX_VALUE_CHARS = 200
"""Characters of one text in a status: a description, a field path, a resource name, a subject."""
MAX_MESSAGE_BYTES = 2048
"""Bytes of the status message in ``grpc-message`` (UTF-8, percent-encoded outside printable ASCII)."""
MAX_DETAILS_BYTES = 1536
"""Serialized bytes of a status's details together. With the message (sent twice: in
``grpc-message`` and inside ``grpc-status-details-bin``, base64) the trailers stay under 7 KiB."""
_ANY_OVERHEAD = 64
"""What packing one detail in an ``Any`` adds (its type URL and tags)."""
_NOTE_ROOM = MAX_VALUE_CHARS + 80
"""Kept free in a cut list for the entry that says how many more there were."""


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` if it has at most ``limit`` characters, else its start and its full length."""
    if len(text) <= limit:
        return text
    suffix = f"… ({len(text)} characters)"
    return text[: max(limit - len(suffix), 0)] + suffix


def _wire_bytes(char: str) -> int:
    return sum(1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in char.encode("utf-8", "replace"))


def wire_length(text: str) -> int:
    """Bytes ``text`` takes in ``grpc-message``: UTF-8, each byte outside 0x20-0x7E and ``%`` as %XX."""
    return sum(_wire_bytes(char) for char in text)


def bounded_message(text: str, limit: int = MAX_MESSAGE_BYTES) -> str:
    """``text`` cut (on a character) so that it takes at most ``limit`` bytes in ``grpc-message``."""
    if len(text) * 9 <= limit or wire_length(text) <= limit:  # 9: the most one character can take
        return text
    suffix = f"… ({len(text)} characters)"
    budget, used, end = limit - wire_length(suffix), 0, 0
    while used + (width := _wire_bytes(text[end])) <= budget:
        used += width
        end += 1
    return text[:end] + suffix


def _shorten_texts(message: Message) -> None:
    """Cut every string of ``message`` (and of the messages and maps inside it) to MAX_VALUE_CHARS."""
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_STRING:
            if field.is_repeated:
                value[:] = [shorten(item) for item in value]
            else:
                setattr(message, field.name, shorten(value))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            entry = field.message_type
            if entry is not None and entry.GetOptions().map_entry:
                if entry.fields_by_name["value"].type == FieldDescriptor.TYPE_STRING:
                    for key in list(value):
                        value[key] = shorten(value[key])
            elif field.is_repeated:
                for item in value:
                    _shorten_texts(item)
            else:
                _shorten_texts(value)


def _cut_lists(message: Message, room: int) -> None:
    """Keep the first entries of each list of ``message`` that fit in ``room`` bytes; the last
    entry kept then says how many were left out (``BadRequest``, ``PreconditionFailure``, …)."""
    for field in message.DESCRIPTOR.fields:
        if not field.is_repeated or field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        entries = getattr(message, field.name)
        if message.ByteSize() <= room:
            return
        items = list(entries)
        del entries[:]
        for index, item in enumerate(items):
            entries.add().CopyFrom(item)
            if message.ByteSize() > room - _NOTE_ROOM:
                del entries[-1]
                left_out = items[index:]
                note = type(item)()
                note.CopyFrom(left_out[0])
                if "description" in note.DESCRIPTOR.fields_by_name:
                    note.description = (
                        f"this and {len(left_out) - 1} more are not shown (a reply's size is bounded)"
                    )
                entries.add().CopyFrom(note)
                break


def bounded_details(messages: list[Message]) -> list[Message]:
    """``messages`` with every text cut to MAX_VALUE_CHARS and their lists cut so that they fit in
    MAX_DETAILS_BYTES together; a detail that still does not fit is left out, with those after it."""
    kept: list[Message] = []
    used = 0
    for message in messages:
        _shorten_texts(message)
        room = MAX_DETAILS_BYTES - used - _ANY_OVERHEAD
        if message.ByteSize() > room:
            _cut_lists(message, room)
        size = message.ByteSize()
        if size > room:
            break
        kept.append(message)
        used += size + _ANY_OVERHEAD
    return kept


def status_message(error: errors.RtcError) -> str:
    """The message a domain error's status carries: rebuilt from its cut values when the domain
    formed it from them (violations, a resource name), then bounded for ``grpc-message``."""
    message = error.message
    if isinstance(error, errors.InvalidArgument):
        default = "; ".join(f"{v.field}: {v.description}" for v in error.violations)
        if message == default:
            message = "; ".join(f"{shorten(v.field)}: {shorten(v.description)}" for v in error.violations)
    elif isinstance(error, errors.FailedPrecondition) and message == "; ".join(
        v.description for v in error.violations
    ):
        message = "; ".join(shorten(v.description) for v in error.violations)
    elif isinstance(error, errors.NotFound) and message == (
        f"{error.resource_type} {error.resource_name} not found"
    ):
        message = f"{error.resource_type} {shorten(error.resource_name)} not found"
    return bounded_message(message)


def _pack(*messages: Message) -> list[any_pb2.Any]:
    packed = []
    for message in bounded_details(list(messages)):
        holder = any_pb2.Any()
        holder.Pack(message)
        packed.append(holder)
    return packed


def _bad_request(e: errors.InvalidArgument) -> list[any_pb2.Any]:
    """``BadRequest``, then an ``ErrorInfo`` (reason, the limit in metadata) when the error has a reason."""
    bad = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in e.violations
        ]
    )
    if not e.reason:
        return _pack(bad)
    return _pack(bad, error_details_pb2.ErrorInfo(reason=e.reason, domain=DOMAIN, metadata=e.metadata))


def _resource(e: errors.NotFound | errors.AlreadyExists) -> list[any_pb2.Any]:
    return _pack(
        error_details_pb2.ResourceInfo(
            resource_type=e.resource_type, resource_name=e.resource_name, description=e.message
        )
    )


def _exists(e: errors.AlreadyExists) -> list[any_pb2.Any]:
    """One ResourceInfo per resource in the conflict (several when a batch reuses several ids)."""
    return _pack(
        *(
            error_details_pb2.ResourceInfo(
                resource_type=e.resource_type, resource_name=name, description=e.message
            )
            for name in (e.resource_name, *e.others)
        )
    )


def _precondition(e: errors.FailedPrecondition) -> list[any_pb2.Any]:
    """``PreconditionFailure``, then an ``ErrorInfo`` when the error has a reason (``EDITION_REQUIRED``)."""
    failure = error_details_pb2.PreconditionFailure(
        violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type=v.type, subject=v.subject, description=v.description
            )
            for v in e.violations
        ]
    )
    if not e.reason:
        return _pack(failure)
    return _pack(failure, error_details_pb2.ErrorInfo(reason=e.reason, domain=DOMAIN, metadata=e.metadata))


def _quota(e: errors.QuotaExceeded) -> list[any_pb2.Any]:
    return _pack(
        error_details_pb2.QuotaFailure(
            violations=[
                error_details_pb2.QuotaFailure.Violation(
                    subject=e.subject, description=f"{e.current} {e.resource} of {e.limit} allowed"
                )
            ]
        ),
        error_details_pb2.ErrorInfo(
            reason=f"{e.resource.upper()}_QUOTA_EXCEEDED",
            domain=DOMAIN,
            metadata={"limit": str(e.limit), "current": str(e.current), "resource": e.resource},
        ),
    )


def _retry_after(e: errors.LockedOut) -> list[any_pb2.Any]:
    """``RetryInfo.retry_delay``: how long the caller waits before the next attempt."""
    delay = duration_pb2.Duration()
    delay.FromTimedelta(e.retry_after)
    return _pack(error_details_pb2.RetryInfo(retry_delay=delay))


def _none(_e: errors.RtcError) -> list[any_pb2.Any]:
    return []


_Details = Callable[[Any], list[any_pb2.Any]]

STATUS_OF: dict[type[errors.RtcError], tuple[grpc.StatusCode, _Details]] = {
    errors.InvalidArgument: (grpc.StatusCode.INVALID_ARGUMENT, _bad_request),
    errors.NotFound: (grpc.StatusCode.NOT_FOUND, _resource),
    errors.AlreadyExists: (grpc.StatusCode.ALREADY_EXISTS, _exists),
    errors.FailedPrecondition: (grpc.StatusCode.FAILED_PRECONDITION, _precondition),
    errors.QuotaExceeded: (grpc.StatusCode.RESOURCE_EXHAUSTED, _quota),
    errors.Unauthenticated: (grpc.StatusCode.UNAUTHENTICATED, _none),
    errors.PermissionDenied: (grpc.StatusCode.PERMISSION_DENIED, _none),
    errors.Aborted: (grpc.StatusCode.ABORTED, _none),
    errors.StatementTimeout: (grpc.StatusCode.DEADLINE_EXCEEDED, _none),
    errors.LockedOut: (grpc.StatusCode.RESOURCE_EXHAUSTED, _retry_after),
}
"""Domain error class → (status code, details builder): one entry per class, matched exactly.

A subclass never borrows its base's entry; a class without one is answered as a bug (``INTERNAL``)."""


def _status(code: grpc.StatusCode, message: str, details: list[any_pb2.Any]) -> grpc.Status:
    number: int = code.value[0]
    status: grpc.Status = rpc_status.to_status(
        status_pb2.Status(code=number, message=message, details=details)
    )
    return status


def to_status(error: BaseException, method: str = "") -> grpc.Status:
    """The status (code, message, details in trailing metadata) a call that raised ``error`` ends with.

    A domain error with an entry in :data:`STATUS_OF` gets that entry (logged at DEBUG), its
    message and details bounded (:func:`status_message`, :func:`bounded_details`);
    anything else gets :func:`internal_status` with a fresh correlation id, logged at
    ERROR with ``error``'s traceback and ``method`` (the gRPC method path).
    """
    if isinstance(error, errors.RtcError) and (entry := STATUS_OF.get(type(error))) is not None:
        code, details = entry
        message = status_message(error)
        log.debug("%s -> %s: %s", method, code.name, message)
        return _status(code, message, details(error))
    correlation_id = uuid.uuid4().hex
    fields = {"correlation_id": correlation_id, "method": method, "code": "INTERNAL"}  # --log-format json
    log.error("%s failed; correlation id %s", method, correlation_id, exc_info=error, extra=fields)
    return internal_status(correlation_id)


def internal_status(correlation_id: str) -> grpc.Status:
    """``INTERNAL`` for a bug of ours, naming the correlation id logged with the traceback."""
    return _status(
        grpc.StatusCode.INTERNAL,
        f"internal error; correlation id {correlation_id}",
        _pack(error_details_pb2.RequestInfo(request_id=correlation_id)),
    )
